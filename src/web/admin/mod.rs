//! The coordinator's and the analyst's pages under `/admin`: logins, rounds, the roster,
//! emails, downloads, accounts and the audit log.
//!
//! Sessions live in an encrypted cookie (no server-side store, so any instance serves any
//! request); the key comes from the database, which the instances share. Every request
//! reloads the account, so a disabled account is out at once.

mod accounts;
mod downloads;
mod mailing;
mod roster;
mod rounds;
mod session;

pub use session::Signed;

use super::AppState;
use crate::account::Role;
use crate::round::Round;
use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue, LOCATION};
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Everything under `/admin`.
pub fn scope(secret: &[u8], secure_cookie: bool) -> impl actix_web::dev::HttpServiceFactory + use<> {
    let sessions = SessionMiddleware::builder(CookieSessionStore::default(), Key::derive_from(secret))
        .cookie_name("lagesbild_admin".into())
        .cookie_path("/admin".into())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Strict)
        .cookie_secure(secure_cookie)
        .build();
    web::scope("/admin")
        .wrap(actix_web::middleware::from_fn(no_store))
        .wrap(sessions)
        .app_data(web::FormConfig::default().limit(256 * 1024).error_handler(unreadable_form))
        // A path whose parts do not parse (an account number that is not a number) leads nowhere.
        .app_data(web::PathConfig::default().error_handler(|err, req| {
            let page = match req.app_data::<web::Data<AppState>>() {
                Some(state) => not_found_page(state),
                None => HttpResponse::NotFound().finish(),
            };
            actix_web::error::InternalError::from_response(err, page).into()
        }))
        .route("", web::get().to(|| async { see_other("/admin/omgangar") }))
        .route("/", web::get().to(|| async { see_other("/admin/omgangar") }))
        .route("/logga-in", web::get().to(session::login_form))
        .route("/logga-in", web::post().to(session::login))
        .route("/logga-ut", web::post().to(session::logout))
        .route("/losenord/{token}", web::get().to(session::password_form))
        .route("/losenord/{token}", web::post().to(session::set_password))
        .route("/omgangar", web::get().to(rounds::list))
        .route("/omgangar/ny", web::get().to(rounds::new_form))
        .route("/omgangar/ny", web::post().to(rounds::create))
        .route("/omgangar/{key}", web::get().to(rounds::dashboard))
        .route("/omgangar/{key}/svarstid", web::get().to(rounds::dates_page))
        .route("/omgangar/{key}/svarsfrekvens.svg", web::get().to(rounds::response_chart))
        .route("/omgangar/{key}/datum", web::post().to(rounds::change_dates))
        .route("/omgangar/{key}/forhandsvisning", web::get().to(rounds::preview))
        .route("/omgangar/{key}/forhandsvisning", web::post().to(rounds::preview_post))
        .route("/omgangar/{key}/mottagare", web::get().to(roster::list))
        .route("/omgangar/{key}/mottagare/importera", web::get().to(roster::upload_form))
        .route("/omgangar/{key}/mottagare/importera", web::post().to(roster::upload))
        .route("/omgangar/{key}/mottagare/importera/{upload}", web::post().to(roster::confirm))
        .route("/omgangar/{key}/mottagare/ta-bort", web::post().to(roster::remove))
        .route("/omgangar/{key}/lankar.csv", web::post().to(roster::links))
        .route("/omgangar/{key}/utskick", web::get().to(mailing::overview))
        .route("/omgangar/{key}/utskick/{kind}", web::get().to(mailing::confirm_form))
        .route("/omgangar/{key}/utskick/{kind}", web::post().to(mailing::send))
        .route("/omgangar/{key}/utskick-texter", web::post().to(mailing::save_texts))
        .route("/omgangar/{key}/analys", web::get().to(downloads::page))
        .route("/omgangar/{key}/svar.csv", web::get().to(downloads::responses))
        .route("/omgangar/{key}/siffror.csv", web::get().to(downloads::tallies))
        .route("/omgangar/{key}/trend.csv", web::get().to(downloads::trend))
        .route("/omgangar/{key}/diagram/{file}", web::get().to(downloads::chart))
        .route("/omgangar/{key}/rapport.{format}", web::get().to(downloads::report))
        .route("/konton", web::get().to(accounts::list))
        .route("/konton", web::post().to(accounts::add))
        .route("/konton/{id}/{change}", web::post().to(accounts::change))
        .route("/logg", web::get().to(accounts::audit_log))
        .default_service(web::to(not_found))
}

async fn not_found(state: web::Data<AppState>) -> HttpResponse {
    not_found_page(&state)
}

fn not_found_page(state: &AppState) -> HttpResponse {
    state.pages.respond(
        StatusCode::NOT_FOUND,
        "admin/message",
        json!({
            "heading": "Sidan finns inte",
            "text": "Adressen leder inte till någon sida i administrationen. Den kan vara felstavad, eller gälla något som inte finns längre.",
            "back": "/admin/omgangar",
            "back_label": "Till omgångarna",
        }),
    )
}

/// Admin pages show rosters and figures: no browser or proxy keeps a copy.
async fn no_store(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// A form post that cannot be read (too large, or not a form at all): a page that says so.
fn unreadable_form(err: actix_web::error::UrlencodedError, req: &actix_web::HttpRequest) -> actix_web::Error {
    let text = match err {
        actix_web::error::UrlencodedError::Overflow { .. } => {
            "Det som skickades var större än 256 kB och togs inte emot. Korta ner de längsta texterna och försök igen. Inget har ändrats."
        }
        _ => {
            "Det som skickades gick inte att läsa som ett formulär. Gå tillbaka, ladda om sidan och försök igen. Inget har ändrats."
        }
    };
    let status = match err {
        actix_web::error::UrlencodedError::Overflow { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    let page = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.pages.respond(
            status,
            "admin/message",
            json!({ "heading": "Formuläret kunde inte tas emot", "text": text, "back": "/admin/omgangar" }),
        ),
        None => HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(text),
    };
    actix_web::error::InternalError::from_response(err, page).into()
}

pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, to)).finish()
}

/// A handler's technical failure: logged, and answered with a plain page that says nothing
/// was lost. Handlers use `?` on anything that fails.
#[derive(Debug)]
pub struct Failure(anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(e.into())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        tracing::error!("admin page: {:#}", self.0);
        HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body(
            "Ett tekniskt fel uppstod och åtgärden kunde inte slutföras. Inget av det som redan var sparat har ändrats. Försök igen om en stund.",
        )
    }
}

pub type Page = Result<HttpResponse, Failure>;

/// A posted form as name → value (the last value of a repeated name).
pub type Posted = web::Form<HashMap<String, String>>;

pub fn field<'a>(posted: &'a HashMap<String, String>, name: &str) -> &'a str {
    posted.get(name).map(|v| v.trim()).unwrap_or_default()
}

/// What a request about a round needs beyond being signed in.
pub enum Need<'a> {
    /// Any role may read it.
    Read,
    Coordinator,
    Analyst,
    /// A coordinator's form that changes something, with the CSRF token it carried.
    CoordinatorPost(&'a str),
}

/// The round named in the path, if it exists and the signed-in account may do this with it;
/// otherwise the page to answer with (404, 403), checked before anything is changed.
async fn allowed(
    state: &AppState,
    signed: &Signed,
    key: &str,
    need: Need<'_>,
) -> Result<Result<Round, HttpResponse>, Failure> {
    let Some(round) = state.store.round(key).await? else {
        return Ok(Err(signed.page(
            state,
            StatusCode::NOT_FOUND,
            "admin/message",
            json!({ "heading": "Omgången finns inte", "text": format!("Det finns ingen omgång som heter {key}."), "back": "/admin/omgangar" }),
        )));
    };
    let role = match need {
        Need::Read => None,
        Need::Coordinator | Need::CoordinatorPost(_) => Some(Role::Coordinator),
        Need::Analyst => Some(Role::Analyst),
    };
    if role.is_some_and(|r| !signed.is(r)) {
        return Ok(Err(forbidden(state, signed)));
    }
    if let Need::CoordinatorPost(csrf) = need
        && !signed.csrf_ok(csrf)
    {
        return Ok(Err(signed.csrf_refused(state)));
    }
    Ok(Ok(round))
}

/// The round's facts every round page shows in its heading.
fn round_view(round: &Round) -> Value {
    let today = crate::round::today();
    let phase = round.phase(today);
    json!({
        "key": round.key,
        "title": round.title,
        "year": round.year,
        "survey_id": round.survey_id,
        "opens_on": crate::round::swedish_date(round.opens_on),
        "closes_on": crate::round::swedish_date(round.closes_on),
        "opens_iso": round.opens_on.to_string(),
        "closes_iso": round.closes_on.to_string(),
        "phase": match phase {
            crate::round::Phase::NotYetOpen => "Inte öppnad än",
            crate::round::Phase::Open => "Öppen",
            crate::round::Phase::Closed => "Stängd",
        },
        "open": phase == crate::round::Phase::Open,
        "closed": phase == crate::round::Phase::Closed,
        "threshold": round.disclosure_threshold,
    })
}

/// The answer to a request the signed-in role may not make: 403, and nothing changed.
fn forbidden(state: &AppState, signed: &Signed) -> HttpResponse {
    let text = match signed.account.role {
        Role::Analyst => {
            "Ditt konto är ett analytikerkonto: det kan läsa resultaten men inte ändra omgångar, se mottagarnas adresser eller skicka e-post. Be en samordnare om hjälp."
        }
        Role::Coordinator => {
            "Svaren kan bara laddas ner av analytiker. Samordnare ser vilka som har svarat och analytiker vad som svarats, så att ingen kan koppla ihop de två."
        }
    };
    signed.page(
        state,
        StatusCode::FORBIDDEN,
        "admin/message",
        json!({ "heading": "Det här får ditt konto inte göra", "text": text, "back": "/admin/omgangar" }),
    )
}
