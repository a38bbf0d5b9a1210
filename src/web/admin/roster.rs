//! The roster in the browser: each recipient's state, uploading a file (checked, previewed,
//! then confirmed) and the personal links as CSV.

use super::{AdminError, CheckedForm, Coordinator, Page, RoundFor, round_view, see_other};
use crate::coordinator::{self, parse_roster};
use crate::outbox::OutboxState;
use crate::web::AppState;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;
use std::collections::BTreeMap;

/// Recipients per page of the roster.
const PAGE: i64 = 200;

#[derive(serde::Deserialize)]
pub struct RosterQuery {
    /// Read leniently: a page number that is not one shows the first page.
    sida: Option<String>,
}

fn state_text(r: &crate::store::RecipientState) -> (&'static str, bool) {
    let text = match r.invitation {
        None => "Inte inbjuden",
        Some(OutboxState::Queued | OutboxState::Sending) => "Inbjudan väntar på att skickas",
        Some(OutboxState::Sent) => "Inbjudan levererad",
        Some(OutboxState::Failed) => "Inbjudan misslyckades",
        Some(OutboxState::Uncertain) => "Inbjudan avbröts under sändning (kanske inte levererad)",
        Some(OutboxState::Skipped) => "Inbjudan behövdes inte",
    };
    (text, r.invitation == Some(OutboxState::Failed))
}

pub async fn list(state: web::Data<AppState>, access: RoundFor<Coordinator>, query: web::Query<RosterQuery>) -> Page {
    let RoundFor { round, signed, .. } = access;
    let survey = state.survey(round.id).await?;
    let total = state.store.recipient_count(round.id).await?;
    let pages = ((total + PAGE - 1) / PAGE).max(1);
    let page = query.sida.as_deref().and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(1).clamp(1, pages);
    let recipients: Vec<serde_json::Value> = state
        .store
        .roster_page(round.id, (page - 1) * PAGE, PAGE)
        .await?
        .iter()
        .map(|r| {
            let (invitation, failed) = state_text(r);
            json!({
                "email": r.email, "name": r.name, "organisation": r.organisation,
                "group": survey.group_label(&r.group), "category": r.category,
                "invitation": invitation, "failed": failed, "error": r.error,
                "reminders": r.reminders_sent, "reminder_waiting": r.reminder_waiting,
                "opened": r.opened, "submitted": r.submitted,
            })
        })
        .collect();
    let erased_on = state.store.gallring(round.id).await?.personal_erased_at.and_then(crate::round::swedish_date_of);
    let data = json!({
        "round": round_view(&round),
        "erased_on": erased_on,
        "recipients": recipients,
        "total": total,
        "page": page,
        "pages": pages,
        "previous": (page > 1).then(|| page - 1),
        "next": (page < pages).then(|| page + 1),
    });
    signed.ok(&state, "admin/roster", data)
}

pub async fn upload_form(state: web::Data<AppState>, access: RoundFor<Coordinator>) -> Page {
    let RoundFor { round, signed, .. } = access;
    let groups: Vec<_> =
        state.survey(round.id).await?.groups.iter().map(|g| json!({ "code": g.code, "label": g.label })).collect();
    signed.ok(&state, "admin/roster_upload", json!({ "round": round_view(&round), "groups": groups }))
}

/// The posted file of the upload form, read within the size limit, from a request that
/// carried this session's CSRF token (inside the multipart body, so `CheckedForm` cannot
/// read it). A file too large or cut off is a problem the page explains, not a refusal.
pub struct CheckedUpload(Result<Upload, UploadProblem>);

struct Upload {
    file_name: String,
    bytes: Vec<u8>,
}

enum UploadProblem {
    TooLarge,
    Unreadable,
}

impl actix_web::FromRequest for CheckedUpload {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<CheckedUpload, actix_web::Error>>;

    fn from_request(req: &actix_web::HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let multipart = Multipart::new(req.headers(), payload.take());
        let limit = req.app_data::<web::Data<AppState>>().map_or(0, |s| s.serve.upload_limit);
        let req = req.clone();
        Box::pin(async move {
            let (csrf, upload) = read_upload(multipart, limit).await;
            if upload.is_ok() && !super::access::csrf_matches(&req, &csrf) {
                return Err(AdminError::Csrf.into());
            }
            Ok(CheckedUpload(upload))
        })
    }
}

/// The CSRF token and the file, as far as they could be read.
async fn read_upload(mut multipart: Multipart, limit: usize) -> (String, Result<Upload, UploadProblem>) {
    let (mut csrf, mut upload) = (String::new(), Upload { file_name: String::new(), bytes: Vec::new() });
    while let Some(part) = multipart.next().await {
        let Ok(mut part) = part else { return (csrf, Err(UploadProblem::Unreadable)) };
        let name = part.name().unwrap_or_default().to_string();
        let file_name = part.content_disposition().and_then(|d| d.get_filename()).unwrap_or_default().to_string();
        let bytes = match part.bytes(limit).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => return (csrf, Err(UploadProblem::Unreadable)),
            Err(_) => return (csrf, Err(UploadProblem::TooLarge)),
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => {
                upload.file_name = file_name;
                upload.bytes = bytes.to_vec();
            }
            _ => {}
        }
    }
    (csrf, Ok(upload))
}

pub async fn upload(state: web::Data<AppState>, access: RoundFor<Coordinator>, upload: CheckedUpload) -> Page {
    let RoundFor { round, signed, .. } = access;
    let problem_page = |status: StatusCode, problems: Vec<String>, file_name: &str| {
        signed.page(
            &state,
            status,
            "admin/roster_problems",
            json!({ "round": round_view(&round), "problems": problems, "count": problems.len(), "file_name": file_name }),
        )
    };
    let upload = match upload.0 {
        Ok(u) => u,
        Err(UploadProblem::TooLarge) => {
            return Ok(problem_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                vec![format!(
                    "Filen är större än {} MB. Dela upp mottagarlistan i flera filer och importera dem en i taget.",
                    state.serve.upload_limit / (1024 * 1024)
                )],
                "",
            ));
        }
        Err(UploadProblem::Unreadable) => {
            return Ok(problem_page(StatusCode::BAD_REQUEST, vec!["Filen kom inte fram hel. Försök igen.".into()], ""));
        }
    };
    if upload.bytes.is_empty() {
        return Ok(problem_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["Ingen fil valdes. Välj CSV-filen med mottagarna och försök igen.".into()],
            "",
        ));
    }
    let rows = match parse_roster(&round, &upload.bytes) {
        Ok(rows) => rows,
        Err(problems) => return Ok(problem_page(StatusCode::UNPROCESSABLE_ENTITY, problems, &upload.file_name)),
    };
    // Parsing succeeded, so the file is UTF-8 (a BOM, if any, is dropped on the way).
    let text =
        String::from_utf8_lossy(upload.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&upload.bytes)).into_owned();
    let survey = state.survey(round.id).await?;
    let present = state.store.roster_emails(round.id).await?;
    let new: Vec<_> = rows.iter().filter(|r| !present.contains(r.email.as_str())).collect();
    let mut by_group: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &new {
        *by_group.entry((r.group.clone(), r.category.clone())).or_default() += 1;
    }
    let id = state.store.keep_roster_upload(round.id, &upload.file_name, &text).await?;
    let data = json!({
        "round": round_view(&round),
        "file_name": upload.file_name,
        "rows": rows.len(),
        "new": new.len(),
        "already": rows.len() - new.len(),
        "by_group": by_group.iter().map(|((g, c), n)| json!({ "group": survey.group_label(g), "category": c, "count": n })).collect::<Vec<_>>(),
        "sample": new.iter().take(20).map(|r| json!({ "email": r.email, "name": r.name, "organisation": r.organisation, "group": r.group, "category": r.category })).collect::<Vec<_>>(),
        "more": new.len().saturating_sub(20),
        "action": format!("/admin/omgangar/{}/mottagare/importera/{id}", round.key),
    });
    signed.ok(&state, "admin/roster_preview", data)
}

pub async fn confirm(
    state: web::Data<AppState>,
    access: RoundFor<Coordinator>,
    path: web::Path<(String, i64)>,
    _form: CheckedForm,
) -> Page {
    let RoundFor { round, signed, .. } = access;
    let (_, upload_id) = path.into_inner();
    let back = format!("/admin/omgangar/{}/mottagare", round.key);
    let Some(upload) = state.store.roster_upload(upload_id).await?.filter(|u| u.round_id == round.id) else {
        signed.flash(coordinator::Error::UploadGone.to_string());
        return Ok(see_other(&back));
    };
    // Checked again: the round's survey is the same, but nothing is taken on trust.
    let imported = coordinator::import_roster(
        &state.store,
        &signed.actor(),
        &round,
        &upload.file_name,
        upload.content.as_bytes(),
        Some(upload.id),
        &|_| {},
    )
    .await;
    let outcome = match imported {
        Ok(outcome) => outcome,
        Err(coordinator::Error::RosterProblems { problems, .. }) => {
            return Ok(signed.page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "admin/roster_problems",
                json!({ "round": round_view(&round), "problems": problems, "count": problems.len(), "file_name": upload.file_name }),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    signed.flash(format!(
        "{} nya mottagare importerades från {}; {} fanns redan.",
        outcome.added, upload.file_name, outcome.already_present
    ));
    Ok(see_other(&back))
}

/// A CSV of email and personal link, for a mail merge. Each download mints new links (only
/// their hashes are stored); links handed out earlier keep working.
pub async fn links(state: web::Data<AppState>, access: RoundFor<Coordinator>, form: CheckedForm) -> Page {
    let RoundFor { round, signed, .. } = access;
    let links = coordinator::links(&state.store, &signed.actor(), &round, form.field("pending") == "1").await?;
    let mut body = Vec::new();
    coordinator::write_links(&mut body, &links, |token| state.link(token))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"lankar-{}.csv\"", round.key)))
        .body(body))
}

/// Takes a recipient who has not answered off the roster (an address imported by mistake),
/// after a confirmation that says what it means.
pub async fn remove(state: web::Data<AppState>, access: RoundFor<Coordinator>, form: CheckedForm) -> Page {
    let RoundFor { round, signed, .. } = access;
    let email = form.field("email").to_string();
    let back = format!("/admin/omgangar/{}/mottagare", round.key);
    if form.field("confirm") != "1" {
        return signed.ok(
            &state,
            "admin/roster_remove",
            json!({ "round": round_view(&round), "email": email, "back": back }),
        );
    }
    let message = match coordinator::remove_recipient(&state.store, &signed.actor(), &round, &email).await {
        Ok(()) => format!("{email} är borttagen från mottagarlistan. Dess länkar fungerar inte längre."),
        Err(e @ coordinator::Error::Technical(_)) => return Err(e.into()),
        Err(refused) => refused.to_string(),
    };
    signed.flash(message);
    Ok(see_other(&back))
}
