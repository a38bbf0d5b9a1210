//! The analyst's side, around the pure tallies: reading a round's responses from the
//! database as a stream, year-over-year series, and the exports.

mod history;

pub use history::parse_tallies_csv;

use crate::export::{Dialect, ResponseColumns, neutralise, write_tallies};
use crate::round::Round;
use crate::store::{Store, StoredResponse};
use crate::survey::{RosterAttributes, Survey};
use crate::tally::{Counter, Figure, Tallies};
use anyhow::Context;
use futures_util::{Stream, StreamExt, TryStreamExt};
use sqlx::{AssertSqlSafe, Row};
use std::collections::BTreeMap;
use std::io::Write;

impl Store {
    /// A round's submitted responses, one at a time, in the order of their random ids.
    pub fn response_stream(&self, round_id: i64) -> impl Stream<Item = anyhow::Result<StoredResponse>> + '_ {
        sqlx::query("SELECT id, grp, category, submitted_on, answers FROM responses WHERE round_id = $1 ORDER BY id")
            .bind(round_id)
            .fetch(&self.read)
            .map(|row| {
                let row = row?;
                Ok(StoredResponse {
                    id: row.try_get("id")?,
                    group: row.try_get("grp")?,
                    category: row.try_get("category")?,
                    submitted_on: row.try_get("submitted_on")?,
                    answers: serde_json::from_str(row.try_get::<&str, _>("answers")?)?,
                })
            })
    }

    /// Recipients per (group, category): the base of the response rate.
    pub async fn invited(&self, round_id: i64) -> anyhow::Result<BTreeMap<(String, String), u64>> {
        let rows = sqlx::query(
            "SELECT grp, category, COUNT(*) AS n FROM recipients WHERE round_id = $1 GROUP BY grp, category",
        )
        .bind(round_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok(((r.try_get("grp")?, r.try_get("category")?), r.try_get::<i64, _>("n")? as u64)))
            .collect()
    }

    /// Every round of a survey, oldest first.
    pub async fn rounds_of(&self, survey_id: &str) -> anyhow::Result<Vec<Round>> {
        let mut rounds: Vec<Round> =
            self.rounds().await?.into_iter().map(|s| s.round).filter(|r| r.survey_id == survey_id).collect();
        rounds.sort_by_key(|r| (r.year, r.id));
        Ok(rounds)
    }

    /// Stores earlier years' figures, replacing what was imported before for those years.
    pub async fn import_history(&self, survey_id: &str, figures: &[Figure]) -> anyhow::Result<usize> {
        let mut years: Vec<i64> = figures.iter().map(|f| f.year).collect();
        years.sort();
        years.dedup();
        let mut tx = self.write.begin().await?;
        for year in &years {
            sqlx::query("DELETE FROM history_figures WHERE survey_id = $1 AND year = $2")
                .bind(survey_id)
                .bind(year)
                .execute(&mut *tx)
                .await?;
        }
        for f in figures {
            sqlx::query(
                "INSERT INTO history_figures (survey_id, year, question, row_code, column_code, grp, code, count, share, base)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(survey_id)
            .bind(f.year)
            .bind(&f.question)
            .bind(&f.row)
            .bind(&f.column)
            .bind(&f.group)
            .bind(&f.code)
            .bind(f.count)
            .bind(f.share)
            .bind(f.base as i64)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("{} {} {} {} {}: stored twice in the file?", f.year, f.question, f.row, f.group, f.code))?;
        }
        tx.commit().await?;
        Ok(figures.len())
    }

    pub async fn history(&self, survey_id: &str) -> anyhow::Result<Vec<Figure>> {
        let rows = sqlx::query(AssertSqlSafe(
            "SELECT year, question, row_code, column_code, grp, code, count, share, base FROM history_figures
             WHERE survey_id = $1 ORDER BY year"
                .to_string(),
        ))
        .bind(survey_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Figure {
                    question: r.try_get("question")?,
                    row: r.try_get("row_code")?,
                    column: r.try_get("column_code")?,
                    group: r.try_get("grp")?,
                    code: r.try_get("code")?,
                    count: r.try_get("count")?,
                    share: r.try_get("share")?,
                    base: r.try_get::<i64, _>("base")? as u64,
                    year: r.try_get("year")?,
                })
            })
            .collect()
    }
}

/// The round's definition, as it was sent.
pub fn survey_of(round: &Round) -> anyhow::Result<Survey> {
    crate::survey::parse(&round.definition)
        .map_err(|p| anyhow::anyhow!("the round's stored definition is broken: {p:?}"))
}

/// Counts every response of the round in one pass and publishes the tallies.
pub async fn tallies(store: &Store, round: &Round, survey: &Survey) -> anyhow::Result<Tallies> {
    let mut counter = Counter::new(survey);
    let mut responses = std::pin::pin!(store.response_stream(round.id));
    while let Some(r) = responses.try_next().await? {
        counter.add(&RosterAttributes { group: r.group, category: r.category }, &r.answers);
    }
    Ok(counter.publish(round.year, round.disclosure_threshold, &store.invited(round.id).await?))
}

/// Writes every response as a row, streamed: memory stays flat however many there are.
pub async fn export_responses(
    store: &Store,
    round: &Round,
    dialect: Dialect,
    labels: bool,
    out: impl Write,
    progress: &dyn Fn(u64),
) -> anyhow::Result<u64> {
    let survey = survey_of(round)?;
    let columns = ResponseColumns::new(&survey);
    let mut w = dialect.writer(out)?;
    w.write_record(columns.header())?;
    if labels {
        w.write_record(columns.labels().iter().map(|l| neutralise(l).into_owned()))?;
    }
    let mut responses = std::pin::pin!(store.response_stream(round.id));
    let mut written = 0;
    while let Some(r) = responses.try_next().await? {
        w.write_record(columns.row(&r))?;
        written += 1;
        if written % 10_000 == 0 {
            progress(written);
        }
    }
    w.flush()?;
    Ok(written)
}

pub async fn export_tallies(store: &Store, round: &Round, dialect: Dialect, out: impl Write) -> anyhow::Result<usize> {
    let survey = survey_of(round)?;
    let figures = tallies(store, round, &survey).await?.figures(&survey);
    write_tallies(out, dialect, &figures)?;
    Ok(figures.len())
}

/// The round's charts, with the survey's earlier years for the trend.
pub async fn charts(store: &Store, round: &Round) -> anyhow::Result<Vec<crate::chart::Chart>> {
    let survey = survey_of(round)?;
    let tallies = tallies(store, round, &survey).await?;
    let trend = trend_until(store, &round.survey_id, round.year).await?;
    Ok(crate::chart::charts(&survey, &tallies, &trend))
}

/// The report's text, and the charts it shows (as PNG).
pub async fn report(
    store: &Store,
    round: &Round,
    templates: &std::path::Path,
    format: crate::report::Format,
) -> anyhow::Result<(String, Vec<(crate::chart::Chart, Vec<u8>)>)> {
    let survey = survey_of(round)?;
    let tallies = tallies(store, round, &survey).await?;
    let trend = trend_until(store, &round.survey_id, round.year).await?;
    let charts: Vec<(crate::chart::Chart, Vec<u8>)> = if tallies.too_few {
        Vec::new()
    } else {
        crate::chart::charts(&survey, &tallies, &trend)
            .into_iter()
            .map(|c| {
                let png = crate::chart::png(&c)?;
                Ok((c, png))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let context = crate::report::context(&survey, &round.title, &tallies, &trend, &charts);
    let text = crate::report::render(&crate::report::registry(templates, format)?, &context)?;
    Ok((text, charts))
}

/// The trend of a survey up to and including a year.
pub async fn trend_until(store: &Store, survey_id: &str, year: i64) -> anyhow::Result<Vec<TrendFigure>> {
    Ok(trend(store, survey_id).await?.into_iter().filter(|t| t.figure.year <= year).collect())
}

/// A figure of one year with its change since the previous year that has the same figure.
#[derive(Debug, Clone)]
pub struct TrendFigure {
    pub figure: Figure,
    pub previous_year: Option<i64>,
    pub change_count: Option<f64>,
    pub change_share: Option<f64>,
}

/// Every year of a survey side by side: the imported history and each round's tallies,
/// matched by identifiers (question, row, column, group, code), oldest year first.
pub async fn trend(store: &Store, survey_id: &str) -> anyhow::Result<Vec<TrendFigure>> {
    let mut by_year: BTreeMap<i64, Vec<Figure>> = BTreeMap::new();
    for f in store.history(survey_id).await? {
        by_year.entry(f.year).or_default().push(f);
    }
    for round in store.rounds_of(survey_id).await? {
        let survey = survey_of(&round)?;
        // A round's own figures replace imported ones for its year.
        by_year.insert(round.year, tallies(store, &round, &survey).await?.figures(&survey));
    }
    Ok(with_changes(by_year))
}

type FigureKey = (String, String, String, String, String);

fn key(f: &Figure) -> FigureKey {
    (f.question.clone(), f.row.clone(), f.column.clone(), f.group.clone(), f.code.clone())
}

/// Pairs each figure with the same figure of the latest earlier year.
pub fn with_changes(by_year: BTreeMap<i64, Vec<Figure>>) -> Vec<TrendFigure> {
    let mut last: BTreeMap<FigureKey, Figure> = BTreeMap::new();
    let mut out = Vec::new();
    for (_, figures) in by_year {
        for f in figures {
            let k = key(&f);
            let previous = last.get(&k);
            out.push(TrendFigure {
                previous_year: previous.map(|p| p.year),
                change_count: previous.map(|p| f.count - p.count),
                change_share: previous.and_then(|p| Some(f.share? - p.share?)),
                figure: f.clone(),
            });
            last.insert(k, f);
        }
    }
    out
}

pub async fn export_trend(store: &Store, survey_id: &str, dialect: Dialect, out: impl Write) -> anyhow::Result<usize> {
    let figures = trend(store, survey_id).await?;
    let mut w = dialect.writer(out)?;
    let mut header: Vec<&str> = crate::export::TALLIES_HEADER.to_vec();
    header.extend(["previous_year", "change_count", "change_share"]);
    w.write_record(&header)?;
    let num = |v: Option<f64>| v.map(|v| dialect.number(v)).unwrap_or_default();
    for t in &figures {
        let f = &t.figure;
        w.write_record([
            neutralise(&f.question).as_ref(),
            neutralise(&f.row).as_ref(),
            neutralise(&f.column).as_ref(),
            neutralise(&f.group).as_ref(),
            neutralise(&f.code).as_ref(),
            &dialect.number(f.count),
            &num(f.share),
            &f.base.to_string(),
            &f.year.to_string(),
            &t.previous_year.map(|y| y.to_string()).unwrap_or_default(),
            &num(t.change_count),
            &num(t.change_share),
        ])?;
    }
    w.flush()?;
    Ok(figures.len())
}
