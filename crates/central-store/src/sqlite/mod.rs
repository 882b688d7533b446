//! The embedded SQLite backend: one writer connection, a small pool of reader
//! connections, WAL with `synchronous=FULL` so a commit is on disk before the
//! server answers. Migrations are append-only and recorded in
//! `schema_migrations`.

mod audit;
mod dashboard;
mod documents;
mod forms;
mod identity;
mod interviews;
mod sessions;
mod transfer;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, Transaction, params};

use crate::{Result, StoreStats};

/// Append-only migrations; index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE users (
  id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
  countries TEXT NOT NULL, password_hash TEXT, active INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL);
CREATE TABLE devices (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), label TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL, last_sync_at INTEGER,
  revoked_at INTEGER);
CREATE INDEX devices_user ON devices(user_id);
CREATE TABLE enrollment_codes (
  code_hash BLOB PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE INDEX enrollment_user ON enrollment_codes(user_id);
CREATE TABLE api_tokens (
  token_hash BLOB PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), label TEXT NOT NULL,
  created_at INTEGER NOT NULL, revoked_at INTEGER);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE forms (
  form_id TEXT NOT NULL, version INTEGER NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY (form_id, version));
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, owner TEXT NOT NULL,
  hash BLOB NOT NULL UNIQUE, actor BLOB NOT NULL, source TEXT NOT NULL, bytes BLOB NOT NULL,
  received_at INTEGER NOT NULL);
CREATE INDEX changes_doc ON changes(doc_id, seq);
CREATE INDEX changes_owner ON changes(owner, seq);
CREATE TABLE documents (
  doc_id TEXT PRIMARY KEY, owner TEXT NOT NULL, country TEXT NOT NULL, snapshot BLOB NOT NULL,
  heads BLOB NOT NULL, version INTEGER NOT NULL, updated_seq INTEGER NOT NULL);
CREATE TABLE interviews (
  doc_id TEXT PRIMARY KEY, campaign TEXT NOT NULL, country TEXT NOT NULL, form_id TEXT NOT NULL,
  form_version INTEGER NOT NULL, created_by TEXT NOT NULL, device_id TEXT NOT NULL,
  created_at TEXT NOT NULL, status TEXT NOT NULL, submitted_at TEXT, review_state TEXT,
  city TEXT, segment TEXT, area_type TEXT, nps INTEGER, has_complaint TEXT,
  updated_at INTEGER NOT NULL, updated_seq INTEGER NOT NULL, record TEXT NOT NULL);
CREATE INDEX interviews_country ON interviews(country, created_at);
CREATE INDEX interviews_review ON interviews(country, review_state);
CREATE INDEX interviews_user ON interviews(created_by);
CREATE INDEX interviews_seq ON interviews(updated_seq);
",
    // 2: dashboard sessions; satisfaction and complaint columns for fast
    // aggregates, with a covering index, back-filled from the stored records.
    r"
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX sessions_expiry ON sessions(expires_at);
ALTER TABLE interviews ADD COLUMN sat_network INTEGER;
ALTER TABLE interviews ADD COLUMN sat_shop INTEGER;
ALTER TABLE interviews ADD COLUMN sat_call_centre INTEGER;
ALTER TABLE interviews ADD COLUMN sat_billing INTEGER;
ALTER TABLE interviews ADD COLUMN sat_mobile_money INTEGER;
ALTER TABLE interviews ADD COLUMN complaint_categories TEXT;
UPDATE interviews SET
  sat_network = json_extract(record, '$.answers.sat_network'),
  sat_shop = json_extract(record, '$.answers.sat_shop'),
  sat_call_centre = json_extract(record, '$.answers.sat_call_centre'),
  sat_billing = json_extract(record, '$.answers.sat_billing'),
  sat_mobile_money = json_extract(record, '$.answers.sat_mobile_money'),
  complaint_categories = (SELECT ',' || group_concat(value, ',') || ','
    FROM json_each(record, '$.answers.complaint_categories'));
CREATE INDEX interviews_created ON interviews(created_at);
CREATE INDEX interviews_agg ON interviews(country, city, segment, created_by, review_state,
  nps, has_complaint, sat_network, sat_shop, sat_call_centre, sat_billing, sat_mobile_money);
",
    // 3: the review queue pages and counts on a covering index in its sort order.
    r"
DROP INDEX interviews_created;
CREATE INDEX interviews_queue ON interviews(created_at, doc_id, country, city, segment,
  review_state, nps, complaint_categories);
",
    // 4: which device each Automerge actor writes from (actor-clone detection),
    // and the feed cursor last handed to each device (restore detection).
    r"
CREATE INDEX changes_actor ON changes(actor, source);
ALTER TABLE devices ADD COLUMN feed_cursor INTEGER NOT NULL DEFAULT 0;
",
];

const READERS: usize = 4;

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
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
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
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
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

central_store_impl!(SqliteStore);

fn stats(store: &SqliteStore) -> Result<StoreStats> {
    store.read(|c| {
        let n =
            |sql: &str| -> Result<u64> { Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64) };
        Ok(StoreStats {
            changes: n("SELECT COUNT(*) FROM changes")?,
            documents: n("SELECT COUNT(*) FROM documents")?,
            users: n("SELECT COUNT(*) FROM users")?,
            devices: n("SELECT COUNT(*) FROM devices")?,
            max_seq: n("SELECT COALESCE(MAX(seq), 0) FROM changes")?,
        })
    })
}

fn ping(store: &SqliteStore) -> Result<()> {
    store.read(|c| {
        Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .map(|_| ())?)
    })
}
