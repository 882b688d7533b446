//! device-store owns the interviews kept on a field device: one SQLite file (WAL,
//! `synchronous=FULL`) holding each interview's Automerge snapshot plus the
//! incremental chunks appended by every edit, the forms the device knows, the
//! per-install actor id, the enrollment, and the sync bookkeeping (server heads
//! per document, dirty flag, feed cursor).
//!
//! Every edit is one SQLite transaction: a save returns only after the chunk is
//! on disk. The API is synchronous; async callers use `spawn_blocking`. It must
//! not talk to the network, read configuration, or know about HTTP: the
//! sync-client crate drives it.

use std::path::Path;
use std::str::FromStr;

use automerge::{Change, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use survey_model::{Form, Interview, InterviewMeta, InterviewRecord, ModelError, actor_from_uuid};
use uuid::Uuid;

/// Chunks appended before a document is compacted into one snapshot.
pub const COMPACT_AFTER_CHUNKS: i64 = 50;

/// Errors of the device store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("interview {0} not found")]
    NotFound(Uuid),
    #[error("interview {doc}: stored bytes are corrupt: {reason}")]
    Corrupt { doc: Uuid, reason: String },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("form {0} is not on this device")]
    UnknownForm(String),
    #[error("form: {0}")]
    Form(#[from] survey_model::FormError),
    #[error("store metadata is corrupt: {0}")]
    BadMeta(String),
    #[error("the device is not enrolled")]
    NotEnrolled,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What the device got when it enrolled with a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub server_url: String,
    pub device_id: String,
    pub device_token: String,
    pub user_id: String,
    pub user_name: String,
    pub country: String,
    pub campaign: String,
}

/// Where an interview stands with respect to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Has local changes the server has not acknowledged.
    Pending,
    /// The server acknowledged every local change.
    Synced,
}

/// One row of the interview list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterviewSummary {
    pub id: Uuid,
    pub form_id: String,
    pub form_version: u32,
    /// "draft" or "submitted".
    pub status: String,
    pub sync: SyncStatus,
    pub review_state: Option<String>,
    pub city: Option<String>,
    pub segment: Option<String>,
    pub nps: Option<i64>,
    pub comment_count: usize,
    pub conflicts: usize,
    pub created_at: String,
    pub updated_at: i64,
    /// Why the server refused the last push of this interview, if it did.
    pub sync_error: Option<String>,
}

/// Filter for [`DeviceStore::list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub sync: Option<SyncStatus>,
    /// Case-insensitive substring of city, respondent, verbatim or id.
    pub text: Option<String>,
    pub limit: Option<usize>,
}

/// A document's local changes not yet acknowledged by the server.
#[derive(Debug)]
pub struct PendingDoc {
    pub id: Uuid,
    /// Server heads last acknowledged for this document.
    pub base_heads: Vec<ChangeHash>,
    /// Local heads now.
    pub heads: Vec<ChangeHash>,
    /// How many changes `data` holds.
    pub change_count: usize,
    /// Those changes as one compressed Automerge bundle.
    pub data: Vec<u8>,
}

/// The device's interview store.
#[derive(Debug)]
pub struct DeviceStore {
    conn: Connection,
    install_id: Uuid,
}

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

fn encode_heads(h: &[ChangeHash]) -> String {
    h.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parse a comma-separated list of hex change hashes.
pub fn decode_heads(s: &str) -> Result<Vec<ChangeHash>> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| ChangeHash::from_str(p).map_err(|e| StoreError::BadMeta(format!("heads: {e}"))))
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl DeviceStore {
    /// Open (or create) the store at `path`. A store interrupted mid-write
    /// reopens at its last committed transaction.
    pub fn open(path: &Path) -> Result<DeviceStore> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
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

    pub fn get_meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    pub fn enrollment(&self) -> Result<Option<Enrollment>> {
        match self.get_meta("enrollment")? {
            None => Ok(None),
            Some(s) => serde_json::from_str(&s)
                .map(Some)
                .map_err(|e| StoreError::BadMeta(format!("enrollment: {e}"))),
        }
    }

    pub fn set_enrollment(&self, e: &Enrollment) -> Result<()> {
        let s = serde_json::to_string(e).map_err(|e| StoreError::BadMeta(e.to_string()))?;
        self.set_meta("enrollment", &s)
    }

    /// The server feed cursor (0 before the first sync).
    pub fn cursor(&self) -> Result<u64> {
        Ok(self
            .get_meta("cursor")?
            .map(|s| s.parse().map_err(|_| StoreError::BadMeta("cursor".into())))
            .transpose()?
            .unwrap_or(0))
    }

    pub fn set_cursor(&self, cursor: u64) -> Result<()> {
        self.set_meta("cursor", &cursor.to_string())
    }

    /// Store a form definition (validated) so the device can use it offline.
    pub fn put_form(&self, json: &str) -> Result<Form> {
        let form = Form::from_json(json)?;
        self.conn.execute(
            "INSERT INTO forms(form_id, version, json) VALUES (?1, ?2, ?3)
             ON CONFLICT(form_id, version) DO UPDATE SET json = excluded.json",
            params![form.id(), form.version(), json],
        )?;
        Ok(form)
    }

    /// A form by id and version; `None` version means the newest.
    pub fn form(&self, form_id: &str, version: Option<u32>) -> Result<Form> {
        let json: Option<String> = match version {
            Some(v) => self
                .conn
                .query_row(
                    "SELECT json FROM forms WHERE form_id = ?1 AND version = ?2",
                    params![form_id, v],
                    |r| r.get(0),
                )
                .optional()?,
            None => self
                .conn
                .query_row(
                    "SELECT json FROM forms WHERE form_id = ?1 ORDER BY version DESC LIMIT 1",
                    [form_id],
                    |r| r.get(0),
                )
                .optional()?,
        };
        let json = json.ok_or_else(|| StoreError::UnknownForm(form_id.to_owned()))?;
        Ok(Form::from_json(&json)?)
    }

    /// Every (form_id, version) on the device.
    pub fn forms(&self) -> Result<Vec<(String, u32)>> {
        let mut st = self
            .conn
            .prepare("SELECT form_id, version FROM forms ORDER BY form_id, version")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Start a new interview for the enrolled user and persist it.
    pub fn create_interview(&mut self, form: &Form) -> Result<Interview> {
        let e = self.enrollment()?.ok_or(StoreError::NotEnrolled)?;
        let meta = InterviewMeta {
            interview_id: Uuid::now_v7().to_string(),
            form_id: form.id().to_owned(),
            form_version: form.version(),
            campaign: e.campaign,
            country: e.country,
            created_by: e.user_id,
            device_id: e.device_id,
            created_at: survey_model::now().0,
        };
        let mut iv = Interview::create(form, meta, self.actor())?;
        self.save(&mut iv, Some(form))?;
        Ok(iv)
    }

    /// Load an interview: snapshot plus every chunk, with this device's actor.
    pub fn load(&self, id: Uuid) -> Result<Interview> {
        let key = id.to_string();
        let (snapshot, stored_heads): (Vec<u8>, String) = self
            .conn
            .query_row(
                "SELECT snapshot, heads FROM docs WHERE doc_id = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::NotFound(id))?;
        let corrupt = |reason: String| StoreError::Corrupt { doc: id, reason };
        let mut doc = automerge::AutoCommit::load(&snapshot).map_err(|e| corrupt(e.to_string()))?;
        let mut st = self
            .conn
            .prepare_cached("SELECT bytes FROM chunks WHERE doc_id = ?1 ORDER BY seq")?;
        let mut rows = st.query([&key])?;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            doc.load_incremental(&bytes)
                .map_err(|e| corrupt(format!("chunk: {e}")))?;
        }
        if !doc.get_missing_deps(&[]).is_empty() {
            return Err(corrupt("changes with missing dependencies".into()));
        }
        // Automerge skips chunks it cannot parse; the heads written in the same
        // transaction as the chunk tell whether anything was lost.
        let mut want = decode_heads(&stored_heads)?;
        let mut got = doc.get_heads();
        want.sort();
        got.sort();
        if want != got {
            return Err(corrupt(
                "stored chunks do not reach the recorded heads".into(),
            ));
        }
        doc.set_actor(self.actor());
        Interview::from_doc(doc, Some(id)).map_err(|e| corrupt(e.to_string()))
    }

    /// Persist every change of `iv` not yet on disk, in one transaction, and
    /// mark it dirty for sync. Returns after the commit is durable.
    pub fn save(&mut self, iv: &mut Interview, form: Option<&Form>) -> Result<()> {
        self.save_inner(iv, form, Save::Local)
    }

    fn save_inner(&mut self, iv: &mut Interview, form: Option<&Form>, how: Save) -> Result<()> {
        let id = iv.id();
        let key = id.to_string();
        let tx = self.conn.transaction()?;
        let stored: Option<(String, i64, String)> = tx
            .query_row(
                "SELECT heads, chunk_count, status FROM docs WHERE doc_id = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let heads = iv.heads();
        let rec = iv.project(form);
        let summary = serde_json::to_string(&summary_json(&rec)).unwrap_or_default();
        let search = search_text(&rec);
        let now = now_ms();
        match stored {
            None => {
                let snapshot = iv.save();
                tx.execute(
                    "INSERT INTO docs(doc_id, form_id, form_version, snapshot, chunk_count, heads,
                       status, review_state, summary, search, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        key,
                        rec.form_id,
                        rec.form_version,
                        snapshot,
                        encode_heads(&heads),
                        rec.status,
                        rec.review_state,
                        summary,
                        search,
                        rec.created_at,
                        now
                    ],
                )?;
            }
            Some((old_heads, chunks, old_status)) => {
                let old = decode_heads(&old_heads)?;
                if old == heads {
                    return Ok(());
                }
                // Compact when the chunks pile up, and when an interview is
                // submitted: it is then mostly read, rarely edited.
                let submitted_now = old_status != "submitted" && rec.status == "submitted";
                if how == Save::Whole
                    || chunks + 1 >= COMPACT_AFTER_CHUNKS
                    || (submitted_now && chunks > 0)
                {
                    let snapshot = iv.save();
                    tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [&key])?;
                    tx.execute(
                        "UPDATE docs SET snapshot = ?2, chunk_count = 0 WHERE doc_id = ?1",
                        params![key, snapshot],
                    )?;
                } else {
                    let chunk = iv.doc_mut().save_after(&old);
                    tx.execute(
                        "INSERT INTO chunks(doc_id, seq, bytes)
                         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks WHERE doc_id = ?1), ?2)",
                        params![key, chunk],
                    )?;
                    tx.execute(
                        "UPDATE docs SET chunk_count = chunk_count + 1 WHERE doc_id = ?1",
                        [&key],
                    )?;
                }
                tx.execute(
                    "UPDATE docs SET heads = ?2, status = ?3, review_state = ?4, summary = ?5,
                       search = ?6, updated_at = ?7 WHERE doc_id = ?1",
                    params![
                        key,
                        encode_heads(&heads),
                        rec.status,
                        rec.review_state,
                        summary,
                        search,
                        now
                    ],
                )?;
            }
        }
        match how {
            Save::Local => set_dirty(&tx, &key)?,
            Save::Remote => {}
            Save::Whole => {
                set_dirty(&tx, &key)?;
                tx.execute(
                    "UPDATE sync_state SET sync_error = NULL WHERE doc_id = ?1",
                    [&key],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The interview list, newest first.
    pub fn list(&self, f: &ListFilter) -> Result<Vec<InterviewSummary>> {
        let mut sql = String::from(
            "SELECT d.doc_id, d.form_id, d.form_version, d.status, d.review_state, d.summary,
                    d.created_at, d.updated_at, COALESCE(s.dirty, 1), s.sync_error
             FROM docs d LEFT JOIN sync_state s ON s.doc_id = d.doc_id WHERE 1 = 1",
        );
        let mut args: Vec<String> = Vec::new();
        if let Some(st) = &f.status {
            args.push(st.clone());
            sql.push_str(&format!(" AND d.status = ?{}", args.len()));
        }
        if let Some(sync) = f.sync {
            sql.push_str(match sync {
                SyncStatus::Pending => " AND COALESCE(s.dirty, 1) = 1",
                SyncStatus::Synced => " AND COALESCE(s.dirty, 1) = 0",
            });
        }
        if let Some(t) = f.text.as_ref().filter(|t| !t.trim().is_empty()) {
            let esc = t
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            args.push(format!("%{esc}%"));
            sql.push_str(&format!(" AND d.search LIKE ?{} ESCAPE '\\'", args.len()));
        }
        sql.push_str(" ORDER BY d.updated_at DESC, d.doc_id DESC");
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                form_id,
                form_version,
                status,
                review_state,
                summary,
                created_at,
                updated_at,
                dirty,
                sync_error,
            ) = row?;
            let id = Uuid::parse_str(&id).map_err(|e| StoreError::BadMeta(e.to_string()))?;
            let s: serde_json::Value = serde_json::from_str(&summary).unwrap_or_default();
            out.push(InterviewSummary {
                id,
                form_id,
                form_version,
                status,
                sync: if dirty == 0 {
                    SyncStatus::Synced
                } else {
                    SyncStatus::Pending
                },
                review_state,
                city: s["city"].as_str().map(str::to_owned),
                segment: s["segment"].as_str().map(str::to_owned),
                nps: s["nps"].as_i64(),
                comment_count: s["comments"].as_u64().unwrap_or(0) as usize,
                conflicts: s["conflicts"].as_u64().unwrap_or(0) as usize,
                created_at,
                updated_at,
                sync_error,
            });
        }
        Ok(out)
    }

    /// Number of interviews on the device.
    pub fn count(&self) -> Result<usize> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM docs", [], |r| r.get::<_, i64>(0))?
            as usize)
    }

    /// Documents with changes the server has not acknowledged, up to `limit`.
    pub fn pending(&self, limit: usize) -> Result<Vec<PendingDoc>> {
        let ids: Vec<(String, String)> = {
            let mut st = self.conn.prepare(
                "SELECT s.doc_id, s.server_heads FROM sync_state s WHERE s.dirty = 1
                 ORDER BY s.doc_id LIMIT ?1",
            )?;
            let rows = st.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for (id, server) in ids {
            let id = Uuid::parse_str(&id).map_err(|e| StoreError::BadMeta(e.to_string()))?;
            let base_heads = decode_heads(&server)?;
            let mut iv = self.load(id)?;
            let heads = iv.heads();
            // Base heads the local doc does not know (e.g. after a reset) are useless.
            let base: Vec<ChangeHash> = if iv.has_all(&base_heads) {
                base_heads
            } else {
                Vec::new()
            };
            let hashes: Vec<ChangeHash> =
                iv.changes_since(&base).iter().map(Change::hash).collect();
            let data = iv
                .doc_mut()
                .bundle(hashes.iter().copied())
                .map_err(|e| StoreError::Corrupt {
                    doc: id,
                    reason: format!("bundle: {e}"),
                })?
                .bytes()
                .to_vec();
            out.push(PendingDoc {
                id,
                base_heads: base,
                heads,
                change_count: hashes.len(),
                data,
            });
        }
        Ok(out)
    }

    /// Record that the server acknowledged `server_heads` for a document. The
    /// document stays dirty if it has local changes beyond them (edited during
    /// the sync).
    pub fn mark_acknowledged(&mut self, id: Uuid, server_heads: &[ChangeHash]) -> Result<()> {
        let mut iv = self.load(id)?;
        // Covered when the server heads include every local change. If the server
        // has changes this device has not received yet we cannot tell, so the
        // document stays dirty: resending is idempotent.
        let covered = iv.has_all(server_heads) && iv.changes_since(server_heads).is_empty();
        self.conn.execute(
            "INSERT INTO sync_state(doc_id, server_heads, dirty, last_synced_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(doc_id) DO UPDATE SET server_heads = excluded.server_heads,
               dirty = excluded.dirty, last_synced_at = excluded.last_synced_at,
               sync_error = NULL",
            params![
                id.to_string(),
                encode_heads(server_heads),
                i64::from(!covered),
                now_ms()
            ],
        )?;
        Ok(())
    }

    /// Apply changes made elsewhere (coordinator reviews, another device of the
    /// same user). Creates the document if the device does not have it yet.
    /// `server_heads` are the server's heads for the document.
    pub fn apply_remote(
        &mut self,
        id: Uuid,
        changes: Vec<Change>,
        server_heads: &[ChangeHash],
    ) -> Result<()> {
        let mut iv = match self.load(id) {
            Ok(iv) => iv,
            Err(StoreError::NotFound(_)) => {
                let mut iv = Interview::from_changes(changes)?;
                iv.set_actor(self.actor());
                let form = self
                    .form(&iv.meta().form_id, Some(iv.meta().form_version))
                    .ok();
                self.save_inner(&mut iv, form.as_ref(), Save::Remote)?;
                return self.mark_acknowledged(id, server_heads);
            }
            Err(e) => return Err(e),
        };
        iv.apply_changes(changes)?;
        let form = self
            .form(&iv.meta().form_id, Some(iv.meta().form_version))
            .ok();
        self.save_inner(&mut iv, form.as_ref(), Save::Remote)?;
        self.mark_acknowledged(id, server_heads)
    }

    /// Mark a document for the next sync round: the device then tells the
    /// server its heads, and the server sends what the device lacks (used when
    /// feed changes could not be applied for missing dependencies).
    pub fn mark_dirty(&mut self, id: Uuid) -> Result<()> {
        set_dirty(&self.conn, &id.to_string())
    }

    /// The server refused document `id` because its new changes use an actor
    /// that also writes from another device (this store was copied or
    /// restored). Re-make the changes the server does not have with this
    /// store's actor, taking a new actor first if the clashing changes are
    /// this store's current one (see `Interview::reauthor`). `server_heads`
    /// are the server's heads for the document (empty if it has none). The
    /// document stays dirty and is resent. Returns whether the actor changed.
    pub fn resolve_actor_clash(&mut self, id: Uuid, server_heads: &[ChangeHash]) -> Result<bool> {
        let mut iv = self.load(id)?;
        // What the server surely has: the heads it acknowledged to this store
        // and those of its heads this store has; failing both, when the
        // server has the document, its creation change.
        let recorded: Option<String> = self
            .conn
            .query_row(
                "SELECT server_heads FROM sync_state WHERE doc_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let mut base: Vec<ChangeHash> = decode_heads(recorded.as_deref().unwrap_or(""))?;
        base.extend(server_heads.iter().copied());
        base.sort();
        base.dedup();
        base.retain(|h| iv.has_all(std::slice::from_ref(h)));
        if base.is_empty() && !server_heads.is_empty() {
            base = iv
                .changes_since(&[])
                .iter()
                .filter(|c| c.deps().is_empty())
                .map(Change::hash)
                .collect();
        }
        let mine = self.actor();
        let reset = iv
            .changes_since(&base)
            .iter()
            .any(|c| *c.actor_id() == mine);
        if reset {
            self.reset_actor()?;
        }
        let mut fresh = iv.reauthor(&base, self.actor())?;
        let form = self
            .form(&fresh.meta().form_id, Some(fresh.meta().form_version))
            .ok();
        self.save_inner(&mut fresh, form.as_ref(), Save::Whole)?;
        Ok(reset)
    }

    /// Forget the server heads of a document so its whole history is sent
    /// again (the repair path after the server reported missing dependencies).
    pub fn reset_server_heads(&mut self, id: Uuid) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET server_heads = '', dirty = 1 WHERE doc_id = ?1",
            [id.to_string()],
        )?;
        Ok(())
    }

    /// Record (or clear) why the server refused a document, for the UI.
    pub fn set_sync_error(&mut self, id: Uuid, error: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET sync_error = ?2 WHERE doc_id = ?1",
            params![id.to_string(), error],
        )?;
        Ok(())
    }

    /// Last time any document was acknowledged by the server (Unix ms).
    pub fn last_sync_ms(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT MAX(last_synced_at) FROM sync_state", [], |r| {
                r.get(0)
            })?)
    }

    /// Check the SQLite file's integrity (used after crashes and in tests).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// How `save_inner` writes a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Save {
    /// A local edit: appended as a chunk, marked for sync.
    Local,
    /// Changes received from the server: appended, not marked for sync.
    Remote,
    /// A re-authored document: a new snapshot (its history changed), marked
    /// for sync, its last sync error cleared.
    Whole,
}

/// Mark a document for the next sync round.
fn set_dirty(conn: &Connection, key: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_state(doc_id, dirty) VALUES (?1, 1)
         ON CONFLICT(doc_id) DO UPDATE SET dirty = 1",
        [key],
    )?;
    Ok(())
}

fn summary_json(rec: &InterviewRecord) -> serde_json::Value {
    serde_json::json!({
        "city": rec.answer_str("city"),
        "segment": rec.answer_str("segment"),
        "nps": rec.answer_i64("nps"),
        "comments": rec.comment_count,
        "conflicts": rec.conflicts.len(),
    })
}

fn search_text(rec: &InterviewRecord) -> String {
    let mut s = rec.interview_id.clone();
    for k in ["city", "customer_name", "business_name", "verbatim"] {
        if let Some(v) = rec.answer_str(k) {
            s.push(' ');
            s.push_str(&v.chars().take(200).collect::<String>());
        }
    }
    s.to_lowercase()
}
