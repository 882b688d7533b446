//! Reads of the interview projection in PostgreSQL.

use survey_model::InterviewRecord;
use uuid::Uuid;

use super::{Param, PgStore, refs};
use crate::{InterviewFilter, Result, record_from_json};

/// WHERE clause and parameters for an interview filter.
/// WHERE clause and parameters for an interview filter.
pub(super) fn interview_where(f: &InterviewFilter) -> (String, Vec<Param>) {
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

pub(super) fn interview(store: &PgStore, id: Uuid) -> Result<Option<InterviewRecord>> {
    let row = store.with(async |c| {
        Ok(
            c.query_opt("SELECT record FROM interviews WHERE doc_id = $1", &[&id])
                .await?,
        )
    })?;
    row.map(|r| record_from_json(r.try_get(0)?)).transpose()
}

pub(super) fn list_interviews(
    store: &PgStore,
    f: &InterviewFilter,
) -> Result<Vec<InterviewRecord>> {
    let (w, args) = interview_where(f);
    let sql = format!(
        "SELECT record FROM interviews{w} ORDER BY created_at DESC, doc_id LIMIT {} OFFSET {}",
        f.limit.unwrap_or(100).min(10_000),
        f.offset.unwrap_or(0)
    );
    let rows = store.with(async |c| Ok(c.query(&sql, &refs(&args)).await?))?;
    rows.iter()
        .map(|r| record_from_json(r.try_get(0)?))
        .collect()
}

pub(super) fn count_interviews(store: &PgStore, f: &InterviewFilter) -> Result<u64> {
    let (w, args) = interview_where(f);
    let sql = format!("SELECT COUNT(*) FROM interviews{w}");
    store.with(async |c| {
        Ok(c.query_one(&sql, &refs(&args))
            .await?
            .try_get::<_, i64>(0)? as u64)
    })
}

pub(super) fn for_each_interview(
    store: &PgStore,
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
        let rows = store.with(async |c| Ok(c.query(&sql, &params).await?))?;
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
