//! Storage: SQLite by default, PostgreSQL when the URL says so. Both engines share the SQL
//! below (through sqlx's `Any` driver and `$n` placeholders); only the migrations differ.
//! Every write a user waits on is one transaction, committed before the user hears of it.

use crate::roster::RosterRow;
use crate::round::Round;
use crate::survey::{Answers, RawAnswers, RosterAttributes};
use crate::token;
use anyhow::Context;
use jiff::civil::Date;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    /// Reads run concurrently.
    pub(crate) read: AnyPool,
    /// On SQLite a single connection takes every write, so writers queue in the process
    /// instead of failing with "database is locked". On PostgreSQL it is the same pool as `read`.
    pub(crate) write: AnyPool,
    pub engine: Engine,
    /// On SQLite, respondents' writes are committed in groups (see `group_commit`).
    group_commit: Option<tokio::sync::mpsc::Sender<PendingWrite>>,
}

/// Rows per multi-row INSERT in bulk work (roster import, minting links).
const BATCH: usize = 400;

/// A recipient found by one of their tokens: what the form needs, and nothing that identifies them.
#[derive(Debug, Clone)]
pub struct Respondent {
    pub recipient_id: i64,
    pub round_id: i64,
    pub round_title: String,
    pub opens_on: Date,
    pub closes_on: Date,
    pub roster: RosterAttributes,
    pub opened: bool,
    pub submitted_on: Option<Date>,
    /// The saved draft: the step to show and what was typed so far.
    pub draft: (usize, RawAnswers),
}

/// A personal link just minted, with whom it is for; the token is shown once and never stored.
#[derive(Debug, Clone)]
pub struct MintedLink {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    pub added: usize,
    pub already_present: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Stored,
    AlreadySubmitted,
}

#[derive(Debug, Clone)]
pub struct RoundSummary {
    pub round: Round,
    pub recipients: i64,
    pub submitted: i64,
}

/// A submitted response as stored: anonymous by construction.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub id: String,
    pub group: String,
    pub category: String,
    pub submitted_on: String,
    pub answers: Answers,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn parse_date(s: &str) -> anyhow::Result<Date> {
    s.parse().with_context(|| format!("bad date `{s}` in the database"))
}

fn round_from(row: &AnyRow) -> anyhow::Result<Round> {
    Ok(Round {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        survey_id: row.try_get("survey_id")?,
        title: row.try_get("title")?,
        year: row.try_get("year")?,
        opens_on: parse_date(&row.try_get::<String, _>("opens_on")?)?,
        closes_on: parse_date(&row.try_get::<String, _>("closes_on")?)?,
        definition: row.try_get("definition")?,
        disclosure_threshold: row.try_get::<i64, _>("disclosure_threshold")? as u64,
    })
}

/// `($1, $2, $3), ($4, $5, $6), ...` for a multi-row INSERT.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=columns).map(|c| format!("${}", r * columns + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

const ROUND_COLUMNS: &str = "id, key, survey_id, title, year, opens_on, closes_on, definition, disclosure_threshold";

impl Store {
    /// Opens (creating the SQLite file and its folder if needed) and migrates the database.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .context("cannot connect to PostgreSQL")?;
            Store { read: pool.clone(), write: pool, engine: Engine::Postgres, group_commit: None }
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            let path = path.split('?').next().unwrap_or(path);
            if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
            }
            let url = format!("sqlite://{path}?mode=rwc");
            let pragmas = |pool: AnyPoolOptions| {
                pool.after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL lets readers run beside the writer; NORMAL syncs at checkpoints, which in
                        // WAL mode keeps every commit through a crash of the process.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        Ok(())
                    })
                })
            };
            let write = pragmas(AnyPoolOptions::new().max_connections(1))
                .connect(&url)
                .await
                .with_context(|| format!("cannot open the SQLite database {path}"))?;
            let read = pragmas(AnyPoolOptions::new().max_connections(8)).connect(&url).await?;
            let (queue, pending) = tokio::sync::mpsc::channel(1024);
            tokio::spawn(group_commit(write.clone(), pending));
            Store { read, write, engine: Engine::Sqlite, group_commit: Some(queue) }
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.engine {
            Engine::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Engine::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator.run(&self.write).await.context("cannot apply the database migrations")
    }

    pub async fn healthy(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    /// The key that signs CSRF tokens. Kept in the database so that every server instance
    /// sharing it uses the same one; the first instance to start creates it.
    pub async fn secret(&self) -> anyhow::Result<Vec<u8>> {
        let (fresh, _) = token::mint();
        sqlx::query("INSERT INTO settings (name, value) VALUES ('secret', $1) ON CONFLICT (name) DO NOTHING")
            .bind(fresh)
            .execute(&self.write)
            .await?;
        let value: String =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'secret'").fetch_one(&self.read).await?;
        Ok(value.into_bytes())
    }

    /// Creates a round; `None` if a round with that key exists already.
    pub async fn create_round(&self, r: &Round) -> anyhow::Result<Option<Round>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO rounds (key, survey_id, title, year, opens_on, closes_on, definition, created_at, disclosure_threshold)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key) DO NOTHING RETURNING {ROUND_COLUMNS}"
        )))
        .bind(&r.key)
        .bind(&r.survey_id)
        .bind(&r.title)
        .bind(r.year)
        .bind(r.opens_on.to_string())
        .bind(r.closes_on.to_string())
        .bind(&r.definition)
        .bind(now())
        .bind(r.disclosure_threshold as i64)
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(round_from).transpose()
    }

    pub async fn round(&self, key: &str) -> anyhow::Result<Option<Round>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE key = $1")))
            .bind(key)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(round_from).transpose()
    }

    pub async fn round_by_id(&self, id: i64) -> anyhow::Result<Round> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1")))
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        round_from(&row)
    }

    pub async fn rounds(&self) -> anyhow::Result<Vec<RoundSummary>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ROUND_COLUMNS},
                    (SELECT COUNT(*) FROM recipients WHERE round_id = rounds.id) AS recipients,
                    (SELECT COUNT(*) FROM recipients WHERE round_id = rounds.id AND submitted_on IS NOT NULL) AS submitted
             FROM rounds ORDER BY year DESC, key"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RoundSummary {
                    round: round_from(row)?,
                    recipients: row.try_get("recipients")?,
                    submitted: row.try_get("submitted")?,
                })
            })
            .collect()
    }

    /// Adds the rows not yet on the round's roster, all in one transaction. A recipient is
    /// the same when the (lower-cased) address is, so importing a file twice adds nobody twice.
    pub async fn import_roster(
        &self,
        round_id: i64,
        rows: &[RosterRow],
        progress: &dyn Fn(usize),
    ) -> anyhow::Result<ImportOutcome> {
        let mut tx = self.write.begin().await?;
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
                    .bind(&r.email)
                    .bind(&r.name)
                    .bind(&r.organisation)
                    .bind(&r.group)
                    .bind(&r.category)
                    .bind(created);
            }
            added += q.execute(&mut *tx).await?.rows_affected() as usize;
            progress((n + 1) * BATCH);
        }
        tx.commit().await?;
        Ok(ImportOutcome { added, already_present: rows.len() - added })
    }

    /// Mints a new personal link token for each recipient of the round (only those who have
    /// not answered when `pending_only`) and returns (email, token). Earlier tokens keep working.
    pub async fn mint_tokens(&self, round_id: i64, pending_only: bool) -> anyhow::Result<Vec<(String, String)>> {
        Ok(self.mint_links(round_id, pending_only).await?.into_iter().map(|l| (l.email, l.token)).collect())
    }

    /// As `mint_tokens`, with each recipient's name and organisation for a mail merge.
    pub async fn mint_links(&self, round_id: i64, pending_only: bool) -> anyhow::Result<Vec<MintedLink>> {
        let filter = if pending_only { " AND submitted_on IS NULL" } else { "" };
        let recipients = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, email, name, organisation FROM recipients WHERE round_id = $1{filter} ORDER BY id"
        )))
        .bind(round_id)
        .fetch_all(&self.read)
        .await?;
        let mut links = Vec::with_capacity(recipients.len());
        let mut tx = self.write.begin().await?;
        let created = now();
        for chunk in recipients.chunks(BATCH) {
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO tokens (hash, recipient_id, created_at) VALUES {}",
                placeholders(chunk.len(), 3)
            )));
            for row in chunk {
                let (token, hash) = token::mint();
                links.push(MintedLink {
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    organisation: row.try_get("organisation")?,
                    token,
                });
                q = q.bind(hash).bind(row.try_get::<i64, _>("id")?).bind(created);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(links)
    }

    /// The recipient a token belongs to, if it belongs to one.
    pub async fn respondent(&self, token_hash: &str) -> anyhow::Result<Option<Respondent>> {
        let row = sqlx::query(
            "SELECT r.id, r.round_id, r.grp, r.category, r.opened_on, r.submitted_on, o.title, o.opens_on, o.closes_on,
                    d.step, d.raw
             FROM tokens t JOIN recipients r ON r.id = t.recipient_id JOIN rounds o ON o.id = r.round_id
             LEFT JOIN drafts d ON d.recipient_id = r.id
             WHERE t.hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Respondent {
            recipient_id: row.try_get("id")?,
            round_id: row.try_get("round_id")?,
            round_title: row.try_get("title")?,
            opens_on: parse_date(&row.try_get::<String, _>("opens_on")?)?,
            closes_on: parse_date(&row.try_get::<String, _>("closes_on")?)?,
            roster: RosterAttributes { group: row.try_get("grp")?, category: row.try_get("category")? },
            opened: row.try_get::<Option<String>, _>("opened_on")?.is_some(),
            submitted_on: row.try_get::<Option<String>, _>("submitted_on")?.as_deref().map(parse_date).transpose()?,
            draft: match (row.try_get::<Option<i64>, _>("step")?, row.try_get::<Option<String>, _>("raw")?) {
                (Some(step), Some(raw)) => (step as usize, serde_json::from_str(&raw)?),
                _ => (0, RawAnswers::new()),
            },
        }))
    }

    /// Records the day a recipient first opened their link (shown to the coordinator, who
    /// may then follow up on links that never arrived).
    pub async fn mark_opened(&self, recipient_id: i64, today: Date) -> anyhow::Result<()> {
        self.respondent_write(RespondentWrite::Opened { recipient_id, day: today.to_string() }).await?;
        Ok(())
    }

    /// Saves the draft, unless the recipient has already submitted (a second tab may still be open).
    pub async fn save_draft(&self, recipient_id: i64, step: usize, raw: &RawAnswers) -> anyhow::Result<()> {
        let raw = serde_json::to_string(raw)?;
        self.respondent_write(RespondentWrite::Draft { recipient_id, step: step as i64, raw }).await?;
        Ok(())
    }

    /// Stores a response and marks the recipient as having answered, in one transaction.
    /// The response row carries no link to the recipient: a random id, the roster group and
    /// category, the day and the answers. Of two concurrent submissions exactly one is stored.
    pub async fn submit(&self, who: &Respondent, today: Date, answers: &Answers) -> anyhow::Result<Submission> {
        let write = RespondentWrite::Submit {
            recipient_id: who.recipient_id,
            round_id: who.round_id,
            group: who.roster.group.clone(),
            category: who.roster.category.clone(),
            day: today.to_string(),
            answers: serde_json::to_string(answers)?,
        };
        Ok(if self.respondent_write(write).await? { Submission::Stored } else { Submission::AlreadySubmitted })
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
        tx.commit().await?;
        Ok(done)
    }

    /// PostgreSQL keeps rows in the order they were written, so a plain read (or a dump) of
    /// `responses` and `recipients` would list responses in the order recipients answered.
    /// Rewriting both tables in key order (random ids for responses, import order for
    /// recipients) removes that order; the server does this a few minutes after submissions.
    /// SQLite needs nothing: `responses` is stored in the order of its random keys, and an
    /// update leaves a recipient's row where it was.
    pub async fn conceal_order(&self) -> anyhow::Result<()> {
        if self.engine == Engine::Postgres {
            sqlx::query("CLUSTER responses USING responses_pkey").execute(&self.write).await?;
            sqlx::query("CLUSTER recipients USING recipients_pkey").execute(&self.write).await?;
        }
        Ok(())
    }

    /// The round's stored responses, in the order of their random ids.
    pub async fn responses(&self, round_id: i64) -> anyhow::Result<Vec<StoredResponse>> {
        let rows = sqlx::query(
            "SELECT id, grp, category, submitted_on, answers FROM responses WHERE round_id = $1 ORDER BY id",
        )
        .bind(round_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredResponse {
                    id: row.try_get("id")?,
                    group: row.try_get("grp")?,
                    category: row.try_get("category")?,
                    submitted_on: row.try_get("submitted_on")?,
                    answers: serde_json::from_str(&row.try_get::<String, _>("answers")?)?,
                })
            })
            .collect()
    }
}

/// The writes respondents wait on, many times per questionnaire.
#[derive(Debug)]
enum RespondentWrite {
    Opened { recipient_id: i64, day: String },
    Draft { recipient_id: i64, step: i64, raw: String },
    Submit { recipient_id: i64, round_id: i64, group: String, category: String, day: String, answers: String },
}

impl RespondentWrite {
    /// Runs the write inside the caller's transaction. `false` when it changed nothing
    /// because the recipient had already submitted.
    async fn apply(&self, conn: &mut sqlx::AnyConnection) -> anyhow::Result<bool> {
        match self {
            RespondentWrite::Opened { recipient_id, day } => {
                sqlx::query("UPDATE recipients SET opened_on = $1 WHERE id = $2 AND opened_on IS NULL")
                    .bind(day)
                    .bind(recipient_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(true)
            }
            RespondentWrite::Draft { recipient_id, step, raw } => {
                let saved = sqlx::query(
                    "INSERT INTO drafts (recipient_id, step, raw, updated_at)
                     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM recipients WHERE id = $1 AND submitted_on IS NULL)
                     ON CONFLICT (recipient_id) DO UPDATE SET step = excluded.step, raw = excluded.raw, updated_at = excluded.updated_at",
                )
                .bind(recipient_id)
                .bind(step)
                .bind(raw)
                .bind(now())
                .execute(&mut *conn)
                .await?;
                Ok(saved.rows_affected() > 0)
            }
            RespondentWrite::Submit { recipient_id, round_id, group, category, day, answers } => {
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
                sqlx::query(
                    "INSERT INTO responses (id, round_id, grp, category, submitted_on, answers) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(token::mint().0)
                .bind(round_id)
                .bind(group)
                .bind(category)
                .bind(day)
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

struct PendingWrite {
    write: RespondentWrite,
    reply: tokio::sync::oneshot::Sender<anyhow::Result<bool>>,
}

/// Most writes to respondents' SQLite rows wait in line for the single writer. The group
/// commit takes all writes waiting at that moment and commits them in one transaction,
/// which writes each changed page once instead of once per write. Every writer hears back
/// only after the commit, so nothing acknowledged can be lost. If the group fails, each
/// write is retried alone, so one bad write cannot fail the others.
async fn group_commit(pool: AnyPool, mut pending: tokio::sync::mpsc::Receiver<PendingWrite>) {
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
        results.push(w.apply(&mut tx).await?);
    }
    tx.commit().await?;
    Ok(results)
}
