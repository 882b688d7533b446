//! The dashboard methods of the SQLite backend: the shared aggregate queries
//! ([`crate::campaign`]) in SQLite's spelling, and the review queue, which
//! pages with `ORDER BY created_at DESC` on the index `interviews_queue`.

use rusqlite::params_from_iter;
use rusqlite::types::Value as SqlValue;

use super::{SqliteStore, all};
use crate::campaign;
use crate::dashboard::{CampaignStats, ReviewPage, ReviewQuery, queue_page_sql};
use crate::query::{self, queue_where, review_page};
use crate::{InterviewFilter, Result};

pub(super) fn campaign_stats(store: &SqliteStore, f: &InterviewFilter) -> Result<CampaignStats> {
    let (w, args) = query::filtered::<Vec<SqlValue>>(f);
    let q = campaign::queries(&w, &campaign::SQLITE);
    store.read(|c| {
        let p = || params_from_iter(&args);
        Ok(campaign::assemble(
            all(c, &q.places, p(), |r| campaign::place_row(r))?,
            all(c, &q.segments, p(), |r| campaign::segment_row(r))?,
            all(c, &q.employees, p(), |r| campaign::employee_row(r))?,
        ))
    })
}

/// One page of the review queue, newest first.
pub(super) fn review_queue(store: &SqliteStore, q: &ReviewQuery) -> Result<ReviewPage> {
    let mut args: Vec<SqlValue> = Vec::new();
    let w = queue_where(q, "instr", &mut args);
    let count = format!("SELECT COUNT(*) FROM interviews{w}");
    let (total, records) = store.read(|c| {
        let total: i64 = c.query_row(&count, params_from_iter(&args), |r| r.get(0))?;
        let records: Vec<String> = all(c, &queue_page_sql(&w, q), params_from_iter(&args), |r| {
            Ok(r.get(0)?)
        })?;
        Ok((total as u64, records))
    })?;
    review_page(total, &records)
}
