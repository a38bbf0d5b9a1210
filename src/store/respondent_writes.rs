//! Respondents' writes (opening a link, saving a draft, submitting) and, on SQLite, the
//! group commit that makes many of them durable with one sync.

use super::now;
use crate::tally::disclosure;
use crate::token;
use sqlx::AnyPool;

/// The writes respondents wait on, many times per questionnaire.
#[derive(Debug)]
pub(super) enum RespondentWrite {
    Opened {
        recipient_id: i64,
        day: String,
    },
    /// `seen`: the draft version the page was shown with.
    Draft {
        recipient_id: i64,
        step: i64,
        raw: String,
        seen: i64,
    },
    Submit {
        recipient_id: i64,
        round_id: i64,
        group: String,
        category: String,
        threshold: u64,
        day: String,
        answers: String,
        seen: i64,
    },
}

impl RespondentWrite {
    /// Runs the write inside the caller's transaction. `false` when it changed nothing
    /// because the recipient had already submitted.
    pub(super) async fn apply(&self, conn: &mut sqlx::AnyConnection) -> anyhow::Result<bool> {
        match self {
            RespondentWrite::Opened { recipient_id, day } => {
                sqlx::query("UPDATE recipients SET opened_on = $1 WHERE id = $2 AND opened_on IS NULL")
                    .bind(day)
                    .bind(recipient_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(true)
            }
            RespondentWrite::Draft { recipient_id, step, raw, seen: 0 } => {
                // The first save locks the recipient's row (an update that changes nothing), as
                // a submission does first: the two cannot both go through.
                if !lock_unsubmitted(conn, *recipient_id).await? {
                    return Ok(false);
                }
                let saved = sqlx::query(
                    "INSERT INTO drafts (recipient_id, step, raw, updated_at, version) VALUES ($1, $2, $3, $4, 1)
                     ON CONFLICT (recipient_id) DO NOTHING",
                )
                .bind(recipient_id)
                .bind(step)
                .bind(raw)
                .bind(now())
                .execute(&mut *conn)
                .await?;
                Ok(saved.rows_affected() > 0)
            }
            // A submitted recipient has no draft, so this also refuses a page sent after submitting.
            RespondentWrite::Draft { recipient_id, step, raw, seen } => {
                let saved = sqlx::query(
                    "UPDATE drafts SET step = $1, raw = $2, updated_at = $3, version = version + 1
                     WHERE recipient_id = $4 AND version = $5",
                )
                .bind(step)
                .bind(raw)
                .bind(now())
                .bind(recipient_id)
                .bind(seen)
                .execute(&mut *conn)
                .await?;
                Ok(saved.rows_affected() > 0)
            }
            RespondentWrite::Submit { recipient_id, round_id, group, category, threshold, day, answers, seen } => {
                // The recipient's row first, then the draft's: the order removing a recipient
                // takes them in, so the two never wait for each other in a circle.
                let marked =
                    sqlx::query("UPDATE recipients SET submitted_on = $1 WHERE id = $2 AND submitted_on IS NULL")
                        .bind(day)
                        .bind(recipient_id)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                if marked == 0 {
                    return Ok(false);
                }
                // The draft must still be the one the page was shown with; if not, the caller
                // undoes the mark above with the rest of this write.
                let current = if *seen == 0 {
                    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM drafts WHERE recipient_id = $1")
                        .bind(recipient_id)
                        .fetch_one(&mut *conn)
                        .await?
                        == 0
                } else {
                    sqlx::query("UPDATE drafts SET version = version + 1 WHERE recipient_id = $1 AND version = $2")
                        .bind(recipient_id)
                        .bind(seen)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected()
                        > 0
                };
                if !current {
                    return Ok(false);
                }
                // A category few recipients share would single them out: it is stored as
                // the group's "övriga". Counted in this write, as the roster stands.
                let sharing: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM recipients WHERE round_id = $1 AND grp = $2 AND category = $3",
                )
                .bind(round_id)
                .bind(group)
                .bind(category)
                .fetch_one(&mut *conn)
                .await?;
                let category = disclosure::stored_category(category, sharing as u64, *threshold);
                sqlx::query("INSERT INTO responses (id, round_id, grp, category, answers) VALUES ($1, $2, $3, $4, $5)")
                    .bind(token::random())
                    .bind(round_id)
                    .bind(group)
                    .bind(category)
                    .bind(answers)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM drafts WHERE recipient_id = $1")
                    .bind(recipient_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(true)
            }
        }
    }
}

/// Locks the row of a recipient who has not submitted (an update that changes nothing);
/// `false` when they have.
async fn lock_unsubmitted(conn: &mut sqlx::AnyConnection, recipient_id: i64) -> anyhow::Result<bool> {
    let locked = sqlx::query("UPDATE recipients SET submitted_on = NULL WHERE id = $1 AND submitted_on IS NULL")
        .bind(recipient_id)
        .execute(&mut *conn)
        .await?;
    Ok(locked.rows_affected() > 0)
}

pub(super) struct PendingWrite {
    pub(super) write: RespondentWrite,
    pub(super) reply: tokio::sync::oneshot::Sender<anyhow::Result<bool>>,
}

/// Most writes to respondents' SQLite rows wait in line for the single writer. The group
/// commit takes all writes waiting at that moment and commits them in one transaction,
/// which writes each changed page once instead of once per write. Every writer hears back
/// only after the commit, so nothing acknowledged can be lost. If the group fails, each
/// write is retried alone, so one bad write cannot fail the others.
pub(super) async fn group_commit(pool: AnyPool, mut pending: tokio::sync::mpsc::Receiver<PendingWrite>) {
    const GROUP: usize = 256;
    while let Some(first) = pending.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP {
            match pending.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        let writes: Vec<&RespondentWrite> = group.iter().map(|p| &p.write).collect();
        match commit_group(&pool, &writes).await {
            Ok(results) => {
                for (p, r) in group.into_iter().zip(results) {
                    let _ = p.reply.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::warn!("a group of {} writes failed, retrying one by one: {e:#}", group.len());
                for p in group {
                    let alone = commit_group(&pool, &[&p.write]).await.map(|r| r[0]);
                    let _ = p.reply.send(alone);
                }
            }
        }
    }
}

async fn commit_group(pool: &AnyPool, writes: &[&RespondentWrite]) -> anyhow::Result<Vec<bool>> {
    let mut tx = pool.begin().await?;
    let mut results = Vec::with_capacity(writes.len());
    for w in writes {
        // Each write in a savepoint of its own: one that changed its mind half-way (a stale
        // page) is undone alone, and the group goes on.
        let mut one = sqlx::Connection::begin(&mut *tx).await?;
        let done = w.apply(&mut one).await?;
        if done {
            one.commit().await?
        } else {
            one.rollback().await?
        }
        results.push(done);
    }
    tx.commit().await?;
    Ok(results)
}
