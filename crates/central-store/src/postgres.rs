//! The PostgreSQL backend: the same schema and semantics as the SQLite one, for
//! several server replicas over one database.
//!
//! Connections: `tokio-postgres` clients in a small pool of our own. The
//! connections' I/O tasks run on a private two-thread tokio runtime owned by
//! the store; the blocking trait methods drive the client futures on the
//! calling thread (`futures_executor::block_on`), so the store works from
//! `spawn_blocking`, from plain threads, and even from async code at startup
//! (where the blocking `postgres` crate would panic).
//!
//! Feed cursors: sequences hand out numbers in call order, but transactions
//! commit in any order, so a reader could see seq 11 committed while seq 10 is
//! still in flight and move its cursor past 10 for ever. Every `commit_docs`
//! therefore takes one transaction-scoped advisory lock (`SEQ_LOCK`) just
//! before it inserts changes, and holds it until commit: seq order is commit
//! order, so everything at or below the highest visible seq is committed and
//! `MAX(seq)` in the reader's snapshot is a safe cursor. Only the insert of the
//! changes, two small updates and the commit run under the lock; loading,
//! Automerge merging, and the version-checked document and projection writes
//! happen before it.
//!
//! Migrations are append-only, recorded in `schema_migrations`, and run under a
//! transaction-scoped advisory lock so replicas starting together migrate once.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use survey_model::InterviewRecord;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Transaction};
use uuid::Uuid;

use crate::{
    AuditEntry, CentralStore, ChangeMeta, Device, DocWrite, FeedItem, FeedPage, Hash,
    InterviewFilter, NewUser, Result, Role, StoreError, StoreStats, StoredDoc, User, hash_hex,
    heads_blob, heads_from_blob, record_from_json,
};

/// Advisory lock key serialising migrations ("fvmigr").
const MIGRATE_LOCK: i64 = 0x0000_6676_6d69_6772;
/// Advisory lock key serialising seq assignment with commit ("fvseq").
pub const SEQ_LOCK: i64 = 0x0000_0066_7673_6571;

/// Append-only migrations; index + 1 is the schema version. Text columns that
/// are sorted use the "C" collation so the order matches SQLite's.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
  id TEXT PRIMARY KEY, login TEXT COLLATE "C" NOT NULL UNIQUE, name TEXT NOT NULL,
  role TEXT NOT NULL, countries TEXT NOT NULL, password_hash TEXT,
  active BOOLEAN NOT NULL DEFAULT TRUE, created_at BIGINT NOT NULL);
CREATE TABLE devices (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), label TEXT NOT NULL,
  token_hash BYTEA NOT NULL UNIQUE, created_at BIGINT NOT NULL, last_sync_at BIGINT,
  revoked_at BIGINT);
CREATE INDEX devices_user ON devices(user_id);
CREATE TABLE enrollment_codes (
  code_hash BYTEA PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  expires_at BIGINT NOT NULL, used_at BIGINT);
CREATE INDEX enrollment_user ON enrollment_codes(user_id);
CREATE TABLE api_tokens (
  token_hash BYTEA PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  label TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT);
CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE forms (
  form_id TEXT COLLATE "C" NOT NULL, version BIGINT NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY (form_id, version));
CREATE TABLE changes (
  seq BIGSERIAL PRIMARY KEY, doc_id UUID NOT NULL, owner TEXT NOT NULL,
  hash BYTEA NOT NULL UNIQUE, actor BYTEA NOT NULL, source TEXT NOT NULL,
  bytes BYTEA NOT NULL, received_at BIGINT NOT NULL);
CREATE INDEX changes_doc ON changes(doc_id, seq);
CREATE INDEX changes_owner ON changes(owner, seq);
CREATE TABLE documents (
  doc_id UUID PRIMARY KEY, owner TEXT NOT NULL, country TEXT NOT NULL,
  snapshot BYTEA NOT NULL, heads BYTEA NOT NULL, version BIGINT NOT NULL,
  updated_seq BIGINT NOT NULL);
CREATE TABLE interviews (
  doc_id UUID PRIMARY KEY, campaign TEXT NOT NULL, country TEXT NOT NULL,
  form_id TEXT NOT NULL, form_version BIGINT NOT NULL, created_by TEXT NOT NULL,
  device_id TEXT NOT NULL, created_at TEXT COLLATE "C" NOT NULL, status TEXT NOT NULL,
  submitted_at TEXT, review_state TEXT, city TEXT, segment TEXT, area_type TEXT,
  nps BIGINT, has_complaint TEXT, updated_at BIGINT NOT NULL, updated_seq BIGINT NOT NULL,
  record TEXT NOT NULL);
CREATE INDEX interviews_country ON interviews(country, created_at);
CREATE INDEX interviews_review ON interviews(country, review_state);
CREATE INDEX interviews_user ON interviews(created_by);
CREATE INDEX interviews_seq ON interviews(updated_seq);
"#,
    // 2: dashboard sessions.
    r#"
CREATE TABLE sessions (
  token_hash BYTEA PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX sessions_expiry ON sessions(expires_at);
"#,
    // 3: as SQLite's 2 and 3: satisfaction and complaint columns for the
    // dashboard's SQL aggregates, back-filled from the stored records (integer
    // answers only, as `InterviewRecord::answer_i64`; string categories only,
    // as `complaint_categories_of`), a covering index for the aggregates and
    // one in the review queue's sort order.
    r#"
ALTER TABLE interviews ADD COLUMN IF NOT EXISTS sat_network BIGINT,
  ADD COLUMN IF NOT EXISTS sat_shop BIGINT,
  ADD COLUMN IF NOT EXISTS sat_call_centre BIGINT,
  ADD COLUMN IF NOT EXISTS sat_billing BIGINT,
  ADD COLUMN IF NOT EXISTS sat_mobile_money BIGINT,
  ADD COLUMN IF NOT EXISTS complaint_categories TEXT;
UPDATE interviews SET
  sat_network = CASE WHEN jsonb_typeof(a -> 'sat_network') = 'number'
    AND a ->> 'sat_network' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_network')::bigint END,
  sat_shop = CASE WHEN jsonb_typeof(a -> 'sat_shop') = 'number'
    AND a ->> 'sat_shop' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_shop')::bigint END,
  sat_call_centre = CASE WHEN jsonb_typeof(a -> 'sat_call_centre') = 'number'
    AND a ->> 'sat_call_centre' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_call_centre')::bigint END,
  sat_billing = CASE WHEN jsonb_typeof(a -> 'sat_billing') = 'number'
    AND a ->> 'sat_billing' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_billing')::bigint END,
  sat_mobile_money = CASE WHEN jsonb_typeof(a -> 'sat_mobile_money') = 'number'
    AND a ->> 'sat_mobile_money' ~ '^-?[0-9]{1,18}$' THEN (a ->> 'sat_mobile_money')::bigint END,
  complaint_categories = CASE WHEN jsonb_typeof(a -> 'complaint_categories') = 'array' THEN
    (SELECT ',' || string_agg(e #>> '{}', ',' ORDER BY n) || ','
     FROM jsonb_array_elements(a -> 'complaint_categories') WITH ORDINALITY AS t(e, n)
     WHERE jsonb_typeof(e) = 'string') END
FROM (SELECT doc_id AS id, record::jsonb -> 'answers' AS a FROM interviews) src
WHERE interviews.doc_id = src.id;
CREATE INDEX IF NOT EXISTS interviews_agg ON interviews(country, city, segment, created_by,
  review_state, nps, has_complaint, sat_network, sat_shop, sat_call_centre, sat_billing,
  sat_mobile_money);
CREATE INDEX IF NOT EXISTS interviews_queue ON interviews(created_at, doc_id, country, city,
  segment, review_state, nps, complaint_categories);
"#,
    // 4: which device each Automerge actor writes from (actor-clone detection),
    // and the feed cursor last handed to each device (restore detection).
    r#"
CREATE INDEX IF NOT EXISTS changes_actor ON changes(actor, source);
ALTER TABLE devices ADD COLUMN IF NOT EXISTS feed_cursor BIGINT NOT NULL DEFAULT 0;
"#,
];

/// Default number of pooled connections per store (per server process).
pub const DEFAULT_POOL_SIZE: usize = 16;

struct Pool {
    idle: Vec<Client>,
    open: usize,
}

/// The PostgreSQL central store.
pub struct PgStore {
    rt: Option<tokio::runtime::Runtime>,
    config: tokio_postgres::Config,
    pool: Mutex<Pool>,
    available: Condvar,
    max: usize,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the config: it may hold a password.
        f.debug_struct("PgStore")
            .field("dbname", &self.config.get_dbname())
            .field("max_connections", &self.max)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        lock(&self.pool).idle.clear();
        // Dropping a runtime from async code panics; shutting down in the
        // background never does.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => {
                StoreError::Duplicate(db.constraint().unwrap_or("row").to_owned())
            }
            // The message only: `detail` can quote row values.
            Some(db) => StoreError::Db(format!("{} ({})", db.message(), db.code().code())),
            None => StoreError::Db(e.to_string()),
        }
    }
}

fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// A pooled connection, returned to the pool on drop.
struct Conn<'a> {
    store: &'a PgStore,
    client: Option<Client>,
}

impl Conn<'_> {
    fn client(&mut self) -> Result<&mut Client> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Db("connection already returned".into()))
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let mut pool = lock(&self.store.pool);
        match self.client.take() {
            Some(c) if !c.is_closed() => pool.idle.push(c),
            _ => pool.open = pool.open.saturating_sub(1),
        }
        drop(pool);
        self.store.available.notify_one();
    }
}

fn user_from_row(r: &Row) -> Result<User> {
    let role: String = r.try_get("role")?;
    let countries: String = r.try_get("countries")?;
    Ok(User {
        id: r.try_get("id")?,
        login: r.try_get("login")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Employee),
        countries: countries
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        active: r.try_get("active")?,
        created_at: r.try_get("created_at")?,
    })
}

fn device_from_row(r: &Row) -> Result<Device> {
    Ok(Device {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        label: r.try_get("label")?,
        created_at: r.try_get("created_at")?,
        last_sync_at: r.try_get("last_sync_at")?,
        revoked: r.try_get::<_, Option<i64>>("revoked_at")?.is_some(),
        feed_cursor: r.try_get::<_, i64>("feed_cursor")?.max(0) as u64,
    })
}

const USER_COLS: &str = "u.id, u.login, u.name, u.role, u.countries, u.active, u.created_at";

pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

/// WHERE clause and parameters for an interview filter.
fn interview_where(f: &InterviewFilter) -> (String, Vec<Param>) {
    let mut sql = String::from(" WHERE TRUE");
    let mut args: Vec<Param> = Vec::new();
    if !f.countries.is_empty() {
        args.push(Box::new(f.countries.clone()));
        sql.push_str(&format!(" AND country = ANY(${})", args.len()));
    }
    for (col, v) in [
        ("created_by", &f.created_by),
        ("city", &f.city),
        ("segment", &f.segment),
        ("review_state", &f.review_state),
        ("status", &f.status),
    ] {
        if let Some(v) = v {
            args.push(Box::new(v.clone()));
            sql.push_str(&format!(" AND {col} = ${}", args.len()));
        }
    }
    if let Some(seq) = f.since_seq {
        args.push(Box::new(i64::try_from(seq).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" AND updated_seq > ${}", args.len()));
    }
    (sql, args)
}

pub(crate) fn refs(args: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://` or `postgresql://`,
    /// or a libpq key=value string), creating and migrating the schema.
    pub fn connect(url: &str) -> Result<PgStore> {
        Self::connect_with(url, DEFAULT_POOL_SIZE)
    }

    /// As [`PgStore::connect`], with at most `pool_size` connections.
    pub fn connect_with(url: &str, pool_size: usize) -> Result<PgStore> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Db(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("fieldvoice");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fieldvoice-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Db(format!("starting the PostgreSQL runtime: {e}")))?;
        let store = PgStore {
            rt: Some(rt),
            config,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                open: 0,
            }),
            available: Condvar::new(),
            max: pool_size.max(1),
        };
        store.migrate()?;
        Ok(store)
    }

    fn open_client(&self) -> Result<Client> {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| StoreError::Db("store is shut down".into()))?;
        let cfg = self.config.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let r = cfg.connect(NoTls).await.map(|(client, conn)| {
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::warn!(error = %e, "PostgreSQL connection ended");
                    }
                });
                client
            });
            let _ = tx.send(r);
        });
        Ok(rx
            .recv()
            .map_err(|_| StoreError::Db("PostgreSQL connect task ended".into()))??)
    }

    fn conn(&self) -> Result<Conn<'_>> {
        let mut pool = lock(&self.pool);
        loop {
            while let Some(c) = pool.idle.pop() {
                if !c.is_closed() {
                    return Ok(Conn {
                        store: self,
                        client: Some(c),
                    });
                }
                pool.open = pool.open.saturating_sub(1);
            }
            if pool.open < self.max {
                pool.open += 1;
                drop(pool);
                return match self.open_client() {
                    Ok(c) => Ok(Conn {
                        store: self,
                        client: Some(c),
                    }),
                    Err(e) => {
                        let mut pool = lock(&self.pool);
                        pool.open = pool.open.saturating_sub(1);
                        drop(pool);
                        self.available.notify_one();
                        Err(e)
                    }
                };
            }
            pool = self
                .available
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Run `f` with a pooled client.
    fn with<T>(&self, f: impl AsyncFnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        futures_executor::block_on(f(conn.client()?))
    }

    /// Run `f` in a transaction, committed when it returns `Ok`.
    fn tx<T>(&self, f: impl AsyncFnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.with(async |c| {
            let tx = c.transaction().await?;
            let out = f(&tx).await?;
            tx.commit().await?;
            Ok(out)
        })
    }

    fn migrate(&self) -> Result<()> {
        self.tx(async |tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
                .await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                   version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await?;
            let have: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    &[],
                )
                .await?
                .try_get(0)?;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO schema_migrations(version, applied_at) VALUES ($1, $2)",
                    &[&(i as i64 + 1), &crate::unix_now()],
                )
                .await?;
                tracing::info!(version = i + 1, "PostgreSQL schema migrated");
            }
            Ok(())
        })
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> Result<i64> {
        self.with(async |c| {
            Ok(
                c.query_one("SELECT MAX(version) FROM schema_migrations", &[])
                    .await?
                    .try_get(0)?,
            )
        })
    }

    /// Run raw SQL statements (administration and tests).
    pub fn batch_execute(&self, sql: &str) -> Result<()> {
        self.with(async |c| Ok(c.batch_execute(sql).await?))
    }

    /// Server heads of up to `limit` documents after `after`, in `doc_id` order
    /// (for comparing stores).
    pub fn heads_page(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        let rows = self.with(async |c| {
            Ok(c.query(
                "SELECT doc_id, heads FROM documents WHERE ($1::uuid IS NULL OR doc_id > $1)
                 ORDER BY doc_id LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await?)
        })?;
        rows.iter()
            .map(|r| {
                let b: Vec<u8> = r.try_get(1)?;
                Ok((r.try_get(0)?, heads_from_blob(&b)?))
            })
            .collect()
    }

    /// Server heads of the given documents (absent ones are left out).
    pub fn heads_of(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        let rows = self.with(async |c| {
            Ok(c.query(
                "SELECT doc_id, heads FROM documents WHERE doc_id = ANY($1)",
                &[&ids],
            )
            .await?)
        })?;
        rows.iter()
            .map(|r| {
                let b: Vec<u8> = r.try_get(1)?;
                Ok((r.try_get(0)?, heads_from_blob(&b)?))
            })
            .collect()
    }

    /// Rows of `table` (as exported by [`crate::transfer`]) inserted as they are.
    pub(crate) fn insert_rows(
        &self,
        table: &crate::transfer::TableSpec,
        rows: &[Vec<crate::transfer::Cell>],
    ) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let cols: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let mut params: Vec<Param> = Vec::with_capacity(rows.len() * cols.len());
        let mut tuples = Vec::with_capacity(rows.len());
        for row in rows {
            let mut marks = Vec::with_capacity(cols.len());
            for ((_, kind), cell) in table.columns.iter().zip(row) {
                params.push(cell.to_param(*kind)?);
                marks.push(format!("${}", params.len()));
            }
            tuples.push(format!("({})", marks.join(",")));
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            cols.join(","),
            tuples.join(",")
        );
        self.with(async |c| Ok(c.execute(&sql, &refs(&params)).await?))
    }

    /// Count the rows of a table (for comparisons after a copy).
    pub fn count_rows(&self, table: &str) -> Result<u64> {
        if !crate::transfer::TABLES.iter().any(|t| t.name == table) {
            return Err(StoreError::NotFound(format!("table {table}")));
        }
        self.with(async |c| {
            Ok(c.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .await?
                .try_get::<_, i64>(0)? as u64)
        })
    }

    fn commit_once(&self, writes: &[DocWrite]) -> Result<(), CommitError> {
        let now = crate::unix_now();
        // A fixed lock order (by doc_id) so two batches never deadlock.
        let mut order: Vec<&DocWrite> = writes.iter().collect();
        order.sort_by_key(|w| w.doc_id);
        let mut conn = self.conn()?;
        let client = conn.client()?;
        futures_executor::block_on(async {
            let tx = client.transaction().await?;
            // 1. Version-checked snapshot writes and projections (row locks).
            for w in &order {
                let n = match w.expected_version {
                    None => {
                        tx.execute(
                            "INSERT INTO documents(doc_id, owner, country, snapshot, heads, version, updated_seq)
                             VALUES ($1, $2, $3, $4, $5, 1, 0) ON CONFLICT(doc_id) DO NOTHING",
                            &[&w.doc_id, &w.owner, &w.country, &w.snapshot, &heads_blob(&w.heads)],
                        )
                        .await?
                    }
                    Some(v) => {
                        tx.execute(
                            "UPDATE documents SET snapshot = $2, heads = $3, version = version + 1
                             WHERE doc_id = $1 AND version = $4",
                            &[&w.doc_id, &w.snapshot, &heads_blob(&w.heads), &v],
                        )
                        .await?
                    }
                };
                if n == 0 {
                    return Ok(Err(w.doc_id));
                }
                let r = &w.record;
                let record = serde_json::to_string(r)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let sats = crate::dashboard::sats_of(r);
                let cats = crate::dashboard::complaint_key(r);
                tx.execute(
                    "INSERT INTO interviews(doc_id, campaign, country, form_id, form_version, created_by,
                       device_id, created_at, status, submitted_at, review_state, city, segment,
                       area_type, nps, has_complaint, updated_at, updated_seq, record,
                       sat_network, sat_shop, sat_call_centre, sat_billing, sat_mobile_money,
                       complaint_categories)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                       COALESCE((SELECT updated_seq FROM documents WHERE doc_id = $1), 0), $18,
                       $19, $20, $21, $22, $23, $24)
                     ON CONFLICT(doc_id) DO UPDATE SET status = excluded.status,
                       submitted_at = excluded.submitted_at, review_state = excluded.review_state,
                       city = excluded.city, segment = excluded.segment, area_type = excluded.area_type,
                       nps = excluded.nps, has_complaint = excluded.has_complaint,
                       updated_at = excluded.updated_at, record = excluded.record,
                       sat_network = excluded.sat_network, sat_shop = excluded.sat_shop,
                       sat_call_centre = excluded.sat_call_centre, sat_billing = excluded.sat_billing,
                       sat_mobile_money = excluded.sat_mobile_money,
                       complaint_categories = excluded.complaint_categories",
                    &[
                        &w.doc_id,
                        &r.campaign,
                        &r.country,
                        &r.form_id,
                        &i64::from(r.form_version),
                        &r.created_by,
                        &r.device_id,
                        &r.created_at,
                        &r.status,
                        &r.submitted_at,
                        &r.review_state,
                        &r.answer_str("city"),
                        &r.answer_str("segment"),
                        &r.answer_str("area_type"),
                        &r.answer_i64("nps"),
                        &r.answer_str("has_complaint"),
                        &now,
                        &record,
                        &sats[0],
                        &sats[1],
                        &sats[2],
                        &sats[3],
                        &sats[4],
                        &cats,
                    ],
                )
                .await?;
            }
            // 2. Seq assignment, serialised with commit (see the module docs).
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQ_LOCK])
                .await?;
            let (mut docs, mut owners, mut hashes, mut actors, mut sources, mut bytes) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for w in writes {
                for c in &w.changes {
                    docs.push(w.doc_id);
                    owners.push(w.owner.as_str());
                    hashes.push(&c.hash[..]);
                    actors.push(c.actor.as_slice());
                    sources.push(w.source.as_str());
                    bytes.push(c.bytes.as_slice());
                }
            }
            if !docs.is_empty() {
                tx.execute(
                    "WITH ins AS (
                       INSERT INTO changes(doc_id, owner, hash, actor, source, bytes, received_at)
                       SELECT d, o, h, a, s, b, $7 FROM unnest($1::uuid[], $2::text[], $3::bytea[],
                         $4::bytea[], $5::text[], $6::bytea[]) WITH ORDINALITY AS t(d, o, h, a, s, b, n)
                       ORDER BY n
                       ON CONFLICT(hash) DO NOTHING RETURNING doc_id, seq),
                     top AS (SELECT doc_id, MAX(seq) AS seq FROM ins GROUP BY doc_id),
                     upd AS (UPDATE documents d SET updated_seq = top.seq FROM top
                       WHERE d.doc_id = top.doc_id RETURNING d.doc_id)
                     UPDATE interviews i SET updated_seq = top.seq FROM top
                       WHERE i.doc_id = top.doc_id",
                    &[&docs, &owners, &hashes, &actors, &sources, &bytes, &now],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(Ok(()))
        })
        .map_err(CommitError::Pg)?
        .map_err(CommitError::Conflict)
    }
}

enum CommitError {
    Conflict(Uuid),
    Pg(PgOrStore),
}

/// Errors inside a commit: a database error (maybe retryable) or a store error.
enum PgOrStore {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for PgOrStore {
    fn from(e: tokio_postgres::Error) -> Self {
        PgOrStore::Pg(e)
    }
}

impl From<StoreError> for PgOrStore {
    fn from(e: StoreError) -> Self {
        PgOrStore::Store(e)
    }
}

impl From<StoreError> for CommitError {
    fn from(e: StoreError) -> Self {
        CommitError::Pg(PgOrStore::Store(e))
    }
}

impl CentralStore for PgStore {
    fn create_user(&self, u: &NewUser, now: i64) -> Result<User> {
        let id = Uuid::now_v7().to_string();
        self.with(async |c| {
            c.execute(
                "INSERT INTO users(id, login, name, role, countries, password_hash, active, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7)",
                &[&id, &u.login, &u.name, &u.role.as_str(), &u.countries.join(","), &u.password_hash, &now],
            )
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Duplicate(_) => StoreError::Duplicate(format!("login {}", u.login)),
                other => other,
            })?;
            Ok(())
        })?;
        Ok(u.to_user(id, now))
    }

    fn user(&self, id: &str) -> Result<Option<User>> {
        let row = self.with(async |c| {
            Ok(c.query_opt(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"),
                &[&id],
            )
            .await?)
        })?;
        row.as_ref().map(user_from_row).transpose()
    }

    fn user_by_login(&self, login: &str) -> Result<Option<(User, Option<String>)>> {
        let row = self.with(async |c| {
            Ok(c.query_opt(
                &format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.login = $1"),
                &[&login],
            )
            .await?)
        })?;
        row.map(|r| Ok((user_from_row(&r)?, r.try_get("password_hash")?)))
            .transpose()
    }

    fn list_users(&self, country: Option<&str>) -> Result<Vec<User>> {
        let rows = self.with(async |c| {
            Ok(c.query(
                &format!(
                    "SELECT {USER_COLS} FROM users u
                     WHERE $1::text IS NULL OR (',' || u.countries || ',') LIKE ('%,' || $1 || ',%')
                     ORDER BY u.login"
                ),
                &[&country],
            )
            .await?)
        })?;
        rows.iter().map(user_from_row).collect()
    }

    fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<()> {
        let n = self.with(async |c| {
            Ok(c.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user_id, &hash],
            )
            .await?)
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    }

    fn add_enrollment_code(&self, user_id: &str, code_hash: &Hash, expires_at: i64) -> Result<()> {
        self.tx(async |tx| {
            tx.execute(
                "DELETE FROM enrollment_codes WHERE user_id = $1 AND used_at IS NULL",
                &[&user_id],
            )
            .await?;
            tx.execute(
                "INSERT INTO enrollment_codes(code_hash, user_id, expires_at) VALUES ($1, $2, $3)",
                &[&&code_hash[..], &user_id, &expires_at],
            )
            .await?;
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
        self.tx(async |tx| {
            // The row lock of the UPDATE makes a second redeemer wait, then
            // see `used_at` set and match nothing: one device per code.
            let user_id: String = tx
                .query_opt(
                    "UPDATE enrollment_codes SET used_at = $2
                     WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
                     RETURNING user_id",
                    &[&&code_hash[..], &now],
                )
                .await?
                .ok_or(StoreError::InvalidCode)?
                .try_get(0)?;
            let row = tx
                .query_opt(
                    &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1 AND u.active"),
                    &[&user_id],
                )
                .await?
                .ok_or(StoreError::InvalidCode)?;
            let user = user_from_row(&row)?;
            tx.execute(
                "INSERT INTO devices(id, user_id, label, token_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&device_id, &user_id, &label, &&token_hash[..], &now],
            )
            .await?;
            Ok(user)
        })
    }

    fn device_by_token(&self, token_hash: &Hash) -> Result<Option<(Device, User)>> {
        let row = self.with(async |c| {
            Ok(c.query_opt(
                &format!(
                    "SELECT d.id AS d_id, d.user_id, d.label, d.created_at AS d_created,
                            d.last_sync_at, d.feed_cursor, {USER_COLS}
                     FROM devices d JOIN users u ON u.id = d.user_id
                     WHERE d.token_hash = $1 AND d.revoked_at IS NULL AND u.active"
                ),
                &[&&token_hash[..]],
            )
            .await?)
        })?;
        row.map(|r| {
            Ok((
                Device {
                    id: r.try_get("d_id")?,
                    user_id: r.try_get("user_id")?,
                    label: r.try_get("label")?,
                    created_at: r.try_get("d_created")?,
                    last_sync_at: r.try_get("last_sync_at")?,
                    revoked: false,
                    feed_cursor: r.try_get::<_, i64>("feed_cursor")?.max(0) as u64,
                },
                user_from_row(&r)?,
            ))
        })
        .transpose()
    }

    fn list_devices(&self, user_ids: Option<&[String]>) -> Result<Vec<Device>> {
        let ids: Option<Vec<String>> = user_ids.map(<[String]>::to_vec);
        let rows = self.with(async |c| {
            Ok(c.query(
                "SELECT id, user_id, label, created_at, last_sync_at, revoked_at, feed_cursor FROM devices
                 WHERE $1::text[] IS NULL OR user_id = ANY($1)
                 ORDER BY created_at, id",
                &[&ids],
            )
            .await?)
        })?;
        rows.iter().map(device_from_row).collect()
    }

    fn revoke_device(&self, device_id: &str, now: i64) -> Result<bool> {
        self.with(async |c| {
            Ok(c.execute(
                "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&device_id, &now],
            )
            .await?
                > 0)
        })
    }

    fn touch_device(&self, device_id: &str, now: i64, feed_cursor: u64) -> Result<()> {
        let cursor = i64::try_from(feed_cursor).unwrap_or(i64::MAX);
        self.with(async |c| {
            c.execute(
                "UPDATE devices SET last_sync_at = $2, feed_cursor = $3 WHERE id = $1",
                &[&device_id, &now, &cursor],
            )
            .await?;
            Ok(())
        })
    }

    fn actor_used_elsewhere(&self, actor: &[u8], source: &str) -> Result<bool> {
        let row = self.with(async |c| {
            Ok(c.query_one(
                "SELECT EXISTS(SELECT 1 FROM changes WHERE actor = $1 AND source <> $2)",
                &[&actor, &source],
            )
            .await?)
        })?;
        Ok(row.try_get(0)?)
    }

    fn add_api_token(&self, user_id: &str, token_hash: &Hash, label: &str, now: i64) -> Result<()> {
        self.with(async |c| {
            c.execute(
                "INSERT INTO api_tokens(token_hash, user_id, label, created_at) VALUES ($1, $2, $3, $4)",
                &[&&token_hash[..], &user_id, &label, &now],
            )
            .await?;
            Ok(())
        })
    }

    fn user_by_api_token(&self, token_hash: &Hash) -> Result<Option<User>> {
        let row = self.with(async |c| {
            Ok(c.query_opt(
                &format!(
                    "SELECT {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active"
                ),
                &[&&token_hash[..]],
            )
            .await?)
        })?;
        row.as_ref().map(user_from_row).transpose()
    }

    fn audit(&self, e: &AuditEntry) -> Result<()> {
        self.with(async |c| {
            c.execute(
                "INSERT INTO audit_log(at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
                &[&e.at, &e.actor, &e.action, &e.target, &e.detail],
            )
            .await?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let rows = self.with(async |c| {
            Ok(c.query(
                "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
                &[&(limit as i64)],
            )
            .await?)
        })?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    action: r.try_get(2)?,
                    target: r.try_get(3)?,
                    detail: r.try_get(4)?,
                })
            })
            .collect()
    }

    fn put_form(&self, form_id: &str, version: u32, json: &str) -> Result<()> {
        self.with(async |c| {
            c.execute(
                "INSERT INTO forms(form_id, version, json) VALUES ($1, $2, $3)
                 ON CONFLICT(form_id, version) DO UPDATE SET json = excluded.json",
                &[&form_id, &i64::from(version), &json],
            )
            .await?;
            Ok(())
        })
    }

    fn forms(&self) -> Result<Vec<(String, u32, String)>> {
        let rows = self.with(async |c| {
            Ok(c.query(
                "SELECT form_id, version, json FROM forms ORDER BY form_id, version",
                &[],
            )
            .await?)
        })?;
        rows.iter()
            .map(|r| {
                let v: i64 = r.try_get(1)?;
                Ok((
                    r.try_get(0)?,
                    u32::try_from(v).map_err(|_| StoreError::Corrupt("form version".into()))?,
                    r.try_get(2)?,
                ))
            })
            .collect()
    }

    fn load_doc(&self, id: Uuid) -> Result<Option<StoredDoc>> {
        let row = self.with(async |c| {
            Ok(c.query_opt(
                "SELECT owner, country, snapshot, version FROM documents WHERE doc_id = $1",
                &[&id],
            )
            .await?)
        })?;
        row.map(|r| {
            Ok(StoredDoc {
                doc_id: id,
                owner: r.try_get(0)?,
                country: r.try_get(1)?,
                snapshot: r.try_get(2)?,
                version: r.try_get(3)?,
            })
        })
        .transpose()
    }

    fn doc_changes(&self, id: Uuid) -> Result<Vec<Vec<u8>>> {
        let rows = self.with(async |c| {
            Ok(c.query(
                "SELECT bytes FROM changes WHERE doc_id = $1 ORDER BY seq",
                &[&id],
            )
            .await?)
        })?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn commit_docs(&self, writes: &[DocWrite]) -> Result<()> {
        // A deadlock or serialisation failure is reported as a conflict: the
        // merge reloads and retries, like after any concurrent update.
        match self.commit_once(writes) {
            Ok(()) => Ok(()),
            Err(CommitError::Conflict(id)) => Err(StoreError::Conflict(id)),
            Err(CommitError::Pg(PgOrStore::Pg(e))) if is_retryable(&e) => {
                let id = writes.first().map(|w| w.doc_id).unwrap_or_default();
                Err(StoreError::Conflict(id))
            }
            Err(CommitError::Pg(PgOrStore::Pg(e))) => Err(e.into()),
            Err(CommitError::Pg(PgOrStore::Store(e))) => Err(e),
        }
    }

    fn feed(
        &self,
        owner: &str,
        exclude_source: &str,
        after: u64,
        max_changes: usize,
        max_bytes: usize,
    ) -> Result<FeedPage> {
        let after_i = i64::try_from(after).unwrap_or(i64::MAX);
        let (top, rows) = self.with(async |c| {
            // One snapshot: the items and the high-water mark agree, and
            // (thanks to SEQ_LOCK) every seq up to the mark is committed.
            let tx = c
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let top: i64 = tx
                .query_one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[])
                .await?
                .try_get(0)?;
            let rows = tx
                .query(
                    "SELECT seq, doc_id, bytes FROM changes
                     WHERE owner = $1 AND seq > $2 AND source <> $3 ORDER BY seq LIMIT $4",
                    &[&owner, &after_i, &exclude_source, &(max_changes as i64 + 1)],
                )
                .await?;
            tx.commit().await?;
            Ok((top, rows))
        })?;
        let items = rows.iter().map(|r| {
            Ok(FeedItem {
                seq: r.try_get::<_, i64>(0)? as u64,
                doc_id: r.try_get(1)?,
                bytes: r.try_get(2)?,
            })
        });
        crate::page_feed(items, after, top as u64, max_changes, max_bytes)
    }

    fn doc_heads(&self, id: Uuid) -> Result<Vec<Hash>> {
        let row = self.with(async |c| {
            Ok(
                c.query_opt("SELECT heads FROM documents WHERE doc_id = $1", &[&id])
                    .await?,
            )
        })?;
        match row {
            None => Ok(Vec::new()),
            Some(r) => heads_from_blob(&r.try_get::<_, Vec<u8>>(0)?),
        }
    }

    fn interview(&self, id: Uuid) -> Result<Option<InterviewRecord>> {
        let row = self.with(async |c| {
            Ok(
                c.query_opt("SELECT record FROM interviews WHERE doc_id = $1", &[&id])
                    .await?,
            )
        })?;
        row.map(|r| record_from_json(r.try_get(0)?)).transpose()
    }

    fn list_interviews(&self, f: &InterviewFilter) -> Result<Vec<InterviewRecord>> {
        let (w, args) = interview_where(f);
        let sql = format!(
            "SELECT record FROM interviews{w} ORDER BY created_at DESC, doc_id LIMIT {} OFFSET {}",
            f.limit.unwrap_or(100).min(10_000),
            f.offset.unwrap_or(0)
        );
        let rows = self.with(async |c| Ok(c.query(&sql, &refs(&args)).await?))?;
        rows.iter()
            .map(|r| record_from_json(r.try_get(0)?))
            .collect()
    }

    fn count_interviews(&self, f: &InterviewFilter) -> Result<u64> {
        let (w, args) = interview_where(f);
        let sql = format!("SELECT COUNT(*) FROM interviews{w}");
        self.with(async |c| {
            Ok(c.query_one(&sql, &refs(&args))
                .await?
                .try_get::<_, i64>(0)? as u64)
        })
    }

    fn for_each_interview(
        &self,
        f: &InterviewFilter,
        visit: &mut dyn FnMut(InterviewRecord, u64) -> Result<()>,
    ) -> Result<()> {
        const PAGE: i64 = 2000;
        let (w, args) = interview_where(f);
        let sql = format!(
            "SELECT doc_id, record, updated_seq FROM interviews{w}
             AND (${n}::uuid IS NULL OR doc_id > ${n}) ORDER BY doc_id LIMIT {PAGE}",
            n = args.len() + 1
        );
        let mut after: Option<Uuid> = None;
        loop {
            // Keyset pagination: each page is a short query, memory stays flat,
            // and no connection is held while `visit` runs.
            let mut params = refs(&args);
            params.push(&after);
            let rows = self.with(async |c| Ok(c.query(&sql, &params).await?))?;
            drop(params);
            let n = rows.len();
            for r in rows {
                let seq: i64 = r.try_get(2)?;
                visit(record_from_json(r.try_get(1)?)?, seq as u64)?;
                after = Some(r.try_get(0)?);
            }
            if (n as i64) < PAGE {
                return Ok(());
            }
        }
    }

    fn change_log(&self, id: Uuid) -> Result<Vec<ChangeMeta>> {
        let rows = self.with(async |c| {
            Ok(c.query(
                "SELECT seq, hash, source, received_at FROM changes WHERE doc_id = $1 ORDER BY seq",
                &[&id],
            )
            .await?)
        })?;
        rows.iter()
            .map(|r| {
                let hash: Vec<u8> = r.try_get(1)?;
                Ok(ChangeMeta {
                    seq: r.try_get::<_, i64>(0)? as u64,
                    hash: hash_hex(&hash),
                    source: r.try_get(2)?,
                    received_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    fn campaign_stats(&self, f: &InterviewFilter) -> Result<crate::dashboard::CampaignStats> {
        let (w, args) = interview_where(f);
        self.with(async |c| crate::pg_dashboard::campaign_stats(c, &w, &args).await)
    }

    fn review_queue(
        &self,
        q: &crate::dashboard::ReviewQuery,
    ) -> Result<crate::dashboard::ReviewPage> {
        let mut base = q.base.clone();
        base.review_state = None;
        let (w, args) = interview_where(&base);
        let (total, records) =
            self.with(async |c| crate::pg_dashboard::review_queue(c, q, w, args).await)?;
        Ok(crate::dashboard::ReviewPage {
            total,
            items: records
                .iter()
                .map(|s| record_from_json(s))
                .collect::<Result<_>>()?,
        })
    }

    fn create_session(&self, token_hash: &Hash, s: &crate::dashboard::Session) -> Result<()> {
        self.tx(async |tx| {
            tx.execute(
                "DELETE FROM sessions WHERE expires_at <= $1",
                &[&s.created_at],
            )
            .await?;
            tx.execute(
                "INSERT INTO sessions(token_hash, user_id, csrf, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &&token_hash[..],
                    &s.user_id,
                    &s.csrf,
                    &s.created_at,
                    &s.expires_at,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn session(
        &self,
        token_hash: &Hash,
        now: i64,
    ) -> Result<Option<(crate::dashboard::Session, User)>> {
        let row = self.with(async |c| {
            Ok(c.query_opt(
                &format!(
                    "SELECT s.user_id AS s_user, s.csrf, s.created_at AS s_created, s.expires_at,
                            {USER_COLS}
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active"
                ),
                &[&&token_hash[..], &now],
            )
            .await?)
        })?;
        row.map(|r| {
            Ok((
                crate::dashboard::Session {
                    user_id: r.try_get("s_user")?,
                    csrf: r.try_get("csrf")?,
                    created_at: r.try_get("s_created")?,
                    expires_at: r.try_get("expires_at")?,
                },
                user_from_row(&r)?,
            ))
        })
        .transpose()
    }

    fn delete_session(&self, token_hash: &Hash) -> Result<bool> {
        self.with(async |c| {
            Ok(c.execute(
                "DELETE FROM sessions WHERE token_hash = $1",
                &[&&token_hash[..]],
            )
            .await?
                > 0)
        })
    }

    fn stats(&self) -> Result<StoreStats> {
        let r = self.with(async |c| {
            Ok(c.query_one(
                "SELECT (SELECT COUNT(*) FROM changes), (SELECT COUNT(*) FROM documents),
                        (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM devices),
                        (SELECT COALESCE(MAX(seq), 0) FROM changes)",
                &[],
            )
            .await?)
        })?;
        let n = |i: usize| -> Result<u64> { Ok(r.try_get::<_, i64>(i)? as u64) };
        Ok(StoreStats {
            changes: n(0)?,
            documents: n(1)?,
            users: n(2)?,
            devices: n(3)?,
            max_seq: n(4)?,
        })
    }

    fn ping(&self) -> Result<()> {
        self.with(async |c| Ok(c.query_one("SELECT 1", &[]).await.map(|_| ())?))
    }
}
