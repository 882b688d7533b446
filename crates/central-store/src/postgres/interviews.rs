//! Reads of the interview projection in PostgreSQL.

use survey_model::InterviewRecord;
use uuid::Uuid;

use super::{Param, PgStore, refs};
use crate::query::{self, PAGE, interview_where};
use crate::{InterviewFilter, Result, record_from_json};

pub(super) fn interview(store: &PgStore, id: Uuid) -> Result<Option<InterviewRecord>> {
    let record: Option<String> = store.first(
        "SELECT record FROM interviews WHERE doc_id = $1",
        &[&id],
        |r| Ok(r.try_get(0)?),
    )?;
    record.map(|s| record_from_json(&s)).transpose()
}

pub(super) fn list_interviews(
    store: &PgStore,
    f: &InterviewFilter,
) -> Result<Vec<InterviewRecord>> {
    let mut args: Vec<Param> = Vec::new();
    let sql = query::list_interviews_sql(&interview_where(f, &mut args), f);
    store.all(&sql, &refs(&args), |r| record_from_json(r.try_get(0)?))
}

pub(super) fn count_interviews(store: &PgStore, f: &InterviewFilter) -> Result<u64> {
    let mut args: Vec<Param> = Vec::new();
    let sql = format!(
        "SELECT COUNT(*) FROM interviews{}",
        interview_where(f, &mut args)
    );
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
    let mut args: Vec<Param> = Vec::new();
    let w = interview_where(f, &mut args);
    let sql = format!(
        "SELECT doc_id, record, updated_seq FROM interviews{w}
         AND (${n}::uuid IS NULL OR doc_id > ${n}) ORDER BY doc_id LIMIT {PAGE}",
        n = args.len() + 1
    );
    query::visit_pages(
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
