//! A round's roster: importing it, minting personal links, each recipient's state for the
//! coordinator, taking a recipient off, and roster files kept between preview and confirmation.

use super::{BATCH, Store, Tx, now, placeholders};
use crate::address::EmailAddress;
use crate::outbox::OutboxState;
use crate::roster::RosterRow;
use crate::token;
use sqlx::AssertSqlSafe;
use std::collections::{BTreeMap, HashSet};

/// A personal link just minted, with whom it is for; the token is shown once and never stored.
#[derive(Debug, Clone)]
pub struct MintedLink {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub token: crate::token::Token,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    pub added: usize,
    pub already_present: usize,
}

/// A recipient as the coordinator sees them: who, and how far their emails and answer got.
/// Never what they answered.
#[derive(Debug, Clone)]
pub struct RecipientState {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub group: String,
    pub category: String,
    /// The invitation's outbox state, if one was queued.
    pub invitation: Option<OutboxState>,
    /// The relay's reply to the last failed attempt of any email to this recipient.
    pub error: Option<String>,
    pub reminders_sent: i64,
    pub reminder_waiting: bool,
    pub opened: bool,
    pub submitted: bool,
}

#[derive(sqlx::FromRow)]
struct RecipientStateRow {
    email: String,
    name: String,
    organisation: String,
    grp: String,
    category: String,
    invitation: Option<String>,
    error: Option<String>,
    reminders_sent: i64,
    reminders_waiting: i64,
    opened: i64,
    submitted: i64,
}

impl TryFrom<RecipientStateRow> for RecipientState {
    type Error = anyhow::Error;
    fn try_from(r: RecipientStateRow) -> anyhow::Result<RecipientState> {
        Ok(RecipientState {
            email: r.email,
            name: r.name,
            organisation: r.organisation,
            group: r.grp,
            category: r.category,
            invitation: r.invitation.as_deref().map(str::parse).transpose()?,
            error: r.error,
            reminders_sent: r.reminders_sent,
            reminder_waiting: r.reminders_waiting > 0,
            opened: r.opened != 0,
            submitted: r.submitted != 0,
        })
    }
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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RosterUpload {
    pub id: i64,
    pub round_id: i64,
    pub file_name: String,
    pub content: String,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    email: String,
    name: String,
    organisation: String,
}

impl Tx {
    /// Adds the rows not yet on the round's roster. A recipient is the same when the
    /// (lower-cased) address is, so importing a file twice adds nobody twice.
    pub async fn import_roster(
        &mut self,
        round_id: i64,
        rows: &[RosterRow],
        progress: &dyn Fn(usize),
    ) -> anyhow::Result<ImportOutcome> {
        let created = now();
        let mut added = 0;
        for (n, chunk) in rows.chunks(BATCH).enumerate() {
            let sql = format!(
                "INSERT INTO recipients (round_id, email, name, organisation, grp, category, created_at) VALUES {}
                 ON CONFLICT (round_id, email) DO NOTHING",
                placeholders(chunk.len(), 7)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(round_id)
                    .bind(r.email.as_str())
                    .bind(&r.name)
                    .bind(&r.organisation)
                    .bind(&r.group)
                    .bind(&r.category)
                    .bind(created);
            }
            added += q.execute(&mut *self.tx).await?.rows_affected() as usize;
            progress((n + 1) * BATCH);
        }
        Ok(ImportOutcome { added, already_present: rows.len() - added })
    }

    /// Mints a new personal link for each recipient of the round (only those who have not
    /// answered when `pending_only`). Earlier links keep working.
    pub async fn mint_links(&mut self, round_id: i64, pending_only: bool) -> anyhow::Result<Vec<MintedLink>> {
        let filter = if pending_only { " AND submitted_on IS NULL" } else { "" };
        let recipients: Vec<LinkRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id, email, name, organisation FROM recipients WHERE round_id = $1{filter} ORDER BY id"
        )))
        .bind(round_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut links = Vec::with_capacity(recipients.len());
        let created = now();
        for chunk in recipients.chunks(BATCH) {
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO tokens (hash, recipient_id, created_at) VALUES {}",
                placeholders(chunk.len(), 3)
            )));
            for r in chunk {
                let (token, hash) = token::mint();
                q = q.bind(hash).bind(r.id).bind(created);
                links.push(MintedLink {
                    email: r.email.clone(),
                    name: r.name.clone(),
                    organisation: r.organisation.clone(),
                    token,
                });
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(links)
    }

    /// Takes a recipient who has not answered off the roster, with their links, draft and
    /// emails: for an address imported by mistake.
    pub async fn remove_recipient(&mut self, round_id: i64, email: &EmailAddress) -> anyhow::Result<Removal> {
        // The recipient's row is locked: a submission racing with the removal either commits
        // first (and the recipient stays) or finds the recipient gone.
        let lock = self.engine.lock_rows();
        let found: Option<(i64, Option<String>)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id, submitted_on FROM recipients WHERE round_id = $1 AND email = $2{lock}"
        )))
        .bind(round_id)
        .bind(email.as_str())
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some((id, submitted_on)) = found else { return Ok(Removal::NotFound) };
        if submitted_on.is_some() {
            return Ok(Removal::Answered);
        }
        // The outbox rows are locked too, so that a sender cannot claim one meanwhile.
        let states: Vec<String> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT state FROM outbox WHERE recipient_id = $1{lock}")))
                .bind(id)
                .fetch_all(&mut *self.tx)
                .await?;
        if states.iter().any(|s| s == OutboxState::Sending.as_str()) {
            return Ok(Removal::Sending);
        }
        for sql in [
            "DELETE FROM outbox WHERE recipient_id = $1",
            "DELETE FROM tokens WHERE recipient_id = $1",
            "DELETE FROM drafts WHERE recipient_id = $1",
            "DELETE FROM recipients WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *self.tx).await?;
        }
        Ok(Removal::Removed)
    }

    /// Drops a roster file once it is imported.
    pub async fn forget_roster_upload(&mut self, id: i64) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM roster_uploads WHERE id = $1").bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }
}

impl Store {
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

    /// The categories on the round's roster, in order.
    pub async fn categories(&self, round_id: i64) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT category FROM recipients WHERE round_id = $1 ORDER BY category")
            .bind(round_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// A page of the roster in address order, each recipient with their state.
    pub async fn roster_page(&self, round_id: i64, offset: i64, limit: i64) -> anyhow::Result<Vec<RecipientState>> {
        let rows: Vec<RecipientStateRow> = sqlx::query_as(
            "SELECT r.email, r.name, r.organisation, r.grp, r.category,
                    CASE WHEN r.opened_on IS NOT NULL THEN 1 ELSE 0 END AS opened,
                    CASE WHEN r.submitted_on IS NOT NULL THEN 1 ELSE 0 END AS submitted,
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
        rows.into_iter().map(RecipientState::try_from).collect()
    }

    /// The (lower-cased) addresses on the round's roster.
    pub async fn roster_emails(&self, round_id: i64) -> anyhow::Result<HashSet<String>> {
        let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM recipients WHERE round_id = $1")
            .bind(round_id)
            .fetch_all(&self.read)
            .await?;
        Ok(emails.into_iter().map(|e| e.to_lowercase()).collect())
    }

    /// Recipients per (group, category): the base of the response rate.
    pub async fn invited(&self, round_id: i64) -> anyhow::Result<BTreeMap<(String, String), u64>> {
        self.per_leaf(
            "SELECT grp, category, COUNT(*) FROM recipients WHERE round_id = $1 GROUP BY grp, category",
            round_id,
        )
        .await
    }

    /// Responses per (group, category) as stored.
    pub async fn responses_per_leaf(&self, round_id: i64) -> anyhow::Result<BTreeMap<(String, String), u64>> {
        self.per_leaf(
            "SELECT grp, category, COUNT(*) FROM responses WHERE round_id = $1 GROUP BY grp, category",
            round_id,
        )
        .await
    }

    async fn per_leaf(&self, sql: &'static str, round_id: i64) -> anyhow::Result<BTreeMap<(String, String), u64>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(sql).bind(round_id).fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(|(g, c, n)| ((g, c), n as u64)).collect())
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
        Ok(sqlx::query_as("SELECT id, round_id, file_name, content FROM roster_uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }
}
