//! Reads of the interview projection in PostgreSQL.

use survey_model::InterviewRecord;
use uuid::Uuid;

use super::{Param, PgStore, refs};
use crate::query::{self, PAGE};
use crate::sql;
use crate::{InterviewFilter, Result, record_from_json};

pub(super) fn interview(store: &PgStore, id: Uuid) -> Result<Option<InterviewRecord>> {
    store.first(sql::INTERVIEW.pg(), &[&id], |r| {
        record_from_json(r.try_get(0)?)
    })
}

pub(super) fn list_interviews(
    store: &PgStore,
    f: &InterviewFilter,
) -> Result<Vec<InterviewRecord>> {
    let (sql, args) = query::list_interviews::<Vec<Param>>(f);
    store.all(&sql, &refs(&args), |r| record_from_json(r.try_get(0)?))
}

pub(super) fn count_interviews(store: &PgStore, f: &InterviewFilter) -> Result<u64> {
    let (w, args) = query::filtered::<Vec<Param>>(f);
    let count: Option<i64> = store.first(
        &format!("SELECT COUNT(*) FROM interviews{w}"),
        &refs(&args),
        |r| Ok(r.try_get(0)?),
    )?;
    Ok(count.unwrap_or(0) as u64)
}

pub(super) fn review_tags(store: &PgStore, f: &InterviewFilter) -> Result<Vec<String>> {
    let (w, args) = query::filtered::<Vec<Param>>(f);
    let sql = format!(
        "SELECT DISTINCT t FROM interviews, jsonb_array_elements_text(record::jsonb -> 'tags') AS t{w} \
         ORDER BY 1"
    );
    store.all(&sql, &refs(&args), |r| Ok(r.try_get(0)?))
}

pub(super) fn for_each_interview(
    store: &PgStore,
    f: &InterviewFilter,
    visit: &mut dyn FnMut(InterviewRecord, u64) -> Result<()>,
) -> Result<()> {
    let (w, args) = query::filtered::<Vec<Param>>(f);
    let rec = crate::columns::record_expr("");
    let sql = format!(
        "SELECT doc_id, {rec}, updated_seq FROM interviews{w}
         AND (${n}::uuid IS NULL OR doc_id > ${n}) ORDER BY doc_id LIMIT {PAGE}",
        n = args.len() + 1
    );
    let start = match f.after_id.as_deref().map(Uuid::parse_str) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return Err(crate::StoreError::Db("after_id is not a uuid".into())),
        None => None,
    };
    query::visit_pages(
        start,
        |after: Option<&Uuid>| {
            let mut params = refs(&args);
            params.push(&after);
            store.all(&sql, &params, |r| {
                Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            })
        },
        visit,
    )
}
