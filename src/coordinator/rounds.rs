//! Creating a round, and moving its last day.

use super::{Actor, Error, Field, Outcome};
use crate::outbox::{RoundMail, format_schedule, parse_schedule};
use crate::round::{Phase, Round, RoundKey, swedish_date, today};
use crate::store::Store;
use crate::survey::Definition;
use crate::tally::{DEFAULT_THRESHOLD, MINIMUM_THRESHOLD};
use jiff::civil::Date;
use std::collections::BTreeMap;

/// A round as the coordinator asks for it.
#[derive(Debug, Clone, Default)]
pub struct NewRound {
    pub survey_id: String,
    pub year: i16,
    pub opens: Option<Date>,
    pub closes: Option<Date>,
    /// Defaults to `SURVEY-YEAR`.
    pub key: Option<String>,
    /// Defaults to the survey's title and the year.
    pub title: Option<String>,
    /// Smallest published cross-section; defaults to 5, never below 3.
    pub disclosure_threshold: Option<u64>,
    /// The round's own email texts and automatic reminders (`7,-3`), if any.
    pub mail: RoundMail,
}

/// The fields of the new-round form in the order the page lists their problems.
const FIELD_ORDER: [Field; 11] = [
    "year",
    "opens",
    "closes",
    "threshold",
    "reminders",
    "key",
    "survey",
    "invitation_subject",
    "invitation_text",
    "reminder_subject",
    "reminder_text",
];

/// Every rule a new round must meet, each problem at its field, in the form's order; `None`
/// when there is none. `unread` are fields the shell could not read at all: their own rules
/// are not checked again.
pub fn round_problems(
    new: &NewRound,
    surveys: &BTreeMap<String, Definition>,
    mut unread: Vec<(Field, String)>,
) -> Vec<(Field, String)> {
    let checked = check(new, surveys).err().unwrap_or_default();
    let read: Vec<Field> = unread.iter().map(|(f, _)| *f).collect();
    unread.extend(checked.into_iter().filter(|(f, _)| !read.contains(f)));
    unread.sort_by_key(|(f, _)| FIELD_ORDER.iter().position(|o| o == f));
    unread
}

fn check(new: &NewRound, surveys: &BTreeMap<String, Definition>) -> Result<(Round, RoundMail), Vec<(Field, String)>> {
    let mut problems: Vec<(Field, String)> = Vec::new();
    let def = surveys.get(&new.survey_id);
    if def.is_none() {
        problems.push(("survey", format!("Det finns ingen enkät som heter ”{}”. Välj en i listan.", new.survey_id)));
    }
    if !(2000..=2100).contains(&new.year) {
        problems.push(("year", format!("Året ”{}” är inget årtal: skriv till exempel 2027.", new.year)));
    }
    match (new.opens, new.closes) {
        (Some(o), Some(c)) if c < o => problems
            .push(("closes", "Sista svarsdagen kommer före den första. Byt plats på datumen eller rätta dem.".into())),
        (_, Some(c)) if c < today() => problems.push((
            "closes",
            "Sista svarsdagen har redan varit: ingen skulle kunna svara. Välj i dag eller ett senare datum.".into(),
        )),
        _ => {}
    }
    let threshold = new.disclosure_threshold.unwrap_or(DEFAULT_THRESHOLD);
    if threshold < MINIMUM_THRESHOLD {
        problems.push((
            "threshold",
            format!(
                "Minsta redovisade grupp måste vara ett heltal, minst {MINIMUM_THRESHOLD}, så att ingen kan pekas ut."
            ),
        ));
    }
    let schedule = match parse_schedule(&new.mail.reminder_schedule) {
        Ok(steps) => format_schedule(&steps),
        Err(e) => {
            problems.push(("reminders", format!("Påminnelseschemat går inte att läsa: {e}.")));
            String::new()
        }
    };
    if let Some((field, problem)) = new.mail.texts_problem() {
        problems.push((field, problem));
    }
    let key = new.key.clone().unwrap_or_else(|| format!("{}-{}", new.survey_id, new.year));
    let key = match RoundKey::parse(&key) {
        Ok(k) => Some(k),
        Err(message) => {
            problems.push(("key", message));
            None
        }
    };
    match (def, key, new.opens, new.closes, problems.is_empty()) {
        (Some(def), Some(key), Some(opens), Some(closes), true) => {
            let round = Round {
                id: 0,
                key: key.to_string(),
                survey_id: new.survey_id.clone(),
                title: new.title.clone().unwrap_or_else(|| format!("{} {}", def.survey.title, new.year)),
                year: new.year.into(),
                opens_on: opens,
                closes_on: closes,
                definition: def.source.clone(),
                disclosure_threshold: threshold,
            };
            Ok((round, RoundMail { reminder_schedule: schedule, ..new.mail.clone() }))
        }
        _ => Err(problems),
    }
}

/// Creates a round of a survey in the catalogue, with its email texts, in one transaction
/// with its audit entry. The round keeps a copy of its definition.
pub async fn create_round(
    store: &Store,
    surveys: &BTreeMap<String, Definition>,
    actor: &Actor,
    new: NewRound,
) -> Outcome<Round> {
    let (round, mail) = check(&new, surveys).map_err(Error::Invalid)?;
    let mut tx = store.begin().await?;
    let Some(round) = tx.create_round(&round).await? else {
        let key = round.key;
        return Err(Error::invalid(
            "key",
            format!("Det finns redan en omgång med kortnamnet {key}. Skriv ett annat kortnamn, till exempel {key}-b."),
        ));
    };
    if mail != RoundMail::default() {
        tx.set_round_mail(round.id, &mail).await?;
    }
    tx.audit(&actor.entry("skapade omgången").round(&round.key).detail(format!(
        "{} – {}, minsta redovisade grupp {}",
        round.opens_on, round.closes_on, round.disclosure_threshold
    )))
    .await?;
    tx.commit().await?;
    Ok(round)
}

/// A change of a round's answering time: the last day moves, the first stays.
#[derive(Debug, Clone, Copy)]
pub enum DateChange {
    /// Yesterday becomes the last day.
    CloseNow,
    /// A new last day: extends, shortens or reopens the round.
    LastDay(Date),
}

/// Closes the round now or moves its last day; returns the new last day.
pub async fn change_dates(store: &Store, actor: &Actor, round: &Round, change: DateChange) -> Outcome<Date> {
    super::gallring::refuse_reopening_if_erased(store, round).await?;
    let today = today();
    let (closes, what) = match change {
        DateChange::CloseNow => {
            if round.phase(today) != Phase::Open {
                return Err(Error::invalid("closes", "Omgången är inte öppen, så det finns inget att stänga."));
            }
            (today.yesterday().unwrap_or(today), "stängde omgången")
        }
        DateChange::LastDay(d) if d < today => {
            return Err(Error::invalid(
                "closes",
                format!(
                    "Den nya sista svarsdagen ({}) har redan varit. Välj i dag eller ett senare datum.",
                    swedish_date(d)
                ),
            ));
        }
        DateChange::LastDay(d) if d < round.opens_on => {
            return Err(Error::invalid("closes", "Den nya sista svarsdagen kommer före den första svarsdagen."));
        }
        DateChange::LastDay(d) if round.phase(today) == Phase::Closed => (d, "öppnade omgången igen"),
        DateChange::LastDay(d) => (d, "ändrade sista svarsdagen"),
    };
    let mut tx = store.begin().await?;
    tx.set_closes_on(round.id, closes).await?;
    tx.audit(
        &actor.entry(what).round(&round.key).detail(format!("sista svarsdag {} (var {})", closes, round.closes_on)),
    )
    .await?;
    tx.commit().await?;
    Ok(closes)
}
