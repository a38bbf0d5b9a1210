//! Settings the server instances share through the database, and the health check.

use super::Store;
use crate::token;

impl Store {
    pub async fn healthy(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    /// The key that signs CSRF tokens and session cookies. Kept in the database so that every
    /// server instance sharing it uses the same one; the first instance to start creates it.
    pub async fn secret(&self) -> anyhow::Result<Vec<u8>> {
        let fresh = token::random();
        sqlx::query("INSERT INTO settings (name, value) VALUES ('secret', $1) ON CONFLICT (name) DO NOTHING")
            .bind(fresh)
            .execute(&self.write)
            .await?;
        let value: String =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'secret'").fetch_one(&self.read).await?;
        Ok(value.into_bytes())
    }

    /// A value sealed with the draft key when it was first used with this database; a key
    /// that cannot open it is not the one the drafts were sealed with.
    pub(super) async fn draft_key_check(&self, fresh: &str) -> anyhow::Result<String> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ('draft_key_check', $1) ON CONFLICT (name) DO NOTHING")
            .bind(fresh)
            .execute(&self.write)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = 'draft_key_check'")
            .fetch_one(&self.read)
            .await?)
    }
}

impl Store {
    /// The district's part of the accessibility statement, if saved.
    pub async fn accessibility_statement(&self) -> anyhow::Result<Option<crate::statement::Statement>> {
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'accessibility_statement'")
                .fetch_optional(&self.read)
                .await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }
}

impl super::Tx {
    pub async fn set_accessibility_statement(&mut self, statement: &crate::statement::Statement) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ('accessibility_statement', $1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(serde_json::to_string(statement)?)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl Store {
    /// For monitoring: emails per outbox state, and responses stored, over all rounds.
    pub async fn monitoring_counts(&self) -> anyhow::Result<(Vec<(String, i64)>, i64)> {
        let outbox: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")
                .fetch_all(&self.read)
                .await?;
        let responses: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM responses").fetch_one(&self.read).await?;
        Ok((outbox, responses))
    }
}
