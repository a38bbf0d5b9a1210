//! The outbox's rows: queueing, claiming and recording emails. Shared by both engines
//! except for the claim's lock. The coordinator's view of them is in `mail_status.rs`.

use super::{Store, Tx, now, now_ms};
use crate::outbox::pace::{DAY_MS, Marks, Pace};
use crate::outbox::{Claimed, INTERRUPTED, Kind, OutboxState, Queued, ReminderCutoff};
use crate::token;
use sqlx::{AnyConnection, AssertSqlSafe};

/// Recipients per INSERT ... SELECT when queueing, so a large roster shows progress.
const CHUNK: usize = 500;

/// Which emails a queueing adds.
#[derive(Clone, Copy)]
enum Queueing<'a> {
    Invitations,
    /// Reminders; `occasion` names a schedule step ("" for one asked for by hand).
    Reminders {
        occasion: &'a str,
        cutoff: ReminderCutoff,
    },
}

/// What a sender gets when it asks for the next email.
#[derive(Debug)]
pub enum Claim {
    Claimed(Claimed),
    /// Nothing is due.
    Nothing,
    /// Emails are due, and the pace (or the relay's pause) lets the next go at `until_ms`.
    Wait {
        until_ms: i64,
    },
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    round_id: i64,
    recipient_id: i64,
    kind: String,
    attempts: i64,
}

#[derive(sqlx::FromRow)]
struct AddresseeRow {
    email: String,
    name: String,
    organisation: String,
    submitted_on: Option<String>,
}

impl Tx {
    /// Queues an invitation for every recipient of the round who has none (in any state) and
    /// has not answered.
    pub async fn queue_invitations(
        &mut self,
        round_id: i64,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> anyhow::Result<Queued> {
        self.queue(round_id, Queueing::Invitations, progress).await
    }

    /// Queues a reminder for every recipient who has not answered, is past the `cutoff` (see
    /// `ReminderCutoff`), has no reminder waiting and (for a schedule step) none from this step.
    pub async fn queue_reminders(
        &mut self,
        round_id: i64,
        occasion: &str,
        cutoff: ReminderCutoff,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> anyhow::Result<Queued> {
        self.queue(round_id, Queueing::Reminders { occasion, cutoff }, progress).await
    }

    async fn queue(
        &mut self,
        round_id: i64,
        what: Queueing<'_>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> anyhow::Result<Queued> {
        // Two coordinators (or two servers' schedules) queueing for one round take turns, so
        // neither can queue what the other just did.
        sqlx::query(AssertSqlSafe(format!("SELECT id FROM rounds WHERE id = $1{}", self.engine.lock_rows())))
            .bind(round_id)
            .execute(&mut *self.tx)
            .await?;
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM recipients WHERE round_id = $1 ORDER BY id")
            .bind(round_id)
            .fetch_all(&mut *self.tx)
            .await?;
        let created = now();
        let sql = match what {
            Queueing::Invitations => {
                "INSERT INTO outbox (round_id, recipient_id, kind, occasion, state, attempts, next_attempt_at, created_at)
                 SELECT r.round_id, r.id, 'invitation', '', 'queued', 0, $2, $2 FROM recipients r
                 WHERE r.round_id = $1 AND r.id >= $3 AND r.id <= $4 AND r.submitted_on IS NULL
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.recipient_id = r.id AND o.kind = 'invitation')
                 ON CONFLICT DO NOTHING"
            }
            Queueing::Reminders { .. } => {
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
            if let Queueing::Reminders { occasion, cutoff } = what {
                q = q.bind(occasion).bind(cutoff.invited_before).bind(cutoff.reminded_before);
            }
            queued += q.execute(&mut *self.tx).await?.rows_affected() as usize;
            progress((n * CHUNK + chunk.len()).min(ids.len()), ids.len());
        }
        Ok(Queued { queued, left_out: ids.len() - queued })
    }

    /// Puts a round's failed emails (and, when asked, the uncertain ones) back in the queue:
    /// for when the coordinator has fixed what made them fail.
    pub async fn requeue(&mut self, round_id: i64, uncertain_too: bool) -> anyhow::Result<u64> {
        let sql = if uncertain_too {
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1, last_error = NULL
             WHERE round_id = $2 AND state IN ('failed', 'uncertain')"
        } else {
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1, last_error = NULL
             WHERE round_id = $2 AND state = 'failed'"
        };
        Ok(sqlx::query(sql).bind(now()).bind(round_id).execute(&mut *self.tx).await?.rows_affected())
    }
}

impl Store {
    /// How many invitations `Tx::queue_invitations` would queue now: the same statements, rolled back.
    pub async fn invitations_due(&self, round_id: i64) -> anyhow::Result<usize> {
        let mut tx = self.begin().await?;
        Ok(tx.queue_invitations(round_id, &|_, _| {}).await?.queued)
    }

    /// How many reminders `Tx::queue_reminders` would queue now by hand.
    pub async fn reminders_due(&self, round_id: i64, cutoff: ReminderCutoff) -> anyhow::Result<usize> {
        let mut tx = self.begin().await?;
        Ok(tx.queue_reminders(round_id, "", cutoff, &|_, _| {}).await?.queued)
    }

    /// Queues what one step of a round's schedule is due to send, in a transaction of its own
    /// (the server's schedule, not a coordinator's action).
    pub async fn queue_scheduled_reminders(
        &self,
        round_id: i64,
        occasion: &str,
        cutoff: ReminderCutoff,
    ) -> anyhow::Result<Queued> {
        let mut tx = self.begin().await?;
        let queued = tx.queue_reminders(round_id, occasion, cutoff, &|_, _| {}).await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// Claims the oldest due email (of one round, or of any) and mints a personal link for
    /// it, in one transaction committed before the email is handed to SMTP. A reminder to
    /// someone who answered after it was queued is skipped, never sent. With a `pace` set, or
    /// while the relay's pause lasts, the claim takes its turn (the pace row is locked) and
    /// answers `Wait` when the next email may not go yet.
    pub async fn claim_email(&self, round_id: Option<i64>, claim_seconds: u64, pace: Pace) -> anyhow::Result<Claim> {
        // 0 is no round's id: "any round" to the SQL below.
        let round_id = round_id.unwrap_or(0);
        loop {
            let now = now();
            // Most polls find nothing due: a read says so without taking the writer, which on
            // SQLite respondents' answers are waiting for.
            let due: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= $1 AND ($2 = 0 OR round_id = $2)
                 AND round_id NOT IN (SELECT id FROM rounds WHERE personal_erased_at IS NOT NULL) LIMIT 1",
            )
            .bind(now)
            .bind(round_id)
            .fetch_optional(&self.read)
            .await?;
            if due.is_none() {
                return Ok(Claim::Nothing);
            }
            let paused_until = self.paused_until().await?;
            let paced = pace.is_set() || paused_until > now * 1000;
            // A wait known from a read takes no write lock: senders waiting for their turn (or
            // for a day's limit) must not keep the writer from respondents' answers.
            if paced {
                let marks = Self::pace_marks(&mut *self.read.acquire().await?, pace, paused_until).await?;
                let next = pace.next_at(marks, now_ms());
                if next > now_ms() {
                    return Ok(Claim::Wait { until_ms: next });
                }
            }
            let mut tx = self.write.begin().await?;
            if paced {
                // Take the turn: the pace row's lock (a write, so SQLite takes its writer lock
                // first) makes instances and senders go one at a time; then look again.
                let paused_until: i64 = sqlx::query_scalar(
                    "UPDATE mail_pace SET paused_until = paused_until WHERE id = 1 RETURNING paused_until",
                )
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM mail_handovers WHERE at <= $1")
                    .bind(now_ms() - DAY_MS)
                    .execute(&mut *tx)
                    .await?;
                let marks = Self::pace_marks(&mut tx, pace, paused_until).await?;
                let next = pace.next_at(marks, now_ms());
                if next > now_ms() {
                    tx.rollback().await?;
                    return Ok(Claim::Wait { until_ms: next });
                }
            }
            // On SQLite, one writer at a time: the UPDATE itself is the claim.
            let claim = format!(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_until = $1
                 WHERE id = (SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= $2
                             AND ($3 = 0 OR round_id = $3)
                             -- A round whose addresses were deleted (gallring) sends nothing more.
                             AND round_id NOT IN (SELECT id FROM rounds WHERE personal_erased_at IS NOT NULL)
                             ORDER BY id LIMIT 1{})
                 RETURNING id, round_id, recipient_id, kind, attempts",
                self.engine.lock_rows_skip_locked()
            );
            let Some(row) = sqlx::query_as::<_, ClaimRow>(AssertSqlSafe(claim))
                .bind(now + claim_seconds as i64)
                .bind(now)
                .bind(round_id)
                .fetch_optional(&mut *tx)
                .await?
            else {
                tx.rollback().await?;
                return Ok(Claim::Nothing);
            };
            let kind: Kind = row.kind.parse()?;
            let who: AddresseeRow =
                sqlx::query_as("SELECT email, name, organisation, submitted_on FROM recipients WHERE id = $1")
                    .bind(row.recipient_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if kind == Kind::Reminder && who.submitted_on.is_some() {
                record(&mut tx, row.id, OutboxState::Skipped, Some("har redan svarat"), None).await?;
                tx.commit().await?;
                continue;
            }
            let (token, hash) = token::mint();
            sqlx::query("INSERT INTO tokens (hash, recipient_id, created_at) VALUES ($1, $2, $3)")
                .bind(hash)
                .bind(row.recipient_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if paced {
                sqlx::query("INSERT INTO mail_handovers (at) VALUES ($1)").bind(now_ms()).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            return Ok(Claim::Claimed(Claimed {
                id: row.id,
                round_id: row.round_id,
                kind,
                attempts: row.attempts as u32,
                email: who.email,
                name: who.name,
                organisation: who.organisation,
                token,
            }));
        }
    }

    /// What the pace needs of the handovers of the last day.
    async fn pace_marks(on: &mut AnyConnection, pace: Pace, paused_until: i64) -> anyhow::Result<Marks> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(at) FROM mail_handovers").fetch_one(&mut *on).await?;
        let day_cap_reached_at = match pace.per_day {
            Some(cap) => {
                sqlx::query_scalar("SELECT at FROM mail_handovers WHERE at > $1 ORDER BY at DESC LIMIT 1 OFFSET $2")
                    .bind(now_ms() - DAY_MS)
                    .bind(i64::from(cap.max(1)) - 1)
                    .fetch_optional(&mut *on)
                    .await?
            }
            None => None,
        };
        Ok(Marks { last, day_cap_reached_at, paused_until })
    }

    /// Until when (Unix ms) every sender pauses because the relay asked to slow down.
    pub async fn paused_until(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT paused_until FROM mail_pace WHERE id = 1").fetch_one(&self.read).await?)
    }

    /// The relay asked to slow down: every sender pauses until `until_ms`, and the email goes
    /// back to the queue with its attempt not counted.
    pub async fn email_slowed(&self, id: i64, until_ms: i64, error: &str) -> anyhow::Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE mail_pace SET paused_until = $1 WHERE id = 1 AND paused_until < $1")
            .bind(until_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE outbox SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, id, OutboxState::Queued, Some(error), Some((until_ms + 999) / 1000)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The handovers of the last day (ascending, Unix ms) and the pause: what the estimate of
    /// when a mail-out ends needs.
    pub async fn pace_history(&self) -> anyhow::Result<(Vec<i64>, i64)> {
        let recent: Vec<i64> = sqlx::query_scalar("SELECT at FROM mail_handovers WHERE at > $1 ORDER BY at")
            .bind(now_ms() - DAY_MS)
            .fetch_all(&self.read)
            .await?;
        Ok((recent, self.paused_until().await?))
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
        record(&mut conn, id, OutboxState::Queued, Some(error), Some(at)).await
    }

    /// The line to the relay broke after the whole email was handed over, before the relay
    /// said whether it took it: it may have arrived, so it is never resent blindly.
    pub async fn email_uncertain(&self, id: i64, error: &str) -> anyhow::Result<()> {
        let mut conn = self.write.acquire().await?;
        record(&mut conn, id, OutboxState::Uncertain, Some(error), None).await
    }

    /// The email's Message-ID: the one it was first given, or `fresh` on its first sending.
    pub async fn message_id(&self, id: i64, fresh: &str) -> anyhow::Result<String> {
        sqlx::query("UPDATE outbox SET message_id = $1 WHERE id = $2 AND message_id IS NULL")
            .bind(fresh)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(sqlx::query_scalar("SELECT message_id FROM outbox WHERE id = $1").bind(id).fetch_one(&self.write).await?)
    }

    /// A permanent failure, or too many temporary ones.
    pub async fn email_failed(&self, id: i64, error: &str) -> anyhow::Result<()> {
        let mut conn = self.write.acquire().await?;
        record(&mut conn, id, OutboxState::Failed, Some(error), None).await
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
}

/// Moves a claimed row to its next state. Only a row still claimed (`sending`) moves, so a
/// row another process already settled is left as it is.
async fn record(
    conn: &mut AnyConnection,
    id: i64,
    state: OutboxState,
    error: Option<&str>,
    next_attempt_at: Option<i64>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET state = $1, last_error = $2, next_attempt_at = COALESCE($3, next_attempt_at),
                claimed_until = NULL
         WHERE id = $4 AND state = 'sending'",
    )
    .bind(state.as_str())
    .bind(error)
    .bind(next_attempt_at)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
