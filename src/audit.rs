//! The audit log: what coordinators did, for the record. An entry names who, what, when,
//! which round and how many recipients, never an answer or a token.

use crate::store::Store;
use sqlx::Row;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub round_key: Option<String>,
    pub recipients: Option<i64>,
    pub detail: String,
}

impl Entry {
    pub fn new(actor: &str, action: &str) -> Entry {
        Entry {
            at: jiff::Timestamp::now().as_second(),
            actor: actor.to_string(),
            action: action.to_string(),
            round_key: None,
            recipients: None,
            detail: String::new(),
        }
    }

    /// An action taken on the server's command line, by the operating-system user named.
    pub fn command_line(action: &str) -> Entry {
        let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default();
        Entry::new(
            &format!("kommandoraden{}", if user.is_empty() { String::new() } else { format!(" ({user})") }),
            action,
        )
    }

    pub fn round(mut self, key: &str) -> Entry {
        self.round_key = Some(key.to_string());
        self
    }

    pub fn recipients(mut self, n: usize) -> Entry {
        self.recipients = Some(n as i64);
        self
    }

    pub fn detail(mut self, text: impl Into<String>) -> Entry {
        self.detail = text.into();
        self
    }
}

impl Store {
    pub async fn audit(&self, e: &Entry) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, round_key, recipients, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.at)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.round_key)
        .bind(e.recipients)
        .bind(&e.detail)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The latest entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> anyhow::Result<Vec<Entry>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, round_key, recipients, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Entry {
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    round_key: r.try_get("round_key")?,
                    recipients: r.try_get("recipients")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
