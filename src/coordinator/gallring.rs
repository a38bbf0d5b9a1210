//! Records management: a round's rule, and the deletions it calls for (src/gallring.rs).

use super::{Actor, Error, Outcome};
use crate::gallring::{Due, Erased, Rule, State};
use crate::round::{Phase, Round, swedish_date, today};
use crate::store::Store;
use crate::survey::Kind;

/// Changes how long the round keeps what identifies people, and its free-text answers.
pub async fn set_gallring_rule(store: &Store, actor: &Actor, round: &Round, rule: Rule) -> Outcome<()> {
    let state = store.gallring(round.id).await?;
    if state.personal_erased() && rule.personal_after_days != state.rule.personal_after_days {
        return Err(Error::invalid(
            "gallra_dagar",
            "Namn och adresser är redan gallrade; den tiden kan inte ändras längre.",
        ));
    }
    if state.free_text_erased_at.is_some() && rule.free_text_after_days != state.rule.free_text_after_days {
        return Err(Error::invalid(
            "fritext_dagar",
            "Fritextsvaren är redan gallrade; den tiden kan inte ändras längre.",
        ));
    }
    let mut tx = store.begin().await?;
    tx.set_gallring_rule(round.id, rule).await?;
    tx.audit(&actor.entry("ändrade gallringsregeln").round(&round.key).detail(describe_rule(&rule))).await?;
    tx.commit().await?;
    Ok(())
}

/// The rule in a Swedish sentence.
pub fn describe_rule(rule: &Rule) -> String {
    let free_text = match rule.free_text_after_days {
        Some(d) => format!("fritextsvar {d} dagar efter"),
        None => "fritextsvar sparas".to_string(),
    };
    format!(
        "namn, adresser, länkar och utkast gallras {} dagar efter sista svarsdagen, {free_text}",
        rule.personal_after_days
    )
}

/// How a deletion is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The server's own pass: only what the rule's days call for today.
    Due,
    /// By hand (`lagesbild gallra`): everything the rule covers, now, once the round has closed.
    Now,
}

/// Deletes what the round's rule calls for and records it in the audit log, in counts; with
/// `dry_run` the same deletion runs and is rolled back, so the counts are exactly those a
/// real one would give and nothing changes.
pub async fn gallra(store: &Store, actor: &Actor, round: &Round, when: When, dry_run: bool) -> Outcome<Erased> {
    let today = today();
    if round.phase(today) != Phase::Closed {
        return Err(Error::invalid(
            "round",
            format!(
                "Omgången {} går att svara på till och med den {}; gallring görs först när den har stängt.",
                round.key,
                swedish_date(round.closes_on)
            ),
        ));
    }
    let state = store.gallring(round.id).await?;
    let due = match when {
        When::Due => state.due(round.closes_on, today),
        When::Now => state.all_left(),
    };
    if !due.any() {
        return Ok(Erased::default());
    }
    let at = jiff::Timestamp::now().as_second();
    let mut tx = store.begin().await?;
    let mut erased = Erased::default();
    let mut done = Due::default();
    if due.personal
        && let Some(e) = tx.erase_personal_data(round.id, at).await?
    {
        erased = e;
        done.personal = true;
    }
    if due.free_text
        && let Some(n) = tx.erase_free_text(round.id, &free_text_questions(round)?, at).await?
    {
        erased.free_text_responses = n;
        done.free_text = true;
    }
    // Another instance or command did it a moment ago: nothing left, nothing to record.
    if dry_run || !done.any() {
        return Ok(erased);
    }
    tx.audit(
        &actor.entry(action(due)).round(&round.key).recipients(erased.recipients as usize).detail(erased.describe()),
    )
    .await?;
    tx.commit().await?;
    if let Err(e) = store.purge_erased().await {
        tracing::warn!(round = %round.key, "the deleted rows are still in the database's files until the next pass: {e:#}");
    }
    Ok(erased)
}

fn action(due: Due) -> &'static str {
    match (due.personal, due.free_text) {
        (true, true) => "gallrade personuppgifter och fritextsvar",
        (true, false) => "gallrade personuppgifter",
        _ => "gallrade fritextsvar",
    }
}

fn free_text_questions(round: &Round) -> anyhow::Result<Vec<String>> {
    let survey = crate::analysis::survey_of(round)?;
    Ok(survey.questions().filter(|q| matches!(q.kind, Kind::Text { .. })).map(|q| q.id.clone()).collect())
}

/// Applies every round's due rule: the server's daily pass. A round that fails is logged
/// and left for the next pass; the others go on.
pub async fn gallra_due(store: &Store) -> anyhow::Result<Vec<(String, Erased)>> {
    let actor = Actor::named("gallring (automatisk)");
    let mut done = Vec::new();
    for (round_id, state) in store.gallring_of_all().await? {
        let round = store.round_by_id(round_id).await?;
        if !state.due(round.closes_on, today()).any() {
            continue;
        }
        match gallra(store, &actor, &round, When::Due, false).await {
            Ok(erased) => done.push((round.key, erased)),
            Err(e) => tracing::warn!(round = %round.key, "gallring failed and is tried again at the next pass: {e}"),
        }
    }
    Ok(done)
}

/// Deletes the descriptions of incident reports older than the rule's months, audit-logged
/// with their number; how many. Then leaves nothing of them in the database's files.
pub async fn gallra_incident_texts(store: &Store, months: u32) -> anyhow::Result<u64> {
    let kept_from = crate::gallring::incident_texts_kept_from(today(), months);
    let mut tx = store.begin().await?;
    let erased = tx.erase_incident_texts(kept_from, crate::store::now_ms()).await?;
    if erased > 0 {
        let entry = Actor::named("gallring (automatisk)").entry("gallrade beskrivningar i incidentrapporter");
        tx.audit(&entry.detail(format!("{erased} beskrivningar av iakttagelser före {}", kept_from.swedish()))).await?;
    }
    tx.commit().await?;
    if erased > 0 {
        store.purge_erased().await?;
    }
    Ok(erased)
}

/// Refuses to open the round again once anything of it is deleted: answers given after
/// would escape a rule already carried out.
pub(super) async fn refuse_reopening_if_erased(store: &Store, round: &Round) -> Outcome<()> {
    let state = store.gallring(round.id).await?;
    match state.personal_erased_at.or(state.free_text_erased_at) {
        Some(at) => {
            Err(Error::Erased { key: round.key.clone(), on: crate::round::swedish_date_of(at).unwrap_or_default() })
        }
        None => Ok(()),
    }
}

/// Refuses what needs the recipients' addresses or links once they are deleted.
pub(super) async fn refuse_if_erased(store: &Store, round: &Round) -> Outcome<State> {
    let state = store.gallring(round.id).await?;
    match state.personal_erased_at {
        Some(at) => {
            Err(Error::Erased { key: round.key.clone(), on: crate::round::swedish_date_of(at).unwrap_or_default() })
        }
        None => Ok(state),
    }
}
