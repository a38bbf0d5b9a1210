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
}
