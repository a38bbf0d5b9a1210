//! Records management (gallring): after a round closes, what identifies people is deleted and
//! every figure stays the same.

use crate::helpers::{Browser, Engine, Respondent, TestApp, days_from_today};
use crate::smtp::SmtpServer;
use lagesbild::account::Role;
use lagesbild::coordinator::{self, Actor, DateChange};
use lagesbild::round::Round;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_gallring_by_hand_deletes_what_identifies_people_and_keeps_every_figure() {
    by_hand(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn postgres_gallring_by_hand_deletes_what_identifies_people_and_keeps_every_figure() {
    by_hand(Engine::Postgres).await;
}

const FREE_TEXT: &str = "Klistermärken vid Kärrtorps centrum";

/// Answers the questionnaire saying nothing was seen, with a free-text remark at the end.
async fn answer_with_a_remark(r: &mut Respondent) {
    assert_eq!(r.open().await.status, 200);
    r.next(&[("observerat", "nej")]).await;
    r.next(&[]).await;
    r.next(&[("anhoriga", "nej")]).await;
    r.next(&[("avhoppare", "nej")]).await;
    let p = r.next(&[("vet_vart_vanda", "ja"), ("webbutbildning", "ja"), ("ovrigt", FREE_TEXT)]).await;
    assert!(p.contains("Tack för ditt svar!"), "{}", p.body);
}

async fn database(app: &TestApp) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&app.settings.database_url).await.unwrap()
}

async fn count(db: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(db).await.unwrap()
}

/// What identifies a person, anywhere in the database: addresses, names and organisations
/// of recipients, links, drafts, kept roster files, the relay's replies and the audit log's
/// mentions of recipients' addresses.
async fn personal_data(db: &sqlx::AnyPool) -> [i64; 6] {
    [
        count(db, "SELECT COUNT(*) FROM recipients WHERE email LIKE '%@%' OR name <> '' OR organisation <> ''").await,
        count(db, "SELECT COUNT(*) FROM tokens").await,
        count(db, "SELECT COUNT(*) FROM drafts").await,
        count(db, "SELECT COUNT(*) FROM roster_uploads").await,
        count(db, "SELECT COUNT(*) FROM outbox WHERE last_error IS NOT NULL").await,
        count(db, "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%@example.se%' AND round_key = 'r'").await,
    ]
}

/// The figures a coordinator and an analyst see: the dashboard's response rates, the results
/// page, the tallies and the report.
async fn figures(browser: &mut Browser) -> Vec<String> {
    let dashboard = browser.get("/admin/omgangar/r").await;
    // The response rates, without the line saying when the page was shown.
    let before_svarstid = dashboard.body.split("<h2>Svarstid</h2>").next().unwrap();
    let (figures, rest) = before_svarstid.split_once("<p class=\"hint\">").unwrap();
    let rates = format!("{figures}{}", rest.split_once("</p>").unwrap().1);
    assert!(rates.contains("svarsfrekvens"), "{}", dashboard.body);
    let mut all = vec![rates, browser.get("/admin/omgangar/r/analys").await.body];
    for download in ["siffror.csv", "rapport.md"] {
        let response = browser.download(&format!("/admin/omgangar/r/{download}")).await;
        assert_eq!(response.status(), 200, "{download}");
        all.push(response.text().await.unwrap());
    }
    all
}

fn lagesbild(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(args)
        .env("DATABASE_URL", &app.settings.database_url)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn close(app: &TestApp, round: &Round, days_ago: i64) {
    let mut tx = app.store.begin().await.unwrap();
    tx.set_closes_on(round.id, days_from_today(-days_ago)).await.unwrap();
    tx.commit().await.unwrap();
}

async fn by_hand(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let refused = "stangd.brevlada@example.se";
    smtp.refuse(refused, &format!("550 5.1.1 <{refused}>: Recipient address rejected"));
    let app = crate::mail::with_relay_and(engine, &smtp, |_| {}).await;
    let round = app.open_round("r").await;
    let rows: Vec<(String, &str, &str)> = (0..7)
        .map(|i| (format!("enhet{i}@example.se"), "intern", "skola"))
        .chain([(refused.to_string(), "extern", "forening"), ("tas.bort@example.se".to_string(), "extern", "forening")])
        .collect();
    let rows: Vec<(&str, &str, &str)> = rows.iter().map(|(e, g, c)| (e.as_str(), *g, *c)).collect();
    let mut respondents = app.recipients(&round, &rows).await;
    for r in respondents.iter_mut().take(5) {
        answer_with_a_remark(r).await;
    }
    // One has begun (a draft), one has not opened the link.
    let begun = &mut respondents[5];
    begun.open().await;
    begun.next(&[("observerat", "nej")]).await;
    let actor = Actor::command_line();
    coordinator::remove_recipient(&app.store, &actor, &round, "tas.bort@example.se").await.unwrap();
    crate::helpers::queue_invitations(&app.store, &round).await;
    let db = database(&app).await;
    crate::mail::wait_for_outbox(&app.store, &round).await;
    // A roster file previewed and never confirmed is kept for a day.
    let mut coordinator_browser = app.signed_in("samordnare@example.se", Role::Coordinator).await;
    let preview = coordinator_browser
        .upload(
            "/admin/omgangar/r/mottagare/importera",
            "nya.csv",
            "email,name,organisation,group,category\r\nny@example.se,Åsa Öberg,Fritidsgården,intern,fritid\r\n",
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let before = personal_data(&db).await;
    assert_eq!(before[0], 8, "eight recipients with their addresses");
    assert!(before[1] >= 8, "links: {before:?}");
    assert_eq!(
        before[2..],
        [1, 1, 1, 1],
        "a draft, a kept file, the relay's reply quoting the refused address, the removal logged with the address"
    );

    // Gallring waits until the round has closed.
    let (ok, said) = lagesbild(&app, &["gallra", "--round", "r"]);
    assert!(!ok && said.contains("först när den har stängt"), "{said}");
    close(&app, &round, 1).await;
    let figures_before = figures(&mut coordinator_browser).await;

    // A dry run counts and deletes nothing.
    let (ok, said) = lagesbild(&app, &["gallra", "--round", "r", "--dry-run"]);
    assert!(ok, "{said}");
    assert!(said.contains("skulle radera 8 mottagares namn, adresser och organisationer"), "{said}");
    assert!(said.contains("1 påbörjade svar") && said.contains("1 svar från e-postservern"), "{said}");
    assert_eq!(personal_data(&db).await, before);

    let (ok, said) = lagesbild(&app, &["gallra", "--round", "r"]);
    assert!(ok, "{said}");
    assert!(said.contains("raderade 8 mottagares namn"), "{said}");
    assert_eq!(personal_data(&db).await, [0; 6]);
    // Nor in the database's files: the WAL was truncated and freed pages zeroed.
    if let Some(file) = app.settings.database_url.strip_prefix("sqlite://") {
        for path in [file.to_string(), format!("{file}-wal")] {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let found = bytes.windows(refused.len()).any(|w| w == refused.as_bytes());
            assert!(!found, "{path} still holds an erased address");
        }
    }
    // Free-text answers are kept unless the rule says otherwise.
    let with_text = count(&db, &format!("SELECT COUNT(*) FROM responses WHERE answers LIKE '%{}%'", "Kärrtorps")).await;
    assert_eq!(with_text, 5);
    let logged: (String, Option<i64>, String) = sqlx::query_as(
        "SELECT action, recipients, detail FROM audit_log WHERE action LIKE 'gallrade%' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(logged.0, "gallrade personuppgifter");
    assert_eq!(logged.1, Some(8));
    assert!(logged.2.contains("8 personliga länkar") || logged.2.contains("personliga länkar"), "{}", logged.2);
    assert!(!logged.2.contains('@'), "counts, not content: {}", logged.2);

    // Every figure is the same.
    assert_eq!(figures(&mut coordinator_browser).await, figures_before);
    let dashboard = coordinator_browser.get("/admin/omgangar/r").await;
    assert!(dashboard.contains("gallrades den"), "{}", dashboard.body);
    let roster = coordinator_browser.get("/admin/omgangar/r/mottagare").await;
    assert!(roster.contains("gallrades den") && !roster.contains("gallrad-"), "{}", roster.body);

    // A link answers like an unknown one; nothing can be sent, minted or reopened.
    let unknown = Respondent::new(&format!("{}/s/{}", app.base, lagesbild::token::mint().0)).open().await;
    let old = respondents[6].open().await;
    assert_eq!((old.status, &old.body), (unknown.status, &unknown.body));
    let reopen = coordinator::change_dates(&app.store, &actor, &round, DateChange::LastDay(days_from_today(14))).await;
    assert!(matches!(reopen, Err(coordinator::Error::Erased { .. })), "{reopen:?}");
    let links = coordinator::links(&app.store, &actor, &round, false).await;
    assert!(matches!(links, Err(coordinator::Error::Erased { .. })));
    let (ok, said) = lagesbild(&app, &["send", "--round", "r", "--retry-failed", "--no-wait"]);
    assert!(!ok && said.contains("gallrades"), "{said}");

    // Done once: a second run has nothing left.
    let (ok, said) = lagesbild(&app, &["gallra", "--round", "r"]);
    assert!(ok && said.contains("inget att gallra"), "{said}");
    db.close().await;
}

/// The server applies each round's rule by itself once its days have passed, free text too
/// when the rule says so, and leaves a round whose days have not passed alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_deletes_by_itself_when_the_rules_days_have_passed() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.gallring_check_seconds = 1).await.unwrap();
    let due = app.open_round("r").await;
    let recent = app.round("ny", days_from_today(-1), days_from_today(14)).await;
    let mut respondents = app.recipients(&due, &[("a@example.se", "intern", "skola")]).await;
    answer_with_a_remark(&mut respondents[0]).await;
    app.recipients(&recent, &[("b@example.se", "intern", "skola")]).await;
    let mut coordinator_browser = app.signed_in("samordnare@example.se", Role::Coordinator).await;
    // The coordinator keeps the default 90 days and has free text deleted 30 days after closing.
    coordinator_browser.get("/admin/omgangar/r/svarstid").await;
    let page = coordinator_browser
        .post("/admin/omgangar/r/gallring", &[("gallra_dagar", "90"), ("fritext_dagar", "30")])
        .await;
    assert!(page.contains("Gallringsregeln är sparad"), "{}", page.body);
    assert!(page.contains("Fritextsvaren gallras den"), "{}", page.body);
    // A wrong rule is refused at its field and changes nothing.
    let page = coordinator_browser
        .post("/admin/omgangar/r/gallring", &[("gallra_dagar", "nittio"), ("fritext_dagar", "")])
        .await;
    assert!(page.contains("inte ”nittio”"), "{}", page.body);
    assert!(page.contains("Fritextsvaren gallras den"), "{}", page.body);

    // The recent round closed 10 days ago (not due); then the other one 91 days ago (due).
    close(&app, &recent, 10).await;
    close(&app, &due, 91).await;
    let mut state = app.store.gallring(due.id).await.unwrap();
    for _ in 0..200 {
        if state.personal_erased_at.is_some() && state.free_text_erased_at.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        state = app.store.gallring(due.id).await.unwrap();
    }
    assert!(state.personal_erased_at.is_some() && state.free_text_erased_at.is_some(), "{state:?}");
    let db = database(&app).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM responses WHERE answers LIKE '%Kärrtorps%'").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM responses").await, 1, "the response itself stays");
    // The pass that did it looked at the recent round too, and left it alone.
    assert!(app.store.gallring(recent.id).await.unwrap().personal_erased_at.is_none());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM recipients WHERE email = 'b@example.se'").await, 1);
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM audit_log WHERE action LIKE 'gallrade%'").fetch_one(&db).await.unwrap();
    assert_eq!(actor, "gallring (automatisk)");
    db.close().await;
}
