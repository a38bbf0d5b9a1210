//! The audit log's rows. An entry is written inside the action it records (`Tx::audit`), so
//! an action without its entry, or an entry without its action, cannot be stored.

use super::{Store, Tx};
use crate::audit::Entry;

#[derive(sqlx::FromRow)]
struct EntryRow {
    at: i64,
    actor: String,
    action: String,
    round_key: Option<String>,
    recipients: Option<i64>,
    detail: String,
}

impl From<EntryRow> for Entry {
    fn from(r: EntryRow) -> Entry {
        Entry {
            at: r.at,
            actor: r.actor,
            action: r.action,
            round_key: r.round_key,
            recipients: r.recipients,
            detail: r.detail,
        }
    }
}

impl Tx {
    pub async fn audit(&mut self, e: &Entry) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, round_key, recipients, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.at)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.round_key)
        .bind(e.recipients)
        .bind(&e.detail)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl Store {
    /// Records an event that changes nothing else (a login, a download).
    pub async fn audit(&self, e: &Entry) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        tx.audit(e).await?;
        tx.commit().await
    }

    /// The latest entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> anyhow::Result<Vec<Entry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(
            "SELECT at, actor, action, round_key, recipients, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Entry::from).collect())
    }
}
