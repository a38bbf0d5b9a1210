//! The analyst's side, around the pure tallies: reading a round's responses from the
//! database as a stream, year-over-year series, and the exports.

mod history;

pub use history::parse_tallies_csv;

use crate::export::{Dialect, ResponseColumns, neutralise, write_tallies};
use crate::round::Round;
use crate::store::{ResponseBatch, Store};
use crate::survey::{Answers, RosterAttributes, Survey};
use crate::tally::audit::{self, Audit};
use crate::tally::{Counter, Figure, Tallies, disclosure};
use futures_util::TryStreamExt;
use std::collections::BTreeMap;
use std::io::Write;

/// A submitted response as the analysis reads it: roster attributes and answers.
#[derive(Debug, Clone)]
pub struct Response {
    pub roster: RosterAttributes,
    pub answers: Answers,
}

/// Runs `work` on every batch of a round's responses on the blocking thread pool, several
/// batches at a time (parsing and counting use every core), and hands the results to
/// `sink` in the order of the batches.
async fn each_batch<T: Send + 'static>(
    store: &Store,
    round_id: i64,
    work: impl Fn(ResponseBatch) -> anyhow::Result<T> + Send + Sync + 'static,
    mut sink: impl FnMut(T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let work = std::sync::Arc::new(work);
    let in_flight = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let mut pending = std::collections::VecDeque::new();
    let mut batches = std::pin::pin!(store.response_batches(round_id));
    while let Some(batch) = batches.try_next().await? {
        let work = work.clone();
        pending.push_back(tokio::task::spawn_blocking(move || work(batch)));
        if pending.len() >= in_flight {
            sink(pending.pop_front().expect("not empty").await??)?;
        }
    }
    while let Some(done) = pending.pop_front() {
        sink(done.await??)?;
    }
    Ok(())
}

/// The round's definition, as it was sent.
pub fn survey_of(round: &Round) -> anyhow::Result<Survey> {
    crate::survey::parse(&round.definition)
        .map_err(|p| anyhow::anyhow!("the round's stored definition is broken: {p:?}"))
}

/// Counts every response of the round in one pass and publishes the tallies.
pub async fn tallies(store: &Store, round: &Round, survey: &Survey) -> anyhow::Result<Tallies> {
    let shared = std::sync::Arc::new(survey.clone());
    let mut counter = Counter::default();
    let count_batch = move |batch: ResponseBatch| {
        let mut part = Counter::default();
        for r in batch.responses() {
            let r = r?;
            part.add(&shared, &r.roster, &r.answers);
        }
        Ok(part)
    };
    each_batch(store, round.id, count_batch, |part| {
        counter.merge(part);
        Ok(())
    })
    .await?;
    Ok(counter.publish(round.year, round.disclosure_threshold, &store.invited(round.id).await?))
}

/// The incident reports of the round's twelve months (see `incident::window`), counted by
/// the kinds and milieus of the questionnaire's `uttryck` grid under the round's threshold;
/// how many reports of those months were marked and left out; and how many have a milieu
/// the grid lacks (in no count). None for a survey without that grid.
pub async fn incidents(
    store: &Store,
    round: &Round,
    survey: &Survey,
) -> anyhow::Result<Option<(crate::incident::Counts, u64, u64)>> {
    let Some(crate::survey::Kind::Grid { rows, columns }) = survey.question("uttryck").map(|q| &q.kind) else {
        return Ok(None);
    };
    let (from, to) = crate::incident::window(round.opens_on);
    let (counted, excluded) = store.counted_incidents(from, to).await?;
    let codes = |c: &[crate::survey::Choice]| c.iter().map(|c| c.code.clone()).collect::<Vec<_>>();
    let threshold = round.disclosure_threshold.max(crate::tally::MINIMUM_THRESHOLD);
    let (counts, left_out) = crate::incident::count(&counted, &codes(rows), &codes(columns), threshold, round.year);
    Ok(Some((counts, excluded, left_out)))
}

/// Every figure the round publishes: its tallies' and its incident reports' counts.
pub async fn figures(store: &Store, round: &Round, survey: &Survey, tallies: &Tallies) -> anyhow::Result<Vec<Figure>> {
    let incidents = incidents(store, round, survey).await?;
    Ok(published(survey, tallies, incidents.as_ref().map(|i| &i.0)))
}

fn published(survey: &Survey, tallies: &Tallies, incidents: Option<&crate::incident::Counts>) -> Vec<Figure> {
    let mut figures = tallies.figures(survey);
    figures.extend(incidents.iter().flat_map(|c| c.figures()));
    figures
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
    // Groups and categories are folded as the tallies fold them.
    let plan = std::sync::Arc::new(fold_pattern(store, round, store.responses_per_leaf(round.id).await?).await?);
    let mut w = dialect.writer(out)?;
    w.write_record(columns.header())?;
    if labels {
        w.write_record(columns.labels().iter().map(|l| neutralise(l).into_owned()))?;
    }
    w.flush()?;
    let mut out = w.into_inner().map_err(|e| anyhow::anyhow!("writing the export: {}", e.error()))?;
    // Batches become CSV text in parallel and are written in order.
    let shared = std::sync::Arc::new(survey.clone());
    let format_batch = move |batch: ResponseBatch| {
        let columns = ResponseColumns::new(&shared);
        let mut rows = dialect.rows_writer(Vec::new());
        let mut n = 0u64;
        for r in batch.responses() {
            let r = r?;
            let (group, category) = plan.recode(&r.roster.group, &r.roster.category);
            rows.write_record(columns.row_as(&r, &RosterAttributes { group, category }))?;
            n += 1;
        }
        Ok((rows.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))?, n))
    };
    let mut written = 0;
    each_batch(store, round.id, format_batch, |(bytes, n)| {
        out.write_all(&bytes)?;
        written += n;
        progress(written);
        Ok(())
    })
    .await?;
    out.flush()?;
    Ok(written)
}

/// The round's one fold pattern, as the tallies compute it, for outputs that are not drawn
/// from the tallies (the responses export, the audit).
async fn fold_pattern(
    store: &Store,
    round: &Round,
    respondents: BTreeMap<(String, String), u64>,
) -> anyhow::Result<disclosure::Plan> {
    Ok(disclosure::round_plan(respondents, &store.invited(round.id).await?, round.disclosure_threshold))
}

/// Audits what the round publishes: its figures (which the charts, the report and the trend
/// are drawn from) and the groups and categories of its responses export.
pub async fn disclosure_audit(store: &Store, round: &Round) -> anyhow::Result<Audit> {
    let survey = survey_of(round)?;
    let tallies = tallies(store, round, &survey).await?;
    let stored = store.responses_per_leaf(round.id).await?;
    let plan = fold_pattern(store, round, stored.clone()).await?;
    let mut classes: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ((group, category), n) in stored {
        *classes.entry(plan.recode(&group, &category)).or_default() += n;
    }
    Ok(audit::audit(&survey, &tallies, &tallies.figures(&survey), &classes))
}

pub async fn export_tallies(store: &Store, round: &Round, dialect: Dialect, out: impl Write) -> anyhow::Result<usize> {
    let survey = survey_of(round)?;
    let tallies = tallies(store, round, &survey).await?;
    let figures = figures(store, round, &survey, &tallies).await?;
    write_tallies(out, dialect, &figures)?;
    Ok(figures.len())
}

/// The round's charts, with the survey's earlier years for the trend.
pub async fn charts(store: &Store, round: &Round) -> anyhow::Result<Vec<crate::chart::Chart>> {
    let survey = survey_of(round)?;
    let tallies = tallies(store, round, &survey).await?;
    let trend = trend_until(store, round, figures(store, round, &survey, &tallies).await?).await?;
    Ok(crate::chart::charts(&survey, &tallies, &trend))
}

/// The report in `format`, and the charts it shows (as PNG): the round's figures, the
/// incident reports of its twelve months and the sources entered for its year.
pub async fn report(
    store: &Store,
    round: &Round,
    templates: &crate::shipped::Files,
    format: crate::report::Format,
) -> anyhow::Result<(Vec<u8>, Vec<(crate::chart::Chart, Vec<u8>)>)> {
    let survey = survey_of(round)?;
    let tallies = tallies(store, round, &survey).await?;
    let incidents = incidents(store, round, &survey).await?;
    let own = published(&survey, &tallies, incidents.as_ref().map(|i| &i.0));
    let trend = trend_until(store, round, own.clone()).await?;
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
    let mut context = crate::report::context(&survey, &round.title, &tallies, &trend, &charts);
    let (from, to) = crate::incident::window(round.opens_on);
    let counted = incidents.as_ref().map(|(counts, excluded, left_out)| crate::report::Incidents {
        counts,
        excluded: *excluded,
        left_out: *left_out,
        from,
        to,
    });
    let sources: Vec<_> = store.sources(round.year).await?.into_iter().map(|(_, e)| e).collect();
    let previous: Vec<_> = store.sources(round.year - 1).await?.into_iter().map(|(_, e)| e).collect();
    crate::report::add_lagesbild(&mut context, &survey, &tallies, &own, &trend, counted, &sources, &previous);
    let bytes = crate::report::render(&crate::report::registry(templates)?, &context, &charts, format)?;
    Ok((bytes, charts))
}

/// The trend as seen from a round: earlier years, and this round's own figures for its year
/// (even when another round of the survey has the same year, a trial round for instance).
/// `own` are the round's figures, as its caller has already counted them.
pub async fn trend_until(store: &Store, round: &Round, own: Vec<Figure>) -> anyhow::Result<Vec<TrendFigure>> {
    let mut by_year = years(store, &round.survey_id, Some(round.year)).await?;
    by_year.insert(round.year, own);
    Ok(with_changes(by_year))
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
    Ok(with_changes(years(store, survey_id, None).await?))
}

/// Each year's figures (before `before`, if given): the imported history, replaced by a
/// round's own figures for its year; of two rounds of one year, the one created last.
async fn years(store: &Store, survey_id: &str, before: Option<i64>) -> anyhow::Result<BTreeMap<i64, Vec<Figure>>> {
    let mut by_year: BTreeMap<i64, Vec<Figure>> = BTreeMap::new();
    for f in store.history(survey_id).await? {
        by_year.entry(f.year).or_default().push(f);
    }
    let mut latest: BTreeMap<i64, Round> = BTreeMap::new();
    for round in store.rounds_of(survey_id).await? {
        latest.insert(round.year, round);
    }
    // Imported years obey the rules of the survey's latest round.
    let newest = latest.values().last();
    let threshold = newest.map_or(crate::tally::DEFAULT_THRESHOLD, |r| r.disclosure_threshold);
    let survey = newest.map(survey_of).transpose()?;
    for figures in by_year.values_mut() {
        *figures = disclosure::publishable_history(std::mem::take(figures), survey.as_ref(), threshold);
    }
    for (year, round) in latest {
        if before.is_some_and(|b| year >= b) {
            continue;
        }
        let survey = survey_of(&round)?;
        let tallies = tallies(store, &round, &survey).await?;
        by_year.insert(year, figures(store, &round, &survey, &tallies).await?);
    }
    if let Some(before) = before {
        by_year.retain(|&year, _| year < before);
    }
    Ok(by_year)
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
        // A withheld question is not a figure to compare.
        for f in figures.into_iter().filter(|f| f.code != crate::tally::code::WITHHELD) {
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
        let mut cells = crate::export::figure_cells(&t.figure, dialect);
        cells.extend([
            t.previous_year.map(|y| y.to_string()).unwrap_or_default(),
            num(t.change_count),
            num(t.change_share),
        ]);
        w.write_record(cells)?;
    }
    w.flush()?;
    Ok(figures.len())
}
