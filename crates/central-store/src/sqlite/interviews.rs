//! Reads of the interview projection in SQLite.

use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;
use survey_model::InterviewRecord;
use uuid::Uuid;

use super::{SqliteStore, all, first};
use crate::query::{self, Binder, PAGE};
use crate::sql;
use crate::{InterviewFilter, Result, record_from_json};

pub(super) fn interview(store: &SqliteStore, id: Uuid) -> Result<Option<InterviewRecord>> {
    let record: Option<String> = store.read(|c| {
        first(c, sql::INTERVIEW.sqlite(), [id.to_string()], |r| {
            Ok(r.get(0)?)
        })
    })?;
    record.map(|s| record_from_json(&s)).transpose()
}

pub(super) fn list_interviews(
    store: &SqliteStore,
    f: &InterviewFilter,
) -> Result<Vec<InterviewRecord>> {
    let (sql, args) = query::list_interviews::<Vec<SqlValue>>(f);
    let rows: Vec<String> =
        store.read(|c| all(c, &sql, params_from_iter(args), |r| Ok(r.get(0)?)))?;
    rows.iter().map(|s| record_from_json(s)).collect()
}

pub(super) fn count_interviews(store: &SqliteStore, f: &InterviewFilter) -> Result<u64> {
    let (w, args) = query::filtered::<Vec<SqlValue>>(f);
    store.read(|c| {
        Ok(c.query_row(
            &format!("SELECT COUNT(*) FROM interviews{w}"),
            params_from_iter(args),
            |r| r.get::<_, i64>(0),
        )? as u64)
    })
}

pub(super) fn review_tags(store: &SqliteStore, f: &InterviewFilter) -> Result<Vec<String>> {
    let (w, args) = query::filtered::<Vec<SqlValue>>(f);
    let sql = format!(
        "SELECT DISTINCT t.value FROM interviews, json_each(interviews.record, '$.tags') AS t{w} \
         ORDER BY 1"
    );
    store.read(|c| all(c, &sql, params_from_iter(args), |r| Ok(r.get(0)?)))
}

pub(super) fn for_each_interview(
    store: &SqliteStore,
    f: &InterviewFilter,
    visit: &mut dyn FnMut(InterviewRecord, u64) -> Result<()>,
) -> Result<()> {
    let (w, mut args) = query::filtered::<Vec<SqlValue>>(f);
    let after = args.text(String::new());
    let rec = crate::columns::record_expr("");
    let sql = format!(
        "SELECT doc_id, {rec}, updated_seq FROM interviews{w} AND doc_id > {after}
         ORDER BY doc_id LIMIT {PAGE}"
    );
    query::visit_pages(
        f.after_id.clone(),
        |after: Option<&String>| {
            let mut page_args = args.clone();
            if let Some(a) = after {
                page_args.pop();
                page_args.push(SqlValue::Text(a.clone()));
            }
            store.read(|c| {
                all(c, &sql, params_from_iter(page_args), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
            })
        },
        visit,
    )
}
