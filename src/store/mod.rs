//! Storage: SQLite by default, PostgreSQL when the URL says so. Both engines share the SQL
//! of this folder (through sqlx's `Any` driver and `$n` placeholders); where they differ,
//! `Engine` says how and why. Every write a user waits on is one transaction, committed
//! before the user hears of it.
//!
//! This file owns the connections, the pragmas, the group commit and the pools, which no
//! other part of the crate sees. Each other file holds one aggregate's operations:
//! `rounds` (and their emails' texts), `recipients` (the roster and its links), `respondents`
//! (drafts and submissions), `accounts` (and sessions), `outbox`, `audit`, `responses` (for
//! analysis) and `settings`.
//!
//! Reads are methods of `Store`. A coordinator's action is a `Tx`: its writes and its audit
//! entry commit together or not at all.

mod accounts;
mod audit;
pub mod backup;
mod gallring;
mod incidents;
mod mail_status;
mod outbox;
mod recipients;
mod respondent_writes;
mod respondents;
mod responses;
mod rounds;
mod settings;

pub use accounts::{Account, LoginAttempt, now_ms};
pub use incidents::{Filed, ReportLink, StoredReport};
pub use outbox::Claim;
pub use recipients::{ImportOutcome, MintedLink, RecipientState, Removal, RosterUpload};
pub use respondents::{Respondent, StoredResponse, Submission};
pub use responses::ResponseBatch;
pub use rounds::RoundSummary;

use crate::seal::DraftKey;
use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The few places where the two engines need different SQL.
impl Engine {
    /// Appended to a SELECT whose rows a transaction is about to decide on. PostgreSQL runs
    /// transactions side by side, so the rows are locked; SQLite has one writer at a time, so
    /// a write transaction already excludes every other.
    fn lock_rows(self) -> &'static str {
        match self {
            Engine::Postgres => " FOR UPDATE",
            Engine::Sqlite => "",
        }
    }

    /// As `lock_rows`, for a claim among several servers: each skips rows another has locked.
    fn lock_rows_skip_locked(self) -> &'static str {
        match self {
            Engine::Postgres => " FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        }
    }

    /// An aggregate joining a text column of many rows into one, a line each, in `order`:
    /// the function has a different name on each engine, and only PostgreSQL's takes an order.
    fn join_lines(self, column: &str, order: &str) -> String {
        match self {
            Engine::Sqlite => format!("group_concat({column}, char(10))"),
            Engine::Postgres => format!("string_agg({column}, chr(10) ORDER BY {order})"),
        }
    }

    /// The statements that rewrite the tables whose physical order could tell who answered
    /// when. PostgreSQL keeps rows in the order they were written, so a plain read (or a dump)
    /// would list responses in the order recipients answered; CLUSTER rewrites them in key
    /// order. SQLite stores `responses` in the order of its random keys (WITHOUT ROWID), and
    /// an update leaves a recipient's row where it was: nothing to do.
    fn conceal_order(self) -> &'static [&'static str] {
        match self {
            Engine::Postgres => &["CLUSTER responses USING responses_pkey", "CLUSTER recipients USING recipients_pkey"],
            // The WAL holds pages in the order they were written; a checkpoint that
            // truncates it leaves nothing of that order beside the database file.
            Engine::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
        }
    }
}

#[derive(Clone)]
pub struct Store {
    /// Reads run concurrently.
    read: AnyPool,
    /// On SQLite a single connection takes every write, so writers queue in the process
    /// instead of failing with "database is locked". On PostgreSQL it is the same pool as `read`.
    write: AnyPool,
    engine: Engine,
    /// On SQLite, respondents' writes are committed in groups (see `respondent_writes::group_commit`).
    group_commit: Option<tokio::sync::mpsc::Sender<respondent_writes::PendingWrite>>,
    /// The key drafts are sealed under, kept outside the database; set once by the server
    /// (every clone shares it). Without it, drafts can be neither read nor saved.
    draft_key: Arc<OnceLock<DraftKey>>,
}

/// A coordinator's action: writes that commit together with their audit entry, or not at all.
/// Dropped without `commit`, everything in it is rolled back.
///
/// On SQLite a `Tx` holds the only write connection: while one is open, call no other write
/// of the `Store` (reads are fine).
pub struct Tx {
    tx: sqlx::Transaction<'static, Any>,
    engine: Engine,
}

impl Tx {
    pub async fn commit(self) -> anyhow::Result<()> {
        self.tx.commit().await.context("the database did not commit the change")
    }

    pub async fn rollback(self) -> anyhow::Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

/// Rows per multi-row INSERT in bulk work (roster import, minting links).
const BATCH: usize = 400;

/// What the draft key check seals.
const KEY_CHECK: &str = "lagesbild draft key";

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn parse_date(s: &str) -> anyhow::Result<jiff::civil::Date> {
    s.parse().with_context(|| format!("bad date `{s}` in the database"))
}

/// `($1, $2, $3), ($4, $5, $6), ...` for a multi-row INSERT.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=columns).map(|c| format!("${}", r * columns + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

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
                .context("cannot connect to PostgreSQL (DATABASE_URL)")?;
            Store {
                read: pool.clone(),
                write: pool,
                engine: Engine::Postgres,
                group_commit: None,
                draft_key: Arc::default(),
            }
        } else {
            let file = backup::sqlite_file(url).context("not a SQLite URL")?;
            let path = file.to_str().context("the SQLite file's path is not text")?;
            if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
            }
            let url = format!("sqlite://{path}?mode=rwc");
            let pragmas = |pool: AnyPoolOptions| {
                pool.after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL lets readers run beside the writer. FULL syncs the log at every
                        // commit: NORMAL would keep commits through a crash of the process but
                        // not through a power cut or an OS crash, and everything written here
                        // is acknowledged to someone. The group commit keeps it one sync per
                        // group of respondents' writes (BENCHMARKS.md measures the cost).
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
                        // Deleted rows (a draft once its response is stored) are overwritten
                        // with zeros, not left readable in free pages of the file.
                        sqlx::query("PRAGMA secure_delete = ON").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        Ok(())
                    })
                })
            };
            let write = pragmas(AnyPoolOptions::new().max_connections(1))
                .connect(&url)
                .await
                .with_context(|| format!("cannot open the SQLite database {path} (DATABASE_URL)"))?;
            let read = pragmas(AnyPoolOptions::new().max_connections(8)).connect(&url).await?;
            let (queue, pending) = tokio::sync::mpsc::channel(1024);
            tokio::spawn(respondent_writes::group_commit(write.clone(), pending));
            Store { read, write, engine: Engine::Sqlite, group_commit: Some(queue), draft_key: Arc::default() }
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Gives the store the key drafts are sealed under (see `seal.rs`), and seals any draft
    /// stored before drafts were sealed.
    /// Returns how many drafts were sealed now (the rest of the older versions lie in
    /// SQLite's WAL until the next checkpoint, see `conceal_order`).
    pub async fn use_draft_key(&self, key: DraftKey) -> anyhow::Result<usize> {
        const WRONG_KEY: &str = "DRAFT_KEY_FILE is not the key this database's drafts were sealed with: start with the key file that belongs to this database (every server instance of one database needs the same file)";
        // A database whose drafts were sealed before it kept a check: the key must open one.
        if let Some((recipient_id, sealed)) = self.a_sealed_draft().await?
            && key.open(recipient_id, &sealed).is_err()
        {
            anyhow::bail!(WRONG_KEY);
        }
        // Recipient id 0 is nobody's: the check cannot stand in for a draft.
        let check = self.draft_key_check(&key.seal(0, KEY_CHECK)).await?;
        if key.open(0, &check).ok().as_deref() != Some(KEY_CHECK) {
            anyhow::bail!(WRONG_KEY);
        }
        if self.draft_key.set(key).is_err() {
            anyhow::bail!("the draft key was set twice");
        }
        let sealed = self.seal_old_drafts().await?;
        if sealed > 0 && self.engine == Engine::Postgres {
            // The unsealed versions stay in dead rows until the table is rewritten.
            sqlx::query("VACUUM FULL drafts").execute(&self.write).await?;
        }
        Ok(sealed)
    }

    fn draft_key(&self) -> anyhow::Result<&DraftKey> {
        self.draft_key.get().context("drafts are sealed, and the draft key is not loaded (DRAFT_KEY_FILE)")
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.engine {
            Engine::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Engine::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator.run(&self.write).await.context("cannot apply the database migrations")
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Starts a coordinator's action (see `Tx`).
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(Tx { tx: self.write.begin().await?, engine: self.engine })
    }
}

#[cfg(test)]
mod tests {
    use super::{DraftKey, Store};

    #[tokio::test]
    async fn every_sqlite_connection_syncs_each_commit_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/lagesbild.db", dir.path().display())).await.unwrap();
        // 2 is FULL: a commit is on disk before anyone is told it was saved.
        for pool in [&store.write, &store.read] {
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap();
            assert_eq!(level, 2);
            let zeroed: i64 = sqlx::query_scalar("PRAGMA secure_delete").fetch_one(pool).await.unwrap();
            assert_eq!(zeroed, 1);
        }
    }

    #[tokio::test]
    async fn a_draft_key_other_than_the_databases_own_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/lagesbild.db", dir.path().display());
        let first = Store::connect(&url).await.unwrap();
        first.use_draft_key(DraftKey::from_bytes(&[1; 32])).await.unwrap();
        let again = Store::connect(&url).await.unwrap();
        again.use_draft_key(DraftKey::from_bytes(&[1; 32])).await.unwrap();
        let other = Store::connect(&url).await.unwrap();
        let e = other.use_draft_key(DraftKey::from_bytes(&[2; 32])).await.unwrap_err().to_string();
        assert!(e.contains("DRAFT_KEY_FILE") && e.contains("not the key"), "{e}");
    }

    #[tokio::test]
    async fn concealing_the_order_truncates_the_sqlite_wal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/lagesbild.db", dir.path().display())).await.unwrap();
        store.secret().await.unwrap();
        let wal = dir.path().join("lagesbild.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0, "the writes are in the WAL");
        store.conceal_order().await.unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    }
}
