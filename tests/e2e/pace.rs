//! Sending at the relay's pace (MAIL_PER_MINUTE, MAIL_PER_DAY) and a relay that asks to
//! slow down, with a real SMTP server on loopback.

use crate::helpers::{Engine, TestApp, fresh_database, mail_settings};
use crate::mail::{wait_for_outbox, with_relay_and};
use crate::smtp::{SmtpServer, not_exactly_once};
use lagesbild::account::Role;
use lagesbild::store::{Claim, Store};
use std::time::Duration;

fn addresses(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("enhet{i}@example.se")).collect()
}

async fn roster(app: &TestApp, round: &lagesbild::round::Round, all: &[String]) {
    let rows: Vec<(&str, &str, &str)> = all.iter().map(|e| (e.as_str(), "intern", "skola")).collect();
    app.recipients(round, &rows).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_emails_go_no_faster_than_the_relays_pace() {
    at_the_relays_pace(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn postgres_emails_go_no_faster_than_the_relays_pace() {
    at_the_relays_pace(Engine::Postgres).await;
}

/// 120 a minute: one every half second, however many senders (four here) are ready.
async fn at_the_relays_pace(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let app = with_relay_and(engine, &smtp, |m| m.mail_per_minute = Some(120)).await;
    let round = app.open_round("r").await;
    let all = addresses(8);
    roster(&app, &round, &all).await;
    let mut coordinator = app.signed_in("samordnare@example.se", Role::Coordinator).await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    let dashboard = coordinator.get("/admin/omgangar/r").await;
    assert!(
        dashboard.contains("I e-postserverns takt (högst 120 i minuten) går det sista av"),
        "the dashboard says when the mail-out ends: {}",
        dashboard.body
    );
    smtp.wait_until(30, "eight invitations", |s| s.received().len() == 8).await;
    let mut times: Vec<_> = smtp.received().iter().map(|r| r.at).collect();
    times.sort();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Handed over 500 ms apart; the relay's receipts may differ by how long each handover took.
    assert!(gaps.iter().all(|g| *g >= Duration::from_millis(400)), "faster than the pace: {gaps:?}");
    assert_eq!(not_exactly_once(&smtp.per_address(), &all), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_days_limit_holds_the_rest_until_a_place_frees() {
    days_limit(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn postgres_the_days_limit_holds_the_rest_until_a_place_frees() {
    days_limit(Engine::Postgres).await;
}

async fn days_limit(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let app = with_relay_and(engine, &smtp, |m| m.mail_per_day = Some(3)).await;
    let round = app.open_round("r").await;
    roster(&app, &round, &addresses(5)).await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    smtp.wait_until(30, "the day's three", |s| s.received().len() == 3).await;
    // The relay has them; the outbox records them as sent a moment after.
    for _ in 0..100 {
        if app.store.mail_status(round.id).await.unwrap()[0].delivered == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The next claim is told to wait a day from the first handover, and takes nothing.
    let pace = app.mail.pace();
    let before = lagesbild::store::now_ms();
    match app.store.claim_email(None, 300, pace).await.unwrap() {
        Claim::Wait { until_ms } => {
            let hours = (until_ms - before) as f64 / 3_600_000.0;
            assert!((23.9..=24.0).contains(&hours), "waits about a day: {hours} h");
        }
        other => panic!("the fourth email may not go today: {other:?}"),
    }
    assert_eq!(smtp.received().len(), 3);
    let (waiting, _) = app.store.outbox_pending(Some(round.id)).await.unwrap();
    assert_eq!(waiting, 2);
    // The coordinator's command says when the rest will go: tomorrow.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["round", "status", "--round", "r"])
        .env("DATABASE_URL", &app.settings.database_url)
        .env("MAIL_PER_DAY", "3")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    let tomorrow = lagesbild::round::swedish_date(crate::helpers::days_from_today(1));
    assert!(said.contains("högst 3 per dygn") && said.contains(&format!("i väg omkring {tomorrow}")), "{said}");
}

/// "452 Too many messages": every sender pauses, and the email is not failed even when one
/// attempt is all a temporary failure gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_asks_to_slow_down_pauses_the_sending_and_fails_no_email() {
    let smtp = SmtpServer::start().await;
    smtp.reply_to_next_messages(&["452 4.5.3 Too many messages, slow down"]);
    let app = with_relay_and(Engine::Sqlite, &smtp, |m| {
        m.mail_max_attempts = 1;
        m.mail_slow_down_seconds = 2;
        m.mail_concurrency = 2;
    })
    .await;
    let round = app.open_round("r").await;
    let all = addresses(3);
    roster(&app, &round, &all).await;
    let queued_at = std::time::Instant::now();
    crate::helpers::queue_invitations(&app.store, &round).await;
    smtp.wait_until(30, "three invitations", |s| s.received().len() == 3).await;
    assert_eq!(smtp.data_refused(), 1);
    assert_eq!(not_exactly_once(&smtp.per_address(), &all), Vec::<String>::new());
    wait_for_outbox(&app.store, &round).await;
    let status = app.store.mail_status(round.id).await.unwrap();
    assert_eq!((status[0].delivered, status[0].failed), (3, 0));
    // Every sender paused: the last email went two seconds after the refusal, not at once.
    let last = smtp.received().iter().map(|r| r.at).max().unwrap();
    assert!(last - queued_at >= Duration::from_millis(1500), "no pause: {:?}", last - queued_at);
    // The refused attempt did not count: each email took one.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.settings.database_url).await.unwrap();
    let attempts: Vec<i64> =
        sqlx::query_scalar("SELECT attempts FROM outbox ORDER BY id").fetch_all(&db).await.unwrap();
    assert_eq!(attempts, [1, 1, 1]);
}

/// Two servers on one PostgreSQL database keep one pace between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn two_servers_on_one_postgresql_database_keep_one_pace() {
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _db) = fresh_database(Engine::Postgres, &dir).await.unwrap();
    let settings = lagesbild::config::Settings {
        database_url,
        surveys_dir: Some(crate::helpers::project_dir().join("surveys")),
        templates_dir: Some(crate::helpers::project_dir().join("templates")),
        base_url: "http://127.0.0.1:1".into(),
    };
    let store = Store::connect(&settings.database_url).await.unwrap();
    let round = crate::helpers::create_round(
        &store,
        &settings,
        "r",
        crate::helpers::days_from_today(-1),
        crate::helpers::days_from_today(14),
    )
    .await;
    let all = addresses(8);
    let mut csv = String::from("email,name,organisation,group,category\n");
    for a in &all {
        csv.push_str(&format!("{a},Namn,Org,intern,skola\n"));
    }
    crate::helpers::import_roster(&store, &round, &csv).await;
    for from in ["a@example.se", "b@example.se"] {
        let mut mail = mail_settings(&dir);
        mail.smtp_url = Some(smtp.url());
        mail.mail_from = from.into();
        mail.mail_per_minute = Some(120);
        let serve = lagesbild::config::ServeSettings { workers: Some(1), ..crate::helpers::serve_settings(&dir) };
        let instance = Store::connect(&settings.database_url).await.unwrap();
        let app = lagesbild::web::Application::build(settings.clone(), serve, mail, instance).await.unwrap();
        tokio::spawn(app.run());
    }
    crate::helpers::queue_invitations(&store, &round).await;
    smtp.wait_until(30, "eight invitations", |s| s.received().len() == 8).await;
    let mut times: Vec<_> = smtp.received().iter().map(|r| r.at).collect();
    times.sort();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g >= Duration::from_millis(400)), "two servers went faster than one pace: {gaps:?}");
    assert_eq!(not_exactly_once(&smtp.per_address(), &all), Vec::<String>::new());
}
