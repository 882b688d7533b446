//! The change log, document snapshots, the projection upsert and the feed in SQLite.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Transaction, params};
use survey_model::InterviewRecord;
use uuid::Uuid;

use super::{SqliteStore, all, first};
use crate::backend::FeedRequest;
use crate::columns::{self, SeqWrite};
use crate::query::Bound;
use crate::rows::{self};
use crate::sql;
use crate::{
    ChangeMeta, Derived, DocWrite, FeedPage, Hash, Result, StoreError, StoredDoc, heads_blob,
    heads_from_blob,
};

/// The merge looks actors up before the commit: in-process, a look-up costs
/// no round trip.
pub(super) const ACTORS_CHECKED_AT_COMMIT: bool = false;

pub(super) fn actor_used_elsewhere(
    store: &SqliteStore,
    actor: &[u8],
    source: &str,
) -> Result<bool> {
    store.read(|c| {
        Ok(c.query_row(
            sql::ACTOR_USED_ELSEWHERE.sqlite(),
            params![actor, source],
            |r| r.get::<_, bool>(0),
        )?)
    })
}

pub(super) fn load_doc(store: &SqliteStore, id: Uuid) -> Result<Option<StoredDoc>> {
    store.read(|c| stored_doc(c, id))
}

/// One look-up per id on one reader connection (no round trips to save here).
pub(super) fn load_docs(store: &SqliteStore, ids: &[Uuid]) -> Result<Vec<StoredDoc>> {
    store.read(|c| {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(stored_doc(c, *id)?);
        }
        Ok(out)
    })
}

fn stored_doc(c: &rusqlite::Connection, id: Uuid) -> Result<Option<StoredDoc>> {
    first(c, sql::LOAD_DOC.sqlite(), [id.to_string()], |r| {
        rows::stored_doc(r, id)
    })
}

pub(super) fn doc_changes(store: &SqliteStore, id: Uuid) -> Result<Vec<Vec<u8>>> {
    let sql = sql::DOC_CHANGES.sqlite();
    let batches = store.read(|c| all(c, sql, [id.to_string()], |r| rows::batch_changes(r)))?;
    Ok(batches.into_iter().flatten().collect())
}

/// A push's commit, then the feed (in-process, so nothing to pipeline).
pub(super) fn commit_push(
    store: &SqliteStore,
    writes: &[DocWrite],
    derived: &Derived,
    then_feed: Option<&FeedRequest<'_>>,
) -> Result<Option<FeedPage>> {
    commit_docs(store, writes, Some(derived))?;
    then_feed.map(|f| feed(store, f)).transpose()
}

pub(super) fn commit_docs(
    store: &SqliteStore,
    writes: &[DocWrite],
    derived: Option<&Derived>,
) -> Result<()> {
    let now = crate::unix_now();
    store.write(|tx| {
        let mut ins_batch = tx.prepare_cached(
            "INSERT INTO change_batches(doc_id, owner, source, hashes, sizes, bytes, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut ins_actor = tx.prepare_cached(sql::INSERT_ACTOR.sqlite())?;
        for w in writes {
            let key = w.doc_id.to_string();
            if w.replaces_history {
                tx.prepare_cached("DELETE FROM change_batches WHERE doc_id = ?1")?
                    .execute([&key])?;
            }
            let seq: i64 = if w.changes.is_empty() {
                tx.prepare_cached(
                    "SELECT COALESCE(MAX(seq), 0) FROM change_batches WHERE doc_id = ?1",
                )?
                .query_row([&key], |r| r.get(0))?
            } else {
                let b = crate::batch_columns(w);
                ins_batch.execute(params![key, w.owner, w.source, b.hashes, b.sizes.as_ref(), b.bytes.as_ref(), now])?;
                // Read before the actor inserts move it.
                let seq = tx.last_insert_rowid();
                for actor in crate::distinct_actors(&w.changes) {
                    ins_actor.execute(params![actor, w.source])?;
                }
                seq
            };
            match w.expected_version {
                None => {
                    let n = tx.prepare_cached(
                        "INSERT INTO documents(doc_id, owner, country, snapshot, heads, version, updated_seq)
                         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT(doc_id) DO NOTHING",
                    )?.execute(params![key, w.owner, w.country, w.snapshot, heads_blob(&w.heads), seq],
                    )?;
                    if n == 0 {
                        return Err(StoreError::Conflict(w.doc_id));
                    }
                }
                Some(v) => {
                    let n = tx.prepare_cached(
                        "UPDATE documents SET snapshot = ?2, heads = ?3, version = version + 1,
                           updated_seq = ?4 WHERE doc_id = ?1 AND version = ?5",
                    )?.execute(params![key, w.snapshot, heads_blob(&w.heads), seq, v],
                    )?;
                    if n == 0 {
                        return Err(StoreError::Conflict(w.doc_id));
                    }
                }
            }
            if w.replaces_history {
                tx.execute(
                    "UPDATE documents SET epoch_seq = ?2 WHERE doc_id = ?1",
                    params![key, seq],
                )?;
            }
            upsert_projection(tx, &key, &w.record, now, seq)?;
            super::webhooks::insert_events(tx, &w.events)?;
        }
        if let Some(d) = derived {
            super::fieldops::cross_checks_in(tx, &d.cross)?;
            for c in &d.cases {
                super::cases::open_case_in(tx, c)?;
            }
        }
        Ok(())
    })
}

/// Write the projection row of document `doc_id` (the one column table's upsert).
fn upsert_projection(
    tx: &Transaction<'_>,
    doc_id: &str,
    r: &InterviewRecord,
    now: i64,
    seq: i64,
) -> Result<()> {
    let record = serde_json::to_string(r).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut args: Vec<SqlValue> = vec![SqlValue::Text(doc_id.to_owned())];
    args.extend(columns::values(r).map(SqlValue::from_value));
    args.extend([
        SqlValue::Integer(now),
        SqlValue::Text(record),
        SqlValue::Integer(seq),
    ]);
    tx.prepare_cached(upsert_sql())?
        .execute(rusqlite::params_from_iter(args))?;
    Ok(())
}

impl SqliteStore {
    /// Write projection rows that have no document behind them, each with its
    /// `updated_seq`, in one transaction. Only for benchmarks that need a large
    /// store fast (the dashboard bench, `bench-export`); everything real goes
    /// through [`crate::merge::push`].
    pub fn insert_synthetic_rows(&self, rows: &[(InterviewRecord, i64)]) -> Result<()> {
        let now = crate::unix_now();
        self.write(|tx| {
            for (r, seq) in rows {
                upsert_projection(tx, &r.interview_id, r, now, *seq)?;
            }
            Ok(())
        })
    }
}

pub(super) fn feed(store: &SqliteStore, req: &FeedRequest<'_>) -> Result<FeedPage> {
    store.read(|c| {
        // One read transaction: the items and the high-water mark agree.
        c.execute_batch("BEGIN")?;
        let out = (|| {
            let top: i64 = c
                .prepare_cached(sql::MAX_SEQ.sqlite())?
                .query_row([], |r| r.get(0))?;
            let mut st = c.prepare_cached(sql::FEED.sqlite())?;
            let mut rows = st.query(params![
                req.owner,
                i64::try_from(req.after).unwrap_or(i64::MAX),
                req.exclude_source,
                req.max_changes as i64 + 1
            ])?;
            // Streamed: a page stops reading at its byte budget.
            let batches = std::iter::from_fn(|| match rows.next() {
                Ok(Some(r)) => Some(rows::feed_items(r)),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            });
            let items = crate::flatten_items(batches);
            crate::page_feed(items, req.after, top as u64, req.max_changes, req.max_bytes)
        })();
        c.execute_batch("COMMIT")?;
        out
    })
}

pub(super) fn doc_heads(store: &SqliteStore, id: Uuid) -> Result<Vec<Hash>> {
    store.read(|c| {
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

pub(super) fn change_log(store: &SqliteStore, id: Uuid) -> Result<Vec<ChangeMeta>> {
    let sql = sql::CHANGE_LOG.sqlite();
    let batches = store.read(|c| all(c, sql, [id.to_string()], |r| rows::change_meta(r)))?;
    Ok(batches.into_iter().flatten().collect())
}

/// The projection upsert, from the one column table.
fn upsert_sql() -> &'static str {
    static SQL: LazyLock<String> =
        LazyLock::new(|| columns::upsert_sql(|i| format!("?{i}"), &SeqWrite::Param));
    &SQL
}
