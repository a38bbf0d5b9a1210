//! What a coordinator does to a round, shared by the command line and the admin pages:
//! creating it, importing its roster, minting its links.

use crate::config::Settings;
use crate::roster::{self, RosterRow};
use crate::round::Round;
use crate::store::Store;
use crate::survey;
use anyhow::{Context, bail};
use jiff::civil::Date;

/// A round as the coordinator asks for it.
pub struct NewRound {
    pub survey_id: String,
    pub year: i16,
    pub opens: Date,
    pub closes: Date,
    /// Defaults to `SURVEY-YEAR`.
    pub key: Option<String>,
    /// Defaults to the survey's title and the year.
    pub title: Option<String>,
    /// Smallest published cross-section; defaults to 5, never below 3.
    pub disclosure_threshold: Option<u64>,
}

/// The links file for a mail merge: `email,name,organisation,link`, one row per recipient.
pub fn write_links(
    out: impl std::io::Write,
    links: &[crate::store::MintedLink],
    link: impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["email", "name", "organisation", "link"])?;
    for l in links {
        let cells = [
            crate::export::neutralise(&l.email).into_owned(),
            crate::export::neutralise(&l.name).into_owned(),
            crate::export::neutralise(&l.organisation).into_owned(),
            link(&l.token),
        ];
        w.write_record(cells)?;
    }
    w.flush()?;
    Ok(())
}

pub fn parse_roster(round: &Round, bytes: &[u8]) -> Result<Vec<RosterRow>, Vec<String>> {
    let survey = survey::parse(&round.definition)
        .map_err(|p| vec![format!("the round's survey definition is broken: {p:?}")])?;
    roster::parse(bytes, &survey).map_err(|p| p.iter().map(ToString::to_string).collect())
}

pub async fn find_round(store: &Store, key: &str) -> anyhow::Result<Round> {
    match store.round(key).await? {
        Some(r) => Ok(r),
        None => {
            let known: Vec<String> = store.rounds().await?.into_iter().map(|r| r.round.key).collect();
            bail!(
                "there is no round `{key}` (rounds: {})",
                if known.is_empty() { "none yet".into() } else { known.join(", ") }
            )
        }
    }
}

/// Creates a round of a survey in the surveys folder; the round keeps a copy of its definition.
pub async fn create_round(settings: &Settings, store: &Store, new: NewRound) -> anyhow::Result<Round> {
    let NewRound { survey_id, year, opens, closes, key, title, disclosure_threshold } = new;
    let survey_id = survey_id.as_str();
    let surveys = survey::load_dir(&settings.surveys_dir).map_err(|p| anyhow::anyhow!("{}", p.join("\n")))?;
    let Some(def) = surveys.get(survey_id) else {
        bail!(
            "there is no survey `{survey_id}` in {} (surveys: {})",
            settings.surveys_dir.display(),
            surveys.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    if closes < opens {
        bail!("the round would close ({closes}) before it opens ({opens})");
    }
    let threshold = disclosure_threshold.unwrap_or(crate::tally::DEFAULT_THRESHOLD);
    if threshold < crate::tally::MINIMUM_THRESHOLD {
        bail!(
            "the disclosure threshold must be at least {} respondents, not {threshold}",
            crate::tally::MINIMUM_THRESHOLD
        );
    }
    let key = key.unwrap_or_else(|| format!("{survey_id}-{year}"));
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        bail!("the round key `{key}` may only contain letters a-z, digits, - and _");
    }
    let round = Round {
        id: 0,
        key: key.clone(),
        survey_id: survey_id.to_string(),
        title: title.unwrap_or_else(|| format!("{} {year}", def.survey.title)),
        year: year.into(),
        opens_on: opens,
        closes_on: closes,
        definition: def.source.clone(),
        disclosure_threshold: threshold,
    };
    store.create_round(&round).await?.with_context(|| format!("a round named `{key}` exists already"))
}

mod queries;
pub use queries::{RecipientState, Removal, RosterUpload};
