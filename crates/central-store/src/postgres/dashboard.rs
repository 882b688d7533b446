//! The dashboard methods of the PostgreSQL backend, with the same results as
//! SQLite's: the shared aggregate queries ([`crate::campaign`]) in
//! PostgreSQL's spelling, and the review queue, which pages in
//! `created_at DESC, doc_id` order on `interviews_queue` (`created_at` is
//! COLLATE "C": byte order, as in SQLite) and reads only the page's records.

use super::{Param, PgStore, refs};
use crate::campaign;
use crate::dashboard::{CampaignStats, ReviewPage, ReviewQuery, queue_page_sql};
use crate::query::{self, queue_where, review_page};
use crate::{InterviewFilter, Result};

pub(super) fn campaign_stats(store: &PgStore, f: &InterviewFilter) -> Result<CampaignStats> {
    let (w, args) = query::filtered::<Vec<Param>>(f);
    let q = campaign::queries(&w, &campaign::POSTGRES);
    let p = refs(&args);
    Ok(campaign::assemble(
        store.all(&q.places, &p, campaign::place_row)?,
        store.all(&q.segments, &p, campaign::segment_row)?,
        store.all(&q.employees, &p, campaign::employee_row)?,
    ))
}

/// One page of the review queue, newest first.
pub(super) fn review_queue(store: &PgStore, q: &ReviewQuery) -> Result<ReviewPage> {
    let mut args: Vec<Param> = Vec::new();
    let w = queue_where(q, "strpos", &mut args);
    let p = refs(&args);
    let count = format!("SELECT COUNT(*) FROM interviews{w}");
    let total: Option<i64> = store.first(&count, &p, |r| Ok(r.try_get(0)?))?;
    let records: Vec<String> = store.all(&queue_page_sql(&w, q), &p, |r| Ok(r.try_get(0)?))?;
    review_page(u64::try_from(total.unwrap_or(0)).unwrap_or(0), &records)
}
