//! The rounds: the list, creating one, its dashboard, its dates, and a preview of its form.

use super::{Need, Page, Posted, Signed, allowed, field, forbidden, round_view, see_other};
use crate::account::Role;
use crate::admin::{NewRound, create_round};
use crate::outbox::queue::RoundMail;
use crate::outbox::{format_schedule, parse_schedule};
use crate::round::{Phase, swedish_date, today};
use crate::survey::{Navigation, RawAnswers, RosterAttributes};
use crate::web::AppState;
use crate::web::form::step_view;
use actix_web::http::StatusCode;
use actix_web::web;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

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
    let surveys =
        crate::survey::load_dir(&state.settings.surveys_dir).map_err(|p| anyhow::anyhow!("{}", p.join("\n")))?;
    Ok(surveys.values().map(|d| json!({ "id": d.survey.id, "title": d.survey.title })).collect())
}

pub async fn new_form(state: web::Data<AppState>, signed: Signed) -> Page {
    if !signed.is(Role::Coordinator) {
        return Ok(forbidden(&state, &signed));
    }
    let year = today().year() + if today().month() > 3 { 1 } else { 0 };
    let values = json!({
        "year": year,
        "opens": format!("{year}-03-01"),
        "closes": format!("{year}-03-31"),
        "threshold": crate::tally::DEFAULT_THRESHOLD,
        "reminders": "7,-3",
    });
    signed.ok(&state, "admin/round_new", json!({ "surveys": survey_choices(&state)?, "values": values, "errors": [] }))
}

/// A date from a form field, or the message saying what is wrong with it.
fn date_field(form: &HashMap<String, String>, name: &str, label: &str) -> Result<Date, String> {
    let v = field(form, name);
    if v.is_empty() {
        return Err(format!("Ange {label}."));
    }
    v.parse::<Date>()
        .map_err(|_| format!("{label} ”{v}” är inget datum: skriv det som ÅÅÅÅ-MM-DD, till exempel 2027-03-01."))
}

pub async fn create(state: web::Data<AppState>, signed: Signed, form: Posted) -> Page {
    if !signed.is(Role::Coordinator) {
        return Ok(forbidden(&state, &signed));
    }
    if !signed.csrf_ok(field(&form, "csrf")) {
        return Ok(signed.csrf_refused(&state));
    }
    let mut errors: Vec<Value> = Vec::new();
    let mut error = |field: &str, message: String| errors.push(json!({ "field": field, "message": message }));
    let year = match field(&form, "year").parse::<i16>() {
        Ok(y) if (2000..=2100).contains(&y) => y,
        _ => {
            error("year", format!("Året ”{}” är inget årtal: skriv till exempel 2027.", field(&form, "year")));
            0
        }
    };
    let opens = date_field(&form, "opens", "första svarsdagen").map_err(|m| error("opens", m)).ok();
    let closes = date_field(&form, "closes", "sista svarsdagen").map_err(|m| error("closes", m)).ok();
    if let (Some(o), Some(c)) = (opens, closes)
        && c < o
    {
        error("closes", "Sista svarsdagen kommer före den första. Byt plats på datumen eller rätta dem.".into());
    } else if closes.is_some_and(|c| c < today()) {
        error(
            "closes",
            "Sista svarsdagen har redan varit: ingen skulle kunna svara. Välj i dag eller ett senare datum.".into(),
        );
    }
    let threshold = match field(&form, "threshold").parse::<u64>() {
        Ok(t) if t >= crate::tally::MINIMUM_THRESHOLD => Some(t),
        _ => {
            error(
                "threshold",
                format!(
                    "Minsta redovisade grupp måste vara ett heltal, minst {}, så att ingen kan pekas ut.",
                    crate::tally::MINIMUM_THRESHOLD
                ),
            );
            None
        }
    };
    let reminders = match parse_schedule(field(&form, "reminders")) {
        Ok(steps) => format_schedule(&steps),
        Err(e) => {
            error("reminders", format!("Påminnelseschemat går inte att läsa: {e}"));
            String::new()
        }
    };
    let key = field(&form, "key");
    if !key.is_empty() && !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        error("key", "Kortnamnet får bara innehålla bokstäverna a–z, siffror, - och _.".into());
    }
    let survey_id = field(&form, "survey").to_string();
    if !survey_choices(&state)?.iter().any(|s| s["id"] == survey_id.as_str()) {
        error("survey", format!("Det finns ingen enkät som heter ”{survey_id}”. Välj en i listan."));
    }
    // The key the round will get; a round of that name must not exist already.
    let key = if key.is_empty() { format!("{survey_id}-{year}") } else { key.to_string() };
    if state.store.round(&key).await?.is_some() {
        error(
            "key",
            format!("Det finns redan en omgång med kortnamnet {key}. Skriv ett annat kortnamn, till exempel {key}-b."),
        );
    }
    let refill = |errors: Vec<Value>| -> Page {
        Ok(signed.page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "admin/round_new",
            json!({ "surveys": survey_choices(&state)?, "values": form.0.clone(), "errors": errors }),
        ))
    };
    let (Some(opens), Some(closes), Some(threshold), true) = (opens, closes, threshold, errors.is_empty()) else {
        return refill(errors);
    };
    let optional = |name: &str| Some(field(&form, name).to_string()).filter(|v| !v.is_empty());
    let new = NewRound {
        survey_id,
        year,
        opens,
        closes,
        key: Some(key.clone()),
        title: optional("title"),
        disclosure_threshold: Some(threshold),
    };
    let round = match create_round(&state.settings, &state.store, new).await {
        Ok(r) => r,
        // Checked above; only a round created by someone else at the same moment gets here.
        Err(e) if e.to_string().contains("exists already") => {
            let message =
                format!("Omgången kunde inte skapas: en omgång med kortnamnet {key} skapades nyss av någon annan.");
            return refill(vec![json!({ "field": "key", "message": message })]);
        }
        Err(e) => return Err(e.into()),
    };
    let mail = RoundMail {
        invitation_subject: optional("invitation_subject"),
        invitation_text: optional("invitation_text"),
        reminder_subject: optional("reminder_subject"),
        reminder_text: optional("reminder_text"),
        contact: optional("contact"),
        reminder_schedule: reminders,
    };
    if mail != RoundMail::default() {
        state.store.set_round_mail(round.id, &mail).await?;
    }
    signed
        .audit(
            &state,
            signed.entry("skapade omgången").round(&round.key).detail(format!(
                "{} – {}, minsta redovisade grupp {}",
                round.opens_on, round.closes_on, round.disclosure_threshold
            )),
        )
        .await?;
    signed.flash(format!("Omgången {} är skapad. Nästa steg: importera mottagarna.", round.title));
    Ok(see_other(&format!("/admin/omgangar/{}", round.key)))
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

pub async fn dashboard(state: web::Data<AppState>, signed: Signed, key: web::Path<String>) -> Page {
    let round = match allowed(&state, &signed, &key, Need::Read).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
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
    let data = json!({
        "round": round_view(&round),
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
pub async fn dates_page(state: web::Data<AppState>, signed: Signed, key: web::Path<String>) -> Page {
    let round = match allowed(&state, &signed, &key, Need::Coordinator).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let today = today();
    // A closed round is offered two more weeks; an open one keeps its day until changed.
    let suggested =
        if round.closes_on < today { today.saturating_add(jiff::Span::new().days(14)) } else { round.closes_on };
    let data = json!({ "round": round_view(&round), "today": today.to_string(), "suggested": suggested.to_string() });
    signed.ok(&state, "admin/round_dates", data)
}

/// Closing now, reopening or extending: the last day moves, the first stays.
pub async fn change_dates(state: web::Data<AppState>, signed: Signed, key: web::Path<String>, form: Posted) -> Page {
    let round = match allowed(&state, &signed, &key, Need::CoordinatorPost(field(&form, "csrf"))).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let today = today();
    let back = format!("/admin/omgangar/{}/svarstid", round.key);
    let (closes, what) = match field(&form, "action") {
        "close" => {
            if round.phase(today) != Phase::Open {
                signed.flash("Omgången är inte öppen, så det finns inget att stänga.");
                return Ok(see_other(&back));
            }
            (today.yesterday().unwrap_or(today), "stängde omgången")
        }
        _ => match date_field(&form, "closes", "den nya sista svarsdagen") {
            Ok(d) if d < today => {
                signed.flash(format!(
                    "Den nya sista svarsdagen ({}) har redan varit. Välj i dag eller ett senare datum.",
                    swedish_date(d)
                ));
                return Ok(see_other(&back));
            }
            Ok(d) if d < round.opens_on => {
                signed.flash("Den nya sista svarsdagen kommer före den första svarsdagen.");
                return Ok(see_other(&back));
            }
            Ok(d) => (
                d,
                if round.phase(today) == Phase::Closed {
                    "öppnade omgången igen"
                } else {
                    "ändrade sista svarsdagen"
                },
            ),
            Err(message) => {
                signed.flash(message);
                return Ok(see_other(&back));
            }
        },
    };
    state.store.set_closes_on(round.id, closes).await?;
    signed
        .audit(
            &state,
            signed.entry(what).round(&round.key).detail(format!("sista svarsdag {} (var {})", closes, round.closes_on)),
        )
        .await?;
    signed.flash(if closes < today {
        "Omgången är stängd. Länkarna visar nu att enkäten är stängd; påbörjade svar finns kvar om du öppnar igen."
            .to_string()
    } else {
        format!("Omgången kan nu besvaras till och med den {}.", swedish_date(closes))
    });
    Ok(see_other(&back))
}

#[derive(serde::Deserialize)]
pub struct PreviewQuery {
    grupp: Option<String>,
    kategori: Option<String>,
}

/// The form as a respondent of a group and category would see it. Nothing is stored: what
/// was answered so far travels in the page itself.
pub async fn preview(
    state: web::Data<AppState>,
    signed: Signed,
    key: web::Path<String>,
    query: web::Query<PreviewQuery>,
) -> Page {
    let round = match allowed(&state, &signed, &key, Need::Read).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
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

pub async fn preview_post(
    state: web::Data<AppState>,
    signed: Signed,
    key: web::Path<String>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Page {
    let round = match allowed(&state, &signed, &key, Need::Read).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let Ok(body) = crate::web::protect::read_body(&req, payload, state.serve.body_limit).await else {
        let text = "Sidan som skickades var för stor eller kom inte fram hel. Förhandsvisningen sparar ingenting, så inget har gått förlorat: börja om.";
        return Ok(signed.page(
            &state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "admin/message",
            json!({ "heading": "Sidan kunde inte tas emot", "text": text, "back": format!("/admin/omgangar/{}/forhandsvisning", round.key) }),
        ));
    };
    let survey = state.survey(round.id).await?;
    // Checkboxes repeat their name, so the form is read as pairs rather than a map.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut posted = RawAnswers::new();
    for (name, value) in pairs {
        match name.strip_prefix("q.") {
            Some(q) => posted.entry(q.to_string()).or_default().push(value),
            None => {
                fields.insert(name, value);
            }
        }
    }
    if !signed.csrf_ok(field(&fields, "csrf")) {
        return Ok(signed.csrf_refused(&state));
    }
    let roster = RosterAttributes {
        group: field(&fields, "preview_group").to_string(),
        category: field(&fields, "preview_category").to_string(),
    };
    let mut raw: RawAnswers = serde_json::from_str(field(&fields, "preview_draft")).unwrap_or_default();
    let step = field(&fields, "step").parse::<usize>().unwrap_or(0).min(survey.steps.len().saturating_sub(1));
    survey.merge_step(step, &mut raw, posted);
    match field(&fields, "action") {
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
pub async fn response_chart(state: web::Data<AppState>, signed: Signed, key: web::Path<String>) -> Page {
    let round = match allowed(&state, &signed, &key, Need::Coordinator).await? {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
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
    Ok(actix_web::HttpResponse::Ok().content_type("image/svg+xml").body(crate::chart::svg(&chart)?))
}
