//! The PostgreSQL backend: the same schema and semantics as the SQLite one, for
//! several server replicas over one database.
//!
//! Connections: `tokio-postgres` clients in a small pool of our own. The
//! blocking trait methods drive each query and its connection's I/O on the
//! calling thread ([`link`]): no runtime, no thread hand-off per round trip,
//! and the store works from `spawn_blocking`, from plain threads, and even
//! from async code at startup (where the blocking `postgres` crate would
//! panic).
//!
//! Feed cursors: sequences hand out numbers in call order, but transactions
//! commit in any order, so a reader could see seq 11 committed while seq 10 is
//! still in flight and move its cursor past 10 for ever. Every `commit_docs`
//! therefore takes one transaction-scoped advisory lock (`SEQ_LOCK`) as its
//! first statement and holds it until commit: seq order is commit order, so
//! everything at or below the highest visible seq is committed and
//! `MAX(seq)` in the reader's snapshot is a safe cursor. The whole commit is
//! one pipelined round trip (see `documents::commit_once`), so the lock is
//! held while PostgreSQL runs the statements and flushes the commit, never
//! across a round trip to this process; loading and Automerge merging happen
//! before it.
//!
//! Migrations are append-only, recorded in `schema_migrations`, and run under a
//! transaction-scoped advisory lock so replicas starting together migrate once.

mod actions;
mod audit;
mod cases;
mod dashboard;
mod documents;
mod fieldops;
mod forms;
mod identity;
mod interviews;
mod link;
mod sessions;
pub mod tls;
mod transfer;
mod webhooks;

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Transaction};

use crate::columns::Value;
use crate::query::Bound;

use crate::{Result, StoreError, StoreStats};

/// Advisory lock key serialising migrations ("fvmigr").
const MIGRATE_LOCK: i64 = 0x0000_6676_6d69_6772;
/// Advisory lock key serialising seq assignment with commit ("fvseq").
pub const SEQ_LOCK: i64 = 0x0000_0066_7673_6571;

/// Append-only migrations, one `.sql` file each in `migrations/`; index + 1
/// is the schema version recorded in `schema_migrations`. They are history:
/// never edit one, add the next. Text columns that are sorted use the "C"
/// collation so the order matches SQLite's.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_sessions.sql"),
    include_str!("migrations/0003_dashboard_columns.sql"),
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
    include_str!("migrations/0018_interview_seq_backfill.sql"),
];

/// Default number of pooled connections per store (per server process).
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Connections for bookkeeping writes a crash may lose (a device's last
/// sync, derived cross-interview checks), opened with
/// `synchronous_commit=off`: their commits do not wait for the WAL flush,
/// and cost no extra round trip to say so. Not counted in the pool size.
const RELAXED_CONNECTIONS: usize = 4;

#[derive(Default)]
struct Pool {
    idle: Vec<Held>,
    open: usize,
    relaxed_idle: Vec<Held>,
    relaxed_open: usize,
}

impl Pool {
    /// The idle list and open count of one kind of connection.
    fn side(&mut self, relaxed: bool) -> (&mut Vec<Held>, &mut usize) {
        if relaxed {
            (&mut self.relaxed_idle, &mut self.relaxed_open)
        } else {
            (&mut self.idle, &mut self.open)
        }
    }
}

/// How many prepared statements one connection keeps (dynamic dashboard
/// queries would otherwise grow the cache without bound).
const MAX_CACHED_STATEMENTS: usize = 256;

/// A pooled client and the statements prepared on it. A query given as text
/// costs tokio-postgres two round trips (prepare, then execute); a cached
/// statement one. On the sync path round trips, not the queries, are the cost.
pub(super) struct Pooled {
    pub(super) client: Client,
    stmts: std::collections::HashMap<String, tokio_postgres::Statement>,
}

/// A pooled connection: its client with the statement cache, and the I/O
/// half that every query on it drives ([`link::Link`]).
pub(super) struct Held {
    pooled: Pooled,
    link: link::Link,
}

impl Pooled {
    /// The statement for `sql` on this connection, prepared once.
    pub(super) async fn stmt(&mut self, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        if self.stmts.len() >= MAX_CACHED_STATEMENTS {
            self.stmts.clear();
        }
        self.stmts.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

/// The PostgreSQL central store.
pub struct PgStore {
    config: tokio_postgres::Config,
    /// The TLS connector (`None`: `sslmode=disable`).
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
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
            // Not from the server (connect, TLS, I/O): the causes say why
            // ("invalid peer certificate: UnknownIssuer").
            None => {
                let mut m = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    m.push_str(": ");
                    m.push_str(&c.to_string());
                    cause = c.source();
                }
                StoreError::Db(m)
            }
        }
    }
}

/// A pooled connection, returned to the pool on drop.
pub(super) struct Conn<'a> {
    store: &'a PgStore,
    client: Option<Held>,
    relaxed: bool,
}

impl Conn<'_> {
    /// Close the connection instead of returning it to the pool (its state
    /// is unknown, e.g. a transaction may still be open).
    pub(super) fn discard(&mut self) {
        self.client = None;
    }

    /// The client with its statement cache, and the link that drives it.
    pub(super) fn parts(&mut self) -> Result<(&mut Pooled, &mut link::Link)> {
        let held = self
            .client
            .as_mut()
            .ok_or_else(|| StoreError::Db("connection already returned".into()))?;
        Ok((&mut held.pooled, &mut held.link))
    }

    /// Run `f` with the client and its statement cache, on this thread.
    fn run<T>(&mut self, f: impl AsyncFnOnce(&mut Pooled) -> Result<T>) -> Result<T> {
        let (pooled, link) = self.parts()?;
        link.drive(f(pooled))?
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let mut pool = lock(&self.store.pool);
        let (idle, open) = pool.side(self.relaxed);
        match self.client.take() {
            Some(c) if !c.pooled.client.is_closed() => idle.push(c),
            _ => *open = open.saturating_sub(1),
        }
        drop(pool);
        // Waiters of both kinds share the condition variable.
        self.store.available.notify_all();
    }
}

pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

pub(crate) fn refs(args: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// Values as PostgreSQL binds them, `$N`; a list is one array.
impl Bound for Param {
    const MARK: char = '$';
    fn from_value(v: Value) -> Param {
        match v {
            Value::Text(s) => Box::new(s),
            Value::Int(n) => Box::new(n),
        }
    }
    fn one_of(args: &mut Vec<Param>, col: &str, vs: &[String]) -> String {
        args.push(Box::new(vs.to_vec()));
        format!("{col} = ANY(${})", args.len())
    }
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://` or `postgresql://`,
    /// or a libpq key=value string), creating and migrating the schema.
    pub fn connect(url: &str) -> Result<PgStore> {
        Self::connect_with(url, DEFAULT_POOL_SIZE)
    }

    /// As [`PgStore::connect`], with at most `pool_size` connections.
    pub fn connect_with(url: &str, pool_size: usize) -> Result<PgStore> {
        let (url, tls_settings) = tls::split(url)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Db(format!("invalid PostgreSQL URL: {e}")))?;
        config.ssl_mode(tls_settings.mode.wire());
        let tls = tls::connector(&tls_settings)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("fieldvoice");
        }
        let store = PgStore {
            config,
            tls,
            pool: Mutex::new(Pool::default()),
            available: Condvar::new(),
            max: pool_size.max(1),
        };
        store.migrate()?;
        Ok(store)
    }

    fn open_client(&self, relaxed: bool) -> Result<Held> {
        let mut cfg = self.config.clone();
        if relaxed {
            let options = match cfg.get_options() {
                Some(o) => format!("{o} -c synchronous_commit=off"),
                None => "-c synchronous_commit=off".to_owned(),
            };
            cfg.options(&options);
        }
        let (client, link) = link::connect(&cfg, self.tls.as_ref())?;
        Ok(Held {
            pooled: Pooled {
                client,
                stmts: Default::default(),
            },
            link,
        })
    }

    pub(super) fn conn(&self) -> Result<Conn<'_>> {
        self.conn_of(false)
    }

    /// A pooled connection; with `relaxed`, one whose commits do not wait
    /// for the WAL flush ([`RELAXED_CONNECTIONS`]).
    fn conn_of(&self, relaxed: bool) -> Result<Conn<'_>> {
        let max = if relaxed {
            RELAXED_CONNECTIONS
        } else {
            self.max
        };
        let mut pool = lock(&self.pool);
        loop {
            let (idle, open) = pool.side(relaxed);
            if let Some(mut c) = idle.pop() {
                drop(pool);
                // What the server said while it sat idle (it may have
                // closed it) is read now, outside the pool's lock.
                if c.link.alive() && !c.pooled.client.is_closed() {
                    return Ok(Conn {
                        store: self,
                        client: Some(c),
                        relaxed,
                    });
                }
                drop(c);
                pool = lock(&self.pool);
                let (_, open) = pool.side(relaxed);
                *open = open.saturating_sub(1);
                continue;
            }
            if *open < max {
                *open += 1;
                drop(pool);
                return match self.open_client(relaxed) {
                    Ok(c) => Ok(Conn {
                        store: self,
                        client: Some(c),
                        relaxed,
                    }),
                    Err(e) => {
                        let mut pool = lock(&self.pool);
                        let (_, open) = pool.side(relaxed);
                        *open = open.saturating_sub(1);
                        drop(pool);
                        self.available.notify_all();
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
    pub(super) fn with<T>(&self, f: impl AsyncFnOnce(&mut Client) -> Result<T>) -> Result<T> {
        self.conn()?.run(async |p| f(&mut p.client).await)
    }

    /// Run `f` with a pooled client and its statement cache.
    pub(super) fn with_cached<T>(
        &self,
        f: impl AsyncFnOnce(&mut Pooled) -> Result<T>,
    ) -> Result<T> {
        self.conn()?.run(f)
    }

    /// [`Self::with_cached`] on a relaxed connection ([`RELAXED_CONNECTIONS`]):
    /// for writes a crash may lose, never for anything acknowledged.
    pub(super) fn relaxed_cached<T>(
        &self,
        f: impl AsyncFnOnce(&mut Pooled) -> Result<T>,
    ) -> Result<T> {
        self.conn_of(true)?.run(f)
    }

    /// Every row of `sql` (a prepared, cached statement), read with a shared
    /// mapper ([`crate::rows`]).
    pub(super) fn all<T>(
        &self,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
        f: impl Fn(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows = self.with_cached(async |c| {
            let st = c.stmt(sql).await?;
            Ok(c.client.query(&st, p).await?)
        })?;
        rows.iter().map(f).collect()
    }

    /// The row of `sql` (a prepared, cached statement), if any, read with a
    /// shared mapper.
    pub(super) fn first<T>(
        &self,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let row = self.with_cached(async |c| {
            let st = c.stmt(sql).await?;
            Ok(c.client.query_opt(&st, p).await?)
        })?;
        row.as_ref().map(f).transpose()
    }

    /// Run `f` in a transaction, committed when it returns `Ok`.
    pub(super) fn tx<T>(&self, f: impl AsyncFnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
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
            crate::check_schema(have, MIGRATIONS.len())?;
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

    /// The process ids of the PostgreSQL backends serving other clients of
    /// this database (benchmarks read their CPU time when the server is on
    /// the same machine).
    pub fn backend_pids(&self) -> Result<Vec<i32>> {
        self.with(async |c| {
            let rows = c
                .query(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                     AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    &[],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| r.try_get::<_, i32>(0))
                .collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Run raw SQL statements (administration and tests).
    pub fn batch_execute(&self, sql: &str) -> Result<()> {
        self.with(async |c| Ok(c.batch_execute(sql).await?))
    }
}
central_store_impl!(PgStore);

fn stats(store: &PgStore) -> Result<StoreStats> {
    let r = store.with(async |c| {
        Ok(c.query_one(
            "SELECT (SELECT COALESCE(SUM(octet_length(hashes)), 0)::bigint / 32 FROM change_batches),
                    (SELECT COUNT(*) FROM documents),
                    (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM devices),
                    (SELECT COALESCE(MAX(seq), 0) FROM change_batches)",
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

/// After an erasure: vacuum the tables that held the old changes, so their
/// dead rows' space is reclaimed (PostgreSQL does not zero it; dumps never
/// hold dead rows).
fn scrub_free_space(store: &PgStore) -> Result<()> {
    store.with(async |c| {
        Ok(
            c.batch_execute("VACUUM change_batches, documents, interviews")
                .await?,
        )
    })
}

fn ping(store: &PgStore) -> Result<()> {
    store.with(async |c| Ok(c.query_one("SELECT 1", &[]).await.map(|_| ())?))
}
