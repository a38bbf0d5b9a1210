//! Reporting links, incident reports (src/incident.rs) and the other sources of a year's
//! lägesbild (src/sources.rs).

use super::{Store, Tx};
use crate::incident::{Counted, Exclusion, Month, Report};
use crate::sources::{Entry, SourceKind};

/// A reporting link as the coordinator's list shows it: never its token.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ReportLink {
    pub id: i64,
    pub label: String,
    pub daily_cap: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A report as stored, with how it is marked.
#[derive(Debug, Clone)]
pub struct StoredReport {
    pub id: i64,
    pub link_label: String,
    pub report: Report,
    pub received: Month,
    pub excluded: Option<Exclusion>,
    pub excluded_reason: Option<String>,
    /// The description was deleted by the records rule.
    pub description_erased: bool,
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: i64,
    link_label: String,
    observed: String,
    place: String,
    area: Option<String>,
    kinds: String,
    milieu: String,
    police: Option<String>,
    ia: Option<String>,
    administration: Option<String>,
    description: String,
    received: String,
    excluded: Option<String>,
    excluded_reason: Option<String>,
    description_erased_at: Option<i64>,
}

fn month(text: &str) -> anyhow::Result<Month> {
    Month::parse(text).ok_or_else(|| anyhow::anyhow!("a stored month is not YYYY-MM: {text:?}"))
}

impl TryFrom<ReportRow> for StoredReport {
    type Error = anyhow::Error;
    fn try_from(r: ReportRow) -> anyhow::Result<StoredReport> {
        Ok(StoredReport {
            id: r.id,
            link_label: r.link_label,
            received: month(&r.received)?,
            excluded: r.excluded.as_deref().and_then(Exclusion::parse),
            excluded_reason: r.excluded_reason,
            description_erased: r.description_erased_at.is_some(),
            report: Report {
                observed: month(&r.observed)?,
                place: r.place,
                area: r.area,
                kinds: r.kinds.split_whitespace().map(str::to_string).collect(),
                milieu: r.milieu,
                police: r.police,
                ia: r.ia,
                administration: r.administration,
                description: r.description,
            },
        })
    }
}

const REPORT_COLUMNS: &str = "SELECT r.id, l.label AS link_label, r.observed, r.place, r.area, r.kinds, r.milieu, r.police, r.ia, r.administration, r.description, r.received, r.excluded, r.excluded_reason, r.description_erased_at FROM incident_reports r JOIN report_links l ON l.id = r.link_id";

/// Whether a link took a report, had reached its day's cap, or had been revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    Taken,
    CapReached,
    Revoked,
}

impl Store {
    pub async fn report_links(&self) -> anyhow::Result<Vec<ReportLink>> {
        Ok(sqlx::query_as(
            "SELECT id, label, daily_cap, created_at, revoked_at FROM report_links ORDER BY revoked_at IS NOT NULL, id",
        )
        .fetch_all(&self.read)
        .await?)
    }

    /// The link of a token's hash, revoked or not.
    pub async fn report_link(&self, token_hash: &str) -> anyhow::Result<Option<ReportLink>> {
        Ok(sqlx::query_as(
            "SELECT id, label, daily_cap, created_at, revoked_at FROM report_links WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Stores a report if the link is not revoked and has not reached its cap for `day`; the
    /// count and the report commit together, so a cap holds across server instances. Earlier
    /// days' counts are dropped: kept, they would tell which day each report came in.
    pub async fn file_incident(
        &self,
        link_id: i64,
        day: &str,
        cap: i64,
        report: &Report,
        received: Month,
    ) -> anyhow::Result<Filed> {
        self.forget_report_days(day).await?;
        let mut tx = self.begin().await?;
        let counted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO report_link_days (link_id, day, reports)
             SELECT $1, $2, 1 WHERE EXISTS (SELECT 1 FROM report_links WHERE id = $1 AND revoked_at IS NULL)
             ON CONFLICT (link_id, day) DO UPDATE SET reports = report_link_days.reports + 1
             WHERE report_link_days.reports < $3
             RETURNING reports",
        )
        .bind(link_id)
        .bind(day)
        .bind(cap)
        .fetch_optional(&mut *tx.tx)
        .await?;
        if counted.is_none_or(|n| n > cap) {
            tx.rollback().await?;
            let revoked: Option<i64> = sqlx::query_scalar("SELECT revoked_at FROM report_links WHERE id = $1")
                .bind(link_id)
                .fetch_one(&self.read)
                .await?;
            return Ok(if revoked.is_some() { Filed::Revoked } else { Filed::CapReached });
        }
        sqlx::query(
            "INSERT INTO incident_reports (link_id, observed, place, area, kinds, milieu, police, ia, administration, description, received)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(link_id)
        .bind(report.observed.to_string())
        .bind(&report.place)
        .bind(&report.area)
        .bind(report.kinds.join(" "))
        .bind(&report.milieu)
        .bind(&report.police)
        .bind(&report.ia)
        .bind(&report.administration)
        .bind(&report.description)
        .bind(received.to_string())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(Filed::Taken)
    }

    /// Drops the day counters of days before `today`: kept, they would tell which day each
    /// report came in. Run before each report and by the server's records pass.
    pub async fn forget_report_days(&self, today: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM report_link_days WHERE day < $1").bind(today).execute(&self.write).await?;
        Ok(())
    }

    /// The reports observed from `from` to `to`, newest observation first.
    pub async fn incident_reports(&self, from: Month, to: Month) -> anyhow::Result<Vec<StoredReport>> {
        let rows: Vec<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{REPORT_COLUMNS} WHERE r.observed >= $1 AND r.observed <= $2 ORDER BY r.observed DESC, r.id DESC"
        )))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(StoredReport::try_from).collect()
    }

    pub async fn incident_report(&self, id: i64) -> anyhow::Result<Option<StoredReport>> {
        let row: Option<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{REPORT_COLUMNS} WHERE r.id = $1")))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(StoredReport::try_from).transpose()
    }

    /// The counted (unmarked) reports observed from `from` to `to`, and how many were marked.
    pub async fn counted_incidents(&self, from: Month, to: Month) -> anyhow::Result<(Vec<Counted>, u64)> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT kinds, milieu, excluded FROM incident_reports WHERE observed >= $1 AND observed <= $2",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.read)
        .await?;
        let excluded = rows.iter().filter(|r| r.2.is_some()).count() as u64;
        let counted = rows
            .into_iter()
            .filter(|r| r.2.is_none())
            .map(|(kinds, milieu, _)| Counted { kinds: kinds.split_whitespace().map(str::to_string).collect(), milieu })
            .collect();
        Ok((counted, excluded))
    }

    pub async fn sources(&self, year: i64) -> anyhow::Result<Vec<(i64, Entry)>> {
        let rows: Vec<SourceRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SOURCE_COLUMNS} WHERE year = $1 ORDER BY id")))
                .bind(year)
                .fetch_all(&self.read)
                .await?;
        let counts: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT c.source_id, c.kind, c.milieu, c.count FROM source_counts c JOIN sources s ON s.id = c.source_id WHERE s.year = $1 ORDER BY c.source_id, c.kind, c.milieu",
        )
        .bind(year)
        .fetch_all(&self.read)
        .await?;
        let mut out: Vec<(i64, Entry)> =
            rows.into_iter().map(|r| Ok((r.id, r.entry()?))).collect::<anyhow::Result<_>>()?;
        for (id, kind, milieu, n) in counts {
            if let Some((_, e)) = out.iter_mut().find(|(i, _)| *i == id) {
                e.counts.push((kind, milieu, n));
            }
        }
        out.sort_by_key(|(id, e)| (e.kind, *id));
        Ok(out)
    }

    /// When and by whom the year's lägesbild was finalised.
    pub async fn finalised(&self, year: i64) -> anyhow::Result<Option<(i64, String)>> {
        Ok(sqlx::query_as("SELECT finalised_at, finalised_by FROM lagesbild_years WHERE year = $1")
            .bind(year)
            .fetch_optional(&self.read)
            .await?)
    }
}

const SOURCE_COLUMNS: &str = "SELECT id, year, kind, name, period_from, period_to, total, text, covers FROM sources";

#[derive(sqlx::FromRow)]
struct SourceRow {
    id: i64,
    year: i64,
    kind: String,
    name: String,
    period_from: String,
    period_to: String,
    total: Option<i64>,
    text: String,
    covers: String,
}

impl SourceRow {
    fn entry(self) -> anyhow::Result<Entry> {
        Ok(Entry {
            year: self.year,
            kind: SourceKind::parse(&self.kind)
                .ok_or_else(|| anyhow::anyhow!("unknown source kind {:?}", self.kind))?,
            name: self.name,
            from: month(&self.period_from)?,
            to: month(&self.period_to)?,
            total: self.total,
            counts: Vec::new(),
            text: self.text,
            covers: self.covers,
        })
    }
}

impl Tx {
    pub async fn create_report_link(
        &mut self,
        label: &str,
        token_hash: &str,
        daily_cap: i64,
        at: i64,
    ) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO report_links (label, token_hash, daily_cap, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(label)
        .bind(token_hash)
        .bind(daily_cap)
        .bind(at)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// The link's label, if it was active and is now revoked.
    pub async fn revoke_report_link(&mut self, id: i64, at: i64) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "UPDATE report_links SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING label",
        )
        .bind(at)
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Deletes the descriptions of the reports observed before `before` (the records rule);
    /// how many. What was seen, where and when stays, so the counts of earlier years do not change.
    pub async fn erase_incident_texts(&mut self, before: Month, at: i64) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "UPDATE incident_reports SET description = '', description_erased_at = $1
             WHERE observed < $2 AND description_erased_at IS NULL",
        )
        .bind(at)
        .bind(before.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes one report's description (it named someone, say); false if there is no such
    /// report or it has none left.
    pub async fn erase_incident_text(&mut self, id: i64, at: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE incident_reports SET description = '', description_erased_at = $1
             WHERE id = $2 AND description_erased_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a report (or unmarks it, with `None`); false if there is no such report.
    pub async fn mark_incident(
        &mut self,
        id: i64,
        mark: Option<Exclusion>,
        reason: Option<&str>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE incident_reports SET excluded = $1, excluded_reason = $2 WHERE id = $3")
            .bind(mark.map(|m| m.code().to_string()))
            .bind(reason.map(str::to_string))
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds (`id` None) or replaces a source entry with its counts; the entry's id.
    pub async fn save_source(&mut self, id: Option<i64>, e: &Entry, at: i64) -> anyhow::Result<Option<i64>> {
        let id: Option<i64> = match id {
            None => Some(
                sqlx::query_scalar(
                    "INSERT INTO sources (year, kind, name, period_from, period_to, total, text, covers, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(e.year)
                .bind(e.kind.code())
                .bind(&e.name)
                .bind(e.from.to_string())
                .bind(e.to.to_string())
                .bind(e.total)
                .bind(&e.text)
                .bind(&e.covers)
                .bind(at)
                .fetch_one(&mut *self.tx)
                .await?,
            ),
            Some(id) => {
                sqlx::query_scalar(
                    "UPDATE sources SET kind = $1, name = $2, period_from = $3, period_to = $4, total = $5, text = $6, covers = $7, updated_at = $8
                     WHERE id = $9 AND year = $10 RETURNING id",
                )
                .bind(e.kind.code())
                .bind(&e.name)
                .bind(e.from.to_string())
                .bind(e.to.to_string())
                .bind(e.total)
                .bind(&e.text)
                .bind(&e.covers)
                .bind(at)
                .bind(id)
                .bind(e.year)
                .fetch_optional(&mut *self.tx)
                .await?
            }
        };
        let Some(id) = id else { return Ok(None) };
        sqlx::query("DELETE FROM source_counts WHERE source_id = $1").bind(id).execute(&mut *self.tx).await?;
        for (kind, milieu, n) in &e.counts {
            sqlx::query("INSERT INTO source_counts (source_id, kind, milieu, count) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(kind)
                .bind(milieu)
                .bind(n)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(Some(id))
    }

    /// Removes a source entry of the year; its name, if there was one.
    pub async fn remove_source(&mut self, year: i64, id: i64) -> anyhow::Result<Option<String>> {
        sqlx::query("DELETE FROM source_counts WHERE source_id = $1").bind(id).execute(&mut *self.tx).await?;
        Ok(sqlx::query_scalar("DELETE FROM sources WHERE id = $1 AND year = $2 RETURNING name")
            .bind(id)
            .bind(year)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    /// Reads whether the year is finalised inside the transaction, holding the year's lock,
    /// so that an edit and the finalising cannot pass each other (SQLite has one writer; on
    /// PostgreSQL a transaction-scoped advisory lock per year).
    pub async fn year_finalised(&mut self, year: i64) -> anyhow::Result<bool> {
        self.lock_year(year).await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lagesbild_years WHERE year = $1")
            .bind(year)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(n > 0)
    }

    async fn lock_year(&mut self, year: i64) -> anyhow::Result<()> {
        if self.engine == super::Engine::Postgres {
            // A key of its own: "LB" and the year.
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(0x4c42_0000_i64 + year).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    pub async fn set_year_finalised(&mut self, year: i64, by: Option<&str>, at: i64) -> anyhow::Result<bool> {
        self.lock_year(year).await?;
        let done = match by {
            Some(by) => {
                sqlx::query("INSERT INTO lagesbild_years (year, finalised_at, finalised_by) VALUES ($1, $2, $3) ON CONFLICT (year) DO NOTHING")
                    .bind(year)
                    .bind(at)
                    .bind(by)
                    .execute(&mut *self.tx)
                    .await?
            }
            None => sqlx::query("DELETE FROM lagesbild_years WHERE year = $1").bind(year).execute(&mut *self.tx).await?,
        };
        Ok(done.rows_affected() == 1)
    }
}
