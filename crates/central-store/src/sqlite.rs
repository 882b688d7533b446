//! The embedded SQLite backend: one writer connection, a small pool of reader
//! connections, WAL with `synchronous=FULL` so a commit is on disk before the
//! server answers. Migrations are append-only and recorded in
//! `schema_migrations`.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use survey_model::InterviewRecord;
use uuid::Uuid;

use crate::{
    AuditEntry, CentralStore, Device, DocWrite, FeedItem, FeedPage, Hash, InterviewFilter, NewUser,
    Result, Role, StoreError, StoreStats, StoredDoc, User, hash_hex, heads_blob, heads_from_blob,
    record_from_json,
};

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

pub(crate) fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get("role")?;
    let countries: String = r.get("countries")?;
    Ok(User {
        id: r.get("id")?,
        login: r.get("login")?,
        name: r.get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Employee),
        countries: countries
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        active: r.get::<_, i64>("active")? != 0,
        created_at: r.get("created_at")?,
    })
}

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        label: r.get("label")?,
        created_at: r.get("created_at")?,
        last_sync_at: r.get("last_sync_at")?,
        revoked: r.get::<_, Option<i64>>("revoked_at")?.is_some(),
        feed_cursor: r.get::<_, i64>("feed_cursor")?.max(0) as u64,
    })
}

pub(crate) const USER_COLS: &str =
    "u.id, u.login, u.name, u.role, u.countries, u.active, u.created_at";

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

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // Prefer a free reader; otherwise wait on the next in turn.
        for r in &self.readers {
            if let Ok(conn) = r.try_lock() {
                return f(&conn);
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        f(&lock(&self.readers[i]))
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
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

/// WHERE clause and arguments for an interview filter.
fn interview_where(f: &InterviewFilter) -> (String, Vec<String>) {
    let mut sql = String::from(" WHERE 1 = 1");
    let mut args: Vec<String> = Vec::new();
    if !f.countries.is_empty() {
        let marks: Vec<String> = f
            .countries
            .iter()
            .map(|c| {
                args.push(c.clone());
                format!("?{}", args.len())
            })
            .collect();
        sql.push_str(&format!(" AND country IN ({})", marks.join(",")));
    }
    for (col, v) in [
        ("created_by", &f.created_by),
        ("city", &f.city),
        ("segment", &f.segment),
        ("review_state", &f.review_state),
        ("status", &f.status),
    ] {
        if let Some(v) = v {
            args.push(v.clone());
            sql.push_str(&format!(" AND {col} = ?{}", args.len()));
        }
    }
    if let Some(seq) = f.since_seq {
        args.push(seq.to_string());
        sql.push_str(&format!(
            " AND updated_seq > CAST(?{} AS INTEGER)",
            args.len()
        ));
    }
    (sql, args)
}

impl CentralStore for SqliteStore {
    fn create_user(&self, u: &NewUser, now: i64) -> Result<User> {
        let id = Uuid::now_v7().to_string();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO users(id, login, name, role, countries, password_hash, active, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)",
                params![
                    id,
                    u.login,
                    u.name,
                    u.role.as_str(),
                    u.countries.join(","),
                    u.password_hash,
                    now
                ],
            )
            .map_err(|e| match StoreError::from(e) {
                StoreError::Duplicate(_) => StoreError::Duplicate(format!("login {}", u.login)),
                other => other,
            })?;
            Ok(())
        })?;
        Ok(u.to_user(id, now))
    }

    fn user(&self, id: &str) -> Result<Option<User>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"),
                [id],
                user_from_row,
            )
            .optional()?)
        })
    }

    fn user_by_login(&self, login: &str) -> Result<Option<(User, Option<String>)>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.login = ?1"),
                [login],
                |r| Ok((user_from_row(r)?, r.get("password_hash")?)),
            )
            .optional()?)
        })
    }

    fn list_users(&self, country: Option<&str>) -> Result<Vec<User>> {
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {USER_COLS} FROM users u
                 WHERE ?1 IS NULL OR (',' || u.countries || ',') LIKE ('%,' || ?1 || ',%')
                 ORDER BY u.login"
            ))?;
            let rows = st.query_map([country], user_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![user_id, hash],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("user {user_id}")));
            }
            Ok(())
        })
    }

    fn add_enrollment_code(&self, user_id: &str, code_hash: &Hash, expires_at: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM enrollment_codes WHERE user_id = ?1 AND used_at IS NULL",
                [user_id],
            )?;
            tx.execute(
                "INSERT INTO enrollment_codes(code_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                params![&code_hash[..], user_id, expires_at],
            )?;
            Ok(())
        })
    }

    fn redeem_enrollment(
        &self,
        code_hash: &Hash,
        now: i64,
        device_id: &str,
        label: &str,
        token_hash: &Hash,
    ) -> Result<User> {
        self.write(|tx| {
            let user_id: Option<String> = tx
                .query_row(
                    "UPDATE enrollment_codes SET used_at = ?2
                     WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                     RETURNING user_id",
                    params![&code_hash[..], now],
                    |r| r.get(0),
                )
                .optional()?;
            let user_id = user_id.ok_or(StoreError::InvalidCode)?;
            let user = tx
                .query_row(
                    &format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1 AND u.active = 1"),
                    [&user_id],
                    user_from_row,
                )
                .optional()?
                .ok_or(StoreError::InvalidCode)?;
            tx.execute(
                "INSERT INTO devices(id, user_id, label, token_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device_id, user_id, label, &token_hash[..], now],
            )?;
            Ok(user)
        })
    }

    fn device_by_token(&self, token_hash: &Hash) -> Result<Option<(Device, User)>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT d.id AS d_id, d.user_id, d.label, d.created_at AS d_created,
                            d.last_sync_at, d.revoked_at, d.feed_cursor, {USER_COLS}
                     FROM devices d JOIN users u ON u.id = d.user_id
                     WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.active = 1"
                ),
                [&token_hash[..]],
                |r| {
                    Ok((
                        Device {
                            id: r.get("d_id")?,
                            user_id: r.get("user_id")?,
                            label: r.get("label")?,
                            created_at: r.get("d_created")?,
                            last_sync_at: r.get("last_sync_at")?,
                            revoked: false,
                            feed_cursor: r.get::<_, i64>("feed_cursor")?.max(0) as u64,
                        },
                        user_from_row(r)?,
                    ))
                },
            )
            .optional()?)
        })
    }

    fn list_devices(&self, user_ids: Option<&[String]>) -> Result<Vec<Device>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, user_id, label, created_at, last_sync_at, revoked_at, feed_cursor FROM devices
                 ORDER BY created_at",
            )?;
            let rows = st.query_map([], device_from_row)?;
            let all: Vec<Device> = rows.collect::<rusqlite::Result<_>>()?;
            Ok(match user_ids {
                None => all,
                Some(ids) => all
                    .into_iter()
                    .filter(|d| ids.contains(&d.user_id))
                    .collect(),
            })
        })
    }

    fn revoke_device(&self, device_id: &str, now: i64) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![device_id, now],
            )? > 0)
        })
    }

    fn touch_device(&self, device_id: &str, now: i64, feed_cursor: u64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE devices SET last_sync_at = ?2, feed_cursor = ?3 WHERE id = ?1",
                params![
                    device_id,
                    now,
                    i64::try_from(feed_cursor).unwrap_or(i64::MAX)
                ],
            )?;
            Ok(())
        })
    }

    fn actor_used_elsewhere(&self, actor: &[u8], source: &str) -> Result<bool> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT EXISTS(SELECT 1 FROM changes WHERE actor = ?1 AND source <> ?2)",
                params![actor, source],
                |r| r.get::<_, bool>(0),
            )?)
        })
    }

    fn add_api_token(&self, user_id: &str, token_hash: &Hash, label: &str, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_tokens(token_hash, user_id, label, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![&token_hash[..], user_id, label, now],
            )?;
            Ok(())
        })
    }

    fn user_by_api_token(&self, token_hash: &Hash) -> Result<Option<User>> {
        self.read(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id
                     WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.active = 1"
                ),
                [&token_hash[..]],
                user_from_row,
            )
            .optional()?)
        })
    }

    fn audit(&self, e: &AuditEntry) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![e.at, e.actor, e.action, e.target, e.detail],
            )?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = st.query_map([limit as i64], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    target: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn put_form(&self, form_id: &str, version: u32, json: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO forms(form_id, version, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT(form_id, version) DO UPDATE SET json = excluded.json",
                params![form_id, version, json],
            )?;
            Ok(())
        })
    }

    fn forms(&self) -> Result<Vec<(String, u32, String)>> {
        self.read(|c| {
            let mut st =
                c.prepare("SELECT form_id, version, json FROM forms ORDER BY form_id, version")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn load_doc(&self, id: Uuid) -> Result<Option<StoredDoc>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT owner, country, snapshot, version FROM documents WHERE doc_id = ?1",
                [id.to_string()],
                |r| {
                    Ok(StoredDoc {
                        doc_id: id,
                        owner: r.get(0)?,
                        country: r.get(1)?,
                        snapshot: r.get(2)?,
                        version: r.get(3)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn doc_changes(&self, id: Uuid) -> Result<Vec<Vec<u8>>> {
        self.read(|c| {
            let mut st = c.prepare("SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq")?;
            let rows = st.query_map([id.to_string()], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn commit_docs(&self, writes: &[DocWrite]) -> Result<()> {
        let now = crate::unix_now();
        self.write(|tx| {
            let mut ins_change = tx.prepare_cached(
                "INSERT INTO changes(doc_id, owner, hash, actor, source, bytes, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(hash) DO NOTHING",
            )?;
            for w in writes {
                let key = w.doc_id.to_string();
                for c in &w.changes {
                    ins_change.execute(params![
                        key,
                        w.owner,
                        &c.hash[..],
                        c.actor,
                        w.source,
                        c.bytes,
                        now
                    ])?;
                }
                let seq: i64 = tx.query_row(
                    "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE doc_id = ?1",
                    [&key],
                    |r| r.get(0),
                )?;
                match w.expected_version {
                    None => {
                        let n = tx.execute(
                            "INSERT INTO documents(doc_id, owner, country, snapshot, heads, version, updated_seq)
                             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT(doc_id) DO NOTHING",
                            params![key, w.owner, w.country, w.snapshot, heads_blob(&w.heads), seq],
                        )?;
                        if n == 0 {
                            return Err(StoreError::Conflict(w.doc_id));
                        }
                    }
                    Some(v) => {
                        let n = tx.execute(
                            "UPDATE documents SET snapshot = ?2, heads = ?3, version = version + 1,
                               updated_seq = ?4 WHERE doc_id = ?1 AND version = ?5",
                            params![key, w.snapshot, heads_blob(&w.heads), seq, v],
                        )?;
                        if n == 0 {
                            return Err(StoreError::Conflict(w.doc_id));
                        }
                    }
                }
                let r = &w.record;
                let record = serde_json::to_string(r)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                tx.execute(
                    "INSERT INTO interviews(doc_id, campaign, country, form_id, form_version, created_by,
                       device_id, created_at, status, submitted_at, review_state, city, segment,
                       area_type, nps, has_complaint, updated_at, updated_seq, record)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
                     ON CONFLICT(doc_id) DO UPDATE SET status = excluded.status,
                       submitted_at = excluded.submitted_at, review_state = excluded.review_state,
                       city = excluded.city, segment = excluded.segment, area_type = excluded.area_type,
                       nps = excluded.nps, has_complaint = excluded.has_complaint,
                       updated_at = excluded.updated_at, updated_seq = excluded.updated_seq,
                       record = excluded.record",
                    params![
                        key,
                        r.campaign,
                        r.country,
                        r.form_id,
                        r.form_version,
                        r.created_by,
                        r.device_id,
                        r.created_at,
                        r.status,
                        r.submitted_at,
                        r.review_state,
                        r.answer_str("city"),
                        r.answer_str("segment"),
                        r.answer_str("area_type"),
                        r.answer_i64("nps"),
                        r.answer_str("has_complaint"),
                        now,
                        seq,
                        record
                    ],
                )?;
                crate::sqlite_dashboard::fill_dashboard_columns(tx, &key, r)?;
            }
            Ok(())
        })
    }

    fn feed(
        &self,
        owner: &str,
        exclude_source: &str,
        after: u64,
        max_changes: usize,
        max_bytes: usize,
    ) -> Result<FeedPage> {
        self.read(|c| {
            // One read transaction: the items and the high-water mark agree.
            c.execute_batch("BEGIN")?;
            let out = (|| {
                let top: i64 =
                    c.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
                        r.get(0)
                    })?;
                let mut st = c.prepare_cached(
                    "SELECT seq, doc_id, bytes FROM changes
                     WHERE owner = ?1 AND seq > ?2 AND source <> ?3 ORDER BY seq LIMIT ?4",
                )?;
                let rows = st.query_map(
                    params![
                        owner,
                        i64::try_from(after).unwrap_or(i64::MAX),
                        exclude_source,
                        max_changes as i64 + 1
                    ],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                        ))
                    },
                )?;
                let items = rows.map(|r| {
                    let (seq, doc, bytes) = r?;
                    Ok(FeedItem {
                        seq: seq as u64,
                        doc_id: Uuid::parse_str(&doc)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        bytes,
                    })
                });
                crate::page_feed(items, after, top as u64, max_changes, max_bytes)
            })();
            c.execute_batch("COMMIT")?;
            out
        })
    }

    fn doc_heads(&self, id: Uuid) -> Result<Vec<Hash>> {
        self.read(|c| {
            let b: Option<Vec<u8>> = c
                .query_row(
                    "SELECT heads FROM documents WHERE doc_id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            b.map_or(Ok(Vec::new()), |b| heads_from_blob(&b))
        })
    }

    fn interview(&self, id: Uuid) -> Result<Option<InterviewRecord>> {
        let s: Option<String> = self.read(|c| {
            Ok(c.query_row(
                "SELECT record FROM interviews WHERE doc_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        s.map(|s| record_from_json(&s)).transpose()
    }

    fn list_interviews(&self, f: &InterviewFilter) -> Result<Vec<InterviewRecord>> {
        let (w, args) = interview_where(f);
        let sql = format!(
            "SELECT record FROM interviews{w} ORDER BY created_at DESC, doc_id LIMIT {} OFFSET {}",
            f.limit.unwrap_or(100).min(10_000),
            f.offset.unwrap_or(0)
        );
        let rows: Vec<String> = self.read(|c| {
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        rows.iter().map(|s| record_from_json(s)).collect()
    }

    fn count_interviews(&self, f: &InterviewFilter) -> Result<u64> {
        let (w, args) = interview_where(f);
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT COUNT(*) FROM interviews{w}"),
                rusqlite::params_from_iter(args.iter()),
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    fn for_each_interview(
        &self,
        f: &InterviewFilter,
        visit: &mut dyn FnMut(InterviewRecord, u64) -> Result<()>,
    ) -> Result<()> {
        const PAGE: usize = 2000;
        let (w, args) = interview_where(f);
        let mut after = String::new();
        loop {
            // Keyset pagination: each page is a short read, memory stays flat.
            let mut page_args = args.clone();
            page_args.push(after.clone());
            let sql = format!(
                "SELECT doc_id, record, updated_seq FROM interviews{w} AND doc_id > ?{}
                 ORDER BY doc_id LIMIT {PAGE}",
                page_args.len()
            );
            let rows: Vec<(String, String, i64)> = self.read(|c| {
                let mut st = c.prepare_cached(&sql)?;
                let rows = st.query_map(rusqlite::params_from_iter(page_args.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })?;
            let n = rows.len();
            for (id, rec, seq) in rows {
                visit(record_from_json(&rec)?, seq as u64)?;
                after = id;
            }
            if n < PAGE {
                return Ok(());
            }
        }
    }

    fn change_log(&self, id: Uuid) -> Result<Vec<crate::ChangeMeta>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT seq, hash, source, received_at FROM changes WHERE doc_id = ?1 ORDER BY seq",
            )?;
            let rows = st.query_map([id.to_string()], |r| {
                let hash: Vec<u8> = r.get(1)?;
                Ok(crate::ChangeMeta {
                    seq: r.get::<_, i64>(0)? as u64,
                    hash: hash_hex(&hash),
                    source: r.get(2)?,
                    received_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn campaign_stats(&self, f: &InterviewFilter) -> Result<crate::dashboard::CampaignStats> {
        let (w, args) = interview_where(f);
        self.read(|c| crate::sqlite_dashboard::campaign_stats(c, &w, &args))
    }

    fn review_queue(
        &self,
        q: &crate::dashboard::ReviewQuery,
    ) -> Result<crate::dashboard::ReviewPage> {
        let mut base = q.base.clone();
        base.review_state = None;
        let (w, args) = interview_where(&base);
        let page = self.read(|c| crate::sqlite_dashboard::review_queue(c, q, w, args))?;
        Ok(crate::dashboard::ReviewPage {
            total: page.0,
            items: page
                .1
                .iter()
                .map(|s| record_from_json(s))
                .collect::<Result<_>>()?,
        })
    }

    fn create_session(&self, token_hash: &Hash, s: &crate::dashboard::Session) -> Result<()> {
        self.write(|tx| crate::sqlite_dashboard::create_session(tx, token_hash, s))
    }

    fn session(
        &self,
        token_hash: &Hash,
        now: i64,
    ) -> Result<Option<(crate::dashboard::Session, User)>> {
        self.read(|c| crate::sqlite_dashboard::session(c, token_hash, now))
    }

    fn delete_session(&self, token_hash: &Hash) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [&token_hash[..]],
            )? > 0)
        })
    }

    fn stats(&self) -> Result<StoreStats> {
        self.read(|c| {
            let n = |sql: &str| -> Result<u64> {
                Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
            };
            Ok(StoreStats {
                changes: n("SELECT COUNT(*) FROM changes")?,
                documents: n("SELECT COUNT(*) FROM documents")?,
                users: n("SELECT COUNT(*) FROM users")?,
                devices: n("SELECT COUNT(*) FROM devices")?,
                max_seq: n("SELECT COALESCE(MAX(seq), 0) FROM changes")?,
            })
        })
    }

    fn ping(&self) -> Result<()> {
        self.read(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())?)
        })
    }
}

/// Raw access for copying a store to another backend ([`crate::transfer`]).
impl SqliteStore {
    /// Number of rows in one of the schema's tables.
    pub fn count_rows(&self, table: &str) -> Result<u64> {
        if !crate::transfer::TABLES.iter().any(|t| t.name == table) {
            return Err(StoreError::NotFound(format!("table {table}")));
        }
        self.read(|c| {
            Ok(
                c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    /// Up to `limit` rows of `table` with rowid above `after`, in rowid order
    /// (seq order for `changes`), with the last rowid read.
    pub fn dump_rows(
        &self,
        table: &crate::transfer::TableSpec,
        after: i64,
        limit: usize,
    ) -> Result<(i64, Vec<Vec<crate::transfer::Cell>>)> {
        use crate::transfer::Cell;
        use rusqlite::types::Value;
        let cols: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let sql = format!(
            "SELECT rowid, {} FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
            cols.join(", "),
            table.name
        );
        self.read(|c| {
            let mut st = c.prepare(&sql)?;
            let mut rows = st.query(params![after, limit as i64])?;
            let mut out = Vec::new();
            let mut last = after;
            while let Some(r) = rows.next()? {
                last = r.get(0)?;
                let mut row = Vec::with_capacity(cols.len());
                for i in 0..cols.len() {
                    row.push(match r.get::<_, Value>(i + 1)? {
                        Value::Null => Cell::Null,
                        Value::Integer(n) => Cell::Int(n),
                        Value::Real(f) => Cell::Text(f.to_string()),
                        Value::Text(s) => Cell::Text(s),
                        Value::Blob(b) => Cell::Bytes(b),
                    });
                }
                out.push(row);
            }
            Ok((last, out))
        })
    }

    /// Server heads of up to `limit` documents after `after`, in `doc_id` order.
    pub fn heads_page(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        let after = after.map(|u| u.to_string()).unwrap_or_default();
        let rows: Vec<(String, Vec<u8>)> = self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT doc_id, heads FROM documents WHERE doc_id > ?1 ORDER BY doc_id LIMIT ?2",
            )?;
            let rows =
                st.query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        rows.iter()
            .map(|(id, b)| {
                Ok((
                    Uuid::parse_str(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    heads_from_blob(b)?,
                ))
            })
            .collect()
    }
}
