//! Records management (src/gallring.rs): each round's rule, and the deletions it calls for.

use super::{Store, Tx};
use crate::gallring::{Erased, Rule, State};

#[derive(sqlx::FromRow)]
struct StateRow {
    id: i64,
    erase_after_days: i64,
    free_text_after_days: Option<i64>,
    personal_erased_at: Option<i64>,
    free_text_erased_at: Option<i64>,
    gallring_decided: i64,
}

impl From<&StateRow> for State {
    fn from(r: &StateRow) -> State {
        State {
            rule: Rule {
                personal_after_days: r.erase_after_days.clamp(0, i64::from(u32::MAX)) as u32,
                free_text_after_days: r.free_text_after_days.map(|d| d.clamp(0, i64::from(u32::MAX)) as u32),
            },
            decided: r.gallring_decided != 0,
            personal_erased_at: r.personal_erased_at,
            free_text_erased_at: r.free_text_erased_at,
        }
    }
}

const STATE_COLUMNS: &str = "SELECT id, erase_after_days, free_text_after_days, personal_erased_at, free_text_erased_at, gallring_decided FROM rounds";

/// A recipient's place in the table once the address is gone: unique per round as the
/// column must be, and never an address (no @), so it can neither be written to nor match one.
const ERASED_ADDRESS: &str = "'gallrad-' || CAST(id AS TEXT)";

impl Store {
    pub async fn gallring(&self, round_id: i64) -> anyhow::Result<State> {
        let row: StateRow = sqlx::query_as(sqlx::AssertSqlSafe(format!("{STATE_COLUMNS} WHERE id = $1")))
            .bind(round_id)
            .fetch_one(&self.read)
            .await?;
        Ok(State::from(&row))
    }

    /// Every round's rule and what of it is done, by round id.
    pub async fn gallring_of_all(&self) -> anyhow::Result<Vec<(i64, State)>> {
        let rows: Vec<StateRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{STATE_COLUMNS} ORDER BY id"))).fetch_all(&self.read).await?;
        Ok(rows.iter().map(|r| (r.id, State::from(r))).collect())
    }
}

impl Tx {
    /// Sets the round's mark that a deletion is done; false when it was set already (another
    /// instance or command did it first), so each deletion happens once.
    async fn claim_mark(&mut self, column: &'static str, round_id: i64, at: i64) -> anyhow::Result<bool> {
        let sql = format!("UPDATE rounds SET {column} = $1 WHERE id = $2 AND {column} IS NULL");
        let claimed = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at).bind(round_id).execute(&mut *self.tx).await?;
        Ok(claimed.rows_affected() == 1)
    }

    pub async fn set_gallring_rule(&mut self, round_id: i64, rule: Rule) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE rounds SET erase_after_days = $1, free_text_after_days = $2, gallring_decided = 1 WHERE id = $3",
        )
        .bind(i64::from(rule.personal_after_days))
        .bind(rule.free_text_after_days.map(i64::from))
        .bind(round_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Deletes what identifies the round's recipients and marks it done: names, addresses,
    /// organisations, links, drafts, kept roster files, the relay's replies, the addresses
    /// the audit log quotes, and emails not yet sent. Groups, categories, dates answered
    /// and the outbox's states stay: the response rate and the mail-out figures are unchanged.
    /// `None` when another instance or command did it first: claiming the round's mark
    /// comes first, in the same transaction, so it is done once.
    pub async fn erase_personal_data(&mut self, round_id: i64, at: i64) -> anyhow::Result<Option<Erased>> {
        if !self.claim_mark("personal_erased_at", round_id, at).await? {
            return Ok(None);
        }
        let of_round = "recipient_id IN (SELECT id FROM recipients WHERE round_id = $1)";
        let mut run = async |sql: String| -> anyhow::Result<u64> {
            Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(round_id).execute(&mut *self.tx).await?.rows_affected())
        };
        let erased = Erased {
            links: run(format!("DELETE FROM tokens WHERE {of_round}")).await?,
            drafts: run(format!("DELETE FROM drafts WHERE {of_round}")).await?,
            unsent_emails: run(
                "UPDATE outbox SET state = 'skipped', claimed_until = NULL WHERE round_id = $1 AND state = 'queued'"
                    .into(),
            )
            .await?,
            relay_replies: run(
                "UPDATE outbox SET last_error = NULL WHERE round_id = $1 AND last_error IS NOT NULL".into()
            )
            .await?,
            roster_files: run("DELETE FROM roster_uploads WHERE round_id = $1".into()).await?,
            // Removing a recipient is logged with the address removed (coordinator::remove_recipient).
            audit_details: run("UPDATE audit_log SET detail = '' WHERE action = 'tog bort mottagare' AND detail <> ''
                 AND round_key = (SELECT key FROM rounds WHERE id = $1)"
                .into())
            .await?,
            recipients: run(format!(
                "UPDATE recipients SET email = {ERASED_ADDRESS}, name = '', organisation = '' WHERE round_id = $1"
            ))
            .await?,
            free_text_responses: 0,
        };
        Ok(Some(erased))
    }

    /// Deletes the answers to the named (free-text) questions from every response of the
    /// round and marks it done; returns how many responses held one (`None`: done already).
    pub async fn erase_free_text(
        &mut self,
        round_id: i64,
        questions: &[String],
        at: i64,
    ) -> anyhow::Result<Option<u64>> {
        if !self.claim_mark("free_text_erased_at", round_id, at).await? {
            return Ok(None);
        }
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, answers FROM responses WHERE round_id = $1")
            .bind(round_id)
            .fetch_all(&mut *self.tx)
            .await?;
        let mut changed = 0;
        for (id, answers) in rows {
            let mut answers: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&answers)?;
            let before = answers.len();
            answers.retain(|code, _| !questions.contains(code));
            if answers.len() == before {
                continue;
            }
            sqlx::query("UPDATE responses SET answers = $1 WHERE round_id = $2 AND id = $3")
                .bind(serde_json::to_string(&answers)?)
                .bind(round_id)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
            changed += 1;
        }
        Ok(Some(changed))
    }
}

impl Store {
    /// Leaves nothing of what a deletion removed in the database's files: PostgreSQL keeps
    /// deleted and updated rows until a table is rewritten; SQLite zeroes freed space
    /// (`secure_delete`) but keeps the old pages in its WAL until a checkpoint.
    pub async fn purge_erased(&self) -> anyhow::Result<()> {
        let vacuumed = match self.engine {
            super::Engine::Postgres => {
                sqlx::query("VACUUM FULL tokens, drafts, outbox, roster_uploads, audit_log, incident_reports")
                    .execute(&self.write)
                    .await
                    .map(|_| ())
            }
            super::Engine::Sqlite => Ok(()),
        };
        // The recipients' and responses' rewrite runs whether or not the vacuum did.
        let concealed = self.conceal_order().await;
        vacuumed?;
        concealed
    }
}
