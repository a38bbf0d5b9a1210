//! Reporting links, the incident list (coordinators and analysts; descriptions are never
//! published) with its marking and CSV export, and the year's other sources.

use super::{AnyRole, CheckedForm, Coordinator, Page, SignedAs, see_other};
use crate::coordinator;
use crate::export::{Dialect, neutralise};
use crate::incident::{Exclusion, Month};
use crate::sources::{KINDS, Posted};
use crate::store::StoredReport;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

#[derive(serde::Deserialize)]
pub struct YearQuery {
    ar: Option<i64>,
    dialekt: Option<String>,
}

impl YearQuery {
    fn year(&self) -> i64 {
        year_or_this(self.ar)
    }
}

/// The year asked for, or this year.
fn year_or_this(year: Option<i64>) -> i64 {
    year.filter(|y| (2000..=2200).contains(y)).unwrap_or_else(|| i64::from(crate::round::today().year()))
}

pub async fn links(state: web::Data<AppState>, me: SignedAs<Coordinator>) -> Page {
    links_page(&state, &me, StatusCode::OK, json!({})).await
}

async fn links_page(state: &AppState, me: &SignedAs<Coordinator>, status: StatusCode, mut data: Value) -> Page {
    let links: Vec<Value> = state
        .store
        .report_links()
        .await?
        .into_iter()
        .map(|l| {
            json!({
                "id": l.id, "label": l.label, "daily_cap": l.daily_cap,
                "created": crate::round::swedish_moment(l.created_at),
                "revoked": l.revoked_at.map(crate::round::swedish_moment),
            })
        })
        .collect();
    data["links"] = json!(links);
    data["default_cap"] = json!(crate::incident::DEFAULT_DAILY_CAP);
    Ok(me.signed.page(state, status, "admin/report_links", data))
}

pub async fn create_link(state: web::Data<AppState>, me: SignedAs<Coordinator>, form: CheckedForm) -> Page {
    match coordinator::create_report_link(
        &state.store,
        &me.signed.actor(),
        form.field("label"),
        form.field("daily_cap"),
    )
    .await
    {
        // The link is shown once, on this answer: only its hash is stored.
        Ok(token) => {
            links_page(
                &state,
                &me,
                StatusCode::OK,
                json!({ "new_link": state.settings.report_link(&token), "new_label": form.field("label") }),
            )
            .await
        }
        Err(coordinator::Error::Invalid(problems)) => {
            links_page(
                &state,
                &me,
                StatusCode::UNPROCESSABLE_ENTITY,
                super::refused_form(&problems, json!(form.fields())),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_link(
    state: web::Data<AppState>,
    me: SignedAs<Coordinator>,
    path: web::Path<i64>,
    _form: CheckedForm,
) -> Page {
    let label = coordinator::revoke_report_link(&state.store, &me.signed.actor(), path.into_inner()).await?;
    me.signed.flash(format!(
        "Länken \"{label}\" är spärrad. Den som öppnar den får veta det; rapporter som redan kommit in finns kvar."
    ));
    Ok(see_other("/admin/rapportlankar"))
}

/// The reports observed in a calendar year.
async fn reports_of(state: &AppState, year: i64) -> anyhow::Result<Vec<StoredReport>> {
    let (from, to) = (Month { year, month: 1 }, Month { year, month: 12 });
    state.store.incident_reports(from, to).await
}

/// Counts of the counted reports by one property, largest first, for the list's summary.
fn tally_by(
    reports: &[&StoredReport],
    key: impl Fn(&StoredReport) -> Vec<String>,
    label: impl Fn(&str) -> String,
) -> Vec<Value> {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    for r in reports {
        for k in key(r) {
            *counts.entry(k).or_default() += 1;
        }
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(k, n)| json!({ "label": label(&k), "count": n })).collect()
}

pub async fn list(state: web::Data<AppState>, me: SignedAs<AnyRole>, query: web::Query<YearQuery>) -> Page {
    let year = query.year();
    let form = &state.incident_form;
    let reports = reports_of(&state, year).await?;
    let counted: Vec<&StoredReport> = reports.iter().filter(|r| r.excluded.is_none()).collect();
    let label = |q: &'static str| move |c: &str| form.label(q, c);
    let summary = json!({
        "months": tally_by(&counted, |r| vec![r.report.observed.to_string()], |m| Month::parse(m).map_or(m.to_string(), Month::swedish)),
        "kinds": tally_by(&counted, |r| r.report.kinds.clone(), label("uttryck")),
        "milieus": tally_by(&counted, |r| vec![r.report.milieu.clone()], label("miljo")),
        "administrations": tally_by(&counted, |r| r.report.administration.iter().cloned().collect(), label("forvaltning")),
    });
    let rows: Vec<Value> = reports
        .iter()
        .map(|r| {
            let p = &r.report;
            json!({
                "id": r.id,
                "month": p.observed.swedish(),
                "place": form.label("plats", &p.place),
                "area": p.area.as_deref().map(|a| form.label("omrade", a)),
                "kinds": crate::text::list_in_swedish(&p.kinds.iter().map(|k| form.label("uttryck", k)).collect::<Vec<_>>()),
                "milieu": form.label("miljo", &p.milieu),
                "police": p.police.as_deref().map(|a| form.label("polis", a)),
                "ia": p.ia.as_deref().map(|a| form.label("ia", a)),
                "administration": p.administration.as_deref().map(|a| form.label("forvaltning", a)),
                "description": p.description,
                "description_erased": r.description_erased,
                "received": r.received.swedish(),
                "link": r.link_label,
                "excluded": r.excluded.map(Exclusion::label),
                "mark": r.excluded.map(Exclusion::code),
                "reason": r.excluded_reason,
            })
        })
        .collect();
    let this_year = year_or_this(None);
    Ok(me.signed.page(
        &state,
        StatusCode::OK,
        "admin/incidents",
        json!({
            "year": year,
            "years": (this_year - 4..=this_year).rev().collect::<Vec<_>>(),
            "counted": counted.len(),
            "excluded": reports.len() - counted.len(),
            "summary": summary,
            "reports": rows,
            "can_mark": me.signed.account.role == crate::account::Role::Coordinator,
        }),
    ))
}

pub async fn mark(
    state: web::Data<AppState>,
    me: SignedAs<Coordinator>,
    path: web::Path<i64>,
    form: CheckedForm,
) -> Page {
    let id = path.into_inner();
    // Counted again only when asked for by name: a form without a choice changes nothing.
    let mark = match form.field("mark") {
        "raknas" => None,
        code => Some(Exclusion::parse(code).ok_or_else(|| {
            super::AdminError::Unreadable(
                "Välj om rapporten räknas, saknar koppling till VBE eller är felregistrerad.".into(),
            )
        })?),
    };
    let year = year_or_this(form.field("year").parse().ok());
    let back = format!("/admin/incidenter?ar={year}#rapport-{id}");
    match coordinator::mark_incident(&state.store, &me.signed.actor(), id, mark, form.field("reason")).await {
        Ok(()) => {
            me.signed.flash(match mark {
                Some(m) => {
                    format!("Rapport {id} är markerad: {}. Den räknas inte längre men finns kvar i listan.", m.label())
                }
                None => format!("Rapport {id} räknas igen."),
            });
            Ok(see_other(&back))
        }
        Err(coordinator::Error::Invalid(problems)) => {
            me.signed.flash(format!(
                "Rapport {id} markerades inte: {}",
                problems.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" ")
            ));
            Ok(see_other(&back))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn erase_text(
    state: web::Data<AppState>,
    me: SignedAs<Coordinator>,
    path: web::Path<i64>,
    form: CheckedForm,
) -> Page {
    let id = path.into_inner();
    coordinator::erase_incident_text(&state.store, &me.signed.actor(), id).await?;
    me.signed.flash(format!("Beskrivningen i rapport {id} är raderad. Rapporten räknas som förut."));
    let year = year_or_this(form.field("year").parse().ok());
    Ok(see_other(&format!("/admin/incidenter?ar={year}#rapport-{id}")))
}

pub async fn csv(state: web::Data<AppState>, me: SignedAs<AnyRole>, query: web::Query<YearQuery>) -> Page {
    let year = query.year();
    let dialect = if query.dialekt.as_deref() == Some("excel") { Dialect::Excel } else { Dialect::Plain };
    let reports = reports_of(&state, year).await?;
    let mut w = dialect.writer(Vec::new())?;
    w.write_record([
        "id",
        "manad",
        "plats",
        "omrade",
        "uttryck",
        "miljo",
        "polis",
        "ia",
        "forvaltning",
        "beskrivning",
        "inkom",
        "lank",
        "markering",
        "skal",
    ])?;
    for r in &reports {
        let p = &r.report;
        w.write_record([
            r.id.to_string(),
            p.observed.to_string(),
            p.place.clone(),
            p.area.clone().unwrap_or_default(),
            p.kinds.join(";"),
            p.milieu.clone(),
            p.police.clone().unwrap_or_default(),
            p.ia.clone().unwrap_or_default(),
            p.administration.clone().unwrap_or_default(),
            neutralise(&p.description).into_owned(),
            r.received.to_string(),
            neutralise(&r.link_label).into_owned(),
            r.excluded.map_or(String::new(), |e| e.code().to_string()),
            neutralise(r.excluded_reason.as_deref().unwrap_or_default()).into_owned(),
        ])?;
    }
    let body = w.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    let entry = crate::audit::Entry::new(&me.signed.account.email, "laddade ner incidentrapporterna");
    state.store.audit(&entry.detail(format!("{year}: {} rapporter", reports.len()))).await?;
    let suffix = if dialect == Dialect::Excel { "-excel" } else { "" };
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"incidentrapporter-{year}{suffix}.csv\""),
        ))
        .body(body))
}

/// The source form's fields as posted, counts named `count.<kind>.<milieu>`.
fn posted_source(form: &CheckedForm) -> Posted {
    Posted {
        kind: form.field("kind").into(),
        name: form.field("name").into(),
        from: form.field("from").into(),
        to: form.field("to").into(),
        total: form.field("total").into(),
        counts: form
            .pairs()
            .iter()
            .filter_map(|(n, v)| {
                let (k, m) = n.strip_prefix("count.")?.split_once('.')?;
                Some((k.to_string(), m.to_string(), v.clone()))
            })
            .collect(),
        text: form.raw("text").into(),
        covers: form.raw("covers").into(),
    }
}

/// The sources page of a year: its entries, a form to add one (or change `editing`), and
/// whether the year is finalised.
async fn sources_page(
    state: &AppState,
    signed: &super::Signed,
    year: i64,
    status: StatusCode,
    editing: Option<(i64, Value)>,
    mut data: Value,
) -> Page {
    let form = &state.incident_form;
    let entries = state.store.sources(year).await?;
    let finalised = state.store.finalised(year).await?;
    let milieus = form.labels("miljo");
    let kinds = form.labels("uttryck");
    let values = match &editing {
        Some((_, v)) => v.clone(),
        None => data
            .get("values")
            .cloned()
            .unwrap_or_else(|| json!({ "from": format!("{}-01", year - 1), "to": format!("{}-12", year - 1) })),
    };
    let count_of = |k: &str, m: &str| {
        values.get(format!("count.{k}.{m}")).and_then(Value::as_str).map(str::to_string).unwrap_or_default()
    };
    data["grid"] = json!(kinds
        .iter()
        .map(|(k, kl)| json!({ "label": kl, "cells": milieus.iter().map(|(m, ml)| json!({ "name": format!("count.{k}.{m}"), "label": format!("{kl}, {ml}"), "value": count_of(k, m) })).collect::<Vec<_>>() }))
        .collect::<Vec<_>>());
    data["milieus"] = json!(milieus.iter().map(|(_, l)| l).collect::<Vec<_>>());
    data["kinds"] = json!(KINDS.iter().map(|k| json!({ "code": k.code(), "label": k.label(), "selected": values.get("kind").and_then(Value::as_str) == Some(k.code()) })).collect::<Vec<_>>());
    data["values"] = values;
    data["year"] = json!(year);
    data["previous_year"] = json!(year - 1);
    data["editing"] = json!(editing.as_ref().map(|(id, _)| id));
    data["finalised"] = json!(finalised.map(|(at, by)| json!({ "at": crate::round::swedish_moment(at), "by": by })));
    data["entries"] = json!(entries
        .iter()
        .map(|(id, e)| json!({
            "id": id, "kind": e.kind.label(), "name": e.name, "period": crate::incident::swedish_period(e.from, e.to),
            "total": e.total, "text": e.text, "covers": e.covers(),
            "counts": e.counts.iter().map(|(k, m, n)| format!("{}, {}: {n}", form.label("uttryck", k), form.label("miljo", m))).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>());
    data["can_edit"] = json!(signed.account.role == crate::account::Role::Coordinator);
    Ok(signed.page(state, status, "admin/sources", data))
}

pub async fn sources(state: web::Data<AppState>, me: SignedAs<AnyRole>, path: web::Path<i64>) -> Page {
    sources_page(&state, &me.signed, path.into_inner(), StatusCode::OK, None, json!({})).await
}

pub async fn edit_source(state: web::Data<AppState>, me: SignedAs<Coordinator>, path: web::Path<(i64, i64)>) -> Page {
    let (year, id) = path.into_inner();
    let Some((_, e)) = state.store.sources(year).await?.into_iter().find(|(i, _)| *i == id) else {
        return Err(coordinator::Error::NoSuchSource.into());
    };
    let mut values = json!({
        "kind": e.kind.code(), "name": e.name_as_typed(),
        "from": e.from.to_string(), "to": e.to.to_string(), "total": e.total.map(|n| n.to_string()).unwrap_or_default(),
        "text": e.text, "covers": e.covers,
    });
    for (k, m, n) in &e.counts {
        values[format!("count.{k}.{m}")] = json!(n.to_string());
    }
    sources_page(&state, &me.signed, year, StatusCode::OK, Some((id, values)), json!({})).await
}

pub async fn save_source(
    state: web::Data<AppState>,
    me: SignedAs<Coordinator>,
    path: web::Path<(i64, i64)>,
    form: CheckedForm,
) -> Page {
    let (year, id) = path.into_inner();
    save(&state, &me, year, Some(id), &form).await
}

pub async fn add_source(
    state: web::Data<AppState>,
    me: SignedAs<Coordinator>,
    path: web::Path<i64>,
    form: CheckedForm,
) -> Page {
    save(&state, &me, path.into_inner(), None, &form).await
}

async fn save(state: &AppState, me: &SignedAs<Coordinator>, year: i64, id: Option<i64>, form: &CheckedForm) -> Page {
    match coordinator::save_source(
        &state.store,
        &me.signed.actor(),
        year,
        id,
        &posted_source(form),
        &state.incident_form,
    )
    .await
    {
        Ok(saved) => {
            me.signed.flash(if id.is_some() { "Källan är ändrad." } else { "Källan är tillagd." });
            Ok(see_other(&format!("/admin/lagesbild/{year}#kalla-{saved}")))
        }
        Err(coordinator::Error::Invalid(problems)) => {
            let values = json!(form.fields());
            let editing = id.map(|i| (i, values.clone()));
            sources_page(
                state,
                &me.signed,
                year,
                StatusCode::UNPROCESSABLE_ENTITY,
                editing,
                super::refused_form(&problems, values),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_source(
    state: web::Data<AppState>,
    me: SignedAs<Coordinator>,
    path: web::Path<(i64, i64)>,
    _form: CheckedForm,
) -> Page {
    let (year, id) = path.into_inner();
    let name = coordinator::remove_source(&state.store, &me.signed.actor(), year, id).await?;
    me.signed.flash(format!("Källan {name} är borttagen."));
    Ok(see_other(&format!("/admin/lagesbild/{year}")))
}

pub async fn finalise(
    state: web::Data<AppState>,
    me: SignedAs<Coordinator>,
    path: web::Path<i64>,
    form: CheckedForm,
) -> Page {
    let year = path.into_inner();
    let finalise = form.field("finalise") != "nej";
    coordinator::finalise_year(&state.store, &me.signed.actor(), year, finalise).await?;
    me.signed.flash(if finalise {
        format!("Lägesbilden för {year} är fastställd. Källorna kan inte längre ändras.")
    } else {
        format!("Lägesbilden för {year} kan ändras igen.")
    });
    Ok(see_other(&format!("/admin/lagesbild/{year}")))
}
