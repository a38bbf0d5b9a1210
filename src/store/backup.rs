//! Backup and restore of a SQLite database. A backup is a consistent copy taken while the
//! server runs (`VACUUM INTO`, inside one read transaction: every write committed before
//! it began, none after). PostgreSQL has its own tools for this (`pg_dump`, `pg_restore`;
//! see README "Backup and restore").

use super::{Engine, Store};
use anyhow::Context;
use std::io::Read;
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

/// A path SQLite's URL can carry as it is.
fn plain(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .filter(|p| !p.contains(['?', '#', '%']))
        .with_context(|| format!("{}: use a path without ?, # or %", path.display()))
}

/// Refuses to start on a database that does not exist: a mistyped DATABASE_URL would
/// otherwise back up a new, empty one.
pub fn existing(url: &str) -> anyhow::Result<()> {
    if let Some(file) = sqlite_file(url) {
        anyhow::ensure!(file.exists(), "{} does not exist: check DATABASE_URL", file.display());
    }
    Ok(())
}

/// Writes a consistent copy of the database to `out`, which must not exist yet. Written
/// beside it, synced, readable by its owner only (it holds the roster), then renamed: a
/// backup cut short leaves no file that looks whole.
pub async fn backup(store: &Store, out: &Path) -> anyhow::Result<u64> {
    anyhow::ensure!(store.engine() == Engine::Sqlite, POSTGRES);
    anyhow::ensure!(!out.exists(), "{} exists already: a backup never writes over a file", out.display());
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
    let partial = dir.join(format!(".{}.partial", crate::token::random()));
    let written = async {
        sqlx::query("VACUUM INTO $1").bind(plain(&partial)?).execute(&store.read).await?;
        #[cfg(unix)]
        std::fs::set_permissions(&partial, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        std::fs::File::open(&partial)?.sync_all()?;
        // Linked into place: fails, rather than writes over, if `out` appeared meanwhile.
        std::fs::hard_link(&partial, out)?;
        anyhow::Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&partial);
    written.with_context(|| format!("cannot write the backup {}", out.display()))?;
    Ok(std::fs::metadata(out)?.len())
}

/// Puts a backup in place as the database `url` names, where no database is yet. The file
/// is checked first (a SQLite file, whole, with this service's tables), and nothing is put
/// in place unless all of it is.
pub async fn restore(url: &str, file: &Path) -> anyhow::Result<PathBuf> {
    let target = sqlite_file(url).context(POSTGRES)?;
    for side in ["", "-wal", "-shm", "-journal"] {
        let path = PathBuf::from(format!("{}{side}", target.display()));
        anyhow::ensure!(
            !path.exists(),
            "{} exists already: restore into an empty data folder, or set DATABASE_URL to a new file",
            path.display()
        );
    }
    let mut head = [0u8; 16];
    std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|_| anyhow::anyhow!("{} is not a SQLite database", file.display()))?;
    anyhow::ensure!(&head == b"SQLite format 3\0", "{} is not a SQLite database", file.display());
    // Opened where it lies, read only: whole, and one of ours?
    sqlx::any::install_default_drivers();
    let probe = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=ro", plain(file)?)).await?;
    let whole: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&probe).await?;
    let ours: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('_sqlx_migrations', 'responses', 'rounds')",
    )
    .fetch_one(&probe)
    .await?;
    probe.close().await;
    anyhow::ensure!(whole == "ok", "{} is damaged ({whole}): take another backup", file.display());
    anyhow::ensure!(ours == 3, "{} is a SQLite database, but not a backup of this service", file.display());
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
    // Copied beside it, synced, then linked into place (never over a file that appeared
    // meanwhile): a restore cut short leaves no half database.
    let partial = dir.join(format!(".{}.restoring", crate::token::random()));
    let placed = (|| {
        std::fs::copy(file, &partial)?;
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::hard_link(&partial, &target)
    })();
    let _ = std::fs::remove_file(&partial);
    placed.with_context(|| format!("cannot write {}", target.display()))?;
    Ok(target)
}
