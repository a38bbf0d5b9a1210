//! The outbox's SQL: queueing, claiming and recording emails, the round's email settings,
//! and the coordinator's view of what was sent. Shared by both engines except for the claim.

use super::{Kind, ReminderStep};
use crate::store::{Engine, Store};
use crate::token;
use sqlx::{AnyConnection, Row};

/// Recipients per INSERT ... SELECT when queueing, so a large roster shows progress.
const CHUNK: usize = 500;

/// The reason shown for an email whose sender died while handing it to the relay.
pub const INTERRUPTED: &str = "avbrutet under sändning – kontrollera innan omsändning";

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub queued: usize,
    /// Recipients left out: already invited (or reminded too recently), or already answered.
    pub left_out: usize,
}

/// An email claimed for sending, with a personal link minted for it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub round_id: i64,
    pub kind: Kind,
    pub attempts: u32,
    pub email: String,
    pub name: String,
    pub organisation: String,
    /// Shown once, in the email; only its hash is stored.
    pub token: String,
}

/// What the coordinator changed in a round's emails; `None` is the template's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundMail {
    pub invitation_subject: Option<String>,
    pub invitation_text: Option<String>,
    pub reminder_subject: Option<String>,
    pub reminder_text: Option<String>,
    pub contact: Option<String>,
    pub reminder_schedule: String,
}

/// One line of `round status`: a group and category of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailStatus {
    pub group: String,
    pub category: String,
    pub recipients: i64,
    pub invited: i64,
    pub delivered: i64,
    pub waiting: i64,
    pub failed: i64,
    pub opened: i64,
    pub submitted: i64,
    pub reminded: i64,
}

/// An email that did not (or may not have) arrived, or is waiting for another try.
#[derive(Debug, Clone)]
pub struct Problem {
    pub email: String,
    pub kind: Kind,
    pub state: String,
    pub attempts: i64,
    pub error: String,
    pub next_attempt_at: i64,
}

impl Store {
    /// Queues an invitation for every recipient of the round who has none (in any state) and
    /// has not answered. One transaction: either all are queued or none.
    pub async fn queue_invitations(
        &self,
        round_id: i64,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> anyhow::Result<Queued> {
        self.queue(round_id, Kind::Invitation, "", 0, 0, progress, true).await
    }

    /// How many invitations `queue_invitations` would queue now: the same statement, rolled back.
    pub async fn invitations_due(&self, round_id: i64) -> anyhow::Result<Queued> {
        self.queue(round_id, Kind::Invitation, "", 0, 0, &|_, _| {}, false).await
    }

    /// How many reminders `queue_reminders` (without a schedule step) would queue now.
    pub async fn reminders_due(
        &self,
        round_id: i64,
        invited_before: i64,
        reminded_before: i64,
    ) -> anyhow::Result<Queued> {
        self.queue(round_id, Kind::Reminder, "", invited_before, reminded_before, &|_, _| {}, false).await
    }

    /// Queues a reminder for every recipient who has not answered, whose invitation was
    /// delivered at or before `invited_before`, who has no reminder waiting, none delivered
    /// after `reminded_before`, and (for a scheduled step) none from this step.
    pub async fn queue_reminders(
        &self,
        round_id: i64,
        step: Option<ReminderStep>,
        invited_before: i64,
        reminded_before: i64,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> anyhow::Result<Queued> {
        let occasion = step.map(ReminderStep::occasion).unwrap_or_default();
        self.queue(round_id, Kind::Reminder, &occasion, invited_before, reminded_before, progress, true).await
    }

    /// Queues, or with `commit` false only counts what would be queued.
    #[allow(clippy::too_many_arguments)]
    async fn queue(
        &self,
        round_id: i64,
        kind: Kind,
        occasion: &str,
        invited_before: i64,
        reminded_before: i64,
        progress: &(dyn Fn(usize, usize) + Sync),
        commit: bool,
    ) -> anyhow::Result<Queued> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM recipients WHERE round_id = $1 ORDER BY id")
            .bind(round_id)
            .fetch_all(&self.read)
            .await?;
        let created = now();
        let mut tx = self.write.begin().await?;
        if self.engine == Engine::Postgres {
            // Two coordinators (or two servers' schedules) queueing for one round take turns,
            // so neither can queue what the other just did.
            sqlx::query("SELECT id FROM rounds WHERE id = $1 FOR UPDATE").bind(round_id).execute(&mut *tx).await?;
        }
        let sql = match kind {
            Kind::Invitation => {
                "INSERT INTO outbox (round_id, recipient_id, kind, occasion, state, attempts, next_attempt_at, created_at)
                 SELECT r.round_id, r.id, 'invitation', '', 'queued', 0, $2, $2 FROM recipients r
                 WHERE r.round_id = $1 AND r.id >= $3 AND r.id <= $4 AND r.submitted_on IS NULL
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.recipient_id = r.id AND o.kind = 'invitation')
                 ON CONFLICT DO NOTHING"
            }
            Kind::Reminder => {
                "INSERT INTO outbox (round_id, recipient_id, kind, occasion, state, attempts, next_attempt_at, created_at)
                 SELECT r.round_id, r.id, 'reminder', $5, 'queued', 0, $2, $2 FROM recipients r
                 WHERE r.round_id = $1 AND r.id >= $3 AND r.id <= $4 AND r.submitted_on IS NULL
                   AND EXISTS (SELECT 1 FROM outbox i WHERE i.recipient_id = r.id AND i.kind = 'invitation'
                               AND i.state = 'sent' AND i.sent_at <= $6)
                   AND NOT EXISTS (SELECT 1 FROM outbox m WHERE m.recipient_id = r.id AND m.kind = 'reminder'
                               AND (m.state IN ('queued', 'sending')
                                    OR (m.state IN ('sent', 'uncertain') AND COALESCE(m.sent_at, m.created_at) > $7)
                                    OR ($5 <> '' AND m.occasion = $5)))
                 ON CONFLICT DO NOTHING"
            }
        };
        let mut queued = 0;
        for (n, chunk) in ids.chunks(CHUNK).enumerate() {
            let mut q = sqlx::query(sql).bind(round_id).bind(created).bind(chunk[0]).bind(chunk[chunk.len() - 1]);
            if kind == Kind::Reminder {
                q = q.bind(occasion).bind(invited_before).bind(reminded_before);
            }
            queued += q.execute(&mut *tx).await?.rows_affected() as usize;
            progress((n * CHUNK + chunk.len()).min(ids.len()), ids.len());
        }
        if commit {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(Queued { queued, left_out: ids.len() - queued })
    }

    /// Claims the oldest due email (of one round, or of any when `round_id` is 0) and mints a
    /// personal link for it, in one transaction committed before the email is handed to SMTP.
    /// A reminder to someone who answered after it was queued is skipped, never sent.
    pub async fn claim_email(&self, round_id: i64, claim_seconds: u64) -> anyhow::Result<Option<Claimed>> {
        loop {
            let now = now();
            // Most polls find nothing due: a read says so without taking the writer, which on
            // SQLite respondents' answers are waiting for.
            let due: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= $1 AND ($2 = 0 OR round_id = $2) LIMIT 1",
            )
            .bind(now)
            .bind(round_id)
            .fetch_optional(&self.read)
            .await?;
            if due.is_none() {
                return Ok(None);
            }
            let mut tx = self.write.begin().await?;
            let claim = match self.engine {
                // Several servers share the table: each skips rows another has locked.
                Engine::Postgres => {
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_until = $1
                     WHERE id = (SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= $2
                                 AND ($3 = 0 OR round_id = $3) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING id, round_id, recipient_id, kind, attempts"
                }
                // One writer at a time: the UPDATE itself is the claim.
                Engine::Sqlite => {
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_until = $1
                     WHERE id = (SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= $2
                                 AND ($3 = 0 OR round_id = $3) ORDER BY id LIMIT 1)
                     RETURNING id, round_id, recipient_id, kind, attempts"
                }
            };
            let Some(row) = sqlx::query(claim)
                .bind(now + claim_seconds as i64)
                .bind(now)
                .bind(round_id)
                .fetch_optional(&mut *tx)
                .await?
            else {
                tx.rollback().await?;
                return Ok(None);
            };
            let id: i64 = row.try_get("id")?;
            let recipient_id: i64 = row.try_get("recipient_id")?;
            let kind_text: String = row.try_get("kind")?;
            let kind = Kind::parse(&kind_text).ok_or_else(|| anyhow::anyhow!("unknown email kind `{kind_text}`"))?;
            let who = sqlx::query("SELECT email, name, organisation, submitted_on FROM recipients WHERE id = $1")
                .bind(recipient_id)
                .fetch_one(&mut *tx)
                .await?;
            if kind == Kind::Reminder && who.try_get::<Option<String>, _>("submitted_on")?.is_some() {
                record(&mut tx, id, "skipped", Some("har redan svarat"), None).await?;
                tx.commit().await?;
                continue;
            }
            let (token, hash) = token::mint();
            sqlx::query("INSERT INTO tokens (hash, recipient_id, created_at) VALUES ($1, $2, $3)")
                .bind(hash)
                .bind(recipient_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Some(Claimed {
                id,
                round_id: row.try_get("round_id")?,
                kind,
                attempts: row.try_get::<i64, _>("attempts")? as u32,
                email: who.try_get("email")?,
                name: who.try_get("name")?,
                organisation: who.try_get("organisation")?,
                token,
            }));
        }
    }

    /// The relay accepted the email. Also after the claim expired: it did arrive.
    pub async fn email_sent(&self, id: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, claimed_until = NULL, last_error = NULL
             WHERE id = $2 AND state IN ('sending', 'uncertain')",
        )
        .bind(now())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A temporary failure: back to the queue, not before `at`.
    pub async fn email_retry(&self, id: i64, at: i64, error: &str) -> anyhow::Result<()> {
        let mut conn = self.write.acquire().await?;
        record(&mut conn, id, "queued", Some(error), Some(at)).await
    }

    /// A permanent failure, or too many temporary ones.
    pub async fn email_failed(&self, id: i64, error: &str) -> anyhow::Result<()> {
        let mut conn = self.write.acquire().await?;
        record(&mut conn, id, "failed", Some(error), None).await
    }

    /// Emails whose sender died while handing them over: they may have arrived, so they are
    /// marked uncertain for the coordinator to check, and never resent blindly.
    pub async fn expire_claims(&self) -> anyhow::Result<u64> {
        let expired: Option<i64> =
            sqlx::query_scalar("SELECT id FROM outbox WHERE state = 'sending' AND claimed_until < $1 LIMIT 1")
                .bind(now())
                .fetch_optional(&self.read)
                .await?;
        if expired.is_none() {
            return Ok(0);
        }
        Ok(sqlx::query(
            "UPDATE outbox SET state = 'uncertain', last_error = $1, claimed_until = NULL
             WHERE state = 'sending' AND claimed_until < $2",
        )
        .bind(INTERRUPTED)
        .bind(now())
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    /// Emails not yet sent or given up (of one round, or all when `round_id` is 0), and the
    /// time the next one is due.
    pub async fn outbox_pending(&self, round_id: i64) -> anyhow::Result<(i64, Option<i64>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS pending, MIN(CASE WHEN state = 'queued' THEN next_attempt_at END) AS next_due
             FROM outbox WHERE state IN ('queued', 'sending') AND ($1 = 0 OR round_id = $1)",
        )
        .bind(round_id)
        .fetch_one(&self.read)
        .await?;
        Ok((row.try_get("pending")?, row.try_get("next_due")?))
    }

    pub async fn round_mail(&self, round_id: i64) -> anyhow::Result<RoundMail> {
        let row = sqlx::query(
            "SELECT invitation_subject, invitation_text, reminder_subject, reminder_text, contact, reminder_schedule
             FROM round_mail WHERE round_id = $1",
        )
        .bind(round_id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(RoundMail::default()) };
        Ok(RoundMail {
            invitation_subject: row.try_get("invitation_subject")?,
            invitation_text: row.try_get("invitation_text")?,
            reminder_subject: row.try_get("reminder_subject")?,
            reminder_text: row.try_get("reminder_text")?,
            contact: row.try_get("contact")?,
            reminder_schedule: row.try_get("reminder_schedule")?,
        })
    }

    pub async fn set_round_mail(&self, round_id: i64, mail: &RoundMail) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO round_mail (round_id, invitation_subject, invitation_text, reminder_subject, reminder_text,
                                     contact, reminder_schedule)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (round_id) DO UPDATE SET invitation_subject = excluded.invitation_subject,
                 invitation_text = excluded.invitation_text, reminder_subject = excluded.reminder_subject,
                 reminder_text = excluded.reminder_text, contact = excluded.contact,
                 reminder_schedule = excluded.reminder_schedule",
        )
        .bind(round_id)
        .bind(&mail.invitation_subject)
        .bind(&mail.invitation_text)
        .bind(&mail.reminder_subject)
        .bind(&mail.reminder_text)
        .bind(&mail.contact)
        .bind(&mail.reminder_schedule)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Rounds with automatic reminders, and their schedules as written.
    pub async fn reminder_schedules(&self) -> anyhow::Result<Vec<(i64, String)>> {
        let rows = sqlx::query("SELECT round_id, reminder_schedule FROM round_mail WHERE reminder_schedule <> ''")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("round_id")?, r.try_get("reminder_schedule")?))).collect()
    }

    /// Per group and category: how many were invited, reached, answered and reminded.
    pub async fn mail_status(&self, round_id: i64) -> anyhow::Result<Vec<MailStatus>> {
        let rows = sqlx::query(
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
        rows.iter()
            .map(|r| {
                Ok(MailStatus {
                    group: r.try_get("grp")?,
                    category: r.try_get("category")?,
                    recipients: r.try_get("recipients")?,
                    invited: r.try_get("invited")?,
                    delivered: r.try_get("delivered")?,
                    waiting: r.try_get("waiting")?,
                    failed: r.try_get("failed")?,
                    opened: r.try_get("opened")?,
                    submitted: r.try_get("submitted")?,
                    reminded: r.try_get("reminded")?,
                })
            })
            .collect()
    }

    /// Emails that failed, may not have arrived, or wait for another try after a failure.
    pub async fn mail_problems(&self, round_id: i64) -> anyhow::Result<Vec<Problem>> {
        let rows = sqlx::query(
            "SELECT r.email, o.kind, o.state, o.attempts, o.last_error, o.next_attempt_at
             FROM outbox o JOIN recipients r ON r.id = o.recipient_id
             WHERE o.round_id = $1 AND (o.state IN ('failed', 'uncertain') OR (o.state = 'queued' AND o.last_error IS NOT NULL))
             ORDER BY r.email, o.id",
        )
        .bind(round_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Problem {
                    email: r.try_get("email")?,
                    kind: Kind::parse(&kind).unwrap_or(Kind::Invitation),
                    state: r.try_get("state")?,
                    attempts: r.try_get("attempts")?,
                    error: r.try_get::<Option<String>, _>("last_error")?.unwrap_or_default(),
                    next_attempt_at: r.try_get("next_attempt_at")?,
                })
            })
            .collect()
    }
}

/// Moves a claimed row to its next state. Only a row still claimed (`sending`) moves, so a
/// row another process already settled is left as it is.
async fn record(
    conn: &mut AnyConnection,
    id: i64,
    state: &str,
    error: Option<&str>,
    next_attempt_at: Option<i64>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET state = $1, last_error = $2, next_attempt_at = COALESCE($3, next_attempt_at),
                claimed_until = NULL
         WHERE id = $4 AND state = 'sending'",
    )
    .bind(state)
    .bind(error)
    .bind(next_attempt_at)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Puts a round's failed emails (and, when asked, the uncertain ones) back in the queue:
    /// for when the coordinator has fixed what made them fail.
    pub async fn requeue(&self, round_id: i64, uncertain_too: bool) -> anyhow::Result<u64> {
        let sql = if uncertain_too {
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1, last_error = NULL
             WHERE round_id = $2 AND state IN ('failed', 'uncertain')"
        } else {
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1, last_error = NULL
             WHERE round_id = $2 AND state = 'failed'"
        };
        Ok(sqlx::query(sql).bind(now()).bind(round_id).execute(&self.write).await?.rows_affected())
    }
}
