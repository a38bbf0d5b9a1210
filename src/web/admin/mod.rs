//! The coordinator's and the analyst's pages under `/admin`: logins, rounds, the roster,
//! emails, downloads, accounts and the audit log.
//!
//! Sessions live in an encrypted cookie (no server-side store, so any instance serves any
//! request); the key comes from the database, which the instances share. Every request
//! reloads the account, so a disabled account is out at once.

mod access;
mod accounts;
mod downloads;
mod incidents;
mod mailing;
mod provider;
mod roster;
mod rounds;
mod session;

pub use access::{AdminError, Analyst, AnyRole, CheckedForm, Coordinator, Figures, RoundFor, SignedAs};
pub use provider::{ClientCache as ProviderCache, http_client as provider_http_client};
pub use session::Signed;

use super::AppState;
use crate::round::Round;
use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue, LOCATION};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

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
        .wrap(actix_web::middleware::from_fn(access::render_errors))
        .wrap(actix_web::middleware::from_fn(no_store))
        .wrap(sessions)
        .app_data(web::PayloadConfig::new(access::FORM_LIMIT))
        .app_data(web::Data::new(provider::FlowKey::from_secret(secret)))
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
        .route("/oidc/start", web::get().to(provider::start))
        .route("/oidc/callback", web::get().to(provider::callback))
        .route("/losenord/{token}", web::get().to(session::password_form))
        .route("/losenord/{token}", web::post().to(session::set_password))
        .route("/omgangar", web::get().to(rounds::list))
        .route("/omgangar/ny", web::get().to(rounds::new_form))
        .route("/omgangar/ny", web::post().to(rounds::create))
        .route("/omgangar/{key}", web::get().to(rounds::dashboard))
        .route("/omgangar/{key}/svarstid", web::get().to(rounds::dates_page))
        .route("/omgangar/{key}/svarsfrekvens.svg", web::get().to(rounds::response_chart))
        .route("/omgangar/{key}/datum", web::post().to(rounds::change_dates))
        .route("/omgangar/{key}/gallring", web::post().to(rounds::set_gallring))
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
        .route("/rapportlankar", web::get().to(incidents::links))
        .route("/rapportlankar", web::post().to(incidents::create_link))
        .route("/rapportlankar/{id}/sparra", web::post().to(incidents::revoke_link))
        .route("/incidenter", web::get().to(incidents::list))
        .route("/incidenter.csv", web::get().to(incidents::csv))
        .route("/incidenter/{id}/markering", web::post().to(incidents::mark))
        .route("/incidenter/{id}/radera-beskrivning", web::post().to(incidents::erase_text))
        .route("/lagesbild/{year}", web::get().to(incidents::sources))
        .route("/lagesbild/{year}/kallor", web::post().to(incidents::add_source))
        .route("/lagesbild/{year}/kallor/{id}", web::get().to(incidents::edit_source))
        .route("/lagesbild/{year}/kallor/{id}", web::post().to(incidents::save_source))
        .route("/lagesbild/{year}/kallor/{id}/ta-bort", web::post().to(incidents::remove_source))
        .route("/lagesbild/{year}/faststall", web::post().to(incidents::finalise))
        .route("/tillganglighet", web::get().to(accounts::statement_form))
        .route("/tillganglighet", web::post().to(accounts::save_statement))
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

/// A refused form's problems as its template shows them: `errors` for the summary (each
/// leading to its field) and `errors_at` by field, beside the `values` as they were typed.
pub fn refused_form(problems: &[(crate::coordinator::Field, String)], values: Value) -> Value {
    let errors: Vec<Value> = problems.iter().map(|(f, m)| json!({ "field": f, "message": m })).collect();
    let errors_at: serde_json::Map<String, Value> = problems.iter().map(|(f, m)| (f.to_string(), json!(m))).collect();
    json!({ "errors": errors, "errors_at": errors_at, "values": values })
}

/// A form post that cannot be read (too large, or not a form at all): a page that says so.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, to)).finish()
}

/// What an admin handler answers: a page, or an `AdminError` rendered as one.
pub type Page = Result<HttpResponse, AdminError>;

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
