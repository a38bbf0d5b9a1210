//! Reporting links and incident reports (src/incident.rs), and the year's other sources
//! (src/sources.rs): the coordinator's actions, and a reporter's one action, sending a report.

use super::{Actor, Error, Outcome};
use crate::incident::{Exclusion, Form, Month};
use crate::store::{Filed, Store, now_ms};
use crate::survey::{FieldError, RawAnswers};
use crate::token::{self, Token};

/// Longest label of a reporting link.
const LABEL_LIMIT: usize = 80;
/// Longest reason given for marking a report.
const REASON_LIMIT: usize = 500;

/// Creates a reporting link; its token is shown once, here, and stored only as its hash.
pub async fn create_report_link(store: &Store, actor: &Actor, label: &str, daily_cap: &str) -> Outcome<Token> {
    let label = label.trim();
    let mut problems = Vec::new();
    if label.is_empty() || label.chars().count() > LABEL_LIMIT {
        problems.push((
            "label",
            format!(
                "Skriv var länken ska finnas, till exempel \"Intranätet, förvaltningen\" (högst {LABEL_LIMIT} tecken)."
            ),
        ));
    }
    let cap = if daily_cap.trim().is_empty() {
        Some(crate::incident::DEFAULT_DAILY_CAP)
    } else {
        daily_cap.trim().parse::<i64>().ok().filter(|n| (1..=1000).contains(n))
    };
    if cap.is_none() {
        problems.push(("daily_cap", "Största antal rapporter per dygn ska vara ett heltal från 1 till 1000.".into()));
    }
    let Some(cap) = cap.filter(|_| problems.is_empty()) else { return Err(Error::Invalid(problems)) };
    let (token, hash) = token::mint();
    let mut tx = store.begin().await?;
    let id = tx.create_report_link(label, &hash, cap, now_ms()).await?;
    tx.audit(
        &actor.entry("skapade en rapportlänk").detail(format!("länk {id}: {label}, högst {cap} rapporter per dygn")),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn revoke_report_link(store: &Store, actor: &Actor, id: i64) -> Outcome<String> {
    let mut tx = store.begin().await?;
    let Some(label) = tx.revoke_report_link(id, now_ms()).await? else {
        return Err(Error::NoSuchReportLink);
    };
    tx.audit(&actor.entry("spärrade en rapportlänk").detail(format!("länk {id}: {label}"))).await?;
    tx.commit().await?;
    Ok(label)
}

/// Why a report was not taken.
#[derive(Debug)]
pub enum NotFiled {
    /// The answers have problems, each at its question; nothing was stored.
    Invalid(Vec<FieldError>),
    /// The link was revoked.
    Revoked,
    /// The link has taken its cap of reports today.
    CapReached,
    Technical(anyhow::Error),
}

impl From<anyhow::Error> for NotFiled {
    fn from(e: anyhow::Error) -> NotFiled {
        NotFiled::Technical(e)
    }
}

/// Files one report through a link. The link was looked up by its token's hash; nothing
/// about the reporter reaches this function.
pub async fn file_incident(
    store: &Store,
    form: &Form,
    link: &crate::store::ReportLink,
    raw: &RawAnswers,
) -> Result<crate::incident::Report, NotFiled> {
    if link.revoked_at.is_some() {
        return Err(NotFiled::Revoked);
    }
    let today = crate::round::today();
    let answers = form.survey.validate(&Default::default(), raw).map_err(NotFiled::Invalid)?;
    let report = form.report(&answers, today).map_err(NotFiled::Invalid)?;
    match store.file_incident(link.id, &today.to_string(), link.daily_cap, &report, Month::of(today)).await? {
        Filed::Taken => Ok(report),
        Filed::CapReached => Err(NotFiled::CapReached),
        Filed::Revoked => Err(NotFiled::Revoked),
    }
}

/// Marks a report as having no connection to violent extremism or as misregistered (left
/// out of every count, kept on the list), or takes the mark away.
pub async fn mark_incident(
    store: &Store,
    actor: &Actor,
    id: i64,
    mark: Option<Exclusion>,
    reason: &str,
) -> Outcome<()> {
    let reason = reason.trim();
    if mark.is_some() && (reason.is_empty() || reason.chars().count() > REASON_LIMIT) {
        return Err(Error::Invalid(vec![(
            "reason",
            format!("Skriv varför rapporten ska räknas bort (högst {REASON_LIMIT} tecken)."),
        )]));
    }
    let mut tx = store.begin().await?;
    if !tx.mark_incident(id, mark, mark.map(|_| reason)).await? {
        return Err(Error::NoSuchIncident(id));
    }
    let entry = match mark {
        Some(m) => actor.entry("markerade en incidentrapport").detail(format!("rapport {id}: {}; {reason}", m.label())),
        None => actor.entry("tog bort markeringen av en incidentrapport").detail(format!("rapport {id}")),
    };
    tx.audit(&entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a report's description at once, for one that names someone despite the form's
/// warning: what was seen, where and when stays, and so do the counts. Audit-logged without
/// the text; afterwards nothing of it is left in the database's files.
pub async fn erase_incident_text(store: &Store, actor: &Actor, id: i64) -> Outcome<()> {
    let mut tx = store.begin().await?;
    if !tx.erase_incident_text(id, now_ms()).await? {
        return Err(Error::NoSuchIncident(id));
    }
    tx.audit(&actor.entry("raderade beskrivningen i en incidentrapport").detail(format!("rapport {id}"))).await?;
    tx.commit().await?;
    store.purge_erased().await?;
    Ok(())
}

/// Adds (`id` None) or changes a source entry of the year, unless the year is finalised.
pub async fn save_source(
    store: &Store,
    actor: &Actor,
    year: i64,
    id: Option<i64>,
    posted: &crate::sources::Posted,
    form: &Form,
) -> Outcome<i64> {
    let codes = |q: &str| form.labels(q).into_iter().map(|(c, _)| c).collect::<Vec<_>>();
    let entry = crate::sources::check(year, posted, &codes("uttryck"), &codes("miljo")).map_err(Error::Invalid)?;
    let mut tx = store.begin().await?;
    if tx.year_finalised(year).await? {
        return Err(Error::YearFinalised(year));
    }
    let Some(saved) = tx.save_source(id, &entry, now_ms()).await? else {
        return Err(Error::NoSuchSource);
    };
    let action = if id.is_some() { "ändrade en källa i lägesbilden" } else { "lade till en källa i lägesbilden" };
    tx.audit(&actor.entry(action).detail(format!(
        "{year}, källa {saved}: {} ({}), {} – {}, antal {}: {}",
        entry.name,
        entry.kind.label(),
        entry.from,
        entry.to,
        entry.total.map_or("–".into(), |n| n.to_string()),
        entry.text
    )))
    .await?;
    tx.commit().await?;
    Ok(saved)
}

pub async fn remove_source(store: &Store, actor: &Actor, year: i64, id: i64) -> Outcome<String> {
    let mut tx = store.begin().await?;
    if tx.year_finalised(year).await? {
        return Err(Error::YearFinalised(year));
    }
    let Some(name) = tx.remove_source(year, id).await? else { return Err(Error::NoSuchSource) };
    tx.audit(&actor.entry("tog bort en källa ur lägesbilden").detail(format!("{year}, källa {id}: {name}"))).await?;
    tx.commit().await?;
    Ok(name)
}

/// Finalises the year's lägesbild (its sources can then not be changed), or opens it again.
pub async fn finalise_year(store: &Store, actor: &Actor, year: i64, finalise: bool) -> Outcome<bool> {
    let mut tx = store.begin().await?;
    let changed = tx.set_year_finalised(year, finalise.then_some(actor.0.as_str()), now_ms()).await?;
    if changed {
        let action = if finalise { "fastställde lägesbilden" } else { "öppnade lägesbilden för ändringar igen" };
        tx.audit(&actor.entry(action).detail(year.to_string())).await?;
    }
    tx.commit().await?;
    Ok(changed)
}
