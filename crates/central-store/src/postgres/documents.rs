//! The change log, document snapshots, the projection upsert and the feed in PostgreSQL.

use std::sync::LazyLock;

use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::{Param, PgStore, SEQ_LOCK, refs};
use crate::backend::FeedRequest;
use crate::columns::{self, SeqWrite};
use crate::query::Bound;
use crate::rows::{self};
use crate::sql;
use crate::{
    ChangeMeta, DocWrite, FeedPage, Hash, Result, StoreError, StoredDoc, heads_blob,
    heads_from_blob,
};

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

pub(super) fn doc_changes(store: &PgStore, id: Uuid) -> Result<Vec<Vec<u8>>> {
    let batches = store.all(sql::DOC_CHANGES.pg(), &[&id], rows::batch_changes)?;
    Ok(batches.into_iter().flatten().collect())
}

pub(super) fn commit_docs(store: &PgStore, writes: &[DocWrite]) -> Result<()> {
    // A deadlock or serialisation failure is reported as a conflict: the
    // merge reloads and retries, like after any concurrent update.
    match commit_once(store, writes) {
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

pub(super) fn feed(store: &PgStore, req: &FeedRequest<'_>) -> Result<FeedPage> {
    let after_i = i64::try_from(req.after).unwrap_or(i64::MAX);
    // One statement, so one snapshot: the items and the high-water mark
    // agree, and (thanks to SEQ_LOCK) every seq up to the mark is committed.
    // One round trip instead of four (begin, mark, items, commit): on
    // PostgreSQL round trips, not the queries, are the feed's cost. With no
    // items the one row carries the mark and NULLs.
    static FEED_WITH_TOP: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT t.top, f.* FROM (SELECT COALESCE(MAX(seq), 0) AS top FROM change_batches) t
             LEFT JOIN LATERAL ({}) f ON true ORDER BY f.seq",
            sql::FEED.pg()
        )
    });
    let found = store.with_cached(async |c| {
        let st = c.stmt(&FEED_WITH_TOP).await?;
        Ok(c.client
            .query(
                &st,
                &[
                    &req.owner,
                    &after_i,
                    &req.exclude_source,
                    &(req.max_changes as i64 + 1),
                ],
            )
            .await?)
    })?;
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

const INSERT_DOC: &str =
    "INSERT INTO documents(doc_id, owner, country, snapshot, heads, version, updated_seq)
     VALUES ($1, $2, $3, $4, $5, 1, 0) ON CONFLICT(doc_id) DO NOTHING";
const UPDATE_DOC: &str = "UPDATE documents SET snapshot = $2, heads = $3, version = version + 1
     WHERE doc_id = $1 AND version = $4";
/// One statement (one round trip): the batches, the documents' and
/// projections' seqs, the actor pairs.
const INSERT_BATCHES: &str = "WITH ins AS (
                   INSERT INTO change_batches(doc_id, owner, source, hashes, sizes, bytes, received_at)
                   SELECT d, o, s, h, z, b, $7 FROM unnest($1::uuid[], $2::text[], $3::text[],
                     $4::bytea[], $5::text[], $6::bytea[]) WITH ORDINALITY AS t(d, o, s, h, z, b, n)
                   ORDER BY n
                   RETURNING doc_id, seq),
                 top AS (SELECT doc_id, MAX(seq) AS seq FROM ins GROUP BY doc_id),
                 act AS (INSERT INTO actors(actor, source)
                   SELECT * FROM unnest($8::bytea[], $9::text[]) ON CONFLICT DO NOTHING),
                 upd AS (UPDATE documents d SET updated_seq = top.seq FROM top
                   WHERE d.doc_id = top.doc_id RETURNING d.doc_id)
                 UPDATE interviews i SET updated_seq = top.seq FROM top
                   WHERE i.doc_id = top.doc_id";

fn commit_once(store: &PgStore, writes: &[DocWrite]) -> Result<(), CommitError> {
    let now = crate::unix_now();
    // A fixed lock order (by doc_id) so two batches never deadlock.
    let mut order: Vec<&DocWrite> = writes.iter().collect();
    order.sort_by_key(|w| w.doc_id);
    let mut conn = store.conn()?;
    let pooled = conn.pooled()?;
    futures_executor::block_on(async {
        // Prepared once per connection (one round trip per use, not two).
        let ins_doc = pooled.stmt(INSERT_DOC).await.map_err(PgOrStore::Store)?;
        let upd_doc = pooled.stmt(UPDATE_DOC).await.map_err(PgOrStore::Store)?;
        let upsert = pooled.stmt(upsert_sql()).await.map_err(PgOrStore::Store)?;
        let ins_batches = pooled
            .stmt(INSERT_BATCHES)
            .await
            .map_err(PgOrStore::Store)?;
        let ins_events = pooled
            .stmt(super::webhooks::INSERT_EVENTS)
            .await
            .map_err(PgOrStore::Store)?;
        let tx = pooled.client.transaction().await?;
        // 1. Version-checked snapshot writes and projections (row locks).
        for w in &order {
            let n = match w.expected_version {
                None => {
                    tx.execute(
                        &ins_doc,
                        &[
                            &w.doc_id,
                            &w.owner,
                            &w.country,
                            &w.snapshot,
                            &heads_blob(&w.heads),
                        ],
                    )
                    .await?
                }
                Some(v) => {
                    tx.execute(
                        &upd_doc,
                        &[&w.doc_id, &w.snapshot, &heads_blob(&w.heads), &v],
                    )
                    .await?
                }
            };
            if n == 0 {
                return Ok(Err(w.doc_id));
            }
            if w.replaces_history {
                tx.execute("DELETE FROM change_batches WHERE doc_id = $1", &[&w.doc_id])
                    .await?;
            }
            let r = &w.record;
            let record =
                serde_json::to_string(r).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut args: Vec<Param> = vec![Box::new(w.doc_id)];
            args.extend(columns::values(r).map(Param::from_value));
            args.extend([Box::new(now) as Param, Box::new(record)]);
            tx.execute(&upsert, &refs(&args)).await?;
        }
        // 2. Seq assignment, serialised with commit (see the module docs).
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQ_LOCK])
            .await?;
        // One batch row per document that brought changes.
        let batches: Vec<(&DocWrite, crate::BatchColumns)> = writes
            .iter()
            .filter(|w| !w.changes.is_empty())
            .map(|w| (w, crate::batch_columns(&w.changes)))
            .collect();
        if !batches.is_empty() {
            let docs: Vec<Uuid> = batches.iter().map(|(w, _)| w.doc_id).collect();
            let owners: Vec<&str> = batches.iter().map(|(w, _)| w.owner.as_str()).collect();
            let sources: Vec<&str> = batches.iter().map(|(w, _)| w.source.as_str()).collect();
            let hashes: Vec<&[u8]> = batches.iter().map(|(_, b)| b.hashes.as_slice()).collect();
            let sizes: Vec<&str> = batches.iter().map(|(_, b)| b.sizes.as_str()).collect();
            let bytes: Vec<&[u8]> = batches.iter().map(|(_, b)| b.bytes.as_slice()).collect();
            // Which device writes each actor, in one order (no deadlock
            // between two writers of the same pairs).
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
            // One statement (one round trip): the batches, the documents'
            // and projections' seqs, the actor pairs.
            tx.execute(
                &ins_batches,
                &[
                    &docs, &owners, &sources, &hashes, &sizes, &bytes, &now, &actors, &srcs,
                ],
            )
            .await?;
        }
        let rewritten: Vec<Uuid> = writes
            .iter()
            .filter(|w| w.replaces_history)
            .map(|w| w.doc_id)
            .collect();
        if !rewritten.is_empty() {
            tx.execute(
                "UPDATE documents SET epoch_seq = updated_seq WHERE doc_id = ANY($1::uuid[])",
                &[&rewritten],
            )
            .await?;
        }
        // Every write's events in one statement.
        let events: Vec<crate::webhooks::Event> = writes
            .iter()
            .flat_map(|w| w.events.iter().cloned())
            .collect();
        super::webhooks::insert_events_with(&tx, &ins_events, &events)
            .await
            .map_err(PgOrStore::Store)?;
        tx.commit().await?;
        Ok(Ok(()))
    })
    .map_err(CommitError::Pg)?
    .map_err(CommitError::Conflict)
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

/// The projection upsert, from the one column table. `updated_seq` starts at
/// the document's and is moved with the seq assignment under `SEQ_LOCK`.
fn upsert_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        columns::upsert_sql(
            |i| format!("${i}"),
            &SeqWrite::Expr("COALESCE((SELECT updated_seq FROM documents WHERE doc_id = $1), 0)"),
        )
    });
    &SQL
}
