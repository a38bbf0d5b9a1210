//! `serve`, `round create`, `round list`, `roster import` and `links`.

use crate::config::{MailSettings, ServeSettings, Settings};
use crate::coordinator::{self, Actor, NewRound, find_round};
use crate::round::{swedish_date, today};
use crate::store::Store;
use crate::web::Application;
use anyhow::Context;
use std::path::{Path, PathBuf};

pub async fn serve(
    settings: &Settings,
    mail: &MailSettings,
    serve: ServeSettings,
    demo: bool,
    store: Store,
) -> anyhow::Result<()> {
    let app = Application::build(settings.clone(), serve, mail.clone(), store.clone()).await?;
    println!("lagesbild lyssnar på http://{} (länkarna börjar med {})", app.address(), settings.base_url);
    if demo {
        demo_round(settings, &store).await?;
    } else if store.rounds().await?.is_empty() {
        let year = today().year();
        println!("Det finns ingen omgång ännu. Prova med `lagesbild serve --demo`, eller skapa en:");
        println!(
            "  lagesbild round create --survey lagesbild --year {year} --opens {} --closes {}",
            today(),
            today().saturating_add(jiff::Span::new().days(30))
        );
        println!("  lagesbild roster import --round lagesbild-{year} mottagare.csv");
        println!("  lagesbild links --round lagesbild-{year} --out lankar.csv");
    }
    app.run().await?;
    Ok(())
}

pub async fn create(settings: &Settings, store: &Store, new: NewRound) -> anyhow::Result<()> {
    let round = coordinator::create_round(store, &settings.surveys()?, &Actor::command_line(), new).await?;
    println!(
        "Skapade omgången {} ({}), öppen {} – {}.",
        round.key,
        round.title,
        swedish_date(round.opens_on),
        swedish_date(round.closes_on)
    );
    Ok(())
}

pub async fn list(store: &Store) -> anyhow::Result<()> {
    let rounds = store.rounds().await?;
    if rounds.is_empty() {
        println!("Inga omgångar ännu. Skapa en med `lagesbild round create`.");
    }
    for r in rounds {
        let share = if r.recipients > 0 { 100.0 * r.submitted as f64 / r.recipients as f64 } else { 0.0 };
        println!(
            "{}\t{}\t{} – {}\t{:?}\t{} mottagare\t{} svar ({share:.0} %)",
            r.round.key,
            r.round.survey_id,
            r.round.opens_on,
            r.round.closes_on,
            r.round.phase(today()),
            r.recipients,
            r.submitted
        );
    }
    Ok(())
}

pub async fn import(store: &Store, key: &str, file: &Path) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bar = super::progress(0, "importerar");
    let name = file.display().to_string();
    let outcome = coordinator::import_roster(store, &Actor::command_line(), &round, &name, &bytes, None, &|n| {
        bar.set_position(n as u64)
    })
    .await?;
    bar.finish_and_clear();
    println!("{}: {} nya mottagare, {} fanns redan.", round.key, outcome.added, outcome.already_present);
    Ok(())
}

pub async fn links(
    settings: &Settings,
    store: &Store,
    key: &str,
    pending: bool,
    out: &Option<PathBuf>,
) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let links = coordinator::links(store, &Actor::command_line(), &round, pending).await?;
    coordinator::write_links(super::output(out)?, &links, |token| settings.link(token))?;
    if let Some(path) = out {
        eprintln!("Skrev {} personliga länkar till {}.", links.len(), path.display());
    }
    Ok(())
}

/// A round to try the form with: open from today for 30 days, three test recipients.
async fn demo_round(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    let actor = Actor::command_line();
    let round = match store.round("demo").await? {
        Some(r) => r,
        None => {
            let new = NewRound {
                survey_id: "lagesbild".into(),
                year: today().year(),
                opens: Some(today()),
                closes: Some(today().saturating_add(jiff::Span::new().days(30))),
                key: Some("demo".into()),
                title: Some("Lägesbild – provomgång".into()),
                ..NewRound::default()
            };
            coordinator::create_round(store, &settings.surveys()?, &actor, new).await?
        }
    };
    let demo = "email,name,organisation,group,category\n\
                forskolan.demo@example.se,Test Testsson,Förskolan Demo,intern,forskola\n\
                forening.demo@example.se,,Föreningen Demo,extern,forening\n\
                trafik.demo@example.se,,Trafikkontoret,fackforvaltning,trafik\n";
    coordinator::import_roster(store, &actor, &round, "demo", demo.as_bytes(), None, &|_| {}).await?;
    println!("Provomgången `demo` är öppen. Personliga länkar (nya varje start, de gamla fungerar också):");
    for link in coordinator::links(store, &actor, &round, true).await? {
        println!("  {}: {}", link.email, settings.link(&link.token));
    }
    demo_accounts(settings, store).await
}

/// A coordinator and an analyst to try the admin pages with: each gets a link to choose a
/// password until one is chosen.
async fn demo_accounts(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    use crate::account::Role;
    use crate::address::EmailAddress;
    let actor = Actor::command_line();
    let base = settings.base_url.trim_end_matches('/');
    println!("Administrationen: {base}/admin/");
    for (email, role) in [("samordnare@example.se", Role::Coordinator), ("analytiker@example.se", Role::Analyst)] {
        let token = match store.account_by_email(&EmailAddress::parse(email)?).await? {
            Some(a) if a.has_password => {
                println!("  {} ({}): logga in med lösenordet du valde", email, role.swedish());
                continue;
            }
            Some(a) => coordinator::new_password_link(store, &actor, &a).await?,
            None => coordinator::add_account(store, &actor, email, role).await?.1,
        };
        println!("  {} ({}): välj lösenord på {base}/admin/losenord/{token}", email, role.swedish());
    }
    Ok(())
}

/// `lagesbild gallra`: deletes now what the round's rule covers, or with `dry_run` counts it.
pub async fn gallra(store: &Store, key: &str, dry_run: bool) -> anyhow::Result<()> {
    let round = coordinator::find_round(store, key).await?;
    let erased = coordinator::gallra(store, &Actor::command_line(), &round, coordinator::When::Now, dry_run).await?;
    let rule = coordinator::describe_rule(&store.gallring(round.id).await?.rule);
    match (dry_run, erased == Default::default()) {
        (_, true) => println!("Omgången {key}: inget att gallra (regel: {rule})."),
        (true, false) => println!("Omgången {key}: skulle radera {}. Inget raderades (--dry-run).", erased.describe()),
        (false, false) => println!("Omgången {key}: raderade {}. Svaren och siffrorna finns kvar.", erased.describe()),
    }
    Ok(())
}
