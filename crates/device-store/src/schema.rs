//! The SQLite schema, opening the store, and this install's actor id.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use survey_model::actor_from_uuid;
use uuid::Uuid;

use crate::{DeviceStore, Result, StoreError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS forms (
  form_id TEXT NOT NULL, version INTEGER NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY (form_id, version));
CREATE TABLE IF NOT EXISTS docs (
  doc_id TEXT PRIMARY KEY,
  form_id TEXT NOT NULL, form_version INTEGER NOT NULL,
  snapshot BLOB NOT NULL, chunk_count INTEGER NOT NULL DEFAULT 0,
  heads TEXT NOT NULL,
  status TEXT NOT NULL, review_state TEXT,
  summary TEXT NOT NULL, search TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS docs_updated ON docs(updated_at DESC);
CREATE TABLE IF NOT EXISTS chunks (
  doc_id TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
  PRIMARY KEY (doc_id, seq));
CREATE TABLE IF NOT EXISTS sync_state (
  doc_id TEXT PRIMARY KEY, server_heads TEXT NOT NULL DEFAULT '',
  dirty INTEGER NOT NULL DEFAULT 1, last_synced_at INTEGER, sync_error TEXT);
CREATE INDEX IF NOT EXISTS sync_dirty ON sync_state(dirty) WHERE dirty = 1;
";

/// Schema changes after [`SCHEMA`], in order; `PRAGMA user_version` counts
/// those applied. Append only.
const MIGRATIONS: &[&str] = &[
    // The number of changes in `snapshot` (NULL: unknown, written before
    // this column): lets a never-synced document be pushed as its stored
    // snapshot without loading it.
    "ALTER TABLE docs ADD COLUMN snapshot_changes INTEGER;",
];

/// Create the tables of a new store, or bring an older one up to date.
fn migrate(conn: &Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = MIGRATIONS.len() as i64;
    if version == current {
        return Ok(());
    }
    if version > current {
        return Err(StoreError::BadMeta(format!(
            "store schema version {version} is newer than this app knows ({current})"
        )));
    }
    // Rolled back on drop if any step fails.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    // The base tables (kept as first written, `IF NOT EXISTS`), then the
    // changes this store lacks: all of them for a new store or one from
    // before versioning (version 0).
    tx.execute_batch(SCHEMA)?;
    for m in &MIGRATIONS[version as usize..] {
        tx.execute_batch(m)?;
    }
    tx.pragma_update(None, "user_version", current)?;
    Ok(tx.commit()?)
}

impl DeviceStore {
    /// Open (or create) the store at `path`. A store interrupted mid-write
    /// reopens at its last committed transaction.
    ///
    /// An encrypted store is refused ([`StoreError::NeedsKey`]): use
    /// [`DeviceStore::open_encrypted`].
    pub fn open(path: &Path) -> Result<DeviceStore> {
        if crate::file_state(path)? == crate::FileState::Encrypted {
            return Err(StoreError::NeedsKey);
        }
        DeviceStore::init(Connection::open(path)?)
    }

    /// Set the connection up (WAL, full sync, schema) and read the install id.
    pub(crate) fn init(conn: Connection) -> Result<DeviceStore> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows are zeroed: a replaced document's old history (erased
        // personal data) does not linger in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Keep the WAL files when the store closes (emptied, not deleted):
        // a store opened and closed at every sync (the app's restarts, the
        // simulated field day) does not create and delete two files each time.
        conn.file_control(
            Some(rusqlite::MAIN_DB),
            rusqlite::FileControl::PersistWal(&mut 1),
        )?;
        migrate(&conn)?;
        let install = conn
            .query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?;
        let install_id = match install {
            Some(s) => Uuid::parse_str(&s).map_err(|e| StoreError::BadMeta(e.to_string()))?,
            None => {
                let id = Uuid::new_v4();
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('install_id', ?1)",
                    [id.to_string()],
                )?;
                id
            }
        };
        Ok(DeviceStore { conn, install_id })
    }

    /// This install's id; its bytes are the Automerge actor id. Never shared:
    /// a copied or restored store must call [`DeviceStore::reset_actor`].
    pub fn install_id(&self) -> Uuid {
        self.install_id
    }

    /// Give this store a fresh actor (after restoring a backup or cloning a device).
    pub fn reset_actor(&mut self) -> Result<Uuid> {
        let id = Uuid::new_v4();
        self.set_meta("install_id", &id.to_string())?;
        self.install_id = id;
        Ok(id)
    }

    pub fn actor(&self) -> automerge::ActorId {
        actor_from_uuid(self.install_id)
    }

    /// Check the SQLite file's integrity (used after crashes and in tests).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}
