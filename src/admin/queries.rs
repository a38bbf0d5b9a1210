//! The SQL behind the coordinator's pages: a round's dates, the roster with each recipient's
//! state, and roster files kept between preview and confirmation.

use crate::store::Store;
use jiff::civil::Date;
use sqlx::Row;
use std::collections::HashSet;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A recipient as the coordinator sees them: who, and how far their emails and answer got.
/// Never what they answered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecipientState {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub group: String,
    pub category: String,
    /// The invitation's outbox state (`queued`, `sending`, `sent`, `failed`, `uncertain`), if any.
    pub invitation: Option<String>,
    /// The relay's reply to the last failed attempt of any email to this recipient.
    pub error: Option<String>,
    pub reminders_sent: i64,
    pub reminder_waiting: bool,
    pub opened: bool,
    pub submitted: bool,
}

/// What became of a request to take a recipient off the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Not on this round's roster.
    NotFound,
    /// Has answered: stays, so that the response rate keeps counting them.
    Answered,
    /// An email to them is being handed to the relay right now.
    Sending,
}

#[derive(Debug, Clone)]
pub struct RosterUpload {
    pub id: i64,
    pub round_id: i64,
    pub file_name: String,
    pub content: String,
}

impl Store {
    /// Moves the round's last day; the first day stays.
    pub async fn set_closes_on(&self, round_id: i64, closes_on: Date) -> anyhow::Result<()> {
        sqlx::query("UPDATE rounds SET closes_on = $1 WHERE id = $2")
            .bind(closes_on.to_string())
            .bind(round_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn recipient_count(&self, round_id: i64) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recipients WHERE round_id = $1")
            .bind(round_id)
            .fetch_one(&self.read)
            .await?)
    }

    pub async fn submitted_count(&self, round_id: i64) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recipients WHERE round_id = $1 AND submitted_on IS NOT NULL")
            .bind(round_id)
            .fetch_one(&self.read)
            .await?)
    }

    /// A page of the roster in address order, each recipient with their state.
    pub async fn roster_page(&self, round_id: i64, offset: i64, limit: i64) -> anyhow::Result<Vec<RecipientState>> {
        let rows = sqlx::query(
            "SELECT r.email, r.name, r.organisation, r.grp, r.category,
                    r.opened_on IS NOT NULL AS opened, r.submitted_on IS NOT NULL AS submitted,
                    (SELECT o.state FROM outbox o WHERE o.recipient_id = r.id AND o.kind = 'invitation') AS invitation,
                    (SELECT o.last_error FROM outbox o WHERE o.recipient_id = r.id AND o.last_error IS NOT NULL
                       AND o.state IN ('failed', 'uncertain', 'queued') ORDER BY o.id DESC LIMIT 1) AS error,
                    (SELECT COUNT(*) FROM outbox o WHERE o.recipient_id = r.id AND o.kind = 'reminder'
                       AND o.state = 'sent') AS reminders_sent,
                    (SELECT COUNT(*) FROM outbox o WHERE o.recipient_id = r.id AND o.kind = 'reminder'
                       AND o.state IN ('queued', 'sending')) AS reminders_waiting
             FROM recipients r WHERE r.round_id = $1 ORDER BY r.email LIMIT $2 OFFSET $3",
        )
        .bind(round_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecipientState {
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                    organisation: r.try_get("organisation")?,
                    group: r.try_get("grp")?,
                    category: r.try_get("category")?,
                    invitation: r.try_get("invitation")?,
                    error: r.try_get("error")?,
                    reminders_sent: r.try_get("reminders_sent")?,
                    reminder_waiting: r.try_get::<i64, _>("reminders_waiting")? > 0,
                    opened: truthy(r, "opened")?,
                    submitted: truthy(r, "submitted")?,
                })
            })
            .collect()
    }

    /// Takes a recipient who has not answered off the roster, with their links, draft and
    /// emails: for an address imported by mistake. One transaction.
    pub async fn remove_recipient(&self, round_id: i64, email: &str) -> anyhow::Result<Removal> {
        let mut tx = self.write.begin().await?;
        // On PostgreSQL the recipient's row is locked: a submission racing with the removal
        // either commits first (and the recipient stays) or finds the recipient gone.
        let lock = if self.engine == crate::store::Engine::Postgres { " FOR UPDATE" } else { "" };
        let found: Option<(i64, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, submitted_on FROM recipients WHERE round_id = $1 AND email = $2{lock}"
        )))
        .bind(round_id)
        .bind(email.trim().to_lowercase())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, submitted_on)) = found else { return Ok(Removal::NotFound) };
        if submitted_on.is_some() {
            return Ok(Removal::Answered);
        }
        // The outbox rows are locked too, so that a sender cannot claim one meanwhile.
        let states: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT state FROM outbox WHERE recipient_id = $1{lock}")))
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        if states.iter().any(|s| s == "sending") {
            return Ok(Removal::Sending);
        }
        for sql in [
            "DELETE FROM outbox WHERE recipient_id = $1",
            "DELETE FROM tokens WHERE recipient_id = $1",
            "DELETE FROM drafts WHERE recipient_id = $1",
            "DELETE FROM recipients WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Removal::Removed)
    }

    /// The categories on the round's roster, in order.
    pub async fn categories(&self, round_id: i64) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT category FROM recipients WHERE round_id = $1 ORDER BY category")
            .bind(round_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// The (lower-cased) addresses on the round's roster.
    pub async fn roster_emails(&self, round_id: i64) -> anyhow::Result<HashSet<String>> {
        let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM recipients WHERE round_id = $1")
            .bind(round_id)
            .fetch_all(&self.read)
            .await?;
        Ok(emails.into_iter().map(|e| e.to_lowercase()).collect())
    }

    /// Keeps an uploaded roster file until the coordinator confirms it; files older than a
    /// day are dropped on the way.
    pub async fn keep_roster_upload(&self, round_id: i64, file_name: &str, content: &str) -> anyhow::Result<i64> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM roster_uploads WHERE created_at < $1")
            .bind(now() - 24 * 3600)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO roster_uploads (round_id, file_name, content, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(round_id)
        .bind(file_name)
        .bind(content)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn roster_upload(&self, id: i64) -> anyhow::Result<Option<RosterUpload>> {
        let row = sqlx::query("SELECT id, round_id, file_name, content FROM roster_uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(RosterUpload {
                id: r.try_get("id")?,
                round_id: r.try_get("round_id")?,
                file_name: r.try_get("file_name")?,
                content: r.try_get("content")?,
            })
        })
        .transpose()
    }

    pub async fn forget_roster_upload(&self, id: i64) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM roster_uploads WHERE id = $1").bind(id).execute(&self.write).await?;
        Ok(())
    }
}

/// A boolean expression's value: an integer on SQLite, a boolean on PostgreSQL.
fn truthy(row: &sqlx::any::AnyRow, column: &str) -> anyhow::Result<bool> {
    Ok(match row.try_get::<bool, _>(column) {
        Ok(b) => b,
        Err(_) => row.try_get::<i64, _>(column)? != 0,
    })
}
