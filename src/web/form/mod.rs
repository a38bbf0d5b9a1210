//! The respondent's form behind `/s/<token>`: one page per step, conditions decided on the
//! server, a draft saved at every step, and one anonymous response on submission.

mod refusal;

pub use refusal::{Refusal, render_refusals};

use super::AppState;
use super::protect::{BodyError, client_address, read_body};
use crate::round::{Phase, swedish_date, today};
use crate::store::{Respondent, Submission};
use crate::survey::{FieldError, Kind, Navigation, RawAnswers, RosterAttributes, Survey};
use crate::token::Token;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

/// Links stop answering this many days after their round closed; after that they look
/// exactly like a link that never existed.
const LINK_GRACE_DAYS: i64 = 30;

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Refusal> {
    let token = path.as_str();
    let (who, hash) = lookup(&state, &req, token).await?;
    if who.submitted_on.is_some() {
        return Ok(answered(&state, &who, false));
    }
    if let Some(page) = not_open(&state, &who, Phase::on(today(), who.opens_on, who.closes_on)) {
        return Ok(page);
    }
    // HEAD (a mail scanner checking the link) shows the page but does not count as opening it.
    if !who.opened && req.method() != actix_web::http::Method::HEAD {
        state.store.mark_opened(who.recipient_id, today()).await?;
    }
    let survey = state.survey(who.round_id).await?;
    let (step, raw) = (resume_step(&survey, &who), &who.draft.1);
    Ok(render_step(&state, &survey, &who, &hash, token, step, raw, &[], None))
}

/// Finds the recipient behind a token. Unknown, malformed and expired tokens get one and the
/// same page; repeated misses from one address are answered with 429 for a while.
async fn lookup(state: &AppState, req: &HttpRequest, token: &str) -> Result<(Respondent, String), Refusal> {
    let hash = Token::parse(token).map(|t| t.hash());
    let found = match &hash {
        Some(hash) => state.store.respondent(hash).await?.map(|r| (r, hash.clone())),
        None => None,
    };
    let expired = |r: &Respondent| today() > r.closes_on.saturating_add(jiff::Span::new().days(LINK_GRACE_DAYS));
    match found {
        Some((r, hash)) if !expired(&r) => Ok((r, hash)),
        _ if state.misses.check_key(&client_address(req, state.serve.behind_proxy)).is_err() => {
            Err(Refusal::TooManyMisses)
        }
        _ => Err(Refusal::UnknownLink),
    }
}

/// The page for a round that is not open today, with its dates.
fn not_open(state: &AppState, who: &Respondent, phase: Phase) -> Option<HttpResponse> {
    let (opens, closes) = (swedish_date(who.opens_on), swedish_date(who.closes_on));
    let text = match phase {
        Phase::Open => return None,
        Phase::NotYetOpen => format!(
            "Enkäten öppnar den {opens} och kan besvaras till och med den {closes}. Välkommen tillbaka då, med samma länk."
        ),
        Phase::Closed => format!(
            "Enkäten kunde besvaras från den {opens} till och med den {closes} och är nu stängd. Kontakta samordnaren om du har frågor."
        ),
    };
    let heading = if phase == Phase::Closed { "Enkäten är stängd" } else { "Enkäten har inte öppnat än" };
    Some(state.pages.respond(
        StatusCode::OK,
        "closed",
        json!({ "title": who.round_title, "heading": heading, "text": text }),
    ))
}

fn answered(state: &AppState, who: &Respondent, receipt: bool) -> HttpResponse {
    let day = who.submitted_on.map(swedish_date).unwrap_or_default();
    state.pages.respond(
        StatusCode::OK,
        "answered",
        json!({ "title": who.round_title, "receipt": receipt, "submitted_on": day }),
    )
}

/// The step a respondent comes back to: where the draft was left, if it still applies.
fn resume_step(survey: &Survey, who: &Respondent) -> usize {
    let (step, raw) = &who.draft;
    let applies = survey.steps_that_apply(&who.roster, raw);
    if applies.get(*step) == Some(&true) { *step } else { applies.iter().position(|&a| a).unwrap_or(0) }
}

/// Said to a tab whose page fell behind: another tab (or device) saved since it was shown.
const CHANGED_ELSEWHERE: &str = "Svaren ändrades i ett annat fönster eller på en annan enhet efter att den här sidan visades. Här är svaren som de är sparade nu: kontrollera dem och fortsätt härifrån.";

/// The answer to a page that was not saved because the draft changed since it was shown:
/// the saved answers as they are now, or the receipt if another tab submitted them.
async fn changed_elsewhere(state: &AppState, hash: &str, token: &str) -> anyhow::Result<HttpResponse> {
    let Some(who) = state.store.respondent(hash).await? else {
        anyhow::bail!("a recipient's token vanished while their page was posted");
    };
    if who.submitted_on.is_some() {
        return Ok(answered(state, &who, false));
    }
    if let Some(page) = not_open(state, &who, Phase::on(today(), who.opens_on, who.closes_on)) {
        return Ok(page);
    }
    let survey = state.survey(who.round_id).await?;
    let step = resume_step(&survey, &who);
    Ok(render_step(state, &survey, &who, hash, token, step, &who.draft.1, &[], Some(CHANGED_ELSEWHERE)))
}

pub async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, Refusal> {
    let (state, token) = (state.get_ref(), path.as_str());
    let (who, hash) = lookup(state, &req, token).await?;
    let pairs = posted_fields(state, &req, body).await?;
    let (mut csrf, mut step, mut action, mut seen) = (None, None, "next".to_string(), None);
    let mut posted = RawAnswers::new();
    for (name, value) in pairs {
        match name.as_str() {
            "csrf" => csrf = Some(value),
            "step" => step = value.parse::<usize>().ok(),
            "action" => action = value,
            "version" => seen = value.parse::<i64>().ok(),
            _ => {
                if let Some(field) = name.strip_prefix("q.") {
                    posted.entry(field.to_string()).or_default().push(value);
                }
            }
        }
    }
    if !csrf.is_some_and(|c| state.csrf.verify(&hash, &c)) {
        return Err(Refusal::Csrf);
    }
    if who.submitted_on.is_some() {
        return Ok(answered(state, &who, false));
    }
    let survey = state.survey(who.round_id).await?;
    let Some(step) = step.filter(|&s| s < survey.steps.len()) else {
        return Err(Refusal::Garbled);
    };
    let (_, mut raw) = who.draft.clone();
    survey.merge_step(step, &mut raw, posted);
    // A page shown before another tab saved is not saved over what that tab saved. The same
    // page sent twice (a double click, a reload) changes nothing, and goes on as usual.
    let seen = match seen {
        Some(v) if v == who.draft_version => v,
        _ if raw == who.draft.1 => who.draft_version,
        _ => return Ok(changed_elsewhere(state, &hash, token).await?),
    };

    // Whatever the outcome, what the respondent typed is kept.
    let phase = Phase::on(today(), who.opens_on, who.closes_on);
    if let Some(page) = not_open(state, &who, phase) {
        state.store.save_draft(who.recipient_id, step, &raw, seen).await?;
        return Ok(page);
    }
    // The next page is sent as the answer to the post (no redirect): one round trip per page.
    // Posting the same page again, say after a reload, is a page that fell behind.
    let (store, id) = (&state.store, who.recipient_id);
    let show = |step: usize, raw: &RawAnswers, errors: &[FieldError], version: i64| {
        let who = Respondent { draft_version: version, ..who.clone() };
        render_step(state, &survey, &who, &hash, token, step, raw, errors, None)
    };
    match action.as_str() {
        "back" => {
            let previous = survey.previous_step(step, &who.roster, &raw).unwrap_or(step);
            match store.save_draft(id, previous, &raw, seen).await? {
                Some(version) => Ok(show(previous, &raw, &[], version)),
                None => Ok(changed_elsewhere(state, &hash, token).await?),
            }
        }
        "save" => match store.save_draft(id, step, &raw, seen).await? {
            Some(_) => {
                let data = json!({ "title": who.round_title, "link": format!("/s/{token}"), "closes_on": swedish_date(who.closes_on) });
                Ok(state.pages.respond(StatusCode::OK, "saved", data))
            }
            None => Ok(changed_elsewhere(state, &hash, token).await?),
        },
        _ => match survey.after_next(step, &who.roster, &raw) {
            Navigation::Show { step, errors } => match store.save_draft(id, step, &raw, seen).await? {
                Some(version) => Ok(show(step, &raw, &errors, version)),
                None => Ok(changed_elsewhere(state, &hash, token).await?),
            },
            Navigation::Complete(answers) => match store.submit(&who, today(), &answers, seen).await? {
                Submission::Stored => {
                    state.submitted_since_concealed.store(true, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(round = who.round_id, "response stored");
                    let stored = Respondent { submitted_on: Some(today()), ..who.clone() };
                    Ok(answered(state, &stored, true))
                }
                Submission::NotStored => {
                    tracing::info!(round = who.round_id, "a page that fell behind was not stored");
                    Ok(changed_elsewhere(state, &hash, token).await?)
                }
            },
        },
    }
}

/// A posted form's fields in order, or the refusal for a body too large or not a form.
pub async fn posted_fields(
    state: &AppState,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<Vec<(String, String)>, Refusal> {
    let body = read_body(req, body, state.serve.body_limit).await.map_err(|e| match e {
        BodyError::TooLarge => Refusal::TooLarge { limit: state.serve.body_limit },
        BodyError::Unreadable => Refusal::Garbled,
    })?;
    crate::web::posted::pairs(&body).map_err(|problem| Refusal::Unreadable(problem.sentence()))
}

/// The page of one step for the respondent behind a token.
#[allow(clippy::too_many_arguments)]
fn render_step(
    state: &AppState,
    survey: &Survey,
    who: &Respondent,
    hash: &str,
    token: &str,
    step: usize,
    raw: &RawAnswers,
    errors: &[FieldError],
    notice: Option<&str>,
) -> HttpResponse {
    let mut data = step_view(survey, &who.roster, step, raw, errors);
    data["title"] = json!(who.round_title);
    data["action"] = json!(format!("/s/{token}"));
    data["csrf"] = json!(state.csrf.token(hash));
    data["version"] = json!(who.draft_version);
    data["closes_on"] = json!(swedish_date(who.closes_on));
    data["notice"] = json!(notice);
    if step == 0 {
        data["print"] = json!(format!("/enkat/{}/utskrift", who.round_key));
    }
    let status = match (notice, errors.is_empty()) {
        (Some(_), _) => StatusCode::CONFLICT,
        (None, true) => StatusCode::OK,
        (None, false) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    state.pages.respond(status, "form", data)
}

/// What the `form` template shows of one step: its questions that apply to this roster,
/// with what was typed and any errors. The caller adds the title, the form's action and its
/// CSRF token. Shared by the respondent's form and the coordinator's preview.
pub fn step_view(
    survey: &Survey,
    roster: &RosterAttributes,
    step: usize,
    raw: &RawAnswers,
    errors: &[FieldError],
) -> Value {
    // Conditions only look at earlier questions, so everything answered so far decides
    // which questions of this step apply.
    let before = survey.evaluate(roster, raw, 0..survey.steps.len()).answers;
    let applies = survey.steps_that_apply(roster, raw);
    let values = |field: &str| raw.get(field).cloned().unwrap_or_default();
    let error_of = |id: &str| errors.iter().find(|e| e.question == id).map(|e| e.message.clone());
    let options_view = |field: &str, input: &str, options: &[crate::survey::Choice]| -> Vec<Value> {
        let chosen = values(field);
        options
            .iter()
            .map(|o| json!({ "code": o.code, "label": o.label, "checked": chosen.contains(&o.code), "input_id": format!("{input}-{}", o.code) }))
            .collect()
    };
    let questions: Vec<Value> = survey
        .step_questions(step)
        .filter(|q| q.applies(&before, roster))
        .map(|q| {
            let anchor = format!("q-{}", q.id);
            let mut v = json!({
                "id": q.id, "field": format!("q.{}", q.id), "anchor": anchor, "text": q.text, "help": q.help,
                "required": q.required, "error": error_of(&q.id), "kind": q.kind.name(),
            });
            match &q.kind {
                Kind::Single { options } => {
                    v["single"] = json!(true);
                    v["options"] = json!(options_view(&q.id, &anchor, options));
                }
                Kind::Multiple { options } => {
                    v["multiple"] = json!(true);
                    v["options"] = json!(options_view(&q.id, &anchor, options));
                }
                Kind::Grid { rows, columns } => {
                    v["grid"] = json!(true);
                    v["rows"] = rows
                        .iter()
                        .map(|r| {
                            let field = format!("{}.{}", q.id, r.code);
                            json!({ "label": r.label, "field": format!("q.{field}"), "cells": options_view(&field, &format!("{anchor}-{}", r.code), columns) })
                        })
                        .collect();
                }
                Kind::Number { min, max } => {
                    v["number"] = json!(true);
                    v["min"] = json!(min);
                    v["max"] = json!(max);
                    v["value"] = json!(values(&q.id).first());
                }
                Kind::Text { max_length } => {
                    v["text_answer"] = json!(true);
                    v["max_length"] = json!(max_length);
                    v["value"] = json!(values(&q.id).first());
                }
            }
            v
        })
        .collect();
    let section_index = survey.steps[step].section;
    let section = &survey.sections[section_index];
    let first_of_section = survey.steps.iter().position(|s| s.section == section_index) == Some(step);
    json!({
        "survey_intro": if step == 0 { survey.intro.clone() } else { None },
        "section_title": section.title,
        "section_intro": if first_of_section { section.intro.clone() } else { None },
        "part": section_index + 1,
        "parts": survey.sections.len(),
        "step": step,
        // Each summary line names its question and leads to the question's first input
        // (GOV.UK's error summary), so following it puts the cursor where the answer goes.
        "errors": errors
            .iter()
            .map(|e| {
                let question = survey.question(&e.question);
                json!({
                    "anchor": question.map_or_else(|| format!("q-{}", e.question), first_input),
                    "message": match question {
                        Some(q) => format!("{} – {}", q.text.trim_end_matches(['?', ':', '.']), e.message),
                        None => e.message.clone(),
                    },
                })
            })
            .collect::<Vec<_>>(),
        "has_previous": applies[..step].contains(&true),
        "is_last": !applies[step + 1..].contains(&true),
        "questions": questions,
    })
}

/// The id of a question's first input on the form: where an error summary's link leads.
fn first_input(q: &crate::survey::Question) -> String {
    let anchor = format!("q-{}", q.id);
    match &q.kind {
        Kind::Single { options } | Kind::Multiple { options } => {
            options.first().map_or(anchor.clone(), |o| format!("{anchor}-{}", o.code))
        }
        Kind::Grid { rows, columns } => match (rows.first(), columns.first()) {
            (Some(r), Some(c)) => format!("{anchor}-{}-{}", r.code, c.code),
            _ => anchor,
        },
        Kind::Number { .. } | Kind::Text { .. } => format!("{anchor}-input"),
    }
}
