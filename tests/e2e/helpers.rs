//! Starting the real server on a free port, with a fresh database, and driving it as a
//! respondent would.

use jiff::civil::Date;
use lagesbild::account::Role;
use lagesbild::address::EmailAddress;
use lagesbild::config::{MailSettings, ServeSettings, Settings};
use lagesbild::coordinator::{self, Actor, NewRound, Sending};
use lagesbild::round::{Round, today};
use lagesbild::store::Store;
use lagesbild::web::Application;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests may create databases in, if one is named.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub settings: Settings,
    pub mail: MailSettings,
    /// Where `/metrics` is served, when the test asked for it (`metrics_bind`).
    pub metrics: Option<String>,
    _dir: tempfile::TempDir,
    _database: Option<PgDatabase>,
}

/// A fresh, empty database: a SQLite file in `dir`, or a new PostgreSQL database dropped
/// when the returned guard is. The PostgreSQL tests are marked ignored, so that a run
/// without a server reports them as ignored, never as passed; asked for without
/// TEST_DATABASE_URL they fail saying so.
pub async fn fresh_database(engine: Engine, dir: &tempfile::TempDir) -> Option<(String, Option<PgDatabase>)> {
    match engine {
        Engine::Sqlite => Some((format!("sqlite://{}", dir.path().join("test.db").display()), None)),
        Engine::Postgres => {
            let admin_url = postgres_url()
                .expect("this PostgreSQL test needs TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres");
            use sqlx::Connection;
            let name = format!("lagesbild_test_{}", &lagesbild::token::mint().1[..16]);
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("TEST_DATABASE_URL answers");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await.unwrap();
            let (base, _) = admin_url.rsplit_once('/').expect("a URL with a database name");
            Some((format!("{base}/{name}"), Some(PgDatabase { admin_url, name })))
        }
    }
}

/// A PostgreSQL database of a test's own, dropped when the test ends.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; the clean-up gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                    let _ =
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                            .execute(&mut conn)
                            .await;
                }
            });
        })
        .join();
    }
}

/// A round of the shipped questionnaire through the coordinator's use case; one whose last
/// day has passed is created open and then closed, as a coordinator would.
pub async fn create_round(store: &Store, settings: &Settings, key: &str, opens: Date, closes: Date) -> Round {
    let new = NewRound {
        survey_id: "lagesbild".into(),
        year: opens.year(),
        opens: Some(opens),
        closes: Some(closes.max(today())),
        key: Some(key.into()),
        ..NewRound::default()
    };
    let actor = Actor::command_line();
    let round = coordinator::create_round(store, &settings.surveys().unwrap(), &actor, new).await.unwrap();
    if closes >= today() {
        return round;
    }
    let mut tx = store.begin().await.unwrap();
    tx.set_closes_on(round.id, closes).await.unwrap();
    tx.commit().await.unwrap();
    store.round(key).await.unwrap().unwrap()
}

/// Imports a roster CSV through the coordinator's use case.
pub async fn import_roster(store: &Store, round: &Round, csv: &str) {
    coordinator::import_roster(store, &Actor::command_line(), round, "test.csv", csv.as_bytes(), None, &|_| {})
        .await
        .unwrap();
}

/// Queues the round's invitations as `lagesbild invite` does.
pub async fn queue_invitations(store: &Store, round: &Round) {
    coordinator::queue_sending(store, &Actor::command_line(), round, Sending::Invitations, 3, &|_, _| {})
        .await
        .unwrap();
}

/// An account with its password set, as after following the one-time link.
pub async fn account_with_password(store: &Store, email: &str, role: Role, password: &str) {
    let (_, token) = coordinator::add_account(store, &Actor::command_line(), email, role).await.unwrap();
    coordinator::set_password(store, &token, password, password).await.unwrap();
}

pub fn email(text: &str) -> EmailAddress {
    EmailAddress::parse(text).unwrap()
}

pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl TestApp {
    /// Starts the server; `None` (with a printed reason) when the engine is not available.
    pub async fn spawn(engine: Engine) -> Option<TestApp> {
        Self::spawn_with(engine, |_| {}).await
    }

    pub async fn spawn_with(engine: Engine, tune: impl FnOnce(&mut ServeSettings)) -> Option<TestApp> {
        Self::spawn_with_mail(engine, tune, |_| {}).await
    }

    /// Starts the server with its own mail settings (by default: .eml files in its temporary folder).
    pub async fn spawn_with_mail(
        engine: Engine,
        tune: impl FnOnce(&mut ServeSettings),
        tune_mail: impl FnOnce(&mut MailSettings),
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, database) = fresh_database(engine, &dir).await?;
        let settings = Settings {
            database_url,
            surveys_dir: Some(project_dir().join("surveys")),
            templates_dir: Some(project_dir().join("templates")),
            base_url: String::new(),
        };
        let mut serve = serve_settings(&dir);
        tune(&mut serve);
        let mut mail = mail_settings(&dir);
        tune_mail(&mut mail);
        let store = Store::connect(&settings.database_url).await.unwrap();
        let app = Application::build(settings.clone(), serve, mail.clone(), store.clone()).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let metrics = app.metrics_address().map(|a| format!("http://{a}"));
        tokio::spawn(app.run());
        let settings = Settings { base_url: base.clone(), ..settings };
        Some(TestApp { base, store, settings, mail, metrics, _dir: dir, _database: database })
    }

    /// A round of the shipped questionnaire, open from `opens` to `closes`.
    /// A round that closed already is created open, then closed as a coordinator would.
    pub async fn round(&self, key: &str, opens: Date, closes: Date) -> Round {
        create_round(&self.store, &self.settings, key, opens, closes).await
    }

    pub async fn open_round(&self, key: &str) -> Round {
        self.round(key, days_from_today(-1), days_from_today(14)).await
    }

    /// Imports roster rows (`email,group,category`) and returns a personal link per address.
    pub async fn recipients(&self, round: &Round, rows: &[(&str, &str, &str)]) -> Vec<Respondent> {
        let mut csv = String::from("email,name,organisation,group,category\n");
        for (email, group, category) in rows {
            csv.push_str(&format!("{email},Namn Namnsson,Organisation för {email},{group},{category}\n"));
        }
        import_roster(&self.store, round, &csv).await;
        let links = coordinator::links(&self.store, &Actor::command_line(), round, false).await.unwrap();
        rows.iter()
            .map(|(email, _, _)| {
                let link = links.iter().find(|l| l.email == *email).unwrap();
                Respondent::new(&self.settings.link(&link.token))
            })
            .collect()
    }

    /// An account with its password set, as after following the one-time link.
    pub async fn account(&self, email: &str, role: Role, password: &str) {
        account_with_password(&self.store, email, role, password).await;
    }

    /// A browser logged in to the admin pages with a new account of this role.
    pub async fn signed_in(&self, email: &str, role: Role) -> Browser {
        self.account(email, role, PASSWORD).await;
        let mut browser = Browser::new(&self.base);
        let page = browser.login(email, PASSWORD).await;
        assert_eq!(page.status, 200, "logged in: {}", page.body);
        browser
    }

    pub async fn respondent(&self, round: &Round, email: &str, group: &str) -> Respondent {
        self.recipients(round, &[(email, group, "skola")]).await.remove(0)
    }
}

/// Server settings for a test: a port chosen by the system, two workers, generous brakes.
/// Server settings for a test; the draft key is made in its folder (instances that share a
/// database share the folder, as they must share the key).
pub fn serve_settings(dir: &tempfile::TempDir) -> ServeSettings {
    ServeSettings {
        draft_key_file: dir.path().join("draft.key"),
        metrics_bind: None,
        bind: "127.0.0.1:0".into(),
        body_limit: 64 * 1024,
        misses_per_minute: 20,
        reports_per_address_per_hour: 1000,
        incident_text_months: 36,
        behind_proxy: false,
        conceal_every_seconds: 1,
        gallring_check_seconds: 3600,
        sign_in: Default::default(),
        workers: Some(2),
        session_idle_minutes: 30,
        login_attempts_per_minute: 100,
        upload_limit: 1024 * 1024,
    }
}

/// Mail settings for a test: .eml files in its folder, quick retries.
pub fn mail_settings(dir: &tempfile::TempDir) -> MailSettings {
    MailSettings {
        smtp_url: None,
        smtp_ca_file: None,
        mail_from: "samordnare@example.se".into(),
        mail_from_name: "Samordnaren".into(),
        mail_outbox_dir: dir.path().join("outbox"),
        reminder_min_days: 3,
        mail_concurrency: 4,
        mail_retry_seconds: 1,
        mail_max_attempts: 5,
        mail_claim_seconds: 300,
        mail_per_minute: None,
        mail_per_day: None,
        mail_slow_down_seconds: 1,
        reminder_check_seconds: 300,
    }
}

pub fn days_from_today(days: i64) -> Date {
    today().saturating_add(jiff::Span::new().days(days))
}

/// A page as the browser got it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The ids of the questions shown, in order.
    pub fn questions(&self) -> Vec<String> {
        self.body
            .split("<div class=\"question")
            .skip(1)
            .filter_map(|chunk| chunk.split("id=\"q-").nth(1)?.split('"').next().map(str::to_string))
            .collect()
    }

    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        Some(self.body[start..].split('"').next()?.to_string())
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// Whether an input with this field name and value is ticked.
    pub fn checked(&self, field: &str, value: &str) -> bool {
        let marker = format!("name=\"{field}\" value=\"{value}\" checked");
        self.body.contains(&marker)
    }

    /// The messages of the error summary at the top.
    pub fn error_summary(&self) -> Vec<String> {
        let Some(summary) = self.body.split("class=\"error-summary\"").nth(1) else { return Vec::new() };
        let summary = summary.split("</ul>").next().unwrap_or("");
        summary.split("<li><a href=\"#").skip(1).map(|li| li.split("</a>").next().unwrap_or("").to_string()).collect()
    }
}

/// A respondent's browser on one personal link.
pub struct Respondent {
    pub url: String,
    pub client: reqwest::Client,
    pub last: Option<Page>,
}

impl Respondent {
    pub fn new(url: &str) -> Respondent {
        Respondent { url: url.to_string(), client: reqwest::Client::new(), last: None }
    }

    pub fn token(&self) -> &str {
        self.url.rsplit('/').next().unwrap()
    }

    async fn page(&mut self, res: reqwest::Response) -> Page {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let page = Page { status, body: res.text().await.unwrap(), headers };
        self.last = Some(page.clone());
        page
    }

    pub async fn open(&mut self) -> Page {
        let res = self.client.get(&self.url).send().await.unwrap();
        self.page(res).await
    }

    /// Posts the shown page with these answers (field names without the `q.` prefix).
    pub async fn submit(&mut self, action: &str, answers: &[(&str, &str)]) -> Page {
        let last = self.last.as_ref().expect("a page was opened first");
        let mut form = vec![
            ("csrf".to_string(), last.hidden("csrf").expect("the page has a CSRF token")),
            ("step".to_string(), last.hidden("step").expect("the page has a step")),
            ("action".to_string(), action.to_string()),
        ];
        if let Some(version) = last.hidden("version") {
            form.push(("version".to_string(), version));
        }
        form.extend(answers.iter().map(|(k, v)| (format!("q.{k}"), v.to_string())));
        self.post_raw(serde_urlencoded::to_string(&form).unwrap()).await
    }

    /// Answers the whole questionnaire as someone who has seen nothing, and checks the receipt.
    pub async fn answer_nothing_seen(&mut self) {
        let p = self.open().await;
        assert_eq!(p.status, 200, "{}", p.body);
        self.next(&[("observerat", "nej")]).await;
        self.next(&[]).await;
        self.next(&[("anhoriga", "nej")]).await;
        self.next(&[("avhoppare", "nej")]).await;
        let p = self.next(&[("vet_vart_vanda", "ja"), ("webbutbildning", "ja")]).await;
        assert!(p.contains("Tack för ditt svar!"), "{}", p.body);
    }

    pub async fn next(&mut self, answers: &[(&str, &str)]) -> Page {
        self.submit("next", answers).await
    }

    pub async fn post_raw(&mut self, body: String) -> Page {
        let res = self
            .client
            .post(&self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.page(res).await
    }
}

/// Runs a scenario against SQLite, and (an ignored test, see `fresh_database`) PostgreSQL.
#[macro_export]
macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use $crate::helpers::{Engine, TestApp};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario(TestApp::spawn(Engine::Sqlite).await.unwrap()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
                async fn postgres() {
                    super::$scenario(TestApp::spawn(Engine::Postgres).await.unwrap()).await;
                }
            }
        )*
    };
}

/// A password good enough for the policy.
pub const PASSWORD: &str = "grön cykel vid sjön Mälaren";

/// A coordinator's or analyst's browser: keeps its cookies, and shows redirects instead of
/// following them so that tests can see where they lead.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub last: Option<Page>,
    /// Where the last answer redirected to, if it did.
    pub redirected_to: Option<String>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { base: base.to_string(), client, last: None, redirected_to: None }
    }

    /// The CSRF token of the last page shown.
    pub fn csrf(&self) -> String {
        self.last.as_ref().and_then(|p| p.hidden("csrf")).expect("the last page has a CSRF token")
    }

    async fn settle(&mut self, mut res: reqwest::Response) -> Page {
        self.redirected_to = None;
        for _ in 0..5 {
            if !res.status().is_redirection() {
                break;
            }
            let to = res.headers()["location"].to_str().unwrap().to_string();
            self.redirected_to = Some(to.clone());
            res = self.client.get(format!("{}{to}", self.base)).send().await.unwrap();
        }
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let page = Page { status, body: res.text().await.unwrap(), headers };
        self.last = Some(page.clone());
        page
    }

    /// Opens a page, following redirects.
    pub async fn get(&mut self, path: &str) -> Page {
        let res = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        self.settle(res).await
    }

    /// The raw answer to a GET, without following a redirect: for downloads.
    pub async fn download(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    /// Posts a form with the last page's CSRF token added, following the redirect after it.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf();
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        self.post_exactly(path, &form).await
    }

    /// Posts exactly these fields (no CSRF token unless given).
    pub async fn post_exactly(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let res = self.client.post(format!("{}{path}", self.base)).form(fields).send().await.unwrap();
        self.settle(res).await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Page {
        self.get("/admin/logga-in").await;
        self.post("/admin/logga-in", &[("email", email), ("password", password)]).await
    }

    /// Uploads a roster file from the page shown.
    pub async fn upload(&mut self, path: &str, file_name: &str, content: &str) -> Page {
        let form = reqwest::multipart::Form::new().text("csrf", self.csrf()).part(
            "file",
            reqwest::multipart::Part::bytes(content.as_bytes().to_vec()).file_name(file_name.to_string()),
        );
        let res = self.client.post(format!("{}{path}", self.base)).multipart(form).send().await.unwrap();
        self.settle(res).await
    }
}

/// Runs the real binary against the test's database, with the project's surveys and
/// templates, in `dir`; its output, after checking it succeeded.
pub fn lagesbild_in(app: &TestApp, dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lagesbild"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", &app.settings.database_url)
        .env("SURVEYS_DIR", project_dir().join("surveys"))
        .env("TEMPLATES_DIR", project_dir().join("templates"))
        .output()
        .unwrap();
    assert!(out.status.success(), "lagesbild {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Opens the respondent's link and answers page after page; the thank-you page must follow.
pub async fn answer_pages(r: &mut Respondent, pages: &[&[(&str, &str)]]) {
    r.open().await;
    for page in pages {
        r.next(page).await;
    }
    assert!(r.last.as_ref().unwrap().contains("Tack för ditt svar!"), "{}", r.last.as_ref().unwrap().body);
}
