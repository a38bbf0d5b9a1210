//! Invitations and reminders, delivered to a real SMTP server on loopback: what arrives, that
//! its link works, that reminders skip those who answered, retries, refusals, a sender killed
//! mid-batch, and two servers sharing one PostgreSQL database.

use crate::helpers::{Engine, Respondent, TestApp, fresh_database, mail_settings, project_dir};
use crate::smtp::{Email, OwnCa, SmtpServer, not_exactly_once};
use lagesbild::config::Settings;
use lagesbild::round::{Round, swedish_date};
use lagesbild::store::Store;
use lagesbild::web::Application;
use std::path::Path;
use std::process::{Command, Output};

/// Runs a scenario on SQLite, and on PostgreSQL when TEST_DATABASE_URL names one; each
/// scenario starts its own SMTP server and a server that delivers to it.
macro_rules! on_each_engine {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use crate::helpers::Engine;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario(Engine::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
                async fn postgres() {
                    super::$scenario(Engine::Postgres).await;
                }
            }
        )*
    };
}

on_each_engine!(
    an_invitation_arrives_with_both_parts_and_a_link_that_answers_the_form,
    reminders_reach_only_those_who_have_not_answered,
    a_relay_that_refuses_with_4xx_and_then_accepts_gets_the_email_once,
    a_5xx_is_recorded_with_the_reply_and_not_retried,
    a_name_with_a_line_break_is_sent_flattened_and_stops_no_other_email,
    a_relay_that_drops_the_line_after_the_data_gets_the_email_once_and_the_coordinator_is_told,
    every_email_has_its_own_message_id_on_the_senders_domain_kept_in_the_outbox,
);

/// The real binary, run as the coordinator would, on the test's database.
fn lagesbild(dir: &Path, database_url: &str, envs: &[(&str, &str)], args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("SURVEYS_DIR", project_dir().join("surveys"))
        .env("TEMPLATES_DIR", project_dir().join("templates"))
        .env_remove("SMTP_URL")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "lagesbild {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Moves the delivery of every invitation back in time, as if days had passed.
async fn invitations_delivered_days_ago(database_url: &str, days: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    sqlx::query("UPDATE outbox SET sent_at = sent_at - $1 WHERE kind = 'invitation'")
        .bind(days * 24 * 3600)
        .execute(&pool)
        .await
        .unwrap();
}

async fn add_to_roster(store: &Store, round: &Round, emails: &[String]) {
    let mut csv = String::from("email,name,organisation,group,category\n");
    for (i, e) in emails.iter().enumerate() {
        let group = if i % 2 == 0 { "intern" } else { "extern" };
        csv.push_str(&format!("{e},Namn Namnsson,Organisation för {e},{group},skola\n"));
    }
    crate::helpers::import_roster(store, round, &csv).await;
}

fn addresses(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}@example.se")).collect()
}

async fn with_relay(app_engine: Engine, smtp: &SmtpServer) -> TestApp {
    with_relay_and(app_engine, smtp, |_| {}).await
}

/// The server, sending through `smtp`, with mail settings of the test's own.
pub(crate) async fn with_relay_and(
    app_engine: Engine,
    smtp: &SmtpServer,
    tune: impl FnOnce(&mut lagesbild::config::MailSettings),
) -> TestApp {
    let url = smtp.url();
    TestApp::spawn_with_mail(
        app_engine,
        |_| {},
        |m| {
            m.smtp_url = Some(url);
            tune(m);
        },
    )
    .await
    .unwrap()
}

/// Waits until every queued email of the round was sent or given up.
pub(crate) async fn wait_for_outbox(store: &Store, round: &Round) {
    for _ in 0..300 {
        if store.outbox_pending(Some(round.id)).await.unwrap().0 == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the outbox was not emptied within 30 s");
}

/// The emails each address received, parsed.
fn emails_to(smtp: &SmtpServer, address: &str) -> Vec<Email> {
    smtp.received().iter().filter(|r| r.to.iter().any(|t| t == address)).map(|r| Email::parse(&r.data)).collect()
}

async fn answer(r: &mut Respondent) {
    let p = r.open().await;
    assert_eq!(p.status, 200, "{}", p.body);
    r.next(&[("observerat", "nej")]).await;
    r.next(&[]).await;
    r.next(&[("anhoriga", "nej")]).await;
    r.next(&[("avhoppare", "nej")]).await;
    let p = r.next(&[("vet_vart_vanda", "ja"), ("webbutbildning", "ja")]).await;
    assert!(p.contains("Tack för ditt svar!"), "{}", p.body);
}

async fn an_invitation_arrives_with_both_parts_and_a_link_that_answers_the_form(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let app = with_relay(engine, &smtp).await;
    let dir = tempfile::tempdir().unwrap();
    let db = app.settings.database_url.clone();
    let round = app.open_round("r").await;
    let first = addresses("enhet", 3);
    add_to_roster(&app.store, &round, &first).await;
    lagesbild(dir.path(), &db, &[], &["round", "mail", "--round", "r", "--contact", "Frågor: Anna Berg, 08-123 45 67"]);

    let out = lagesbild(dir.path(), &db, &[], &["invite", "--round", "r"]);
    assert!(stdout(&out).contains("köade 3 inbjudningar"), "{}", stdout(&out));
    smtp.wait_until(20, "three invitations", |s| s.received().len() == 3).await;

    let email = emails_to(&smtp, "enhet0@example.se").remove(0);
    assert!(email.subject().starts_with("Enkät: "), "{}", email.subject());
    assert!(email.subject().contains(&swedish_date(round.closes_on)), "{}", email.subject());
    assert!(email.headers["from"].contains("samordnare@example.se"), "{:?}", email.headers);
    assert!(email.headers["content-type"].starts_with("multipart/alternative"));
    let (text, html) = (&email.parts["text/plain"], &email.parts["text/html"]);
    for part in [text, html] {
        assert!(part.contains("Frågor: Anna Berg, 08-123 45 67"), "{part}");
        assert!(part.contains(&swedish_date(round.closes_on)), "{part}");
    }
    assert!(text.contains("Hej Namn Namnsson,"), "{text}");
    assert!(html.contains("<a href=\""), "{html}");
    let link = email.link("text/plain");
    assert_eq!(email.link("text/html"), link);
    assert!(link.starts_with(&app.base), "{link} does not lead to the server at {}", app.base);

    // The link opens the form and answers it.
    let mut r = Respondent::new(&link);
    answer(&mut r).await;

    // Again: nothing twice. A recipient added later gets one on the next run.
    let out = lagesbild(dir.path(), &db, &[], &["invite", "--round", "r"]);
    assert!(stdout(&out).contains("köade 0 inbjudningar"), "{}", stdout(&out));
    add_to_roster(&app.store, &round, &["sent.tillagd@example.se".to_string()]).await;
    let out = lagesbild(dir.path(), &db, &[], &["invite", "--round", "r"]);
    assert!(stdout(&out).contains("köade 1 inbjudningar"), "{}", stdout(&out));
    smtp.wait_until(20, "the late recipient's invitation", |s| s.received().len() == 4).await;
    let mut everyone = first.clone();
    everyone.push("sent.tillagd@example.se".into());
    assert_eq!(not_exactly_once(&smtp.per_address(), &everyone), Vec::<String>::new());

    wait_for_outbox(&app.store, &round).await;
    let status = stdout(&lagesbild(dir.path(), &db, &[], &["round", "status", "--round", "r"]));
    let total = status.lines().find(|l| l.starts_with("totalt")).unwrap().split_whitespace().collect::<Vec<_>>();
    // mottagare, inbjudna, levererade, i kö, misslyckade, öppnat, svarat, påminda
    assert_eq!(total[1..], ["4", "4", "4", "0", "0", "1", "1", "0"], "{status}");
    assert!(status.contains("Inga misslyckade utskick."), "{status}");
}

async fn reminders_reach_only_those_who_have_not_answered(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let app = with_relay(engine, &smtp).await;
    let dir = tempfile::tempdir().unwrap();
    let db = app.settings.database_url.clone();
    let round = app.open_round("r").await;
    let all = addresses("enhet", 3);
    add_to_roster(&app.store, &round, &all).await;
    lagesbild(dir.path(), &db, &[], &["invite", "--round", "r"]);
    smtp.wait_until(20, "three invitations", |s| s.received().len() == 3).await;

    wait_for_outbox(&app.store, &round).await;
    let mut answered = Respondent::new(&emails_to(&smtp, "enhet0@example.se")[0].link("text/plain"));
    answer(&mut answered).await;

    // None minutes after the invitation (REMINDER_MIN_DAYS is 3)...
    let out = lagesbild(dir.path(), &db, &[], &["remind", "--round", "r"]);
    assert!(stdout(&out).contains("köade 0 påminnelser"), "{}", stdout(&out));
    // ...but once the invitations are four days old.
    invitations_delivered_days_ago(&db, 4).await;
    let out = lagesbild(dir.path(), &db, &[], &["remind", "--round", "r"]);
    assert!(stdout(&out).contains("köade 2 påminnelser"), "{}", stdout(&out));
    smtp.wait_until(20, "two reminders", |s| s.received().len() == 5).await;
    assert_eq!(emails_to(&smtp, "enhet0@example.se").len(), 1, "a reminder reached someone who answered");
    let reminder = emails_to(&smtp, "enhet1@example.se").remove(1);
    assert!(reminder.subject().starts_with("Påminnelse: "), "{}", reminder.subject());
    assert!(reminder.parts["text/plain"].contains("inte fått något svar"));

    // Not twice within the minimum interval.
    wait_for_outbox(&app.store, &round).await;
    let out = lagesbild(dir.path(), &db, &[], &["remind", "--round", "r"]);
    assert!(stdout(&out).contains("köade 0 påminnelser"), "{}", stdout(&out));

    // The reminder's link is new, and leads to the same single response as the invitation's.
    let invitation_link = emails_to(&smtp, "enhet1@example.se")[0].link("text/plain");
    let reminder_link = reminder.link("text/plain");
    assert_ne!(invitation_link, reminder_link);
    answer(&mut Respondent::new(&reminder_link)).await;
    let p = Respondent::new(&invitation_link).open().await;
    assert!(p.contains("Enkäten är redan besvarad"), "{}", p.body);

    wait_for_outbox(&app.store, &round).await;
    let status = stdout(&lagesbild(dir.path(), &db, &[], &["round", "status", "--round", "r"]));
    let total = status.lines().find(|l| l.starts_with("totalt")).unwrap().split_whitespace().collect::<Vec<_>>();
    assert_eq!(total[1..], ["3", "3", "3", "0", "0", "2", "2", "2"], "{status}");
}

async fn a_relay_that_refuses_with_4xx_and_then_accepts_gets_the_email_once(engine: Engine) {
    let smtp = SmtpServer::start().await;
    smtp.reply_to_next_messages(&["451 4.3.0 Försök senare", "450 4.2.0 Mailbox busy, try again later"]);
    let app = with_relay(engine, &smtp).await;
    let round = app.open_round("r").await;
    add_to_roster(&app.store, &round, &["enhet@example.se".to_string()]).await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    smtp.wait_until(30, "the invitation after two refusals", |s| s.received().len() == 1).await;
    wait_for_outbox(&app.store, &round).await;
    assert_eq!(smtp.data_refused(), 2);
    assert_eq!(smtp.per_address()["enhet@example.se"], 1);
    let status = app.store.mail_status(round.id).await.unwrap();
    assert_eq!((status[0].delivered, status[0].failed, status[0].waiting), (1, 0, 0));
    assert!(app.store.mail_problems(round.id).await.unwrap().is_empty());
}

async fn a_5xx_is_recorded_with_the_reply_and_not_retried(engine: Engine) {
    let smtp = SmtpServer::start().await;
    smtp.refuse("okand@example.se", "550 5.1.1 Mailbox unavailable");
    let app = with_relay(engine, &smtp).await;
    let dir = tempfile::tempdir().unwrap();
    let round = app.open_round("r").await;
    add_to_roster(&app.store, &round, &["okand@example.se".to_string(), "finns@example.se".to_string()]).await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    smtp.wait_until(20, "the good invitation", |s| s.received().len() == 1).await;
    let db = app.settings.database_url.clone();
    let mut status = String::new();
    for _ in 0..100 {
        status = stdout(&lagesbild(dir.path(), &db, &[], &["round", "status", "--round", "r"]));
        if status.contains("okand@example.se") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let line = status.lines().find(|l| l.contains("okand@example.se")).unwrap_or_else(|| panic!("{status}"));
    assert!(line.contains("inbjudan") && line.contains("misslyckades efter 1 försök"), "{line}");
    assert!(line.contains("550") && line.contains("Mailbox unavailable"), "{line}");
    // Failed for good rather than queued for a retry: nothing of the round waits to be sent.
    wait_for_outbox(&app.store, &round).await;
    let status = app.store.mail_status(round.id).await.unwrap();
    let sums = status.iter().fold((0, 0, 0), |a, s| (a.0 + s.delivered, a.1 + s.failed, a.2 + s.waiting));
    assert_eq!(sums, (1, 1, 0));
    assert_eq!(smtp.rcpt_seen("okand@example.se"), 1, "a refused address was tried again");
    assert_eq!(smtp.per_address().get("finns@example.se"), Some(&1));
}

async fn a_name_with_a_line_break_is_sent_flattened_and_stops_no_other_email(engine: Engine) {
    let smtp = SmtpServer::start().await;
    // One sender: if it died on the bad email, nothing after it would be sent.
    let app = with_relay_and(engine, &smtp, |m| m.mail_concurrency = 1).await;
    let round = app.open_round("r").await;
    // Excel's Alt+Enter in a quoted cell, imported through the roster reader.
    let csv = "email,name,organisation,group,category\r\n\
               a@example.se,\"Anna\r\nBerg\",Skolan,intern,skola\r\n\
               b@example.se,Bo,Skolan,intern,skola\r\n\
               c@example.se,Cilla,Skolan,intern,skola\r\n";
    crate::helpers::import_roster(&app.store, &round, csv).await;
    // A name stored with a line break before the reader flattened them reaches the sender as is.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.settings.database_url).await.unwrap();
    sqlx::query("UPDATE recipients SET name = $1 WHERE email = 'b@example.se'")
        .bind("Bo\r\nÅström\u{7}")
        .execute(&pool)
        .await
        .unwrap();
    crate::helpers::queue_invitations(&app.store, &round).await;
    smtp.wait_until(30, "three invitations", |s| s.received().len() == 3).await;
    wait_for_outbox(&app.store, &round).await;
    assert_eq!(emails_to(&smtp, "a@example.se")[0].headers["to"], "\"Anna Berg\" <a@example.se>");
    assert_eq!(emails_to(&smtp, "b@example.se")[0].headers["to"], "Bo Åström <b@example.se>");
    let status = app.store.mail_status(round.id).await.unwrap();
    assert_eq!((status[0].delivered, status[0].failed), (3, 0));
}

async fn a_relay_that_drops_the_line_after_the_data_gets_the_email_once_and_the_coordinator_is_told(engine: Engine) {
    let smtp = SmtpServer::start().await;
    smtp.drop_after_data(1);
    let app = with_relay(engine, &smtp).await;
    let round = app.open_round("r").await;
    add_to_roster(&app.store, &round, &addresses("enhet", 3)).await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    smtp.wait_until(30, "three invitations", |s| s.received().len() == 3).await;
    // The outbox settles: the dropped one is uncertain, which is never claimed again.
    wait_for_outbox(&app.store, &round).await;
    let problems = app.store.mail_problems(round.id).await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let dropped = smtp.received()[0].to[0].clone();
    assert_eq!(problems[0].email, dropped);
    assert_eq!(problems[0].state, lagesbild::outbox::OutboxState::Uncertain);
    assert!(problems[0].error.contains("kan ha kommit fram"), "{}", problems[0].error);
    assert!(not_exactly_once(&smtp.per_address(), &addresses("enhet", 3)).is_empty(), "{:?}", smtp.per_address());
}

async fn every_email_has_its_own_message_id_on_the_senders_domain_kept_in_the_outbox(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let app = with_relay(engine, &smtp).await;
    let round = app.open_round("r").await;
    add_to_roster(&app.store, &round, &addresses("enhet", 4)).await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    smtp.wait_until(30, "four invitations", |s| s.received().len() == 4).await;
    wait_for_outbox(&app.store, &round).await;
    let sent: std::collections::HashSet<String> =
        smtp.received().iter().map(|r| Email::parse(&r.data).headers["message-id"].clone()).collect();
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent.iter().all(|id| id.starts_with('<') && id.ends_with("@example.se>")), "{sent:?}");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.settings.database_url).await.unwrap();
    let kept: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT message_id FROM outbox").fetch_all(&pool).await.unwrap().into_iter().collect();
    assert_eq!(kept, sent);
}

/// A database with a round and a roster, and no server (the sender under test is the binary).
async fn round_without_server(engine: Engine, dir: &tempfile::TempDir, recipients: &[String]) -> Option<Fixture> {
    let (database_url, guard) = fresh_database(engine, dir).await?;
    let store = Store::connect(&database_url).await.unwrap();
    let settings = Settings {
        database_url,
        surveys_dir: Some(project_dir().join("surveys")),
        templates_dir: Some(project_dir().join("templates")),
        base_url: "http://127.0.0.1:8080".into(),
    };
    let round = crate::helpers::create_round(
        &store,
        &settings,
        "r",
        crate::helpers::days_from_today(-1),
        crate::helpers::days_from_today(14),
    )
    .await;
    add_to_roster(&store, &round, recipients).await;
    Some(Fixture { store, settings, round, _guard: guard })
}

struct Fixture {
    store: Store,
    settings: Settings,
    round: Round,
    _guard: Option<crate::helpers::PgDatabase>,
}

on_each_engine!(
    a_sender_killed_mid_batch_and_restarted_delivers_every_email_exactly_once,
    send_exits_non_zero_when_not_one_email_could_be_sent,
);

async fn send_exits_non_zero_when_not_one_email_could_be_sent(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let all = addresses("vagrad", 2);
    for address in &all {
        smtp.refuse(address, "550 5.1.1 Mailbox unavailable");
    }
    let dir = tempfile::tempdir().unwrap();
    let f = round_without_server(engine, &dir, &all).await.unwrap();
    crate::helpers::queue_invitations(&f.store, &f.round).await;
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["send", "--round", "r"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &f.settings.database_url)
        .env("SURVEYS_DIR", project_dir().join("surveys"))
        .env("TEMPLATES_DIR", project_dir().join("templates"))
        .env("SMTP_URL", smtp.url())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("Skickade 0 e-postmeddelanden") && stdout.contains("2 misslyckades"), "{stdout}");
    assert!(stderr.contains("inget e-postmeddelande kunde skickas: 2 misslyckades"), "{stderr}");
}

async fn a_sender_killed_mid_batch_and_restarted_delivers_every_email_exactly_once(engine: Engine) {
    let smtp = SmtpServer::start().await;
    // The fifth email reaches the relay, but its "250 OK" never reaches the sender.
    smtp.hold_message(5);
    let dir = tempfile::tempdir().unwrap();
    let all = addresses("enhet", 20);
    let f = round_without_server(engine, &dir, &all).await.unwrap();
    crate::helpers::queue_invitations(&f.store, &f.round).await;
    let url = smtp.url();
    // One email at a time, so exactly one is in flight when the sender dies; claims last a second.
    let envs = [("SMTP_URL", url.as_str()), ("MAIL_CONCURRENCY", "1"), ("MAIL_CLAIM_SECONDS", "1")];
    let mut sender = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["send", "--round", "r"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &f.settings.database_url)
        .env("TEMPLATES_DIR", project_dir().join("templates"))
        .envs(envs)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    smtp.wait_until(30, "the fifth email, held", |s| s.holding()).await;
    sender.kill().unwrap(); // SIGKILL: no clean-up runs
    sender.wait().unwrap();
    smtp.release_hold();
    assert_eq!(smtp.received().len(), 5);

    // Restarted after the interrupted claim expired: time has to pass, nothing marks it.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let out = lagesbild(dir.path(), &f.settings.database_url, &envs, &["send", "--round", "r"]);
    assert!(stdout(&out).contains("Skickade 15 e-postmeddelanden"), "{}", stdout(&out));

    // Every address got its invitation exactly once: the interrupted one was not sent again,
    // and none was lost.
    assert_eq!(not_exactly_once(&smtp.per_address(), &all), Vec::<String>::new());
    let held = smtp.received()[4].to[0].clone();
    let status = stdout(&lagesbild(dir.path(), &f.settings.database_url, &[], &["round", "status", "--round", "r"]));
    let problems: Vec<&str> = status.lines().filter(|l| l.contains("@example.se")).collect();
    assert_eq!(problems.len(), 1, "{status}");
    assert!(problems[0].contains(&held) && problems[0].contains("osäker"), "{status}");
    assert!(problems[0].contains("avbrutet under sändning – kontrollera innan omsändning"), "{status}");
    let total = status.lines().find(|l| l.starts_with("totalt")).unwrap().split_whitespace().collect::<Vec<_>>();
    assert_eq!(total[1..5], ["20", "20", "19", "0"], "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn two_servers_on_one_postgresql_database_deliver_every_email_exactly_once() {
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let all = addresses("enhet", 600);
    let f = round_without_server(Engine::Postgres, &dir, &all).await.unwrap();
    // Two instances, each with its own pool, told apart by their sender address.
    for from in ["a@example.se", "b@example.se"] {
        let mut mail = mail_settings(&dir);
        mail.smtp_url = Some(smtp.url());
        mail.mail_from = from.into();
        let serve = lagesbild::config::ServeSettings {
            workers: Some(1),
            conceal_every_seconds: 300,
            gallring_check_seconds: 3600,
            sign_in: Default::default(),
            ..crate::helpers::serve_settings(&dir)
        };
        let store = Store::connect(&f.settings.database_url).await.unwrap();
        let app = Application::build(f.settings.clone(), serve, mail, store).await.unwrap();
        tokio::spawn(app.run());
    }
    crate::helpers::queue_invitations(&f.store, &f.round).await;
    smtp.wait_until(120, "600 invitations", |s| s.received().len() >= 600).await;
    wait_for_outbox(&f.store, &f.round).await;
    assert_eq!(not_exactly_once(&smtp.per_address(), &all), Vec::<String>::new());
    assert_eq!(smtp.received().len(), 600);
    let from_a = smtp.received().iter().filter(|r| r.from == "a@example.se").count();
    eprintln!("instance a delivered {from_a}, instance b {}", 600 - from_a);
    assert!(from_a > 0 && from_a < 600, "one instance delivered everything: the test showed nothing");
    let status = f.store.mail_status(f.round.id).await.unwrap();
    assert_eq!(status.iter().map(|s| s.delivered).sum::<i64>(), 600);
}

on_each_engine!(a_rounds_schedule_has_the_server_remind_those_who_have_not_answered_within_the_interval);

async fn a_rounds_schedule_has_the_server_remind_those_who_have_not_answered_within_the_interval(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let app = with_relay_and(engine, &smtp, |m| m.reminder_check_seconds = 1).await;
    let dir = tempfile::tempdir().unwrap();
    let db = app.settings.database_url.clone();
    let round = app.open_round("r").await;
    // One recipient answers through a link from `lagesbild links` before any email goes out.
    let mut early = app.recipients(&round, &[("svarat@example.se", "intern", "skola")]).await.remove(0);
    answer(&mut early).await;
    add_to_roster(&app.store, &round, &["tyst@example.se".to_string()]).await;
    // Zero days after the invitation: the step is due as soon as the invitation is delivered.
    let out = lagesbild(dir.path(), &db, &[], &["round", "mail", "--round", "r", "--reminders", "0,-30"]);
    assert!(stdout(&out).contains("0 dagar efter inbjudan, 30 dagar före stängning"), "{}", stdout(&out));
    let out = lagesbild(dir.path(), &db, &[], &["invite", "--round", "r"]);
    assert!(stdout(&out).contains("köade 1 inbjudningar (1 mottagare"), "{}", stdout(&out));

    smtp.wait_until(20, "the invitation and a scheduled reminder", |s| s.received().len() == 2).await;
    let emails = emails_to(&smtp, "tyst@example.se");
    let subjects: Vec<String> = emails.iter().map(Email::subject).collect();
    assert!(subjects[0].starts_with("Enkät: ") && subjects[1].starts_with("Påminnelse: "), "{subjects:?}");
    assert!(emails_to(&smtp, "svarat@example.se").is_empty(), "an email reached someone who had answered");
    // Both steps are due, but the second falls within REMINDER_MIN_DAYS of the first, and the
    // first fires once: the schedule's pass, which the server runs every second, queues no more.
    let mailer = lagesbild::outbox::worker::Mailer::new(&app.settings, &app.mail, app.store.clone()).unwrap();
    assert_eq!(mailer.scheduled_reminders().await.unwrap(), 0);
    wait_for_outbox(&app.store, &round).await;
    assert_eq!(smtp.received().len(), 2);
    let status = app.store.mail_status(round.id).await.unwrap();
    assert_eq!(status.iter().map(|s| (s.reminded, s.submitted)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)), (1, 1));
}

#[test]
fn bad_input_gets_a_message_that_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let run = |envs: &[(&str, &str)], args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", "sqlite://data/x.db")
            .env("SURVEYS_DIR", project_dir().join("surveys"))
            .env("TEMPLATES_DIR", project_dir().join("templates"))
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&[], &["invite", "--round", "finns-inte"]);
    assert!(e.contains("Det finns ingen omgång som heter finns-inte"), "{e}");
    let e = run(&[("SMTP_URL", "http://user:hemligt@mail.example.se")], &["send"]);
    assert!(e.contains("scheme `http`") && !e.contains("hemligt"), "{e}");
    let e = run(&[("MAIL_FROM", "inte en adress")], &["send"]);
    assert!(e.contains("MAIL_FROM `inte en adress` is not an email address"), "{e}");
    let out = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["round", "create", "--survey", "lagesbild", "--year", "2027", "--opens", "2027-03-01"])
        .args(["--closes", "2027-03-31", "--key", "r"])
        .current_dir(dir.path())
        .env("DATABASE_URL", "sqlite://data/x.db")
        .env("SURVEYS_DIR", project_dir().join("surveys"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let e = run(&[], &["round", "mail", "--round", "r", "--reminders", "7,tio"]);
    assert!(e.contains("”tio” i påminnelseschemat"), "{e}");
    let e = run(&[], &["round", "mail", "--round", "r", "--invitation-text", "Hej {{#if}}"]);
    assert!(e.contains("Platshållaren {{#if}} finns inte"), "{e}");
}

on_each_engine!(a_server_stopped_mid_batch_finishes_the_email_it_is_sending_and_leaves_none_uncertain);

async fn a_server_stopped_mid_batch_finishes_the_email_it_is_sending_and_leaves_none_uncertain(engine: Engine) {
    let smtp = SmtpServer::start().await;
    smtp.hold_message(5);
    let dir = tempfile::tempdir().unwrap();
    let all = addresses("enhet", 20);
    let f = round_without_server(engine, &dir, &all).await.unwrap();
    crate::helpers::queue_invitations(&f.store, &f.round).await;
    let url = smtp.url();
    let envs = [("SMTP_URL", url.as_str()), ("MAIL_CONCURRENCY", "1")];
    let mut server = Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &f.settings.database_url)
        .env("SURVEYS_DIR", project_dir().join("surveys"))
        .env("TEMPLATES_DIR", project_dir().join("templates"))
        .envs(envs)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(server.stdout.take().unwrap()), &mut first_line).unwrap();
    let address = first_line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_string();
    smtp.wait_until(30, "the fifth email, held", |s| s.holding()).await;
    // The operator stops the server (SIGTERM) while an email is being handed over.
    let stopped = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    // Once the server no longer listens it has taken the signal, and its senders were told first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while reqwest::get(format!("{address}/healthz")).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "the server still listens after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    smtp.release_hold();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the server did not stop");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(smtp.received().len(), 5, "the stopping server went on sending");

    let status = f.store.mail_status(f.round.id).await.unwrap();
    let (delivered, waiting, failed) =
        status.iter().fold((0, 0, 0), |a, s| (a.0 + s.delivered, a.1 + s.waiting, a.2 + s.failed));
    assert_eq!((delivered, waiting, failed), (5, 15, 0), "{status:?}");
    lagesbild(dir.path(), &f.settings.database_url, &envs, &["send", "--round", "r"]);
    assert_eq!(not_exactly_once(&smtp.per_address(), &all), Vec::<String>::new());
    assert!(f.store.mail_problems(f.round.id).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_certificate_comes_from_the_citys_own_ca_is_reached_with_smtp_ca_file() {
    let ca = OwnCa::new();
    let smtp = SmtpServer::start_with_tls(&ca).await;
    // smtp:// means STARTTLS, required.
    let url = format!("smtp://localhost:{}", smtp.port);

    // Without the city's CA the certificate is not trusted: the email fails at once, after one
    // attempt, with a sentence that says what to set. Retrying for hours would not mend it.
    let app = TestApp::spawn_with_mail(Engine::Sqlite, |_| {}, |m| m.smtp_url = Some(url.clone())).await.unwrap();
    let round = app.open_round("r").await;
    add_to_roster(&app.store, &round, &["enhet@example.se".to_string()]).await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    wait_for_outbox(&app.store, &round).await;
    let problems = app.store.mail_problems(round.id).await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!((problems[0].state, problems[0].attempts), (lagesbild::outbox::OutboxState::Failed, 1));
    assert!(problems[0].error.contains("SMTP_CA_FILE"), "{}", problems[0].error);
    assert!(!problems[0].error.contains("Connection error: Connection error"), "{}", problems[0].error);
    assert!(smtp.received().is_empty());

    // With SMTP_CA_FILE naming the CA's certificate, the same relay takes the email over TLS.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("stadens-ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).unwrap();
    let app = TestApp::spawn_with_mail(
        Engine::Sqlite,
        |_| {},
        |m| {
            m.smtp_url = Some(url.clone());
            m.smtp_ca_file = Some(ca_file.clone());
        },
    )
    .await
    .unwrap();
    let round = app.open_round("r").await;
    add_to_roster(&app.store, &round, &["enhet@example.se".to_string()]).await;
    crate::helpers::queue_invitations(&app.store, &round).await;
    smtp.wait_until(30, "the invitation over TLS", |s| s.received().len() == 1).await;
    wait_for_outbox(&app.store, &round).await;
    assert!(app.store.mail_problems(round.id).await.unwrap().is_empty());
}
