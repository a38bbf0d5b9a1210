//! Staff sign-in through an identity provider: a real OpenID provider (the npm package
//! `oidc-provider`, tests/oidc/) started on loopback, and the real server.

use crate::helpers::{Engine, PASSWORD, TestApp};
use lagesbild::account::Role;
use lagesbild::config::SignInSettings;
use lagesbild::coordinator::{self, Actor};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const CLIENT_ID: &str = "lagesbild";
const CLIENT_SECRET: &str = "hemligt & langt: 7f3a/9+";

/// The people the provider knows, by login name.
const ACCOUNTS: &str = r#"{
  "anna": {"email": "anna.berg@stad.example", "email_verified": true, "groups": ["alla-anstallda", "lagesbild-samordnare"]},
  "bertil": {"email": "bertil@stad.example", "email_verified": true, "groups": ["lagesbild-analytiker"]},
  "cecilia": {"email": "cecilia@stad.example", "email_verified": true, "groups": ["alla-anstallda"]},
  "david": {"email": "david@stad.example", "email_verified": true, "groups": ["lagesbild-samordnare"]},
  "eva": {"email": "eva@stad.example", "email_verified": false, "groups": ["lagesbild-samordnare"]}
}"#;

/// The provider, running until dropped.
struct Provider {
    child: Child,
    issuer: String,
    _dir: tempfile::TempDir,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port for the provider, known before the server (which must name the provider) and
/// the provider (which must name the server's callback) both start.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_provider(port: u16, redirect_uri: &str, issuer: Option<&str>) -> Provider {
    let dir = lagesbild_dir().join("tests/oidc");
    install_once(&dir);
    let temp = tempfile::tempdir().unwrap();
    let accounts = temp.path().join("accounts.json");
    std::fs::write(&accounts, ACCOUNTS).unwrap();
    let mut command = Command::new("node");
    command
        .arg(dir.join("provider.mjs"))
        .env("PORT", port.to_string())
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("REDIRECT_URI", redirect_uri)
        .env("ACCOUNTS", &accounts)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(issuer) = issuer {
        command.env("ISSUER", issuer);
    }
    let mut child = command.spawn().expect("node runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let issuer =
        line.trim().strip_prefix("listening ").unwrap_or_else(|| panic!("the provider said {line:?}")).to_string();
    Provider { child, issuer, _dir: temp }
}

/// Installs the provider from its lockfile the first time a test needs it (`.ci/run` does it
/// as a stage of its own), so that `cargo test` alone works on a fresh machine.
fn install_once(dir: &std::path::Path) {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed || dir.join("node_modules/oidc-provider").is_dir() {
        *installed = true;
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .output()
        .expect("npm runs (Node and npm are needed for the sign-in tests)");
    assert!(out.status.success(), "npm ci --prefix tests/oidc failed: {}", String::from_utf8_lossy(&out.stderr));
    *installed = true;
}

fn lagesbild_dir() -> std::path::PathBuf {
    crate::helpers::project_dir()
}

/// The server, configured for a provider on `port`, and the provider, told of the server's callback.
async fn app_and_provider(engine: Engine, tune: impl FnOnce(&mut SignInSettings)) -> (TestApp, Provider) {
    let port = free_port();
    let app = TestApp::spawn_with(engine, |s| {
        s.sign_in.oidc_issuer = Some(format!("http://127.0.0.1:{port}"));
        s.sign_in.oidc_client_id = Some(CLIENT_ID.into());
        s.sign_in.oidc_client_secret = Some(CLIENT_SECRET.into());
        tune(&mut s.sign_in);
    })
    .await
    .unwrap();
    let provider = start_provider(port, &format!("{}/admin/oidc/callback", app.base), None);
    assert_eq!(provider.issuer, format!("http://127.0.0.1:{port}"));
    (app, provider)
}

/// A browser: keeps cookies, follows no redirect by itself.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

struct Answer {
    status: u16,
    url: String,
    body: String,
}

/// GETs `url` and follows redirects until an answer that is not one, or until the next hop
/// would be the server's callback when `stop_at_callback`.
async fn follow(client: &reqwest::Client, mut url: String, stop_at_callback: bool) -> Answer {
    for _ in 0..10 {
        let res = client.get(&url).send().await.unwrap();
        let status = res.status().as_u16();
        let Some(location) = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()) else {
            return Answer { status, url, body: res.text().await.unwrap() };
        };
        url = reqwest::Url::parse(&url).unwrap().join(&location).unwrap().to_string();
        if stop_at_callback && url.contains("/admin/oidc/callback") {
            return Answer { status, url, body: String::new() };
        }
    }
    panic!("more than 10 redirects from {url}")
}

/// Starts signing in at the server and signs in at the provider as `login`; returns where
/// the provider sends the browser back (the server's callback, not yet visited).
async fn at_provider_as(app: &TestApp, client: &reqwest::Client, login: &str) -> String {
    let page = follow(client, format!("{}/admin/oidc/start?till=/admin/konton", app.base), false).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.url.contains("/interaction/"), "the provider's login form: {}", page.url);
    let res = client.post(&page.url).form(&[("login", login)]).send().await.unwrap();
    let mut url = page.url.clone();
    let mut res = res;
    loop {
        let location = res.headers().get("location").expect("a redirect").to_str().unwrap().to_string();
        url = reqwest::Url::parse(&url).unwrap().join(&location).unwrap().to_string();
        if url.contains("/admin/oidc/callback") {
            return url;
        }
        res = client.get(&url).send().await.unwrap();
    }
}

/// Signs in as `login` all the way: the final page the server shows. A signed-in callback
/// answers with a page of its own that moves on (never a redirect: a browser would not send
/// the SameSite=Strict session cookie along a redirect chain begun at the provider's site).
async fn sign_in(app: &TestApp, client: &reqwest::Client, login: &str) -> Answer {
    let callback = at_provider_as(app, client, login).await;
    let page = follow(client, callback, false).await;
    let Some(next) = page.body.split("http-equiv=\"refresh\" content=\"0; url=").nth(1) else { return page };
    let next = next.split('"').next().unwrap().replace("&#x3D;", "=");
    assert_eq!(page.status, 200);
    follow(client, format!("{}{next}", app.base), false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_staff_sign_in_through_the_provider() {
    staff_sign_in_through_the_provider(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://... cargo test -- --include-ignored"]
async fn postgres_staff_sign_in_through_the_provider() {
    staff_sign_in_through_the_provider(Engine::Postgres).await;
}

async fn staff_sign_in_through_the_provider(engine: Engine) {
    let (app, _provider) = app_and_provider(engine, |_| {}).await;
    let login = reqwest::get(format!("{}/admin/logga-in", app.base)).await.unwrap().text().await.unwrap();
    assert!(login.contains("Logga in med organisationens konto"), "{login}");
    assert!(login.contains("name=\"password\""), "passwords still work unless switched off");

    // A coordinator by the provider's groups: the account is made at the first sign-in, and
    // she lands on the page she asked for.
    let anna = browser();
    let page = sign_in(&app, &anna, "anna").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.url.ends_with("/admin/konton"), "{}", page.url);
    assert!(page.body.contains("anna.berg@stad.example"), "{}", page.body);
    let account = app.store.account_by_email(&crate::helpers::email("anna.berg@stad.example")).await.unwrap().unwrap();
    assert_eq!(account.role, Role::Coordinator);
    assert!(!account.has_password, "an account from the provider has no password");
    let log: Vec<String> = app.store.audit_log(20).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(log.contains(&"kontot skapades vid inloggning via identitetsleverantören".to_string()), "{log:?}");
    assert!(log.contains(&"loggade in via identitetsleverantören".to_string()), "{log:?}");

    // An analyst by the groups: an analyst's pages, not a coordinator's. His account was a
    // coordinator's: the provider's groups decide, at each sign-in.
    coordinator::add_account(&app.store, &Actor::command_line(), "bertil@stad.example", Role::Coordinator)
        .await
        .unwrap();
    let bertil = browser();
    let page = sign_in(&app, &bertil, "bertil").await;
    assert_eq!(page.status, 403, "the accounts page is a coordinator's: {}", page.body);
    let rounds = bertil.get(format!("{}/admin/omgangar", app.base)).send().await.unwrap();
    assert_eq!(rounds.status(), 200);
    let account = app.store.account_by_email(&crate::helpers::email("bertil@stad.example")).await.unwrap().unwrap();
    assert_eq!(account.role, Role::Analyst);
    let log: Vec<String> = app.store.audit_log(30).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(log.contains(&"fick ny roll från identitetsleverantören".to_string()), "{log:?}");

    // No group that gives a role: refused, and no account made.
    let cecilia = browser();
    let page = sign_in(&app, &cecilia, "cecilia").await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("ger ingen behörighet"), "{}", page.body);
    assert!(app.store.account_by_email(&crate::helpers::email("cecilia@stad.example")).await.unwrap().is_none());
    assert_eq!(cecilia.get(format!("{}/admin/omgangar", app.base)).send().await.unwrap().status(), 303);

    // A disabled account stays refused, whatever the provider says.
    let (david, _) =
        coordinator::add_account(&app.store, &Actor::command_line(), "david@stad.example", Role::Coordinator)
            .await
            .unwrap();
    coordinator::set_account_disabled(&app.store, &Actor::command_line(), david.id, true).await.unwrap();
    let page = sign_in(&app, &browser(), "david").await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("är avstängt"), "{}", page.body);

    // An address the provider has not verified is not matched to an account.
    let page = sign_in(&app, &browser(), "eva").await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("inte bekräftat din e-postadress"), "{}", page.body);

    // A state changed on the way back is refused, and nobody is signed in.
    let mallory = browser();
    let callback = at_provider_as(&app, &mallory, "anna").await;
    let tampered = callback.replace("state=", "state=x");
    let page = follow(&mallory, tampered, false).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("kunde inte slutföras"), "{}", page.body);
    assert_eq!(mallory.get(format!("{}/admin/omgangar", app.base)).send().await.unwrap().status(), 303);

    // A code used once does not sign anyone in again, even with the flow's cookie copied.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let first = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let callback = at_provider_as(&app, &first, "anna").await;
    let callback_url = reqwest::Url::parse(&callback).unwrap();
    let copied = reqwest::cookie::CookieStore::cookies(&*jar, &callback_url).unwrap().to_str().unwrap().to_string();
    assert!(copied.contains("lagesbild_oidc="), "the flow's cookie: {copied}");
    let page = follow(&first, callback.clone(), false).await;
    assert_eq!(page.status, 200, "the first use signs in: {}", page.body);
    assert!(page.body.contains("Du är inloggad"), "{}", page.body);
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = replay.get(&callback).header("cookie", copied).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().contains("lagesbild_admin=")));
    assert!(res.text().await.unwrap().contains("kunde inte slutföras"));

    // Logging out ends the session as a password session ends.
    let csrf_page = anna.get(format!("{}/admin/omgangar", app.base)).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    anna.post(format!("{}/admin/logga-ut", app.base)).form(&[("csrf", csrf)]).send().await.unwrap();
    assert_eq!(anna.get(format!("{}/admin/omgangar", app.base)).send().await.unwrap().status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_password_login_off_only_the_provider_signs_in() {
    let (app, _provider) = app_and_provider(Engine::Sqlite, |s| s.password_login = false).await;
    app.account("gammal@stad.example", Role::Coordinator, PASSWORD).await;
    let login = reqwest::get(format!("{}/admin/logga-in", app.base)).await.unwrap().text().await.unwrap();
    assert!(login.contains("Logga in med organisationens konto"));
    assert!(!login.contains("name=\"password\""), "{login}");
    // The form is gone; a password posted anyway signs nobody in.
    let mut old = crate::helpers::Browser::new(&app.base);
    old.get("/admin/logga-in").await;
    let page = old.post_exactly("/admin/logga-in", &[("email", "gammal@stad.example"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 403, "{}", page.body);
    let page = old.get("/admin/omgangar").await;
    assert!(page.contains("<h1>Logga in</h1>"), "sent to the login: {}", page.body);
    let page = sign_in(&app, &browser(), "anna").await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_names_another_issuer_is_not_trusted() {
    let port = free_port();
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.sign_in.oidc_issuer = Some(format!("http://127.0.0.1:{port}"));
        s.sign_in.oidc_client_id = Some(CLIENT_ID.into());
        s.sign_in.oidc_client_secret = Some(CLIENT_SECRET.into());
    })
    .await
    .unwrap();
    let _provider =
        start_provider(port, &format!("{}/admin/oidc/callback", app.base), Some("http://127.0.0.1:1/en-annan"));
    let client = browser();
    let res = client.get(format!("{}/admin/oidc/start", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 502, "never sent to a provider that is not the configured one");
    assert!(res.text().await.unwrap().contains("fungerar inte just nu"));
}
