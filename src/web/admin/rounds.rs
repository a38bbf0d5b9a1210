//! The rounds: the list, creating one, its dashboard, its dates, and a preview of its form.

use super::{AnyRole, CheckedForm, Coordinator, Page, RoundFor, Signed, SignedAs, round_view, see_other};
use crate::account::Role;
use crate::coordinator::{self, DateChange, NewRound};
use crate::gallring;
use crate::round::{Phase, Round, swedish_date, today};
use crate::survey::{Navigation, RawAnswers, RosterAttributes};
use crate::web::AppState;
use crate::web::form::step_view;
use actix_web::http::StatusCode;
use actix_web::web;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A share as Swedish readers write it: "33,3", "50", "0".
fn percent(part: i64, whole: i64) -> String {
    let value = if whole > 0 { (1000.0 * part as f64 / whole as f64).round() / 10.0 } else { 0.0 };
    let text = format!("{value:.1}");
    text.strip_suffix(".0").unwrap_or(&text).replace('.', ",")
}

pub async fn list(state: web::Data<AppState>, signed: Signed) -> Page {
    let rounds: Vec<Value> = state
        .store
        .rounds()
        .await?
        .into_iter()
        .map(|r| {
            let mut v = round_view(&r.round);
            v["recipients"] = json!(r.recipients);
            v["submitted"] = json!(r.submitted);
            v["rate"] = json!(percent(r.submitted, r.recipients));
            v
        })
        .collect();
    signed.ok(&state, "admin/rounds", json!({ "rounds": rounds }))
}

fn survey_choices(state: &AppState) -> anyhow::Result<Vec<Value>> {
    Ok(state.settings.surveys()?.values().map(|d| json!({ "id": d.survey.id, "title": d.survey.title })).collect())
}

pub async fn new_form(state: web::Data<AppState>, me: SignedAs<Coordinator>) -> Page {
    let year = today().year() + if today().month() > 3 { 1 } else { 0 };
    let values = json!({
        "year": year,
        "opens": format!("{year}-03-01"),
        "closes": format!("{year}-03-31"),
        "threshold": crate::tally::DEFAULT_THRESHOLD,
        "reminders": "7,-3",
    });
    me.signed.ok(
        &state,
        "admin/round_new",
        json!({ "surveys": survey_choices(&state)?, "values": values, "errors": [] }),
    )
}

/// A date from a form field, or the message saying what is wrong with it.
fn date_field(form: &CheckedForm, name: &str, label: &str) -> Result<Date, String> {
    let v = form.field(name);
    if v.is_empty() {
        return Err(format!("Ange {label}."));
    }
    v.parse::<Date>().map_err(|_| {
        format!(
            "{label} ”{}” är inget datum: skriv det som ÅÅÅÅ-MM-DD, till exempel 2027-03-01.",
            crate::text::shown(v)
        )
    })
}

/// Reads the new-round form into the use case's input; what cannot be read is a problem
/// at its field. The rules themselves are the use case's (`coordinator::create_round`).
fn new_round(form: &CheckedForm) -> (NewRound, Vec<(&'static str, String)>) {
    let mut problems = Vec::new();
    let year = form.field("year").parse::<i16>().unwrap_or_else(|_| {
        problems.push((
            "year",
            format!("Året ”{}” är inget årtal: skriv till exempel 2027.", crate::text::shown(form.field("year"))),
        ));
        2000
    });
    let opens = date_field(form, "opens", "första svarsdagen").map_err(|m| problems.push(("opens", m))).ok();
    let closes = date_field(form, "closes", "sista svarsdagen").map_err(|m| problems.push(("closes", m))).ok();
    let threshold = form.field("threshold").parse::<u64>().unwrap_or_else(|_| {
        problems.push((
            "threshold",
            format!(
                "Minsta redovisade grupp måste vara ett heltal, minst {}, så att ingen kan pekas ut.",
                crate::tally::MINIMUM_THRESHOLD
            ),
        ));
        crate::tally::DEFAULT_THRESHOLD
    });
    let new = NewRound {
        survey_id: form.field("survey").to_string(),
        year,
        opens,
        closes,
        key: form.optional("key"),
        title: form.optional("title"),
        disclosure_threshold: Some(threshold),
        mail: form.round_mail(),
    };
    (new, problems)
}

pub async fn create(state: web::Data<AppState>, me: SignedAs<Coordinator>, form: CheckedForm) -> Page {
    let signed = &me.signed;
    let (new, unread) = new_round(&form);
    let surveys = state.settings.surveys()?;
    let mut problems = coordinator::round_problems(&new, &surveys, unread);
    if problems.is_empty() {
        match coordinator::create_round(&state.store, &surveys, &signed.actor(), new).await {
            Ok(round) => {
                signed.flash(format!("Omgången {} är skapad. Nästa steg: importera mottagarna.", round.title));
                return Ok(see_other(&format!("/admin/omgangar/{}", round.key)));
            }
            Err(coordinator::Error::Invalid(p)) => problems = p,
            Err(e) => return Err(e.into()),
        }
    }
    // The summary links to each field's input; each field shows its own message too.
    let errors: Vec<Value> =
        problems.iter().map(|(field, message)| json!({ "input": field, "message": message })).collect();
    let mut errors_at = serde_json::Map::new();
    for (field, message) in &problems {
        errors_at.entry(field.to_string()).or_insert_with(|| json!(message));
    }
    Ok(signed.page(
        &state,
        StatusCode::UNPROCESSABLE_ENTITY,
        "admin/round_new",
        json!({ "surveys": survey_choices(&state)?, "values": form.fields(), "errors": errors, "errors_at": errors_at }),
    ))
}

/// One line of the dashboard: a group, a category or everyone.
fn rate_line(label: &str, recipients: i64, invited: i64, submitted: i64) -> Value {
    json!({
        "label": label,
        "recipients": recipients,
        "invited": invited,
        "submitted": submitted,
        "rate": percent(submitted, recipients),
        "meter": if recipients > 0 { submitted as f64 / recipients as f64 } else { 0.0 },
    })
}

pub async fn dashboard(state: web::Data<AppState>, access: RoundFor<AnyRole>) -> Page {
    let RoundFor { round, signed, .. } = access;
    if !signed.is(Role::Coordinator) {
        return Ok(super::see_other(&format!("/admin/omgangar/{}/analys", round.key)));
    }
    let survey = state.survey(round.id).await?;
    let lines = state.store.mail_status(round.id).await?;
    let label_of = |code: &str| survey.group_label(code).to_string();
    let mut groups: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let mut categories: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let mut total = (0, 0, 0, 0, 0, 0);
    for l in &lines {
        for (map, k) in [(&mut groups, l.group.clone()), (&mut categories, l.category.clone())] {
            let e = map.entry(k).or_default();
            e.0 += l.recipients;
            e.1 += l.invited;
            e.2 += l.submitted;
        }
        total.0 += l.recipients;
        total.1 += l.invited;
        total.2 += l.submitted;
        total.3 += l.delivered;
        total.4 += l.failed;
        total.5 += l.waiting;
    }
    let today = today();
    let days_left = match round.phase(today) {
        Phase::NotYetOpen => format!("Öppnar den {}.", swedish_date(round.opens_on)),
        Phase::Closed => format!("Stängde den {}.", swedish_date(round.closes_on)),
        Phase::Open => {
            let days = (round.closes_on - today).get_days() + 1;
            if days == 1 {
                "Sista dagen att svara är i dag.".to_string()
            } else {
                format!("{days} dagar kvar, till och med den {}.", swedish_date(round.closes_on))
            }
        }
    };
    let gallring = gallring_view(&round, &state.store.gallring(round.id).await?);
    let pace = if total.5 > 0 { coordinator::mail_out_ends(&state.store, state.mail.pace()).await? } else { None };
    let data = json!({
        "round": round_view(&round),
        "gallring": gallring,
        "pace": pace,
        "days_left": days_left,
        "total": rate_line("Alla", total.0, total.1, total.2),
        "delivered": total.3,
        "failed": total.4,
        "waiting": total.5,
        "groups": groups.iter().map(|(g, (r, i, s))| rate_line(&label_of(g), *r, *i, *s)).collect::<Vec<_>>(),
        "categories": categories.iter().map(|(c, (r, i, s))| rate_line(c, *r, *i, *s)).collect::<Vec<_>>(),
        "empty": total.0 == 0,
        "files_only": state.mail.smtp_url.is_none(),
        "updated": jiff::Zoned::now()
            .with_time_zone(jiff::tz::TimeZone::get(crate::round::TIME_ZONE)?)
            .strftime("%H:%M")
            .to_string(),
    });
    signed.ok(&state, "admin/dashboard", data)
}

/// The page to close the round now, reopen it or move its last day.
pub async fn dates_page(state: web::Data<AppState>, access: RoundFor<Coordinator>) -> Page {
    let RoundFor { round, signed, .. } = access;
    let today = today();
    // A closed round is offered two more weeks; an open one keeps its day until changed.
    let suggested =
        if round.closes_on < today { today.saturating_add(jiff::Span::new().days(14)) } else { round.closes_on };
    let gallring = gallring_view(&round, &state.store.gallring(round.id).await?);
    let data = json!({ "round": round_view(&round), "today": today.to_string(), "suggested": suggested.to_string(), "gallring": gallring });
    signed.ok(&state, "admin/round_dates", data)
}

/// The round's records rule as the pages state it: when what goes, or when it went.
fn gallring_view(round: &Round, g: &gallring::State) -> Value {
    let on = |at: Option<i64>| at.and_then(crate::round::swedish_date_of);
    json!({
        "days": g.rule.personal_after_days,
        "decided": g.decided,
        "personal_on": swedish_date(g.rule.personal_due_on(round.closes_on)),
        "personal_done": on(g.personal_erased_at),
        "free_text_days": g.rule.free_text_after_days.map(|d| d.to_string()).unwrap_or_default(),
        "free_text_on": g.rule.free_text_due_on(round.closes_on).map(swedish_date),
        "free_text_done": on(g.free_text_erased_at),
    })
}

/// The coordinator changes the round's records rule.
pub async fn set_gallring(state: web::Data<AppState>, access: RoundFor<Coordinator>, form: CheckedForm) -> Page {
    let RoundFor { round, signed, .. } = access;
    let back = format!("/admin/omgangar/{}/svarstid#gallring", round.key);
    let outcome = match gallring::Rule::parse(form.field("gallra_dagar"), form.field("fritext_dagar")) {
        Ok(rule) => coordinator::set_gallring_rule(&state.store, &signed.actor(), &round, rule).await.map(|()| rule),
        Err(problems) => Err(coordinator::Error::Invalid(problems)),
    };
    match outcome {
        Ok(rule) => signed.flash(format!("Gallringsregeln är sparad: {}.", coordinator::describe_rule(&rule))),
        Err(coordinator::Error::Invalid(problems)) => {
            signed.flash(problems.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" "))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(&back))
}

/// Closing now, reopening or extending: the last day moves, the first stays.
pub async fn change_dates(state: web::Data<AppState>, access: RoundFor<Coordinator>, form: CheckedForm) -> Page {
    let RoundFor { round, signed, .. } = access;
    let back = format!("/admin/omgangar/{}/svarstid", round.key);
    let change = match form.field("action") {
        "close" => DateChange::CloseNow,
        _ => match date_field(&form, "closes", "den nya sista svarsdagen") {
            Ok(d) => DateChange::LastDay(d),
            Err(message) => {
                signed.flash(message);
                return Ok(see_other(&back));
            }
        },
    };
    match coordinator::change_dates(&state.store, &signed.actor(), &round, change).await {
        Ok(closes) if closes < today() => signed.flash(
            "Omgången är stängd. Länkarna visar nu att enkäten är stängd; påbörjade svar finns kvar om du öppnar igen.",
        ),
        Ok(closes) => signed.flash(format!("Omgången kan nu besvaras till och med den {}.", swedish_date(closes))),
        Err(coordinator::Error::Invalid(problems)) => {
            signed.flash(problems.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" "))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(&back))
}

#[derive(serde::Deserialize)]
pub struct PreviewQuery {
    grupp: Option<String>,
    kategori: Option<String>,
}

/// The form as a respondent of a group and category would see it. Nothing is stored: what
/// was answered so far travels in the page itself.
pub async fn preview(state: web::Data<AppState>, access: RoundFor<AnyRole>, query: web::Query<PreviewQuery>) -> Page {
    let RoundFor { round, signed, .. } = access;
    let survey = state.survey(round.id).await?;
    let roster = RosterAttributes {
        group: query
            .grupp
            .clone()
            .filter(|g| survey.groups.iter().any(|x| &x.code == g))
            .unwrap_or_else(|| survey.groups.first().map(|g| g.code.clone()).unwrap_or_default()),
        category: query.kategori.clone().unwrap_or_default().trim().to_string(),
    };
    let raw = RawAnswers::new();
    let first = survey.steps_that_apply(&roster, &raw).iter().position(|&a| a).unwrap_or(0);
    preview_page(&state, &signed, &round, &survey, &roster, first, &raw, &[], StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn preview_page(
    state: &AppState,
    signed: &Signed,
    round: &crate::round::Round,
    survey: &crate::survey::Survey,
    roster: &RosterAttributes,
    step: usize,
    raw: &RawAnswers,
    errors: &[crate::survey::FieldError],
    status: StatusCode,
) -> Page {
    let mut data = step_view(survey, roster, step, raw, errors);
    data["title"] = json!(round.title);
    data["action"] = json!(format!("/admin/omgangar/{}/forhandsvisning", round.key));
    data["csrf"] = json!(signed.csrf);
    data["closes_on"] = json!(swedish_date(round.closes_on));
    data["preview"] = json!({
        "draft": serde_json::to_string(raw)?,
        "group": roster.group,
        "category": roster.category,
        "groups": survey.groups.iter().map(|g| json!({ "code": g.code, "label": g.label, "selected": g.code == roster.group })).collect::<Vec<_>>(),
        "back": format!("/admin/omgangar/{}", round.key),
        "key": round.key,
        "categories": state.store.categories(round.id).await?,
    });
    let status = if errors.is_empty() { status } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(state.pages.respond(status, "form", data))
}

pub async fn preview_post(state: web::Data<AppState>, access: RoundFor<AnyRole>, form: CheckedForm) -> Page {
    let RoundFor { round, signed, .. } = access;
    let survey = state.survey(round.id).await?;
    let mut posted = RawAnswers::new();
    for (name, value) in form.pairs() {
        if let Some(q) = name.strip_prefix("q.") {
            posted.entry(q.to_string()).or_default().push(value.clone());
        }
    }
    let roster = RosterAttributes {
        group: form.field("preview_group").to_string(),
        category: form.field("preview_category").to_string(),
    };
    let mut raw: RawAnswers = serde_json::from_str(form.field("preview_draft")).unwrap_or_default();
    let step = form.field("step").parse::<usize>().unwrap_or(0).min(survey.steps.len().saturating_sub(1));
    survey.merge_step(step, &mut raw, posted);
    match form.field("action") {
        "back" => {
            let previous = survey.previous_step(step, &roster, &raw).unwrap_or(step);
            preview_page(&state, &signed, &round, &survey, &roster, previous, &raw, &[], StatusCode::OK).await
        }
        _ => match survey.after_next(step, &roster, &raw) {
            Navigation::Show { step, errors } => {
                preview_page(&state, &signed, &round, &survey, &roster, step, &raw, &errors, StatusCode::OK).await
            }
            Navigation::Complete(answers) => signed.ok(
                &state,
                "admin/message",
                json!({
                    "heading": "Förhandsvisningen är slut",
                    "text": format!(
                        "Här skulle respondenten få sitt kvitto. Svaren ({} frågor besvarade) sparades inte: förhandsvisningen lagrar ingenting.",
                        answers.len()
                    ),
                    "back": format!("/admin/omgangar/{}/forhandsvisning", round.key),
                    "back_label": "Förhandsvisa igen",
                }),
            ),
        },
    }
}

/// The dashboard's small chart: the response rate per group as an SVG bar chart. For the
/// coordinator, who sees who answered anyway, so no group is folded.
pub async fn response_chart(state: web::Data<AppState>, access: RoundFor<Coordinator>) -> Page {
    let round = access.round;
    let survey = state.survey(round.id).await?;
    let mut groups: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for l in state.store.mail_status(round.id).await? {
        let e = groups.entry(l.group).or_default();
        e.0 += l.recipients;
        e.1 += l.submitted;
    }
    let rate = |(recipients, submitted): &(i64, i64)| {
        if *recipients > 0 { 100.0 * *submitted as f64 / *recipients as f64 } else { 0.0 }
    };
    let chart = crate::chart::Chart {
        name: "svarsfrekvens",
        title: "Svarsfrekvens per grupp".into(),
        axis: "Andel av mottagarna som svarat (%)".into(),
        note: groups
            .iter()
            .map(|(g, (r, s))| format!("{}: {s} av {r}", survey.group_label(g)))
            .collect::<Vec<_>>()
            .join(", "),
        body: crate::chart::Body::Bars {
            categories: groups.keys().map(|g| survey.group_label(g).to_string()).collect(),
            series: vec![("Svarat".into(), groups.values().map(rate).collect())],
            percent: true,
        },
    };
    Ok(actix_web::HttpResponse::Ok()
        .content_type("image/svg+xml")
        .body(crate::chart::svg(&chart, crate::chart::SCREEN_WIDTH)?))
}
