//! The coordinator's view of a round's emails: what waits, what arrived, what failed.

use super::Store;
use crate::outbox::{MailProblem, MailStatus};

#[derive(sqlx::FromRow)]
struct MailStatusRow {
    grp: String,
    category: String,
    recipients: i64,
    invited: i64,
    delivered: i64,
    waiting: i64,
    failed: i64,
    opened: i64,
    submitted: i64,
    reminded: i64,
}

impl From<MailStatusRow> for MailStatus {
    fn from(r: MailStatusRow) -> MailStatus {
        MailStatus {
            group: r.grp,
            category: r.category,
            recipients: r.recipients,
            invited: r.invited,
            delivered: r.delivered,
            waiting: r.waiting,
            failed: r.failed,
            opened: r.opened,
            submitted: r.submitted,
            reminded: r.reminded,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProblemRow {
    email: String,
    kind: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: i64,
}

impl TryFrom<ProblemRow> for MailProblem {
    type Error = anyhow::Error;
    fn try_from(r: ProblemRow) -> anyhow::Result<MailProblem> {
        Ok(MailProblem {
            email: r.email,
            kind: r.kind.parse()?,
            state: r.state.parse()?,
            attempts: r.attempts,
            error: r.last_error.unwrap_or_default(),
            next_attempt_at: r.next_attempt_at,
        })
    }
}

impl Store {
    /// Emails not yet sent or given up (of one round, or of all), and the time the next one is due.
    pub async fn outbox_pending(&self, round_id: Option<i64>) -> anyhow::Result<(i64, Option<i64>)> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*) AS pending, MIN(CASE WHEN state = 'queued' THEN next_attempt_at END) AS next_due
             FROM outbox WHERE state IN ('queued', 'sending') AND ($1 = 0 OR round_id = $1)",
        )
        .bind(round_id.unwrap_or(0))
        .fetch_one(&self.read)
        .await?)
    }

    /// Per group and category: how many were invited, reached, answered and reminded.
    pub async fn mail_status(&self, round_id: i64) -> anyhow::Result<Vec<MailStatus>> {
        let rows: Vec<MailStatusRow> = sqlx::query_as(
            "SELECT r.grp, r.category, COUNT(*) AS recipients,
                SUM(CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.recipient_id = r.id AND o.kind = 'invitation')
                    THEN 1 ELSE 0 END) AS invited,
                SUM(CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.recipient_id = r.id AND o.kind = 'invitation'
                    AND o.state = 'sent') THEN 1 ELSE 0 END) AS delivered,
                SUM(CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.recipient_id = r.id
                    AND o.state IN ('queued', 'sending')) THEN 1 ELSE 0 END) AS waiting,
                SUM(CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.recipient_id = r.id
                    AND o.state IN ('failed', 'uncertain')) THEN 1 ELSE 0 END) AS failed,
                SUM(CASE WHEN r.opened_on IS NOT NULL THEN 1 ELSE 0 END) AS opened,
                SUM(CASE WHEN r.submitted_on IS NOT NULL THEN 1 ELSE 0 END) AS submitted,
                SUM(CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.recipient_id = r.id AND o.kind = 'reminder'
                    AND o.state = 'sent') THEN 1 ELSE 0 END) AS reminded
             FROM recipients r WHERE r.round_id = $1 GROUP BY r.grp, r.category ORDER BY r.grp, r.category",
        )
        .bind(round_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(MailStatus::from).collect())
    }

    /// Emails that failed, may not have arrived, or wait for another try after a failure.
    pub async fn mail_problems(&self, round_id: i64) -> anyhow::Result<Vec<MailProblem>> {
        let rows: Vec<ProblemRow> = sqlx::query_as(
            "SELECT r.email, o.kind, o.state, o.attempts, o.last_error, o.next_attempt_at
             FROM outbox o JOIN recipients r ON r.id = o.recipient_id
             WHERE o.round_id = $1 AND (o.state IN ('failed', 'uncertain') OR (o.state = 'queued' AND o.last_error IS NOT NULL))
             ORDER BY r.email, o.id",
        )
        .bind(round_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(MailProblem::try_from).collect()
    }
}
