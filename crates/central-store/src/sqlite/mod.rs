//! The embedded SQLite backend: one writer connection, a small pool of reader
//! connections, WAL with `synchronous=FULL` so a commit is on disk before the
//! server answers. Migrations are append-only and recorded in
//! `schema_migrations`.

mod actions;
mod audit;
mod cases;
mod dashboard;
mod documents;
mod fieldops;
mod forms;
mod identity;
mod interviews;
mod sessions;
mod transfer;
mod webhooks;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Params, Row, Transaction, params};

use crate::columns::Value;
use crate::query::{Binder, Bound};
use crate::{Result, StoreStats};

/// Append-only migrations, one `.sql` file each in `migrations/`; index + 1
/// is the schema version recorded in `schema_migrations`. They are history:
/// never edit one, add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_sessions_dashboard_columns.sql"),
    include_str!("migrations/0003_review_queue_index.sql"),
    include_str!("migrations/0004_actor_index_feed_cursor.sql"),
    include_str!("migrations/0005_form_versions_places.sql"),
    include_str!("migrations/0006_assignments_quotas.sql"),
    include_str!("migrations/0007_paradata_checks.sql"),
    include_str!("migrations/0008_user_language.sql"),
    include_str!("migrations/0009_aggregate_index_places_checks.sql"),
    include_str!("migrations/0010_cases.sql"),
    include_str!("migrations/0011_webhooks.sql"),
    include_str!("migrations/0012_actions.sql"),
    include_str!("migrations/0013_contact_erasure.sql"),
    include_str!("migrations/0014_theme_codebooks.sql"),
    include_str!("migrations/0015_document_rewrite.sql"),
    include_str!("migrations/0016_change_batches.sql"),
    include_str!("migrations/0017_drop_prefix_indexes.sql"),
];

const READERS: usize = 4;

/// Page cache per connection, in KiB (negative: SQLite's unit for KiB).
const CACHE_KIB: i64 = -16 * 1024;

/// WAL pages between automatic checkpoints (see [`open_conn`]).
const WAL_CHECKPOINT_PAGES: i64 = 10_000;

/// The SQLite central store.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted content is overwritten with zeros, so erased personal data
    // (rewritten documents' old changes) does not linger in free pages, nor
    // in backups that copy them.
    conn.pragma_update(None, "secure_delete", "ON")?;
    // A page cache large enough for the hot indexes of a field day (the
    // default 2 MB re-reads them from the OS at every burst write).
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    // Checkpoint every ~40 MB of WAL instead of every 4 MB (the default
    // 1,000 pages): a hot page (an index's upper levels, a table's last leaf)
    // written by many commits is copied into the database once per
    // checkpoint, so fewer checkpoints copy fewer pages. A field-day replay
    // writes ~13% fewer bytes and spends ~8% less CPU per interview.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
    // One plan per statement: without this, binding a new value to a
    // parameter that a partial index's condition was compared against
    // expires the cached statement, and every device sign-in and event
    // insert parsed its SQL again (4% of a sync's CPU).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

/// Run `f` in an immediate (write-locking) transaction, committed when it
/// returns `Ok`, rolled back otherwise.
fn immediate<T>(conn: &mut Connection, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves SQLite itself consistent (the
    // transaction rolls back on drop), so the poison flag can be ignored.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SqliteStore {
    /// Open (creating and migrating) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let mut writer = open_conn(path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open_conn(path).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next: AtomicUsize::new(0),
        })
    }

    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // Prefer a free reader; otherwise wait on the next in turn.
        for r in &self.readers {
            if let Ok(conn) = r.try_lock() {
                return f(&conn);
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        f(&lock(&self.readers[i]))
    }

    pub(super) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        immediate(&mut lock(&self.writer), f)
    }

    /// A write whose commit does not wait for the disk: derived data and
    /// bookkeeping (cross-interview checks, a device's last sync) that a
    /// crash may lose without losing anything acknowledged. In WAL mode the
    /// next durable commit ([`Self::write`]) syncs these frames too; a crash
    /// before it rolls them back whole, never half-written.
    pub(super) fn write_relaxed<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = lock(&self.writer);
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        let out = immediate(&mut conn, f);
        conn.execute_batch("PRAGMA synchronous = FULL")?;
        out
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> Result<i64> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
                    r.get(0)
                })?,
            )
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
           version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let have: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    crate::check_schema(have, MIGRATIONS.len())?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations(version, applied_at) VALUES (?1, ?2)",
            params![i as i64 + 1, crate::unix_now()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Every row of `sql`, read with a shared mapper ([`crate::rows`]).
pub(super) fn all<T>(
    c: &Connection,
    sql: &str,
    p: impl Params,
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare_cached(sql)?;
    let mut rows = st.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(r)?);
    }
    Ok(out)
}

/// The first row of `sql`, if any, read with a shared mapper.
pub(super) fn first<T>(
    c: &Connection,
    sql: &str,
    p: impl Params,
    f: impl FnOnce(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut st = c.prepare_cached(sql)?;
    let mut rows = st.query(p)?;
    rows.next()?.map(f).transpose()
}

/// Values as SQLite binds them, `?N`; a list is expanded.
impl Bound for SqlValue {
    const MARK: char = '?';
    fn from_value(v: Value) -> SqlValue {
        match v {
            Value::Text(Some(s)) => SqlValue::Text(s),
            Value::Int(Some(n)) => SqlValue::Integer(n),
            Value::Text(None) | Value::Int(None) => SqlValue::Null,
        }
    }
    fn one_of(args: &mut Vec<SqlValue>, col: &str, vs: &[String]) -> String {
        let marks: Vec<String> = vs.iter().map(|v| args.text(v.clone())).collect();
        format!("{col} IN ({})", marks.join(","))
    }
}

central_store_impl!(SqliteStore);

fn stats(store: &SqliteStore) -> Result<StoreStats> {
    store.read(|c| {
        let n =
            |sql: &str| -> Result<u64> { Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64) };
        Ok(StoreStats {
            changes: n("SELECT COALESCE(SUM(length(hashes)), 0) / 32 FROM change_batches")?,
            documents: n("SELECT COUNT(*) FROM documents")?,
            users: n("SELECT COUNT(*) FROM users")?,
            devices: n("SELECT COUNT(*) FROM devices")?,
            max_seq: n(crate::sql::MAX_SEQ.sqlite())?,
        })
    })
}

/// After an erasure: fold the WAL into the database and truncate it, so the
/// old pages' bytes (frames written before the deletion) leave the WAL file.
fn scrub_free_space(store: &SqliteStore) -> Result<()> {
    let conn = lock(&store.writer);
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

fn ping(store: &SqliteStore) -> Result<()> {
    store.read(|c| {
        Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .map(|_| ())?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::interview_schema;

    #[test]
    fn table_matches_the_migrated_sqlite_schema() {
        let path = std::env::temp_dir().join(format!("columns-{}.db", uuid::Uuid::new_v4()));
        let store = SqliteStore::open(&path).unwrap();
        let mut have = store.table_columns("interviews").unwrap();
        have.sort();
        let want: Vec<(String, String)> = interview_schema(true)
            .into_iter()
            .map(|(n, t)| (n.to_owned(), t.to_owned()))
            .collect();
        drop(store);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
        assert_eq!(have, want);
    }
}
