//! Reads of the interview projection in SQLite.

use rusqlite::OptionalExtension;
use survey_model::InterviewRecord;
use uuid::Uuid;

use super::SqliteStore;
use crate::{InterviewFilter, Result, record_from_json};

/// WHERE clause and arguments for an interview filter.
pub(super) fn interview_where(f: &InterviewFilter) -> (String, Vec<String>) {
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

pub(super) fn interview(store: &SqliteStore, id: Uuid) -> Result<Option<InterviewRecord>> {
    let s: Option<String> = store.read(|c| {
        Ok(c.query_row(
            "SELECT record FROM interviews WHERE doc_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?)
    })?;
    s.map(|s| record_from_json(&s)).transpose()
}

pub(super) fn list_interviews(
    store: &SqliteStore,
    f: &InterviewFilter,
) -> Result<Vec<InterviewRecord>> {
    let (w, args) = interview_where(f);
    let sql = format!(
        "SELECT record FROM interviews{w} ORDER BY created_at DESC, doc_id LIMIT {} OFFSET {}",
        f.limit.unwrap_or(100).min(10_000),
        f.offset.unwrap_or(0)
    );
    let rows: Vec<String> = store.read(|c| {
        let mut st = c.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    })?;
    rows.iter().map(|s| record_from_json(s)).collect()
}

pub(super) fn count_interviews(store: &SqliteStore, f: &InterviewFilter) -> Result<u64> {
    let (w, args) = interview_where(f);
    store.read(|c| {
        Ok(c.query_row(
            &format!("SELECT COUNT(*) FROM interviews{w}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get::<_, i64>(0),
        )? as u64)
    })
}

pub(super) fn for_each_interview(
    store: &SqliteStore,
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
        let rows: Vec<(String, String, i64)> = store.read(|c| {
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
