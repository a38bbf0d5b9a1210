//! The coordinator's email commands: queue invitations and reminders, send without the
//! server, show what happened, set a round's texts and schedule.

use crate::config::{MailSettings, Settings};
use crate::coordinator::{self, Actor, Sending, find_round};
use crate::outbox::letter::Letters;
use crate::outbox::worker::Mailer;
use crate::outbox::{OutboxState, ReminderStep, parse_schedule};
use crate::round::{Round, swedish_date};
use crate::store::Store;
use anyhow::{Context, bail};
use lettre::message::Mailbox;
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn how_sent(round: &Round) -> String {
    format!("Servern skickar dem inom några sekunder, eller kör `lagesbild send --round {}`.", round.key)
}

/// Queues a sending with a progress bar; returns (queued, left out).
async fn queue(
    store: &Store,
    mail: &MailSettings,
    round: &Round,
    sending: Sending,
    what: &str,
) -> anyhow::Result<(usize, usize)> {
    let bar = super::progress(0, what);
    let counts = coordinator::queue_sending(
        store,
        &Actor::command_line(),
        round,
        sending,
        mail.reminder_min_days,
        &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )
    .await;
    bar.finish_and_clear();
    Ok(counts?)
}

/// `lagesbild invite`: an invitation for everyone on the roster who has none and has not answered.
pub async fn invite(store: &Store, mail: &MailSettings, key: &str) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let (queued, left_out) = queue(store, mail, &round, Sending::Invitations, "köar inbjudningar").await?;
    println!(
        "{}: köade {queued} inbjudningar ({left_out} mottagare hade redan en inbjudan eller har svarat).",
        round.key
    );
    if queued > 0 {
        println!("{}", how_sent(&round));
    }
    Ok(())
}

/// `lagesbild remind`: a reminder for everyone whose invitation arrived at least
/// REMINDER_MIN_DAYS days ago, who has not answered and was not reminded within as many days.
pub async fn remind(store: &Store, mail: &MailSettings, key: &str) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let (queued, left_out) = queue(store, mail, &round, Sending::Reminders, "köar påminnelser").await?;
    let days = mail.reminder_min_days;
    println!(
        "{}: köade {queued} påminnelser. Ingen påminnelse till de {left_out} som har svarat, fick sin inbjudan \
         för mindre än {days} dagar sedan eller fått en påminnelse de senaste {days} dagarna.",
        round.key
    );
    if queued > 0 {
        println!("{}", how_sent(&round));
    }
    Ok(())
}

/// `lagesbild send`: delivers the outbox without the server.
pub async fn send(
    settings: &Settings,
    mail: &MailSettings,
    store: &Store,
    key: Option<&str>,
    wait: bool,
    retry_failed: bool,
    resend_uncertain: bool,
) -> anyhow::Result<()> {
    let round = match key {
        Some(key) => Some(find_round(store, key).await?),
        None => None,
    };
    if retry_failed || resend_uncertain {
        let Some(round) = &round else {
            bail!("name the round whose failed emails should be sent again: --round");
        };
        let sending = Sending::Retry { uncertain_too: resend_uncertain };
        let (n, _) = queue(store, mail, round, sending, "köar igen").await?;
        println!("{n} e-postmeddelanden köades igen.");
    }
    let round_id = round.as_ref().map(|r| r.id);
    let mailer = Arc::new(Mailer::new(settings, mail, store.clone())?);
    let (pending, _) = store.outbox_pending(round_id).await?;
    let bar = super::progress(pending as u64, "skickar");
    let ticker = bar.clone();
    let tally = mailer.send_all(round_id, wait, Arc::new(move || ticker.inc(1))).await?;
    bar.finish_and_clear();
    let (left, _) = store.outbox_pending(round_id).await?;
    let (sent, failed, uncertain) = (
        tally.sent.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        tally.uncertain.load(Ordering::Relaxed),
    );
    println!(
        "Skickade {sent} e-postmeddelanden {}. {failed} misslyckades, {uncertain} kan ha kommit fram (osäkra), {left} väntar på ett nytt försök.",
        mailer.describe(),
    );
    if failed + uncertain > 0 {
        println!("Se `lagesbild round status --round ...` för adresserna och felen.");
    }
    if sent == 0 && failed + uncertain > 0 {
        bail!("inget e-postmeddelande kunde skickas: {failed} misslyckades och {uncertain} är osäkra");
    }
    Ok(())
}

/// `lagesbild round status`: per group and category, and the addresses that failed.
pub async fn status(store: &Store, mail: &MailSettings, key: &str) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let lines = store.mail_status(round.id).await?;
    println!(
        "{} ({}), öppen {} – {}",
        round.key,
        round.title,
        swedish_date(round.opens_on),
        swedish_date(round.closes_on)
    );
    let header = [
        "grupp",
        "kategori",
        "mottagare",
        "inbjudna",
        "levererade",
        "i kö",
        "misslyckade",
        "öppnat länken",
        "svarat",
        "påminda",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut total = [0i64; 8];
    for l in &lines {
        let counts = [l.recipients, l.invited, l.delivered, l.waiting, l.failed, l.opened, l.submitted, l.reminded];
        for (t, c) in total.iter_mut().zip(counts) {
            *t += c;
        }
        rows.push([l.group.clone(), l.category.clone()].into_iter().chain(counts.iter().map(i64::to_string)).collect());
    }
    rows.push(["totalt".to_string(), String::new()].into_iter().chain(total.iter().map(i64::to_string)).collect());
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(c, v)| {
                let pad = " ".repeat(widths[c] - v.chars().count());
                if c < 2 { format!("{v}{pad}") } else { format!("{pad}{v}") }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(&header.map(String::from)));
    for r in &rows {
        println!("{}", line(r));
    }
    if let Some(ends) = crate::coordinator::mail_out_ends(store, mail.pace()).await? {
        println!("{ends}");
    }
    let problems = store.mail_problems(round.id).await?;
    if problems.is_empty() {
        println!("Inga misslyckade utskick.");
        return Ok(());
    }
    println!("\nAdresser med problem:");
    for p in problems {
        let what = match p.state {
            OutboxState::Failed => format!("misslyckades efter {} försök", p.attempts),
            OutboxState::Uncertain => "osäker".to_string(),
            _ => {
                let at = jiff::Timestamp::from_second(p.next_attempt_at)
                    .map(|t| t.to_zoned(jiff::tz::TimeZone::get(crate::round::TIME_ZONE).expect("bundled")))
                    .map(|z| z.strftime("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                format!("nytt försök {at} ({} försök hittills)", p.attempts)
            }
        };
        println!("  {}  {}  {what}: {}", p.email, p.kind.swedish(), p.error);
    }
    Ok(())
}

/// `lagesbild round mail`: shows, and changes, a round's subjects, texts, contact line and schedule.
pub async fn round_mail(
    settings: &Settings,
    mail: &MailSettings,
    store: &Store,
    key: &str,
    changes: coordinator::MailChanges,
) -> anyhow::Result<()> {
    let round = find_round(store, key).await?;
    let current = store.round_mail(round.id).await?;
    let sender = Mailbox::new(
        Some(mail.mail_from_name.clone()),
        mail.mail_from.parse().with_context(|| format!("MAIL_FROM `{}` is not an email address", mail.mail_from))?,
    );
    let letters = Letters::load(&settings.templates()?)?;
    let updated = changes.apply(&current)?;
    let updated =
        coordinator::save_round_mail(store, &Actor::command_line(), &round, &letters, &sender, updated).await?;
    if updated != current {
        println!("Sparade ändringarna för {}.", round.key);
    }
    let own = |v: &Option<String>| match v {
        Some(v) => format!("\"{}\"", v.trim()),
        None => "mallens".to_string(),
    };
    println!("{}:", round.key);
    println!("  ämne, inbjudan:      {}", own(&updated.invitation_subject));
    println!("  text, inbjudan:      {}", own(&updated.invitation_text));
    println!("  ämne, påminnelse:    {}", own(&updated.reminder_subject));
    println!("  text, påminnelse:    {}", own(&updated.reminder_text));
    println!("  kontaktrad:          {}", own(&updated.contact));
    let steps = parse_schedule(&updated.reminder_schedule).unwrap_or_default();
    let described: Vec<String> = steps
        .iter()
        .map(|s| match s {
            ReminderStep::AfterInvitation(d) => format!("{d} dagar efter inbjudan"),
            ReminderStep::BeforeClosing(d) => format!("{d} dagar före stängning"),
        })
        .collect();
    println!(
        "  automatiska påminnelser: {}",
        if described.is_empty() { "inga".to_string() } else { described.join(", ") }
    );
    Ok(())
}
