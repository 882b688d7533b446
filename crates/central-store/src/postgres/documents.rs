//! The change log, document snapshots, the projection upsert and the feed in PostgreSQL.

use std::sync::LazyLock;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{Param, PgStore, SEQ_LOCK, refs};
use crate::backend::FeedRequest;
use crate::columns::{self, SeqWrite};
use crate::query::Bound;
use crate::rows;
use crate::sql;
use crate::{
    ChangeMeta, Derived, DocWrite, FeedPage, Hash, Result, StoreError, StoredDoc, heads_blob,
    heads_from_blob,
};

/// A push's commit refuses it when an actor of its changes was written from
/// another source (`ACTOR_GUARD`): one statement in the pipelined commit
/// instead of a round trip per sync.
pub(super) const ACTORS_CHECKED_AT_COMMIT: bool = true;

pub(super) fn actor_used_elsewhere(store: &PgStore, actor: &[u8], source: &str) -> Result<bool> {
    let row = store.first(sql::ACTOR_USED_ELSEWHERE.pg(), &[&actor, &source], |r| {
        Ok(r.try_get::<_, bool>(0)?)
    })?;
    Ok(row.unwrap_or(false))
}

pub(super) fn load_doc(store: &PgStore, id: Uuid) -> Result<Option<StoredDoc>> {
    let sql = sql::LOAD_DOC.pg();
    store.first(sql, &[&id], |r| rows::stored_doc(r, id))
}

/// One look-up by key per document, pipelined in one round trip. As one
/// `doc_id = ANY($1)` statement PostgreSQL planned it on every call (the
/// generic plan of an `= ANY` looks dearer than a custom one for the array
/// given): 0.08 ms of planning for 0.01 ms of execution per sync.
pub(super) fn load_docs(store: &PgStore, ids: &[Uuid]) -> Result<Vec<StoredDoc>> {
    use futures_util::future::join_all;
    let found = store.with_cached(async |c| {
        let st = c.stmt(sql::LOAD_DOC.pg()).await?;
        let (client, st) = (&c.client, &st);
        let each = ids
            .iter()
            .map(|id| async move { client.query_opt(st, &[id]).await });
        Ok(join_all(each).await)
    })?;
    let mut docs = Vec::with_capacity(ids.len());
    for (id, row) in ids.iter().zip(found) {
        if let Some(r) = row? {
            docs.push(rows::stored_doc(&r, *id)?);
        }
    }
    Ok(docs)
}

pub(super) fn doc_changes(store: &PgStore, id: Uuid) -> Result<Vec<Vec<u8>>> {
    let batches = store.all(sql::DOC_CHANGES.pg(), &[&id], rows::batch_changes)?;
    Ok(batches.into_iter().flatten().collect())
}

pub(super) fn commit_docs(
    store: &PgStore,
    writes: &[DocWrite],
    derived: Option<&Derived>,
) -> Result<()> {
    commit(store, writes, derived, None).map(|_| ())
}

/// A push's commit, and the feed read in the same round trip (after
/// `COMMIT`, so it sees this commit and every earlier one).
pub(super) fn commit_push(
    store: &PgStore,
    writes: &[DocWrite],
    derived: &Derived,
    then_feed: Option<&FeedRequest<'_>>,
) -> Result<Option<FeedPage>> {
    commit(store, writes, Some(derived), then_feed)
}

fn commit(
    store: &PgStore,
    writes: &[DocWrite],
    derived: Option<&Derived>,
    then_feed: Option<&FeedRequest<'_>>,
) -> Result<Option<FeedPage>> {
    // A deadlock or serialisation failure is reported as a conflict: the
    // merge reloads and retries, like after any concurrent update.
    match commit_once(store, writes, derived, then_feed) {
        Ok(page) => Ok(page),
        Err(CommitError::Conflict(id)) => Err(StoreError::Conflict(id)),
        Err(CommitError::Pg(PgOrStore::Pg(e))) if is_retryable(&e) => {
            let id = writes.first().map(|w| w.doc_id).unwrap_or_default();
            Err(StoreError::Conflict(id))
        }
        Err(CommitError::Pg(PgOrStore::Pg(e))) => Err(e.into()),
        Err(CommitError::Pg(PgOrStore::Store(e))) => Err(e),
    }
}

/// The feed's one statement: the items and the high-water mark in one
/// snapshot, so they agree, and (thanks to SEQ_LOCK) every seq up to the
/// mark is committed. One round trip instead of four (begin, mark, items,
/// commit): on PostgreSQL round trips, not the queries, are the feed's
/// cost. With no items the one row carries the mark and NULLs.
static FEED_WITH_TOP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT t.top, f.* FROM (SELECT COALESCE(MAX(seq), 0) AS top FROM change_batches) t
         LEFT JOIN LATERAL ({}) f ON true ORDER BY f.seq",
        sql::FEED.pg()
    )
});

/// [`FEED_WITH_TOP`]'s arguments.
struct FeedArgs<'a> {
    owner: &'a str,
    after: i64,
    exclude: &'a str,
    limit: i64,
}

impl<'a> FeedArgs<'a> {
    fn of(req: &FeedRequest<'a>) -> Self {
        FeedArgs {
            owner: req.owner,
            after: i64::try_from(req.after).unwrap_or(i64::MAX),
            exclude: req.exclude_source,
            limit: req.max_changes as i64 + 1,
        }
    }
    fn params(&self) -> [&(dyn ToSql + Sync); 4] {
        [&self.owner, &self.after, &self.exclude, &self.limit]
    }
}

/// The page of [`FEED_WITH_TOP`]'s rows.
fn feed_page(found: &[tokio_postgres::Row], req: &FeedRequest<'_>) -> Result<FeedPage> {
    let top: i64 = match found.first() {
        Some(r) => r.try_get("top")?,
        None => return Err(StoreError::Corrupt("feed query returned no row".into())),
    };
    let items = crate::flatten_items(
        found
            .iter()
            .filter(|r| r.try_get::<_, Option<i64>>("seq").ok().flatten().is_some())
            .map(rows::feed_items),
    );
    crate::page_feed(items, req.after, top as u64, req.max_changes, req.max_bytes)
}

pub(super) fn feed(store: &PgStore, req: &FeedRequest<'_>) -> Result<FeedPage> {
    let args = FeedArgs::of(req);
    let found = store.with_cached(async |c| {
        let st = c.stmt(&FEED_WITH_TOP).await?;
        Ok(c.client.query(&st, &args.params()).await?)
    })?;
    feed_page(&found, req)
}

pub(super) fn doc_heads(store: &PgStore, id: Uuid) -> Result<Vec<Hash>> {
    let row = store.with(async |c| {
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

pub(super) fn change_log(store: &PgStore, id: Uuid) -> Result<Vec<ChangeMeta>> {
    let sql = sql::CHANGE_LOG.pg();
    let batches = store.all(sql, &[&id], rows::change_meta)?;
    Ok(batches.into_iter().flatten().collect())
}

/// A new document; a concurrent insert of the same one fails the statement
/// (unique violation), which the commit reports as a conflict. Its seq is
/// its batch's, inserted just before in the same transaction.
const INSERT_DOC: &str =
    "INSERT INTO documents(doc_id, owner, country, snapshot, heads, version, updated_seq)
     VALUES ($1, $2, $3, $4, $5, 1,
       (SELECT COALESCE(MAX(seq), 0) FROM change_batches WHERE doc_id = $1))";
/// A version-checked snapshot write that fails (division by zero, reported
/// as a conflict) when the stored version moved: a statement that matches
/// no row is no error, and the rest of a pipelined transaction would commit
/// without it. The seq moves to the document's new batch, if any.
const UPDATE_DOC: &str = "WITH u AS (
       UPDATE documents SET snapshot = $2, heads = $3, version = version + 1,
         updated_seq = COALESCE((SELECT MAX(seq) FROM change_batches
           WHERE doc_id = $1 AND seq > documents.updated_seq), updated_seq)
       WHERE doc_id = $1 AND version = $4 RETURNING 1)
     SELECT 1 / COUNT(*)::int FROM u";
/// The change batches (seqs in order) and which device writes each actor.
const INSERT_BATCHES: &str = "WITH act AS (INSERT INTO actors(actor, source)
       SELECT * FROM unnest($8::bytea[], $9::text[]) ON CONFLICT DO NOTHING)
     INSERT INTO change_batches(doc_id, owner, source, hashes, sizes, bytes, received_at)
     SELECT d, o, s, h, z, b, $7 FROM unnest($1::uuid[], $2::text[], $3::text[],
       $4::bytea[], $5::text[], $6::bytea[]) WITH ORDINALITY AS t(d, o, s, h, z, b, n)
     ORDER BY n";

/// The actor-clone check of a push, inside its commit: fails (division by
/// zero, reported as a conflict, so the merge retries looking each actor
/// up) when an actor of the pushed changes was written from another source.
/// Run after the seq lock, it sees every commit before this one. One index
/// probe per actor (`LATERAL ... LIMIT 1`): as a plain join the prepared
/// statement's generic plan scanned the whole table, inside the lock (1.1 ms
/// at 4,000 devices, growing with every device).
const ACTOR_GUARD: &str = "SELECT 1 / (NOT EXISTS (
       SELECT 1 FROM unnest($1::bytea[], $2::text[]) AS t(actor, source)
       CROSS JOIN LATERAL (SELECT 1 FROM actors a
         WHERE a.actor = t.actor AND a.source <> t.source LIMIT 1) hit))::int";
/// The commit's transaction plans its statements once per connection.
/// PostgreSQL re-plans a prepared statement whose generic plan it estimates
/// dearer than the plans made for its parameters, and with array
/// parameters (`unnest`, `= ANY`) it always does: the webhook events, the
/// cross checks and the case events were planned on every commit (a quarter
/// of PostgreSQL's CPU in the replay, 0.15 ms a commit for the events alone,
/// whose execution takes 0.02 ms). Every statement of the commit reads by
/// key or index (the webhooks table, a handful of rows, is scanned), so its
/// generic plan is the custom one (checked with `auto_explain`). Scoped
/// to the transaction (`SET LOCAL`), and so not used by the feed read after
/// `COMMIT`: tried for whole sessions, it made an `= ANY` over `documents`
/// scan the table, and the dashboard's optional filters (`country = $1 OR
/// $1 = ''`) need plans for their values. One simple-query message, so no
/// extra round trip.
///
/// A plan made once is kept as the tables grow, so it must not depend on
/// their size: made from statistics taken while they were nearly empty (as
/// autovacuum takes them in a field day's first minutes), the generic plans
/// scanned `interviews`, `documents`, `change_batches` and `actors` whole on
/// every commit, inside the seq lock (a 15,000-interview burst took 59–66 s
/// instead of 20 s). So the commit plans without sequential scans (the
/// webhooks table, which has no other path, is still scanned), and without
/// JIT: a plan priced with the disabled scan's cost passed `jit_above_cost`
/// and compiled on every execution (~200 ms a statement).
const BEGIN_GENERIC: &str =
    "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off;
     SET LOCAL jit = off";
/// Take the seq lock (see the module docs).
const LOCK_SEQ: &str = "SELECT pg_advisory_xact_lock($1)";
/// A rewritten document's old history goes.
const DROP_HISTORY: &str = "DELETE FROM change_batches WHERE doc_id = $1";
/// A rewritten document's history starts at its new batch. One statement per
/// document: under the commit's generic plans an `= ANY($1)` scans the table.
const SET_EPOCH: &str = "UPDATE documents SET epoch_seq = updated_seq WHERE doc_id = $1";

/// One commit in one round trip: a pipeline of statements sent together
/// (tokio-postgres pipelines the requests of futures polled together, in
/// poll order): `BEGIN`, the seq lock, a push's actor-clone check
/// (`ACTOR_GUARD`), the rewrites' dropped histories, the
/// change batches, every document's snapshot and its seq, the rewrites'
/// epochs, every projection, what the push derives (cross-interview checks,
/// cases), the webhook events, `COMMIT`, and the feed the push asked for
/// (read after `COMMIT`, outside the seq lock).
///
/// The seq lock is taken first and held until the commit, without a round
/// trip to this process while held; each document and projection row is
/// written once, with its final seq. Rows are locked in doc_id order, so
/// two commits never deadlock. A statement that fails aborts the
/// transaction: the ones after it fail too and `COMMIT` rolls back, so every
/// result is checked and the first error wins.
fn commit_once(
    store: &PgStore,
    writes: &[DocWrite],
    derived: Option<&Derived>,
    then_feed: Option<&FeedRequest<'_>>,
) -> Result<Option<FeedPage>, CommitError> {
    use futures_util::future::join_all;
    let now = crate::unix_now();
    let mut order: Vec<&DocWrite> = writes.iter().collect();
    order.sort_by_key(|w| w.doc_id);
    let heads: Vec<Vec<u8>> = order.iter().map(|w| heads_blob(&w.heads)).collect();
    let mut projections: Vec<Vec<Param>> = Vec::with_capacity(order.len());
    for w in &order {
        let r = &w.record;
        let record = serde_json::to_string(r).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut args: Vec<Param> = vec![Box::new(w.doc_id)];
        args.extend(columns::values(r).map(Param::from_value));
        args.extend([Box::new(now) as Param, Box::new(record)]);
        projections.push(args);
    }
    let projections: Vec<Vec<&(dyn ToSql + Sync)>> = projections.iter().map(|a| refs(a)).collect();
    // One batch row per document that brought changes.
    let batches: Vec<(&DocWrite, crate::BatchColumns<'_>)> = writes
        .iter()
        .filter(|w| !w.changes.is_empty())
        .map(|w| (w, crate::batch_columns(w)))
        .collect();
    let docs: Vec<Uuid> = batches.iter().map(|(w, _)| w.doc_id).collect();
    let owners: Vec<&str> = batches.iter().map(|(w, _)| w.owner.as_str()).collect();
    let sources: Vec<&str> = batches.iter().map(|(w, _)| w.source.as_str()).collect();
    let hashes: Vec<&[u8]> = batches.iter().map(|(_, b)| b.hashes.as_slice()).collect();
    let sizes: Vec<&str> = batches.iter().map(|(_, b)| b.sizes.as_ref()).collect();
    let bytes: Vec<&[u8]> = batches.iter().map(|(_, b)| b.bytes.as_ref()).collect();
    // Which device writes each actor, in one order (no deadlock between two
    // writers of the same pairs).
    let mut pairs: Vec<(&[u8], &str)> = batches
        .iter()
        .flat_map(|(w, _)| {
            crate::distinct_actors(&w.changes)
                .into_iter()
                .map(|a| (a, w.source.as_str()))
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let (actors, srcs): (Vec<&[u8]>, Vec<&str>) = pairs.into_iter().unzip();
    let cases: &[crate::Case] = derived.map_or(&[], |d| &d.cases);
    let events: Vec<crate::webhooks::Event> = writes
        .iter()
        .flat_map(|w| w.events.iter().cloned())
        .collect();
    let case_events: Vec<crate::webhooks::Event> = cases
        .iter()
        .map(|c| crate::webhooks::case_event(c, true))
        .collect();
    let feed_args = then_feed.map(FeedArgs::of);
    let mut conn = store.conn()?;
    let (pooled, link) = conn.parts()?;
    let out = link.drive(async {
        // Every statement of the pipeline is prepared before it (once per
        // connection): a statement given as text is prepared in a round trip
        // of its own, and would be sent after the ones polled after it.
        let ins_doc = pooled.stmt(INSERT_DOC).await?;
        let upd_doc = pooled.stmt(UPDATE_DOC).await?;
        let upsert = pooled.stmt(upsert_sql()).await?;
        let lock = pooled.stmt(LOCK_SEQ).await?;
        let guard = pooled.stmt(ACTOR_GUARD).await?;
        let ins_batches = pooled.stmt(INSERT_BATCHES).await?;
        let ins_events = pooled.stmt(&super::webhooks::INSERT_EVENTS).await?;
        let ins_case_events = pooled
            .stmt(&super::webhooks::INSERT_OPENED_CASE_EVENTS)
            .await?;
        let epoch = pooled.stmt(SET_EPOCH).await?;
        let drop_history = pooled.stmt(DROP_HISTORY).await?;
        let refresh = pooled.stmt(sql::CROSS_BY_USERS_OR_PHONES.pg()).await?;
        let ins_case = pooled.stmt(sql::INSERT_CASE.pg()).await?;
        let feed_st = pooled.stmt(&FEED_WITH_TOP).await?;
        let client = &pooled.client;
        let snapshot_writes = order.iter().zip(&heads).map(|(w, h)| {
            let (st, args): (_, Vec<&(dyn ToSql + Sync)>) = match &w.expected_version {
                None => (
                    &ins_doc,
                    vec![&w.doc_id, &w.owner, &w.country, &w.snapshot, h],
                ),
                Some(v) => (&upd_doc, vec![&w.doc_id, &w.snapshot, h, v]),
            };
            async move { client.execute(st, &args).await }
        });
        let dropped_history = order
            .iter()
            .filter(|w| w.replaces_history)
            .map(|w| async { client.execute(&drop_history, &[&w.doc_id]).await });
        let batch_args: [&(dyn ToSql + Sync); 9] = [
            &docs, &owners, &sources, &hashes, &sizes, &bytes, &now, &actors, &srcs,
        ];
        let (
            begun,
            locked,
            guarded,
            dropped,
            inserted,
            written,
            epochs,
            projected,
            crossed,
            opened,
            evented,
            case_evented,
            committed,
            fed,
        ) = tokio::join!(
            client.batch_execute(BEGIN_GENERIC),
            client.execute(&lock, &[&SEQ_LOCK]),
            async {
                // A push's changes (what `derived` comes with); a server
                // write's actor is the server's own.
                if derived.is_none() || actors.is_empty() {
                    return Ok(0);
                }
                client.execute(&guard, &[&actors, &srcs]).await
            },
            join_all(dropped_history),
            async {
                if docs.is_empty() {
                    return Ok(0);
                }
                client.execute(&ins_batches, &batch_args).await
            },
            join_all(snapshot_writes),
            join_all(
                order
                    .iter()
                    .filter(|w| w.replaces_history)
                    .map(|w| async { client.execute(&epoch, &[&w.doc_id]).await })
            ),
            join_all(projections.iter().map(|a| client.execute(&upsert, a))),
            async {
                match derived {
                    Some(d) => {
                        let c = &d.cross;
                        client
                            .execute(&refresh, &[&c.users, &c.close_gap_s, &c.phones])
                            .await
                    }
                    None => Ok(0),
                }
            },
            join_all(cases.iter().map(|c| async {
                client
                    .execute(&ins_case, &super::cases::insert_params(c))
                    .await
            })),
            super::webhooks::insert_events_with(client, &ins_events, &events),
            super::webhooks::insert_events_with(client, &ins_case_events, &case_events),
            client.batch_execute("COMMIT"),
            async {
                match &feed_args {
                    Some(a) => Some(client.query(&feed_st, &a.params()).await),
                    None => None,
                }
            },
        );
        begun?;
        locked?;
        if let Err(e) = guarded {
            if e.code() == Some(&SqlState::DIVISION_BY_ZERO) {
                return Ok(Err(order.first().map(|w| w.doc_id).unwrap_or_default()));
            }
            return Err(PgOrStore::Pg(e));
        }
        dropped.into_iter().collect::<Result<Vec<u64>, _>>()?;
        inserted?;
        for (w, r) in order.iter().zip(written) {
            if let Err(e) = r {
                let conflict = matches!(e.code(), Some(c)
                    if *c == SqlState::DIVISION_BY_ZERO || *c == SqlState::UNIQUE_VIOLATION);
                if conflict {
                    return Ok(Err(w.doc_id));
                }
                return Err(PgOrStore::Pg(e));
            }
        }
        epochs.into_iter().collect::<Result<Vec<u64>, _>>()?;
        projected.into_iter().collect::<Result<Vec<u64>, _>>()?;
        crossed?;
        opened.into_iter().collect::<Result<Vec<u64>, _>>()?;
        evented.map_err(PgOrStore::Store)?;
        case_evented.map_err(PgOrStore::Store)?;
        committed?;
        Ok(Ok(fed.transpose()?))
    })?;
    if !matches!(out, Ok(Ok(_))) {
        // Out of any transaction before the connection goes back to the
        // pool; if even that fails, the connection is dropped.
        let rolled_back = link.drive(pooled.client.batch_execute("ROLLBACK"));
        if !matches!(rolled_back, Ok(Ok(()))) {
            conn.discard();
        }
    }
    let rows = out
        .map_err(CommitError::Pg)?
        .map_err(CommitError::Conflict)?;
    match (rows, then_feed) {
        (Some(rows), Some(req)) => Ok(Some(feed_page(&rows, req)?)),
        _ => Ok(None),
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

fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// The projection upsert, from the one column table. `updated_seq` is the
/// document's, read after the document's write (earlier in the pipeline),
/// on insert and on conflict alike.
fn upsert_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        columns::upsert_sql(
            |i| format!("${i}"),
            &SeqWrite::Expr("COALESCE((SELECT updated_seq FROM documents WHERE doc_id = $1), 0)"),
        )
    });
    &SQL
}
