//! Submitted responses as the analysis reads them, and earlier years' figures.

use super::{Store, Tx};
use crate::analysis::Response;
use crate::survey::RosterAttributes;
use crate::tally::Figure;
use anyhow::Context;
use futures_util::Stream;
use sqlx::AssertSqlSafe;

/// Responses as the database hands them over: three texts with a line per response (see
/// `Store::response_batches`). Groups and categories are codes and the answers compact
/// JSON, so none of them holds a line break.
pub struct ResponseBatch {
    groups: String,
    categories: String,
    answers: String,
}

impl ResponseBatch {
    pub fn responses(&self) -> impl Iterator<Item = anyhow::Result<Response>> + '_ {
        let lines = self.groups.split('\n').zip(self.categories.split('\n')).zip(self.answers.split('\n'));
        lines.map(|((group, category), answers)| {
            Ok(Response {
                roster: RosterAttributes { group: group.to_string(), category: category.to_string() },
                answers: serde_json::from_str(answers).context("a stored response's answers could not be read")?,
            })
        })
    }
}

#[derive(sqlx::FromRow)]
struct BatchRow {
    last: Option<String>,
    n: i64,
    // NULL when the batch is empty.
    groups: Option<String>,
    categories: Option<String>,
    answers: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FigureRow {
    year: i64,
    question: String,
    row_code: String,
    column_code: String,
    grp: String,
    code: String,
    count: f64,
    share: Option<f64>,
    base: i64,
}

impl From<FigureRow> for Figure {
    fn from(r: FigureRow) -> Figure {
        Figure {
            question: r.question,
            row: r.row_code,
            column: r.column_code,
            group: r.grp,
            code: r.code,
            count: r.count,
            share: r.share,
            base: r.base as u64,
            year: r.year,
        }
    }
}

impl Tx {
    /// Stores earlier years' figures, replacing what was imported before for those years.
    pub async fn import_history(&mut self, survey_id: &str, figures: &[Figure]) -> anyhow::Result<usize> {
        let mut years: Vec<i64> = figures.iter().map(|f| f.year).collect();
        years.sort();
        years.dedup();
        for year in &years {
            sqlx::query("DELETE FROM history_figures WHERE survey_id = $1 AND year = $2")
                .bind(survey_id)
                .bind(year)
                .execute(&mut *self.tx)
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
            .execute(&mut *self.tx)
            .await
            .with_context(|| format!("{} {} {} {} {}: stored twice in the file?", f.year, f.question, f.row, f.group, f.code))?;
        }
        Ok(figures.len())
    }
}

impl Store {
    /// A round's submitted responses in batches, in the order of their random ids. The
    /// database joins each column of a batch into one text, a line per response, which costs
    /// far less than handing over rows one by one.
    pub fn response_batches(&self, round_id: i64) -> impl Stream<Item = anyhow::Result<ResponseBatch>> + '_ {
        const BATCH: i64 = 5000;
        let join = |column: &str| self.engine.join_lines(column, "id");
        let sql = format!(
            "SELECT MAX(id) AS last, COUNT(*) AS n, {} AS groups, {} AS categories, {} AS answers
             FROM (SELECT id, grp, category, answers FROM responses WHERE round_id = $1 AND id > $2 ORDER BY id LIMIT $3) AS batch",
            join("grp"),
            join("category"),
            join("answers")
        );
        futures_util::stream::try_unfold(Some(String::new()), move |after| {
            let sql = sql.clone();
            async move {
                let Some(after) = after else { return Ok(None) };
                let row: BatchRow = sqlx::query_as(AssertSqlSafe(sql))
                    .bind(round_id)
                    .bind(&after)
                    .bind(BATCH)
                    .fetch_one(&self.read)
                    .await?;
                if row.n == 0 {
                    return Ok(None);
                }
                let next = if row.n == BATCH { Some(row.last.context("a full batch has a last id")?) } else { None };
                let batch = ResponseBatch {
                    groups: row.groups.unwrap_or_default(),
                    categories: row.categories.unwrap_or_default(),
                    answers: row.answers.unwrap_or_default(),
                };
                Ok(Some((batch, next)))
            }
        })
    }

    /// Earlier years' figures of a survey, oldest first.
    pub async fn history(&self, survey_id: &str) -> anyhow::Result<Vec<Figure>> {
        let rows: Vec<FigureRow> = sqlx::query_as(
            "SELECT year, question, row_code, column_code, grp, code, count, share, base FROM history_figures
             WHERE survey_id = $1 ORDER BY year",
        )
        .bind(survey_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Figure::from).collect())
    }
}
