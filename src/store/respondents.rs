//! What respondents do through their links: open the form, save a draft, submit. These
//! writes come many times per questionnaire, so on SQLite they are committed in groups.

use super::respondent_writes::{PendingWrite, RespondentWrite};
use super::{Store, parse_date};
use crate::seal::DraftKey;
use crate::survey::{Answers, RawAnswers, RosterAttributes};
use jiff::civil::Date;

/// A recipient found by one of their tokens: what the form needs, and nothing that identifies them.
#[derive(Debug, Clone)]
pub struct Respondent {
    pub recipient_id: i64,
    pub round_id: i64,
    pub round_title: String,
    /// The round's key: the printable questionnaire's address names it.
    pub round_key: String,
    pub opens_on: Date,
    pub closes_on: Date,
    pub roster: RosterAttributes,
    pub opened: bool,
    pub submitted_on: Option<Date>,
    /// The saved draft: the step to show and what was typed so far.
    pub draft: (usize, RawAnswers),
    /// The draft's version, raised by every save; 0 before the first. A page carries the
    /// version it was shown with, so that a page from a tab that fell behind is recognised.
    pub draft_version: i64,
    /// The round's disclosure threshold: a response keeps its category only when at least
    /// this many recipients share it.
    pub threshold: u64,
}

#[derive(sqlx::FromRow)]
struct RespondentRow {
    id: i64,
    round_id: i64,
    grp: String,
    category: String,
    opened_on: Option<String>,
    submitted_on: Option<String>,
    title: String,
    key: String,
    opens_on: String,
    closes_on: String,
    step: Option<i64>,
    raw: Option<String>,
    version: Option<i64>,
    disclosure_threshold: i64,
}

impl TryFrom<RespondentRow> for Respondent {
    type Error = anyhow::Error;
    fn try_from(r: RespondentRow) -> anyhow::Result<Respondent> {
        Ok(Respondent {
            recipient_id: r.id,
            round_id: r.round_id,
            round_title: r.title,
            round_key: r.key,
            opens_on: parse_date(&r.opens_on)?,
            closes_on: parse_date(&r.closes_on)?,
            roster: RosterAttributes { group: r.grp, category: r.category },
            opened: r.opened_on.is_some(),
            submitted_on: r.submitted_on.as_deref().map(parse_date).transpose()?,
            draft: match (r.step, r.raw) {
                (Some(step), Some(raw)) => (step as usize, serde_json::from_str(&raw)?),
                _ => (0, RawAnswers::new()),
            },
            draft_version: r.version.unwrap_or(0),
            threshold: u64::try_from(r.disclosure_threshold)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Stored,
    /// Nothing stored: the recipient had already submitted, or another tab saved since the
    /// page was shown. The caller reads the recipient again to tell which.
    NotStored,
}

/// A submitted response as stored: anonymous by construction.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub id: String,
    pub group: String,
    pub category: String,
    pub answers: Answers,
}

#[derive(sqlx::FromRow)]
struct StoredResponseRow {
    id: String,
    grp: String,
    category: String,
    answers: String,
}

impl TryFrom<StoredResponseRow> for StoredResponse {
    type Error = anyhow::Error;
    fn try_from(r: StoredResponseRow) -> anyhow::Result<StoredResponse> {
        Ok(StoredResponse { id: r.id, group: r.grp, category: r.category, answers: serde_json::from_str(&r.answers)? })
    }
}

impl Store {
    /// The recipient a token belongs to, if it belongs to one.
    pub async fn respondent(&self, token_hash: &str) -> anyhow::Result<Option<Respondent>> {
        let row: Option<RespondentRow> = sqlx::query_as(
            "SELECT r.id, r.round_id, r.grp, r.category, r.opened_on, r.submitted_on, o.title, o.key, o.opens_on, o.closes_on,
                    d.step, d.raw, d.version, o.disclosure_threshold
             FROM tokens t JOIN recipients r ON r.id = t.recipient_id JOIN rounds o ON o.id = r.round_id
             LEFT JOIN drafts d ON d.recipient_id = r.id
             WHERE t.hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(mut row) = row else { return Ok(None) };
        if let Some(sealed) = &row.raw {
            // A draft that does not open (a damaged row) is no reason to lock the respondent
            // out: they start from the beginning, and their next save replaces it.
            row.raw = match self.draft_key()?.open(row.id, sealed) {
                Ok(raw) => Some(raw),
                Err(e) => {
                    tracing::warn!(reason = %format!("{e:#}"), "a saved draft could not be opened; it is shown empty");
                    None
                }
            };
        }
        Respondent::try_from(row).map(Some)
    }

    /// Records the day a recipient first opened their link (shown to the coordinator, who
    /// may then follow up on links that never arrived).
    pub async fn mark_opened(&self, recipient_id: i64, today: Date) -> anyhow::Result<()> {
        self.respondent_write(RespondentWrite::Opened { recipient_id, day: today.to_string() }).await?;
        Ok(())
    }

    /// Saves the draft over version `seen`, the one the posted page was shown with. Returns
    /// the new version, or `None` when nothing was saved: another tab saved (or submitted)
    /// since that page was shown, and its answers are not overwritten.
    pub async fn save_draft(
        &self,
        recipient_id: i64,
        step: usize,
        raw: &RawAnswers,
        seen: i64,
    ) -> anyhow::Result<Option<i64>> {
        // Sealed: a copy of the database must not tell what a recipient typed.
        let raw = self.draft_key()?.seal(recipient_id, &serde_json::to_string(raw)?);
        let saved =
            self.respondent_write(RespondentWrite::Draft { recipient_id, step: step as i64, raw, seen }).await?;
        Ok(saved.then_some(seen + 1))
    }

    /// Stores a response and marks the recipient as having answered, in one transaction.
    /// The response row carries no link to the recipient: a random id, the roster group and
    /// category and the answers; no day (only the recipient's row keeps when they answered). Of two concurrent submissions exactly one is stored,
    /// and only from a page shown with the draft's current version (`seen`).
    pub async fn submit(
        &self,
        who: &Respondent,
        today: Date,
        answers: &Answers,
        seen: i64,
    ) -> anyhow::Result<Submission> {
        let write = RespondentWrite::Submit {
            recipient_id: who.recipient_id,
            round_id: who.round_id,
            group: who.roster.group.clone(),
            category: who.roster.category.clone(),
            threshold: who.threshold,
            day: today.to_string(),
            answers: serde_json::to_string(answers)?,
            seen,
        };
        Ok(if self.respondent_write(write).await? { Submission::Stored } else { Submission::NotStored })
    }

    /// Commits a respondent's write: on SQLite through the group commit, on PostgreSQL in a
    /// transaction of its own. Returns once the write is durable.
    async fn respondent_write(&self, write: RespondentWrite) -> anyhow::Result<bool> {
        if let Some(queue) = &self.group_commit {
            let (reply, done) = tokio::sync::oneshot::channel();
            queue
                .send(PendingWrite { write, reply })
                .await
                .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?;
            return done.await.map_err(|_| anyhow::anyhow!("the database writer has stopped"))?;
        }
        let mut tx = self.write.begin().await?;
        let done = write.apply(&mut tx).await?;
        // A write that changed its mind half-way (a stale page) leaves nothing behind.
        if done {
            tx.commit().await?
        } else {
            tx.rollback().await?
        }
        Ok(done)
    }

    /// One sealed draft, if any, to try a key on.
    pub(super) async fn a_sealed_draft(&self) -> anyhow::Result<Option<(i64, String)>> {
        Ok(sqlx::query_as("SELECT recipient_id, raw FROM drafts WHERE raw LIKE 'x1:%' LIMIT 1")
            .fetch_optional(&self.read)
            .await?)
    }

    /// Seals the drafts stored before drafts were sealed.
    pub(super) async fn seal_old_drafts(&self) -> anyhow::Result<usize> {
        let key = self.draft_key()?;
        let plain: Vec<(i64, String)> =
            sqlx::query_as("SELECT recipient_id, raw FROM drafts").fetch_all(&self.read).await?;
        let plain: Vec<(i64, String)> = plain.into_iter().filter(|(_, raw)| !DraftKey::is_sealed(raw)).collect();
        for (recipient_id, raw) in &plain {
            sqlx::query("UPDATE drafts SET raw = $1 WHERE recipient_id = $2 AND raw = $3")
                .bind(key.seal(*recipient_id, raw))
                .bind(recipient_id)
                .bind(raw)
                .execute(&self.write)
                .await?;
        }
        Ok(plain.len())
    }

    /// Rewrites the tables whose physical order could tell who answered when (see
    /// `Engine::conceal_order`); the server does this a few minutes after submissions.
    pub async fn conceal_order(&self) -> anyhow::Result<()> {
        for statement in self.engine.conceal_order() {
            let done = sqlx::query(*statement).fetch_all(&self.write).await?;
            // SQLite's checkpoint answers (busy, pages, checkpointed) instead of failing:
            // with a reader in the way it truncates nothing, and is tried again next time.
            if let Some(row) = done.first()
                && sqlx::Row::try_get::<i64, _>(row, 0).is_ok_and(|busy| busy != 0)
            {
                anyhow::bail!("the WAL is in use and was not truncated; tried again at the next pass");
            }
        }
        Ok(())
    }

    /// The round's stored responses, in the order of their random ids.
    pub async fn responses(&self, round_id: i64) -> anyhow::Result<Vec<StoredResponse>> {
        let rows: Vec<StoredResponseRow> =
            sqlx::query_as("SELECT id, grp, category, answers FROM responses WHERE round_id = $1 ORDER BY id")
                .bind(round_id)
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(StoredResponse::try_from).collect()
    }
}
