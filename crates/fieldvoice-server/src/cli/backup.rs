//! `admin backup`, `admin restore` and `admin verify`: a consistent online
//! copy of the embedded store while the server serves syncs (SQLite's online
//! backup API), a restore into an empty location checked against its backup,
//! and a comparison of any two stores (SQLite or PostgreSQL): every table's
//! row count, the dashboard's totals and every document's heads. For
//! PostgreSQL, backups are `pg_dump`/`pg_restore` (README, "Operations").

use std::path::Path;

use anyhow::{Context, bail};
use central_store::transfer::{Inventory, compare};
use central_store::{PgStore, SqliteStore};

use super::config::{is_postgres_url, redact_url};

fn sqlite_path(database: &str) -> &str {
    database.strip_prefix("sqlite://").unwrap_or(database)
}

/// Open an existing store (SQLite path or PostgreSQL URL) for comparison.
fn open(database: &str) -> anyhow::Result<Box<dyn Inventory>> {
    if is_postgres_url(database) {
        let s = PgStore::connect(database)
            .with_context(|| format!("opening PostgreSQL store {}", redact_url(database)))?;
        return Ok(Box::new(s));
    }
    let path = sqlite_path(database);
    if !Path::new(path).exists() {
        bail!("store {path} does not exist");
    }
    Ok(Box::new(
        SqliteStore::open(Path::new(path))
            .with_context(|| format!("opening SQLite store {path}"))?,
    ))
}

/// Copy the configured SQLite store to `out` while it is in use.
pub fn backup(database: &str, out: &Path) -> anyhow::Result<()> {
    if is_postgres_url(database) {
        bail!(
            "admin backup copies the embedded SQLite store; for PostgreSQL use pg_dump \
             (README, \"Operations\")"
        );
    }
    let path = sqlite_path(database);
    if !Path::new(path).exists() {
        bail!("store {path} does not exist");
    }
    let t = std::time::Instant::now();
    SqliteStore::backup(Path::new(path), out)
        .with_context(|| format!("backing up {path} to {}", out.display()))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    super::announce(&format!(
        "backup of {path} written to {} ({bytes} bytes, {:.1?}; integrity ok)",
        out.display(),
        t.elapsed()
    ));
    Ok(())
}

/// Restore the backup `from` into the configured location, which must not
/// hold a store yet; then migrate it forward if it is older, and check it
/// equals the backup.
pub fn restore(database: &str, from: &Path) -> anyhow::Result<()> {
    if is_postgres_url(database) {
        bail!("admin restore writes an embedded SQLite store; for PostgreSQL use pg_restore");
    }
    let path = sqlite_path(database);
    if Path::new(path).exists() {
        bail!("{path} already exists: restore only into an empty location");
    }
    if !from.exists() {
        bail!("backup {} does not exist", from.display());
    }
    SqliteStore::backup(from, Path::new(path))
        .with_context(|| format!("restoring {} into {path}", from.display()))?;
    // Opening migrates a backup of an older server forward and refuses one
    // made by a newer server. The comparison reads a scratch copy of the
    // backup, so the backup file itself is never opened for writing.
    let restored = open(path)?;
    let scratch = tempfile::tempdir()?;
    let copy = scratch.path().join("backup.sqlite3");
    SqliteStore::backup(from, &copy)?;
    let backup = open(&copy.display().to_string())?;
    let cmp = compare(backup.as_ref(), restored.as_ref()).context("comparing")?;
    super::migrate_store::print_comparison(&cmp, "backup", "restored");
    if !cmp.is_equal() {
        bail!("the restored store differs from its backup");
    }
    super::announce(&format!(
        "restored {} into {path}: identical",
        from.display()
    ));
    Ok(())
}

/// Compare the configured store with `other`; fails when they differ.
pub fn verify(database: &str, other: &str) -> anyhow::Result<()> {
    let (a, b) = (open(database)?, open(other)?);
    let cmp = compare(a.as_ref(), b.as_ref()).context("comparing")?;
    super::migrate_store::print_comparison(&cmp, "this", "other");
    if !cmp.is_equal() {
        bail!("the stores differ; see the comparison above");
    }
    super::announce("verify: identical");
    Ok(())
}
