//! The incident report form behind `/rapportera/<token>`: one page, no account, no
//! JavaScript. The client address brakes abuse in memory and is never stored or logged.

use super::AppState;
use super::form::{Refusal, posted_fields, step_view};
use super::protect::client_address;
use crate::coordinator::{self, NotFiled};
use crate::store::ReportLink;
use crate::survey::{FieldError, RawAnswers};
use crate::token::Token;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// The link behind a token, revoked or not. Unknown and malformed tokens get the same page
/// as the respondent's form gives them, and count as misses.
async fn lookup(state: &AppState, req: &HttpRequest, token: &str) -> Result<(ReportLink, String), Refusal> {
    let hash = Token::parse(token).map(|t| t.hash());
    let found = match &hash {
        Some(hash) => state.store.report_link(hash).await?,
        None => None,
    };
    match (found, hash) {
        (Some(link), Some(hash)) => Ok((link, hash)),
        _ if state.misses.check_key(&client_address(req, state.serve.behind_proxy)).is_err() => {
            Err(Refusal::TooManyMisses)
        }
        _ => Err(Refusal::UnknownLink),
    }
}

fn csrf_purpose(hash: &str) -> String {
    format!("report:{hash}")
}

fn page(
    state: &AppState,
    status: StatusCode,
    hash: &str,
    token: &str,
    raw: &RawAnswers,
    errors: &[FieldError],
) -> HttpResponse {
    let survey = &state.incident_form.survey;
    let mut data = step_view(survey, &Default::default(), 0, raw, errors);
    data["title"] = json!(survey.title);
    data["action"] = json!(format!("/rapportera/{token}"));
    data["csrf"] = json!(state.csrf.token(&csrf_purpose(hash)));
    state.pages.respond(status, "blankett", data)
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let (link, hash) = lookup(&state, &req, &path).await?;
    if link.revoked_at.is_some() {
        return Err(Refusal::LinkRevoked);
    }
    Ok(page(&state, StatusCode::OK, &hash, &path, &RawAnswers::new(), &[]))
}

pub async fn send(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, Refusal> {
    let (state, token) = (state.get_ref(), path.as_str());
    let (link, hash) = lookup(state, &req, token).await?;
    let pairs = posted_fields(state, &req, body).await?;
    let mut csrf = None;
    let mut raw = RawAnswers::new();
    for (name, value) in pairs {
        if name == "csrf" {
            csrf = Some(value);
        } else if let Some(field) = name.strip_prefix("q.") {
            raw.entry(field.to_string()).or_default().push(value);
        }
    }
    if !csrf.is_some_and(|c| state.csrf.verify(&csrf_purpose(&hash), &c)) {
        return Err(Refusal::Csrf);
    }
    if link.revoked_at.is_some() {
        return Err(Refusal::LinkRevoked);
    }
    // Only a report that would be stored counts against the address: a reporter correcting
    // a mistake is not braked.
    let form = &state.incident_form;
    if let Err(errors) = form.survey.validate(&Default::default(), &raw) {
        return Ok(page(state, StatusCode::UNPROCESSABLE_ENTITY, &hash, token, &raw, &errors));
    }
    if state.reports.check_key(&client_address(&req, state.serve.behind_proxy)).is_err() {
        return Err(Refusal::TooManyReports);
    }
    match coordinator::file_incident(&state.store, form, &link, &raw).await {
        // No log line per report: its time could be matched against a proxy's log.
        Ok(report) => {
            let kinds: Vec<String> = report.kinds.iter().map(|k| form.label("uttryck", k).to_lowercase()).collect();
            let data = json!({
                "kinds": crate::text::list_in_swedish(&kinds),
                "month": report.observed.swedish(),
                "again": format!("/rapportera/{token}"),
            });
            Ok(state.pages.respond(StatusCode::OK, "blankett_kvitto", data))
        }
        Err(NotFiled::Invalid(errors)) => {
            Ok(page(state, StatusCode::UNPROCESSABLE_ENTITY, &hash, token, &raw, &errors))
        }
        Err(NotFiled::Revoked) => Err(Refusal::LinkRevoked),
        Err(NotFiled::CapReached) => Err(Refusal::DailyCap),
        Err(NotFiled::Technical(e)) => Err(Refusal::Technical(e)),
    }
}
