//! The HTTP shell: the respondent's form behind a personal link, plus health and styles.

mod admin;
mod form;
mod incident;
pub mod metrics;
mod pages;
pub mod posted;
mod protect;

use crate::config::{MailSettings, ServeSettings, Settings};
use crate::outbox::worker::{self, Mailer};
use crate::store::Store;
use crate::survey::Survey;
use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, RwLock};

pub use pages::Pages;

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub pages: Pages,
    /// The templates (shipped, or TEMPLATES_DIR's), for the report.
    pub templates: crate::shipped::Files,
    pub settings: Settings,
    pub serve: ServeSettings,
    pub csrf: protect::CsrfKey,
    pub misses: protect::MissLimiter,
    /// Login attempts per client address (accounts have their own brake in the database).
    pub logins: protect::MissLimiter,
    /// Failed logins per address that has no account, braked like an account's, so that the
    /// brake does not tell which addresses have accounts.
    pub unknown_logins: protect::UnknownLoginLimiter,
    /// Incident reports per client address, in memory only.
    pub reports: protect::MissLimiter,
    /// The incident report form (`surveys/incidenter/`).
    pub incident_form: crate::incident::Form,
    pub mail: MailSettings,
    /// Renders and checks the round's emails; the same one the outbox worker sends with.
    pub mailer: Arc<Mailer>,
    /// The address links start with (the listening address when no BASE_URL was given).
    pub base_url: String,
    /// Set by a submission; the order-concealing task (see `Store::conceal_order`) clears it.
    pub submitted_since_concealed: std::sync::atomic::AtomicBool,
    /// Parsed definitions by round id. A round's definition never changes, so this never goes stale.
    surveys: RwLock<HashMap<i64, Arc<Survey>>>,
    pub metrics: Arc<metrics::Metrics>,
    /// The identity provider staff sign in through, if one is configured (SignInSettings).
    pub provider: Option<crate::config::Provider>,
    /// The HTTP client that talks to the provider.
    pub provider_http: reqwest::Client,
    /// The provider's discovery document and keys, kept for a few minutes.
    pub provider_cache: admin::ProviderCache,
}

impl AppState {
    /// A respondent's personal link.
    pub fn link(&self, token: &crate::token::Token) -> String {
        format!("{}/s/{token}", self.base_url.trim_end_matches('/'))
    }

    /// The one-time link that sets an account's password.
    pub fn password_link(&self, token: &crate::token::Token) -> String {
        format!("{}/admin/losenord/{token}", self.base_url.trim_end_matches('/'))
    }

    pub async fn survey(&self, round_id: i64) -> anyhow::Result<Arc<Survey>> {
        if let Some(s) = self.surveys.read().expect("survey cache").get(&round_id) {
            return Ok(s.clone());
        }
        let round = self.store.round_by_id(round_id).await?;
        let survey = crate::survey::parse(&round.definition)
            .map_err(|p| anyhow::anyhow!("the stored definition of round {} is broken: {p:?}", round.key))?;
        let survey = Arc::new(survey);
        self.surveys.write().expect("survey cache").insert(round_id, survey.clone());
        Ok(survey)
    }
}

/// A bound, not yet running server; tests bind port 0 and ask for the port.
pub struct Application {
    address: std::net::SocketAddr,
    metrics_address: Option<std::net::SocketAddr>,
    server: Server,
    mail: worker::Running,
}

impl Application {
    /// Builds the server and starts its background work: the outbox's senders, scheduled
    /// reminders and the order-concealing task.
    pub async fn build(
        settings: Settings,
        serve: ServeSettings,
        mail: MailSettings,
        store: Store,
    ) -> anyhow::Result<Application> {
        // A broken definition in surveys/, or a sign-in setting that cannot work, stops the
        // server before it listens.
        settings.surveys()?;
        let provider = serve.sign_in.provider()?;
        let templates = settings.templates()?;
        let incident_form = settings.incident_form()?;
        let pages = Pages::load(&templates)?;
        let sealed_now = store.use_draft_key(crate::seal::DraftKey::load_or_create(&serve.draft_key_file)?).await?;
        let secret = store.secret().await?;
        let csrf = protect::CsrfKey::new(&secret);
        let misses = protect::miss_limiter(serve.misses_per_minute);
        let logins = protect::miss_limiter(serve.login_attempts_per_minute);
        let reports = protect::report_limiter(serve.reports_per_address_per_hour);
        let listener = TcpListener::bind(&serve.bind).with_context(|| format!("cannot listen on {}", serve.bind))?;
        let address = listener.local_addr()?;
        // On SQLite every query runs on a thread of the connection's own, so HTTP gets half
        // the cores and SQLite the other half (measured in BENCHMARKS.md).
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = serve.workers.unwrap_or(match store.engine() {
            crate::store::Engine::Sqlite => (cores / 2).max(1),
            crate::store::Engine::Postgres => cores,
        });
        let mut mail_settings = settings.clone();
        if mail_settings.base_url.is_empty() {
            // Tests listen on a port chosen by the system; the links must name it.
            mail_settings.base_url = format!("http://{address}");
        }
        let mailer = Arc::new(Mailer::new(&mail_settings, &mail, store.clone())?);
        let secure_cookie = settings.base_url.starts_with("https://");
        let state = web::Data::new(AppState {
            store,
            pages,
            templates,
            settings,
            serve,
            csrf,
            misses,
            logins,
            unknown_logins: protect::unknown_login_limiter(),
            reports,
            incident_form,
            mail,
            mailer: mailer.clone(),
            base_url: mail_settings.base_url.clone(),
            // Sealing older drafts at start leaves their plain versions in SQLite's WAL: a
            // first pass truncates it.
            submitted_since_concealed: (sealed_now > 0).into(),
            surveys: RwLock::default(),
            metrics: Arc::default(),
            provider,
            provider_http: admin::provider_http_client()?,
            provider_cache: Default::default(),
        });
        tokio::spawn(conceal_order_now_and_then(state.clone().into_inner()));
        tokio::spawn(gallra_when_due(state.clone().into_inner()));
        let brakes = state.clone().into_inner();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                protect::forget_old_keys(&[&brakes.misses, &brakes.logins, &brakes.reports], &brakes.unknown_logins);
            }
        });
        let mail = worker::spawn(mailer);
        // Monitoring listens on an address of its own, or not at all.
        let metrics_listener = match &state.serve.metrics_bind {
            Some(bind) => {
                Some(TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind} (METRICS_BIND)"))?)
            }
            None => None,
        };
        let metrics_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(protect::security_headers())
                .wrap(actix_web::middleware::from_fn(protect::log_request))
                // HEAD is answered like GET (health checkers use it); other methods get 405.
                .service(web::resource("/").route(get_or_head().to(pages::home)).default_service(only("GET, HEAD")))
                .service(
                    web::resource("/enkat/{key}/utskrift")
                        .route(get_or_head().to(pages::printable))
                        .default_service(only("GET, HEAD")),
                )
                .service(
                    web::resource("/tillganglighet")
                        .route(get_or_head().to(pages::accessibility))
                        .default_service(only("GET, HEAD")),
                )
                .service(web::resource("/healthz").route(get_or_head().to(health)).default_service(only("GET, HEAD")))
                .service(
                    web::resource("/static/lagesbild.css")
                        .route(get_or_head().to(pages::stylesheet))
                        .default_service(only("GET, HEAD")),
                )
                .service(
                    web::resource("/rapportera/{token}")
                        .wrap(actix_web::middleware::from_fn(form::render_refusals))
                        .route(get_or_head().to(incident::show))
                        .route(web::post().to(incident::send))
                        .default_service(only("GET, HEAD, POST")),
                )
                .service(
                    web::resource("/s/{token}")
                        .wrap(actix_web::middleware::from_fn(form::render_refusals))
                        .route(get_or_head().to(form::show))
                        .route(web::post().to(form::answer))
                        .default_service(only("GET, HEAD, POST")),
                )
                .service(admin::scope(&secret, secure_cookie))
                .default_service(web::to(pages::not_found))
        })
        .listen(listener)?
        // Signals are handled in `run`, so that sending stops as soon as one arrives.
        .disable_signals();
        server = server.workers(workers);
        let metrics_address = match &metrics_listener {
            Some(listener) => Some(listener.local_addr()?),
            None => None,
        };
        if let Some(listener) = metrics_listener {
            let state = metrics_state;
            let monitoring = HttpServer::new(move || {
                App::new().app_data(state.clone()).route("/metrics", web::get().to(metrics::metrics))
            })
            .listen(listener)?
            .workers(1)
            .disable_signals()
            .run();
            tokio::spawn(monitoring);
        }
        Ok(Application { address, metrics_address, server: server.run(), mail })
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Where `/metrics` is served (`METRICS_BIND`), if it is.
    pub fn metrics_address(&self) -> Option<std::net::SocketAddr> {
        self.metrics_address
    }

    /// The address actually listened on (the port is chosen by the system when asked for 0).
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// Serves until stopped (Ctrl-C, SIGTERM). On a signal, the outbox's senders stop claiming
    /// emails at once and finish the ones they are handing over, while requests in progress end.
    pub async fn run(self) -> std::io::Result<()> {
        let Application { server, mail, .. } = self;
        let handle = server.handle();
        let mut server = std::pin::pin!(server);
        tokio::select! {
            served = &mut server => {
                mail.stop().await;
                return served;
            }
            () = shutdown_signal() => {}
        }
        let (_, _, served) = tokio::join!(mail.stop(), handle.stop(true), server);
        served
    }
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

async fn health(state: web::Data<AppState>) -> HttpResponse {
    if state.store.healthy().await {
        HttpResponse::Ok().content_type("text/plain").body("ok")
    } else {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable")
    }
}

/// Every few minutes, if anything was submitted, rewrites the tables so that the order of
/// their rows does not tell who answered when.
async fn conceal_order_now_and_then(state: Arc<AppState>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(state.serve.conceal_every_seconds.max(1)));
    loop {
        every.tick().await;
        if state.submitted_since_concealed.swap(false, std::sync::atomic::Ordering::Relaxed)
            && let Err(e) = state.store.conceal_order().await
        {
            state.submitted_since_concealed.store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!("could not conceal the order of answers: {e:#}");
        }
    }
}

/// At start and then every GALLRING_CHECK_SECONDS, deletes what each round's records rule
/// calls for (`coordinator::gallra_due`).
async fn gallra_when_due(state: Arc<AppState>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(state.serve.gallring_check_seconds.max(1)));
    loop {
        every.tick().await;
        if let Err(e) = state.store.forget_report_days(&crate::round::today().to_string()).await {
            tracing::warn!("the reporting links' day counters could not be cleared: {e:#}");
        }
        match crate::coordinator::gallra_incident_texts(&state.store, state.serve.incident_text_months).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("gallring: {n} incident report descriptions deleted"),
            Err(e) => tracing::warn!("incident report descriptions could not be deleted: {e:#}"),
        }
        match crate::coordinator::gallra_due(&state.store).await {
            Ok(done) => {
                for (round, erased) in &done {
                    tracing::info!(round = %round, "gallring: {}", erased.describe());
                }
                // The deletion rewrote the tables already; if that was in the way of a
                // reader, the order-concealing pass does it again.
                if !done.is_empty() {
                    state.submitted_since_concealed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Err(e) => tracing::warn!("the records rules could not be read: {e:#}"),
        }
    }
}

/// A route for GET and for HEAD (answered the same, without the body).
fn get_or_head() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}

/// 405, with the methods the address does take.
fn only(allow: &'static str) -> actix_web::Route {
    web::to(move || async move { HttpResponse::MethodNotAllowed().insert_header(("allow", allow)).finish() })
}
