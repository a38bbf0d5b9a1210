//! The admin pages as a coordinator and an analyst use them: logging in and out, rounds,
//! the roster upload, sending from the browser, the downloads, accounts and the audit log,
//! and everything an analyst or a forged form must not be able to do.

use crate::helpers::{Browser, Engine, PASSWORD, TestApp, days_from_today, fresh_database, mail_settings, project_dir};
use crate::on_both_engines;
use crate::smtp::SmtpServer;
use lagesbild::account::Role;

on_both_engines!(
    logging_in_and_out,
    repeated_failures_slow_an_account_down,
    an_analyst_is_refused_every_change_and_every_address,
    forms_without_the_right_csrf_token_change_nothing,
    a_roster_upload_is_checked_previewed_and_then_imported,
    a_round_is_created_previewed_watched_and_closed_in_the_browser,
    the_analyst_downloads_what_the_analysis_provides,
    accounts_are_added_disabled_and_logged,
);

const ROSTER: &str = "email,name,organisation,group,category\n\
    forskolan@example.se,Maria Åkesson,Förskolan Solrosen,intern,forskola\n\
    forening@example.se,,Föreningen Gården,extern,forening\n\
    trafik@example.se,,Trafikkontoret,fackforvaltning,trafik\n";

async fn logging_in_and_out(app: TestApp) {
    app.account("samordnare@stad.se", Role::Coordinator, PASSWORD).await;
    let mut browser = Browser::new(&app.base);

    // Without a session every page leads to the login, and back after it.
    let page = browser.get("/admin/omgangar").await;
    assert_eq!(browser.redirected_to.as_deref(), Some("/admin/logga-in?inloggning=1&till=%2Fadmin%2Fomgangar"));
    assert!(page.contains("Logga in för att se sidan."));

    let page =
        browser.post("/admin/logga-in", &[("email", "samordnare@stad.se"), ("password", "fel lösenord här")]).await;
    assert_eq!(page.status, 401);
    assert!(page.contains("Fel e-postadress eller lösenord"));
    assert_eq!(browser.get("/admin/omgangar").await.hidden("till").as_deref(), Some("/admin/omgangar"));

    // An unknown address gets the very same answer as a wrong password.
    let page = browser.post("/admin/logga-in", &[("email", "ingen@stad.se"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 401);
    assert!(page.contains("Fel e-postadress eller lösenord"));

    browser.get("/admin/logga-in?till=/admin/konton").await;
    let res = browser
        .client
        .post(format!("{}/admin/logga-in", app.base))
        .form(&[
            ("csrf", browser.csrf().as_str()),
            ("email", "Samordnare@Stad.se"),
            ("password", PASSWORD),
            ("till", "/admin/konton"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/konton");
    let cookie = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>().join("\n");
    assert!(cookie.contains("lagesbild_admin="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http gets no Secure cookie: {cookie}");

    let page = browser.get("/admin/omgangar").await;
    assert_eq!(page.status, 200);
    assert!(page.contains("samordnare@stad.se (samordnare)"));
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["x-frame-options"], "DENY");

    // An open redirect is not possible through the login.
    browser.get("/admin/logga-in").await;
    let res = browser
        .client
        .post(format!("{}/admin/logga-in", app.base))
        .form(&[
            ("csrf", browser.csrf().as_str()),
            ("email", "samordnare@stad.se"),
            ("password", PASSWORD),
            ("till", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/admin/omgangar");

    let page = browser.get("/admin/omgangar").await;
    assert_eq!(page.status, 200);
    let page = browser.post("/admin/logga-ut", &[]).await;
    assert!(page.contains("Du är utloggad."));
    browser.get("/admin/omgangar").await;
    assert!(browser.redirected_to.as_deref().unwrap().starts_with("/admin/logga-in"));
}

async fn repeated_failures_slow_an_account_down(app: TestApp) {
    app.account("samordnare@stad.se", Role::Coordinator, PASSWORD).await;
    let mut browser = Browser::new(&app.base);
    for _ in 0..lagesbild::account::FREE_FAILURES {
        let page = browser.login("samordnare@stad.se", "gissning gissning").await;
        assert_eq!(page.status, 401);
    }
    // Now even the right password waits: the guesser cannot tell.
    let page = browser.login("samordnare@stad.se", PASSWORD).await;
    assert_eq!(page.status, 429);
    assert!(page.contains("för många misslyckade inloggningar i rad. Vänta 1 minut"), "{}", page.body);
    // Another browser (another instance, another address) gets the same brake: it is in the database.
    let page = Browser::new(&app.base).login("samordnare@stad.se", PASSWORD).await;
    assert_eq!(page.status, 429);
    // An address without an account is braked the same way: the brake tells nothing.
    let mut guesser = Browser::new(&app.base);
    for _ in 0..lagesbild::account::FREE_FAILURES {
        assert_eq!(guesser.login("ingen@stad.se", "gissning gissning").await.status, 401);
    }
    let page = guesser.login("ingen@stad.se", "gissning gissning").await;
    assert_eq!(page.status, 429);
    assert!(page.contains("för många misslyckade inloggningar i rad. Vänta 1 minut"), "{}", page.body);
}

async fn an_analyst_is_refused_every_change_and_every_address(app: TestApp) {
    let round = app.open_round("lagesbild-2027").await;
    app.recipients(&round, &[("skolan@example.se", "intern", "skola")]).await;
    let mut analyst = app.signed_in("analytiker@stad.se", Role::Analyst).await;
    let page = analyst.get("/admin/omgangar").await;
    assert!(page.contains("/admin/omgangar/lagesbild-2027/analys"));
    assert!(!page.contains("Ny omgång"));

    let forbidden_pages = [
        "/admin/omgangar/ny",
        "/admin/omgangar/lagesbild-2027/mottagare",
        "/admin/omgangar/lagesbild-2027/mottagare/importera",
        "/admin/omgangar/lagesbild-2027/utskick",
        "/admin/omgangar/lagesbild-2027/utskick/inbjudningar",
        "/admin/omgangar/lagesbild-2027/svarsfrekvens.svg",
        "/admin/konton",
        "/admin/logg",
    ];
    for path in forbidden_pages {
        let page = analyst.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(!page.contains("skolan@example.se"), "{path} shows an address");
        assert!(page.contains("analytikerkonto"), "{path}");
    }
    analyst.get("/admin/omgangar/lagesbild-2027/analys").await;
    let posts: [(&str, &[(&str, &str)]); 7] = [
        (
            "/admin/omgangar/ny",
            &[
                ("survey", "lagesbild"),
                ("year", "2028"),
                ("opens", "2028-03-01"),
                ("closes", "2028-03-31"),
                ("threshold", "5"),
            ],
        ),
        ("/admin/omgangar/lagesbild-2027/datum", &[("action", "close")]),
        ("/admin/omgangar/lagesbild-2027/utskick/inbjudningar", &[]),
        ("/admin/omgangar/lagesbild-2027/lankar.csv", &[("pending", "0")]),
        ("/admin/konton", &[("email", "ny@stad.se"), ("role", "coordinator")]),
        ("/admin/omgangar/lagesbild-2027/utskick-texter", &[("contact", "Ring mig")]),
        ("/admin/omgangar/lagesbild-2027/mottagare/ta-bort", &[("email", "skolan@example.se"), ("confirm", "1")]),
    ];
    for (path, fields) in posts {
        let page = analyst.post(path, fields).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(!page.contains("skolan@example.se"));
        analyst.get("/admin/omgangar/lagesbild-2027/analys").await;
    }
    // Nothing changed: one round, still open, no email queued, no account added, no texts.
    let rounds = app.store.rounds().await.unwrap();
    assert_eq!(rounds.len(), 1);
    assert_eq!(rounds[0].round.closes_on, round.closes_on);
    assert_eq!(app.store.outbox_pending(Some(round.id)).await.unwrap().0, 0);
    assert!(app.store.account_by_email(&crate::helpers::email("ny@stad.se")).await.unwrap().is_none());
    assert_eq!(app.store.round_mail(round.id).await.unwrap().contact, None);
    let upload = reqwest::multipart::Form::new()
        .text("csrf", analyst.csrf())
        .part("file", reqwest::multipart::Part::bytes(ROSTER.as_bytes().to_vec()).file_name("m.csv"));
    let res = analyst
        .client
        .post(format!("{}/admin/omgangar/lagesbild-2027/mottagare/importera", app.base))
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 1);
}

async fn forms_without_the_right_csrf_token_change_nothing(app: TestApp) {
    let round = app.open_round("lagesbild-2027").await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    coordinator.get("/admin/omgangar/lagesbild-2027").await;
    let round_fields = [
        ("survey", "lagesbild"),
        ("year", "2028"),
        ("opens", "2028-03-01"),
        ("closes", "2028-03-31"),
        ("threshold", "5"),
    ];
    let mut with_wrong = round_fields.to_vec();
    with_wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    for fields in [&round_fields[..], &with_wrong[..]] {
        let page = coordinator.post_exactly("/admin/omgangar/ny", fields).await;
        assert_eq!(page.status, 403);
        assert!(page.contains("säkerhetskod"));
    }
    let page = coordinator.post_exactly("/admin/omgangar/lagesbild-2027/datum", &[("action", "close")]).await;
    assert_eq!(page.status, 403);
    let page = coordinator.post_exactly("/admin/logga-ut", &[]).await;
    assert_eq!(page.status, 403);
    assert_eq!(app.store.rounds().await.unwrap().len(), 1);
    assert_eq!(app.store.round("lagesbild-2027").await.unwrap().unwrap().closes_on, round.closes_on);
    // The session survived the forged logout.
    assert_eq!(coordinator.get("/admin/omgangar").await.status, 200);

    // Another session's token does not work either.
    let other = app.signed_in("annan@stad.se", Role::Coordinator).await;
    let foreign = other.csrf();
    let mut fields = round_fields.to_vec();
    fields.push(("csrf", &foreign));
    assert_eq!(coordinator.post_exactly("/admin/omgangar/ny", &fields).await.status, 403);
    assert_eq!(app.store.rounds().await.unwrap().len(), 1);
}

async fn a_roster_upload_is_checked_previewed_and_then_imported(app: TestApp) {
    let round = app.open_round("lagesbild-2027").await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let upload_path = "/admin/omgangar/lagesbild-2027/mottagare/importera";

    coordinator.get(upload_path).await;
    let bad = "email;name;organisation;group;category\nok@example.se;;Skolan;intern;skola\nfel;;Skolan;intern;skola\nx@example.se;;Kyrkan;kyrka;trossamfund\n";
    let page = coordinator.upload(upload_path, "fel.csv", bad).await;
    assert_eq!(page.status, 422);
    assert!(page.contains("Inget importerades: 2 fel i fel.csv"), "{}", page.body);
    assert!(page.contains("rad 3: &quot;fel&quot; är inte en giltig e-postadress"), "{}", page.body);
    assert!(page.contains("rad 4: group &quot;kyrka&quot; finns inte"), "{}", page.body);
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 0);

    coordinator.get(upload_path).await;
    let page = coordinator.upload(upload_path, "mottagare.csv", &format!("\u{feff}{ROSTER}")).await;
    assert_eq!(page.status, 200);
    assert!(page.contains("<strong>3 nya mottagare</strong> kommer att läggas till"), "{}", page.body);
    assert!(page.contains("Maria Åkesson"));
    // Previewed, not imported.
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 0);
    let confirm = page
        .body
        .split("action=\"")
        .find(|a| a.starts_with("/admin/omgangar/lagesbild-2027/mottagare/importera/"))
        .unwrap();
    let confirm = confirm.split('"').next().unwrap().to_string();
    let page = coordinator.post(&confirm, &[]).await;
    assert!(page.contains("3 nya mottagare importerades från mottagare.csv; 0 fanns redan."), "{}", page.body);
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 3);
    assert!(page.contains("forening@example.se") && page.contains("Inte inbjuden"));
    // The same confirmation again imports nothing more.
    let page = coordinator.post(&confirm, &[]).await;
    assert!(page.contains("Filen finns inte kvar"));

    // The same file once more: nobody new.
    coordinator.get(upload_path).await;
    let page = coordinator.upload(upload_path, "mottagare.csv", ROSTER).await;
    assert!(page.contains("<strong>0 nya mottagare</strong> kommer att läggas till; 3 finns redan"), "{}", page.body);
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 3);

    // The links CSV: a link per recipient that opens the form.
    coordinator.get("/admin/omgangar/lagesbild-2027/mottagare").await;
    let csrf = coordinator.csrf();
    let res = coordinator
        .client
        .post(format!("{}/admin/omgangar/lagesbild-2027/lankar.csv", app.base))
        .form(&[("csrf", csrf.as_str()), ("pending", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("lankar-lagesbild-2027.csv"));
    let body = res.text().await.unwrap();
    let mut rows = csv::Reader::from_reader(body.as_bytes());
    let links: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(links.len(), 3);
    assert_eq!(rows.headers().unwrap(), vec!["email", "name", "organisation", "link"]);
    let maria = links.iter().find(|l| &l[0] == "forskolan@example.se").unwrap();
    assert_eq!((&maria[1], &maria[2]), ("Maria Åkesson", "Förskolan Solrosen"));
    let mut respondent = crate::helpers::Respondent::new(&links[0][3]);
    assert_eq!(respondent.open().await.status, 200);

    // A recipient imported by mistake comes off the roster; one who has answered does not.
    let link_of = |email: &str| links.iter().find(|l| &l[0] == email).unwrap()[3].to_string();
    let mut answered = crate::helpers::Respondent::new(&link_of("trafik@example.se"));
    answered.answer_nothing_seen().await;
    let remove = "/admin/omgangar/lagesbild-2027/mottagare/ta-bort";
    coordinator.get("/admin/omgangar/lagesbild-2027/mottagare").await;
    let page = coordinator.post(remove, &[("email", "trafik@example.se"), ("confirm", "1")]).await;
    assert!(page.contains("trafik@example.se har redan svarat och kan inte tas bort"), "{}", page.body);
    let page = coordinator.post(remove, &[("email", "forening@example.se")]).await;
    assert!(page.contains("Ta bort forening@example.se?"), "a confirmation first: {}", page.body);
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 3);
    let page = coordinator.post(remove, &[("email", "forening@example.se"), ("confirm", "1")]).await;
    assert!(page.contains("forening@example.se är borttagen från mottagarlistan"), "{}", page.body);
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 2);
    assert_eq!(crate::helpers::Respondent::new(&link_of("forening@example.se")).open().await.status, 404);
    assert_eq!(app.store.responses(round.id).await.unwrap().len(), 1, "the response stays");

    let page = coordinator.get("/admin/logg").await;
    assert!(page.contains("tog bort mottagare"));
    assert!(page.contains("importerade mottagare"));
    assert!(page.contains("mottagare.csv: 3 nya, 0 fanns redan"));
    assert!(page.contains("laddade ner personliga länkar"));
    assert!(!page.contains(respondent.token()), "the audit log never holds a token");
}

async fn a_round_is_created_previewed_watched_and_closed_in_the_browser(app: TestApp) {
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    coordinator.get("/admin/omgangar/ny").await;
    let (opens, closes) = (days_from_today(-1).to_string(), days_from_today(9).to_string());
    let page = coordinator
        .post(
            "/admin/omgangar/ny",
            &[
                ("survey", "lagesbild"),
                ("year", "20x7"),
                ("opens", &closes),
                ("closes", &opens),
                ("threshold", "2"),
                ("reminders", "sju"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    let problems = page.error_summary();
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].contains("Året ”20x7” är inget årtal"));
    assert!(problems[1].contains("Sista svarsdagen kommer före den första"));
    assert!(problems[2].contains("minst 3"));
    assert!(problems[3].contains("Påminnelseschemat"));
    assert!(page.contains("value=\"20x7\""), "what was typed is kept");
    let page = coordinator
        .post(
            "/admin/omgangar/ny",
            &[("survey", "finns-inte"), ("year", "2027"), ("opens", &opens), ("closes", &closes), ("threshold", "5")],
        )
        .await;
    let problems = page.error_summary();
    assert!(
        problems.len() == 1 && problems[0].ends_with("Det finns ingen enkät som heter ”finns-inte”. Välj en i listan."),
        "{problems:?}"
    );
    assert!(app.store.rounds().await.unwrap().is_empty());

    let page = coordinator
        .post(
            "/admin/omgangar/ny",
            &[
                ("survey", "lagesbild"),
                ("year", "2027"),
                ("opens", &opens),
                ("closes", &closes),
                ("threshold", "5"),
                ("key", "vt27"),
                ("contact", "Frågor: Anna Berg, 08-123 45 67"),
                ("reminders", "7,-2"),
            ],
        )
        .await;
    assert_eq!(coordinator.redirected_to.as_deref(), Some("/admin/omgangar/vt27"));
    assert!(page.contains("Omgången Lägesbild"), "{}", page.body);
    assert!(page.contains("10 dagar kvar"), "{}", page.body);
    assert!(page.contains("Importera mottagarlistan"));
    let round = app.store.round("vt27").await.unwrap().unwrap();
    let mail = app.store.round_mail(round.id).await.unwrap();
    assert_eq!(mail.contact.as_deref(), Some("Frågor: Anna Berg, 08-123 45 67"));
    assert_eq!(mail.reminder_schedule, "7,-2");

    // The preview shows the form as a respondent sees it and stores nothing.
    let page = coordinator.get("/admin/omgangar/vt27/forhandsvisning?grupp=extern&kategori=forening").await;
    assert_eq!(page.status, 200);
    assert!(page.contains("Förhandsvisning."));
    assert!(!page.contains("Spara och fortsätt senare"));
    let first = page.questions();
    assert_eq!(first[0], "observerat");
    let preview = "/admin/omgangar/vt27/forhandsvisning";
    let page = post_preview(&mut coordinator, preview, "next", &[]).await;
    assert_eq!(page.status, 422, "a required question left empty");
    assert!(!page.error_summary().is_empty());
    let page = post_preview(&mut coordinator, preview, "next", &[("q.observerat", "nej")]).await;
    assert_eq!(page.status, 200);
    assert!(!page.questions().contains(&"observerat".to_string()), "moved on to the next page");
    let page = post_preview(&mut coordinator, preview, "back", &[]).await;
    assert!(page.checked("q.observerat", "nej"), "the answer travels with the preview");
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 0);

    // Respondents answer; the dashboard counts them per group.
    let mut people = app
        .recipients(
            &round,
            &[
                ("a@example.se", "intern", "skola"),
                ("b@example.se", "intern", "skola"),
                ("c@example.se", "extern", "forening"),
            ],
        )
        .await;
    people[0].answer_nothing_seen().await;
    let page = coordinator.get("/admin/omgangar/vt27").await;
    assert!(page.contains("<span class=\"big\">3</span> mottagare"));
    assert!(page.contains("<span class=\"big\">1</span> har svarat"));
    assert!(page.contains("<span class=\"big\">33,3 %</span> svarsfrekvens"), "{}", page.body);
    assert!(page.contains("<meter min=\"0\" max=\"1\" value=\"0.5\">50 %</meter> 50 %"), "{}", page.body);
    assert!(page.contains("src=\"/admin/omgangar/vt27/svarsfrekvens.svg\""));
    let res = coordinator.download("/admin/omgangar/vt27/svarsfrekvens.svg").await;
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = res.text().await.unwrap();
    assert!(svg.contains("Förvaltningens verksamheter") && svg.contains("50 %"), "{svg}");
    // The base under the chart, wrapped to the image's width (a line may break between words).
    assert!(svg.contains("verksamheter: 1 av 2"), "the base under the chart: {svg}");
    // It never reloads by itself (a screen reader would lose its place): the coordinator asks.
    assert!(!page.contains("http-equiv=\"refresh\""), "{}", page.body);
    assert!(page.contains("Uppdatera siffrorna"), "{}", page.body);
    // A second round with the same name is refused, in words.
    coordinator.get("/admin/omgangar/ny").await;
    let page = coordinator
        .post(
            "/admin/omgangar/ny",
            &[
                ("survey", "lagesbild"),
                ("year", "2027"),
                ("opens", &opens),
                ("closes", &closes),
                ("threshold", "5"),
                ("key", "vt27"),
            ],
        )
        .await;
    let problems = page.error_summary();
    let expected = "Det finns redan en omgång med kortnamnet vt27. Skriv ett annat kortnamn, till exempel vt27-b.";
    assert!(problems.len() == 1 && problems[0].ends_with(expected), "{problems:?}");

    // Closing: the links say so at once. Reopening with a new last day: they work again.
    let page = coordinator.post("/admin/omgangar/vt27/datum", &[("action", "close")]).await;
    assert!(page.contains("Omgången är stängd."), "{}", page.body);
    assert!(people[1].open().await.contains("Enkäten är stängd"));
    let later = days_from_today(20).to_string();
    let page = coordinator.post("/admin/omgangar/vt27/datum", &[("action", "extend"), ("closes", &later)]).await;
    assert!(
        page.contains(&format!("till och med den {}", lagesbild::round::swedish_date(days_from_today(20)))),
        "{}",
        page.body
    );
    assert_eq!(people[1].open().await.questions()[0], "observerat");
    let page = coordinator.get("/admin/logg").await;
    for action in ["skapade omgången", "stängde omgången", "öppnade omgången igen"] {
        assert!(page.contains(action), "{action}");
    }
}

/// Posts the preview page shown, with its hidden fields, the answers and the action given.
async fn post_preview(
    browser: &mut Browser,
    path: &str,
    action: &str,
    answers: &[(&str, &str)],
) -> crate::helpers::Page {
    let page = browser.last.clone().expect("a preview page is shown");
    let unescape =
        |v: String| v.replace("&quot;", "\"").replace("&#x3D;", "=").replace("&#x27;", "'").replace("&amp;", "&");
    let mut fields: Vec<(String, String)> = ["step", "preview_draft", "preview_group", "preview_category"]
        .iter()
        .map(|name| (name.to_string(), unescape(page.hidden(name).unwrap_or_default())))
        .collect();
    fields.push(("action".into(), action.into()));
    fields.extend(answers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.post(path, &refs).await
}

async fn the_analyst_downloads_what_the_analysis_provides(app: TestApp) {
    let round = app.open_round("lagesbild-2027").await;
    let mut people =
        app.recipients(&round, &[("a@example.se", "intern", "skola"), ("b@example.se", "intern", "skola")]).await;
    for p in people.iter_mut() {
        p.answer_nothing_seen().await;
    }
    let mut analyst = app.signed_in("analytiker@stad.se", Role::Analyst).await;
    let page = analyst.get("/admin/omgangar/lagesbild-2027/analys").await;
    assert!(page.contains("2 svar hittills"));
    assert!(page.contains("svar.csv?dialekt=excel"));

    let res = analyst.download("/admin/omgangar/lagesbild-2027/svar.csv").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let body = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert!(reader.headers().unwrap().iter().any(|h| h == "observerat"));
    assert_eq!(reader.records().count(), 2);
    assert!(!body.contains("a@example.se"));
    let res = analyst.download("/admin/omgangar/lagesbild-2027/svar.csv?dialekt=excel&etiketter=1").await;
    assert!(res.bytes().await.unwrap().starts_with(b"\xEF\xBB\xBF"));

    let res = analyst.download("/admin/omgangar/lagesbild-2027/siffror.csv").await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.starts_with("question,row,column,group,code,count,share,base,year"), "{body}");
    let res = analyst.download("/admin/omgangar/lagesbild-2027/trend.csv").await;
    assert_eq!(res.status(), 200);
    let res = analyst.download("/admin/omgangar/lagesbild-2027/rapport.html").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("<html"));
    let res = analyst.download("/admin/omgangar/lagesbild-2027/rapport.md").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/markdown"));

    // Two responses are fewer than the threshold: no charts yet, and the page says so.
    assert!(page.contains("för få svar"));

    // A coordinator sees who answered, so the responses file is not for them.
    let coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let res = coordinator.download("/admin/omgangar/lagesbild-2027/svar.csv").await;
    assert_eq!(res.status(), 403);
    // Nor are the figures while the round is open: two downloads, before and after one more
    // answer the coordinator saw come in, would differ by exactly that answer.
    let mut coordinator = coordinator;
    for path in ["siffror.csv", "trend.csv", "rapport.md", "diagram/observerat_per_grupp.svg", "analys"] {
        let page = coordinator.get(&format!("/admin/omgangar/lagesbild-2027/{path}")).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.contains("Resultaten öppnas när omgången har stängt"), "{path}: {}", page.body);
    }
    let page = coordinator.get("/admin/omgangar/lagesbild-2027").await;
    coordinator.post(&format!("/admin/omgangar/{}/datum", round.key), &[("action", "close")]).await;
    assert_eq!(page.status, 200);
    let res = coordinator.download("/admin/omgangar/lagesbild-2027/siffror.csv").await;
    assert_eq!(res.status(), 200, "once the round has closed");
    let page = coordinator.get("/admin/logg").await;
    assert!(page.contains("laddade ner svaren"));
}

async fn accounts_are_added_disabled_and_logged(app: TestApp) {
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    coordinator.get("/admin/konton").await;
    let page = coordinator.post("/admin/konton", &[("email", "inte en adress"), ("role", "analyst")]).await;
    assert_eq!(page.status, 422);
    assert!(page.contains("är inte en e-postadress"));
    let page = coordinator.post("/admin/konton", &[("email", "Analys@Stad.se"), ("role", "analyst")]).await;
    assert!(page.contains("Skicka den här länken till analys@stad.se"), "{}", page.body);
    let link = page.body.split("<code class=\"link\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let path = link.strip_prefix(&app.base).expect("the link points at this server").to_string();

    let mut newcomer = Browser::new(&app.base);
    let page = newcomer.get(&path).await;
    assert!(page.contains("Kontot analys@stad.se"));
    let page = newcomer.post(&path, &[("password", "sommar2027"), ("again", "sommar2027")]).await;
    assert_eq!(page.status, 422);
    assert!(page.contains("minst 12 tecken"));
    let page = newcomer.post(&path, &[("password", "password1234"), ("again", "password1234")]).await;
    assert!(page.contains("för lätt att gissa"));
    let page = newcomer.post(&path, &[("password", PASSWORD), ("again", "något annat")]).await;
    assert!(page.contains("inte likadana"));
    let page = newcomer.post(&path, &[("password", PASSWORD), ("again", PASSWORD)]).await;
    assert!(page.contains("Lösenordet är sparat"));
    // The link is used up.
    assert_eq!(newcomer.get(&path).await.status, 404);
    let page = newcomer.login("analys@stad.se", PASSWORD).await;
    assert_eq!(page.status, 200);
    assert!(page.contains("analys@stad.se (analytiker)"));

    // Disabled: out at once, and cannot log in again.
    let copied = newcomer.download("/admin/omgangar").await.headers().get_all("set-cookie").iter().find_map(|c| {
        c.to_str().unwrap().split(';').next().filter(|kv| kv.starts_with("lagesbild_admin=")).map(str::to_string)
    });
    let copied = copied.expect("the session cookie");
    let page = coordinator.get("/admin/konton").await;
    let id = app.store.account_by_email(&crate::helpers::email("analys@stad.se")).await.unwrap().unwrap().id;
    assert!(page.contains(&format!("/admin/konton/{id}/stang-av")));
    let page = coordinator.post(&format!("/admin/konton/{id}/stang-av"), &[]).await;
    assert!(page.contains("analys@stad.se är avstängt"));
    newcomer.get("/admin/omgangar").await;
    assert!(newcomer.redirected_to.as_deref().unwrap().starts_with("/admin/logga-in"));
    assert_eq!(Browser::new(&app.base).login("analys@stad.se", PASSWORD).await.status, 401);

    // The last coordinator cannot lock everyone out.
    let me = app.store.account_by_email(&crate::helpers::email("samordnare@stad.se")).await.unwrap().unwrap().id;
    coordinator.get("/admin/konton").await;
    let page = coordinator.post(&format!("/admin/konton/{me}/stang-av"), &[]).await;
    assert!(page.contains("det sista aktiva samordnarkontot kan inte stängas av"), "{}", page.body);

    coordinator.post(&format!("/admin/konton/{id}/aktivera"), &[]).await;
    assert_eq!(Browser::new(&app.base).login("analys@stad.se", PASSWORD).await.status, 200);
    // Re-enabled, the account logs in anew: a session from before the disabling stays over.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/admin/omgangar", app.base))
        .header("cookie", &copied)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = coordinator.get("/admin/logg").await;
    for action in ["lade till konto", "stängde av konto", "aktiverade konto", "valde lösenord", "loggade in"] {
        assert!(page.contains(action), "{action}");
    }
    assert!(!page.contains(link.rsplit('/').next().unwrap()), "no password link in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_sent_from_the_browser_reach_the_smtp_server() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with_mail(Engine::Sqlite, |_| {}, |m| m.smtp_url = Some(url)).await.unwrap();
    let round = app.open_round("lagesbild-2027").await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let upload_path = "/admin/omgangar/lagesbild-2027/mottagare/importera";
    coordinator.get(upload_path).await;
    let page = coordinator.upload(upload_path, "m.csv", ROSTER).await;
    let confirm = page
        .body
        .split("action=\"")
        .find(|a| a.starts_with(upload_path))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    coordinator.post(&confirm, &[]).await;

    let page = coordinator.get("/admin/omgangar/lagesbild-2027/utskick").await;
    assert!(page.contains("Inbjudan saknas för <strong>3</strong>"), "{}", page.body);
    let page = coordinator.get("/admin/omgangar/lagesbild-2027/utskick/inbjudningar").await;
    assert!(page.contains("3 inbjudningar kommer att skickas"), "{}", page.body);
    assert_eq!(app.store.outbox_pending(Some(round.id)).await.unwrap().0, 0, "the confirmation page sends nothing");
    let page = coordinator.post("/admin/omgangar/lagesbild-2027/utskick/inbjudningar", &[]).await;
    assert!(page.contains("3 inbjudningar skickas nu."), "{}", page.body);
    smtp.wait_until(30, "three invitations", |s| s.received().len() == 3).await;
    let email = smtp.received().into_iter().find(|m| m.to.contains(&"forskolan@example.se".to_string())).unwrap();
    let link = crate::smtp::Email::parse(&email.data).link("text/plain");
    let mut respondent = crate::helpers::Respondent::new(&link);
    assert_eq!(respondent.open().await.status, 200);

    // The roster shows the delivery; a second sending has nobody left to invite.
    let mut delivered = false;
    for _ in 0..50 {
        if coordinator.get("/admin/omgangar/lagesbild-2027/mottagare").await.body.matches("Inbjudan levererad").count()
            == 3
        {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered, "{}", coordinator.last.as_ref().unwrap().body);
    // Nobody is reminded minutes after the invitation: the reminder waits REMINDER_MIN_DAYS.
    let page = coordinator.get("/admin/omgangar/lagesbild-2027/utskick").await;
    assert!(page.contains("Påminnelse kan skickas till <strong>0</strong>"), "{}", page.body);
    assert!(!page.contains("/utskick/paminnelser\""));
    let page = coordinator.get("/admin/omgangar/lagesbild-2027/utskick/paminnelser").await;
    assert!(page.contains("0 påminnelser kommer att skickas"), "{}", page.body);
    let page = coordinator.get("/admin/omgangar/lagesbild-2027/utskick/inbjudningar").await;
    assert!(page.contains("0 inbjudningar kommer att skickas"));
    assert!(page.contains("Det finns inget att skicka just nu."));
    let page = coordinator.get("/admin/logg").await;
    assert!(page.contains("skickade inbjudningar"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn two_server_instances_on_one_postgresql_database_share_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let Some((database_url, _guard)) = fresh_database(Engine::Postgres, &dir).await else { return };
    let mut bases = Vec::new();
    let mut store = None;
    for _ in 0..2 {
        let settings = lagesbild::config::Settings {
            database_url: database_url.clone(),
            surveys_dir: Some(project_dir().join("surveys")),
            templates_dir: Some(project_dir().join("templates")),
            base_url: String::new(),
        };
        let serve = lagesbild::config::ServeSettings {
            workers: Some(1),
            conceal_every_seconds: 300,
            gallring_check_seconds: 3600,
            sign_in: Default::default(),
            ..crate::helpers::serve_settings(&dir)
        };
        let s = lagesbild::store::Store::connect(&database_url).await.unwrap();
        let app = lagesbild::web::Application::build(settings, serve, mail_settings(&dir), s.clone()).await.unwrap();
        bases.push(format!("http://127.0.0.1:{}", app.port()));
        tokio::spawn(app.run());
        store = Some(s);
    }
    let store = store.unwrap();
    crate::helpers::account_with_password(&store, "samordnare@stad.se", Role::Coordinator, PASSWORD).await;

    let mut first = Browser::new(&bases[0]);
    assert_eq!(first.login("samordnare@stad.se", PASSWORD).await.status, 200);
    // The same cookies, sent to the other instance.
    let mut second = Browser { base: bases[1].clone(), client: first.client.clone(), last: None, redirected_to: None };
    let page = second.get("/admin/omgangar").await;
    assert_eq!(page.status, 200, "{:?}", second.redirected_to);
    assert!(page.contains("samordnare@stad.se (samordnare)"));
    // A form from one instance is accepted by the other: the CSRF token is in the shared session.
    second.get("/admin/konton").await;
    let page = second.post("/admin/konton", &[("email", "analys@stad.se"), ("role", "analyst")]).await;
    assert!(page.contains("Skicka den här länken"), "{}", page.body);
    // Logging out on one ends the session on both, even for a copy of the cookie taken before.
    let copied = first.download("/admin/omgangar").await.headers().get_all("set-cookie").iter().find_map(|c| {
        c.to_str().unwrap().split(';').next().filter(|kv| kv.starts_with("lagesbild_admin=")).map(str::to_string)
    });
    let copied = copied.expect("the session cookie is sent again with every page");
    first.get("/admin/omgangar").await;
    first.post("/admin/logga-ut", &[]).await;
    let mut after = Browser { base: bases[1].clone(), client: first.client.clone(), last: None, redirected_to: None };
    after.get("/admin/omgangar").await;
    assert!(after.redirected_to.as_deref().unwrap().starts_with("/admin/logga-in"));
    let thief = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = thief.get(format!("{}/admin/omgangar", bases[1])).header("cookie", &copied).send().await.unwrap();
    assert_eq!(res.status(), 303, "a cookie copied before the logout no longer works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_after_the_idle_time() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.session_idle_minutes = 0).await.unwrap();
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    // Activity is kept to the second: the idle time has to pass, nothing marks it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = coordinator.get("/admin/omgangar").await;
    assert!(coordinator.redirected_to.as_deref().unwrap().starts_with("/admin/logga-in?ut=tid"));
    assert!(page.contains("Du loggades ut efter 0 minuter utan aktivitet"), "{}", page.body);
    // Logging in again works, and leads back.
    let page = coordinator.login("samordnare@stad.se", PASSWORD).await;
    assert_eq!(page.status, 200);
}

/// The hidden fields of a page's forms, in order.
fn hidden_fields(body: &str) -> Vec<(String, String)> {
    body.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest.split("value=\"").nth(1).and_then(|v| v.split('"').next()).unwrap_or("");
            let unescape = |t: &str| {
                t.replace("&#x3D;", "=")
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&#x27;", "'")
                    .replace("&amp;", "&")
            };
            (unescape(name), unescape(value))
        })
        .collect()
}

/// Sleeps into the start of the next second: activity is kept to the second, so what follows
/// has most of a second before an idle time of 0 minutes ends the session again.
async fn at_the_start_of_a_second() {
    let ms = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 1000) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(1000 - ms + 20)).await;
}

/// A text typed while the session lapsed survives the login: the login page keeps it, and
/// after logging in the coordinator is offered to send it, and it is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_posted_after_the_session_lapsed_survives_the_login() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.session_idle_minutes = 0).await.unwrap();
    let round = app.open_round("r").await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let page = coordinator.get("/admin/omgangar/r/utskick").await;
    assert!(page.contains("Du loggas ut kl."), "every page says when the session ends: {}", page.body);
    let csrf = coordinator.csrf();
    // The idle time passes while the invitation is being written.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let text =
        "Hej!\n\nVi vill veta vad ni har sett i år. Svara senast den 31 mars, tack.\n\nÅsa på stadsdelsförvaltningen";
    let page = coordinator
        .post_exactly(
            "/admin/omgangar/r/utskick-texter",
            &[("csrf", &csrf), ("invitation_text", text), ("contact", "Åsa, 08-123")],
        )
        .await;
    assert_eq!(page.status, 401, "{}", page.body);
    assert!(page.contains("Det du skrev finns kvar"), "{}", page.body);
    let mut kept = page;
    // With an idle time of 0 minutes the session lasts to the end of the second it was last
    // used in: the login (a password hash) and the sending again must fall in one second. On
    // a loaded machine they may not; then the text is kept through the login once more, which
    // is the behaviour under test too. A few tries, each from the start of a second.
    let mut tries = 0;
    let page = loop {
        tries += 1;
        let mut login = hidden_fields(&kept.body);
        assert!(login.iter().any(|(k, v)| k == "kept:invitation_text" && v == text), "{login:?}");
        login.push(("email".into(), "samordnare@stad.se".into()));
        login.push(("password".into(), PASSWORD.into()));
        at_the_start_of_a_second().await;
        let fields: Vec<(&str, &str)> = login.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let page = coordinator.post_exactly("/admin/logga-in", &fields).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.contains("Du är inloggad igen") && page.contains("Vi vill veta vad ni har sett i år."),
            "{}",
            page.body
        );
        let resend = hidden_fields(&page.body);
        let fields: Vec<(&str, &str)> = resend.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let page = coordinator.post_exactly("/admin/omgangar/r/utskick-texter", &fields).await;
        if page.status != 401 || tries == 5 {
            break page;
        }
        assert!(page.contains("Det du skrev finns kvar"), "{}", page.body);
        kept = page;
    };
    assert_eq!(page.status, 200, "{}", page.body);
    let saved = app.store.round_mail(round.id).await.unwrap();
    assert_eq!(saved.invitation_text.as_deref(), Some(text), "saved as typed, line breaks and all");
    assert_eq!(saved.contact.as_deref(), Some("Åsa, 08-123"));
}

/// A kept text survives a wrong password, and is offered to nobody but the one who typed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_text_is_offered_only_to_the_account_that_typed_it() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.session_idle_minutes = 0).await.unwrap();
    app.open_round("r").await;
    app.account("annan@stad.se", Role::Coordinator, PASSWORD).await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    coordinator.get("/admin/omgangar/r/utskick").await;
    let csrf = coordinator.csrf();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = coordinator
        .post_exactly("/admin/omgangar/r/utskick-texter", &[("csrf", &csrf), ("invitation_text", "Hemlig text")])
        .await;
    assert_eq!(page.status, 401);
    at_the_start_of_a_second().await;
    let mut fields = hidden_fields(&page.body);
    fields.push(("email".into(), "samordnare@stad.se".into()));
    fields.push(("password".into(), "fel lösenord helt och hållet".into()));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = coordinator.post_exactly("/admin/logga-in", &refs).await;
    assert_eq!(page.status, 401);
    let again = hidden_fields(&page.body);
    assert!(
        again.iter().any(|(k, v)| k == "kept:invitation_text" && v == "Hemlig text"),
        "a wrong password loses nothing"
    );
    // Someone else logs in at this browser: not offered the text.
    let mut fields = again;
    fields.push(("email".into(), "annan@stad.se".into()));
    fields.push(("password".into(), PASSWORD.into()));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = coordinator.post_exactly("/admin/logga-in", &refs).await;
    assert!(!page.contains("Du är inloggad igen") && !page.contains("Hemlig text"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_file_over_the_limit_is_refused_whole() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.upload_limit = 200).await.unwrap();
    let round = app.open_round("lagesbild-2027").await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let upload_path = "/admin/omgangar/lagesbild-2027/mottagare/importera";
    coordinator.get(upload_path).await;
    let big = format!("{ROSTER}{}", "x@example.se,,Skolan,intern,skola\n".repeat(20));
    let page = coordinator.upload(upload_path, "stor.csv", &big).await;
    assert_eq!(page.status, 413);
    assert!(page.contains("Dela upp mottagarlistan"), "{}", page.body);
    assert_eq!(app.store.recipient_count(round.id).await.unwrap(), 0);
    coordinator.get(upload_path).await;
    let page = coordinator.upload(upload_path, "tom.csv", "").await;
    assert_eq!(page.status, 422);
    assert!(page.contains("Ingen fil valdes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_login_attempts_from_one_address_are_slowed_down() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.login_attempts_per_minute = 3).await.unwrap();
    app.account("samordnare@stad.se", Role::Coordinator, PASSWORD).await;
    let mut guesser = Browser::new(&app.base);
    for n in 0..3 {
        let page = guesser.login(&format!("konto{n}@stad.se"), "gissning gissning").await;
        assert_eq!(page.status, 401);
    }
    let page = guesser.login("samordnare@stad.se", PASSWORD).await;
    assert_eq!(page.status, 429);
    assert_eq!(page.headers["retry-after"], "60");
    assert!(page.contains("För många inloggningsförsök från din adress"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_or_garbled_form_is_refused_with_a_page_that_says_so() {
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let round = app.open_round("lagesbild-2027").await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    coordinator.get("/admin/omgangar/lagesbild-2027/utskick").await;
    let huge = "x".repeat(300 * 1024);
    let page = coordinator.post("/admin/omgangar/lagesbild-2027/utskick-texter", &[("invitation_text", &huge)]).await;
    assert_eq!(page.status, 413);
    assert!(page.contains("större än 256 kB"), "{}", page.body);
    let res = coordinator
        .client
        .post(format!("{}/admin/omgangar/lagesbild-2027/utskick-texter", app.base))
        .header("content-type", "text/plain")
        .body("inte ett formulär")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("gick inte att läsa som ett formulär"));
    assert_eq!(app.store.round_mail(round.id).await.unwrap().invitation_text, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_is_shown_before_sending_and_texts_that_would_print_wrong_are_refused() {
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let round = app.open_round("lagesbild-2027").await;
    app.recipients(&round, &[("skolan@example.se", "intern", "skola")]).await;
    let mut coordinator = app.signed_in("samordnare@stad.se", Role::Coordinator).await;
    let page = coordinator.get("/admin/omgangar/lagesbild-2027/utskick").await;
    assert!(page.contains("Ingen e-postserver är inställd"), "without SMTP_URL the page says emails become files");

    let page = coordinator
        .post(
            "/admin/omgangar/lagesbild-2027/utskick-texter",
            &[("invitation_subject", "Enkät: {{titel}}"), ("reminders", "7")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.contains("Platshållaren {{titel}} finns inte"), "{}", page.body);
    assert!(page.contains("Inget har ändrats."));
    coordinator.get("/admin/omgangar/lagesbild-2027/utskick").await;
    let page = coordinator
        .post(
            "/admin/omgangar/lagesbild-2027/utskick-texter",
            &[("invitation_subject", "Enkät: {{title}"), ("reminders", "7")],
        )
        .await;
    assert!(page.contains("saknar sitt slut"), "{}", page.body);
    assert_eq!(app.store.round_mail(round.id).await.unwrap(), Default::default());

    coordinator.get("/admin/omgangar/lagesbild-2027/utskick").await;
    let page = coordinator
        .post(
            "/admin/omgangar/lagesbild-2027/utskick-texter",
            &[("invitation_subject", "Svara senast {{closes}}: {{title}}"), ("reminders", "7,-2")],
        )
        .await;
    assert!(page.contains("Texterna är sparade."), "{}", page.body);
    let page = coordinator.get("/admin/omgangar/lagesbild-2027/utskick/inbjudningar").await;
    assert!(page.contains("1 inbjudan kommer att skickas"), "{}", page.body);
    assert!(page.contains("Ja, skicka 1 e-postmeddelande<"));
    let closes = lagesbild::round::swedish_date(round.closes_on);
    assert!(page.contains(&format!("<strong>Ämne:</strong> Svara senast {closes}: {}", round.title)), "{}", page.body);
    assert!(page.contains("Hej Förnamn Efternamn,"));

    // Closed: no button at all, and a way to reopen.
    coordinator.post("/admin/omgangar/lagesbild-2027/datum", &[("action", "close")]).await;
    let page = coordinator.get("/admin/omgangar/lagesbild-2027/utskick/inbjudningar").await;
    assert!(!page.contains("Ja, skicka"));
    assert!(page.contains("/admin/omgangar/lagesbild-2027/svarstid"));

    // Odd addresses lead somewhere sensible.
    let page = coordinator.get("/admin/omgangar/lagesbild-2027/mottagare?sida=abc").await;
    assert_eq!(page.status, 200);
    let page = coordinator.get("/admin/finns-inte").await;
    assert_eq!(page.status, 404);
    assert!(page.contains("Till omgångarna"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_when_the_service_is_reached_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _) = fresh_database(Engine::Sqlite, &dir).await.unwrap();
    let settings = lagesbild::config::Settings {
        database_url: database_url.clone(),
        surveys_dir: Some(project_dir().join("surveys")),
        templates_dir: Some(project_dir().join("templates")),
        base_url: "https://enkat.stad.se".into(),
    };
    let store = lagesbild::store::Store::connect(&database_url).await.unwrap();
    let app = lagesbild::web::Application::build(
        settings,
        crate::helpers::serve_settings(&dir),
        mail_settings(&dir),
        store.clone(),
    )
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run());
    crate::helpers::account_with_password(&store, "samordnare@stad.se", Role::Coordinator, PASSWORD).await;

    let mut browser = Browser::new(&base);
    browser.get("/admin/logga-in").await;
    let res = browser
        .client
        .post(format!("{base}/admin/logga-in"))
        .form(&[("csrf", browser.csrf().as_str()), ("email", "samordnare@stad.se"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>().join("\n");
    assert!(cookie.contains("lagesbild_admin=") && cookie.contains("Secure"), "{cookie}");
}

on_both_engines!(twenty_wrong_passwords_at_once_meet_the_same_brake_as_twenty_in_a_row);

/// The brake reserves each attempt in one statement before the password is checked, so
/// attempts fired in parallel cannot all pass the check.
async fn twenty_wrong_passwords_at_once_meet_the_same_brake_as_twenty_in_a_row(app: TestApp) {
    app.account("mal@stad.se", Role::Coordinator, PASSWORD).await;
    let mut browsers = Vec::new();
    for _ in 0..20 {
        let mut b = Browser::new(&app.base);
        b.get("/admin/logga-in").await;
        browsers.push(b);
    }
    let attempts = browsers.into_iter().map(|mut b| async move {
        b.post("/admin/logga-in", &[("email", "mal@stad.se"), ("password", "fel lösenord igen och igen")]).await.status
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let refused = statuses.iter().filter(|&&s| s == 401).count();
    let braked = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(refused as i64, lagesbild::account::FREE_FAILURES, "{statuses:?}");
    assert_eq!(braked, 20 - refused, "{statuses:?}");
    // The right password waits too.
    assert_eq!(Browser::new(&app.base).login("mal@stad.se", PASSWORD).await.status, 429);
}
