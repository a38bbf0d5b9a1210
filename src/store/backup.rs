//! Backup and restore of a SQLite database. A backup is a consistent copy taken while the
//! server runs (`VACUUM INTO`, inside one read transaction: every write committed before
//! it began, none after). PostgreSQL has its own tools for this (`pg_dump`, `pg_restore`;
//! see README "Backup and restore").

use super::{Engine, Store};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The SQLite file a `DATABASE_URL` names, if it names one.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    Some(PathBuf::from(path.split('?').next().unwrap_or(path)))
}

const POSTGRES: &str = "DATABASE_URL names PostgreSQL: back it up with `pg_dump --format=custom --file FILE DATABASE` and restore into an empty database with `pg_restore --dbname DATABASE FILE` (see README, Backup and restore)";

/// Writes a consistent copy of the database to `out`, which must not exist yet.
pub async fn backup(store: &Store, out: &Path) -> anyhow::Result<u64> {
    anyhow::ensure!(store.engine() == Engine::Sqlite, POSTGRES);
    anyhow::ensure!(!out.exists(), "{} exists already: a backup never writes over a file", out.display());
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    let target = out.to_str().with_context(|| format!("{} is not a path SQLite can take", out.display()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&store.read)
        .await
        .with_context(|| format!("cannot write the backup {}", out.display()))?;
    Ok(std::fs::metadata(out)?.len())
}

/// Puts a backup in place as the database `url` names, which must not exist yet (or be
/// empty). The file is checked to be a database of this service before anything is moved.
pub async fn restore(url: &str, file: &Path) -> anyhow::Result<PathBuf> {
    let target = sqlite_file(url).context(POSTGRES)?;
    if target.metadata().is_ok_and(|m| m.len() > 0) {
        anyhow::bail!(
            "{} exists already: restore into an empty data folder, or set DATABASE_URL to a new file",
            target.display()
        );
    }
    let head = std::fs::read(file).with_context(|| format!("cannot read the backup {}", file.display()))?;
    anyhow::ensure!(head.starts_with(b"SQLite format 3\0"), "{} is not a SQLite database", file.display());
    // Opened where it lies, read only: is it one of ours?
    sqlx::any::install_default_drivers();
    let probe = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=ro", file.display())).await?;
    let ours: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('_sqlx_migrations', 'responses', 'rounds')",
    )
    .fetch_one(&probe)
    .await?;
    probe.close().await;
    anyhow::ensure!(ours == 3, "{} is a SQLite database, but not a backup of this service", file.display());
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    // Copied beside it, synced, then renamed: a restore cut short leaves no half database.
    let partial = target.with_extension("restoring");
    std::fs::copy(file, &partial).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, &target).with_context(|| format!("cannot write {}", target.display()))?;
    Ok(target)
}
