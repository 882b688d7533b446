//! SQL for the dashboard methods of the SQLite backend: aggregates run over the
//! covering index `interviews_agg` (no record JSON is read), the review queue
//! pages with `ORDER BY created_at DESC` on an index.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};

use super::{SqliteStore, all};
use crate::dashboard::{
    CampaignStats, KeyTally, PlaceTally, REVIEW_STATES, ReviewPage, ReviewQuery, TOUCHPOINTS,
    Tally, queue_page_sql, tally_nps_conditions, touchpoint_cols,
};
use crate::query::{interview_where, queue_where, review_page};
use crate::{InterviewFilter, Result};

/// The [`Tally`] columns; the NPS conditions come from the one banding.
fn tally_cols() -> &'static str {
    static COLS: LazyLock<String> = LazyLock::new(|| {
        let [scale, pro, pas, det] = tally_nps_conditions();
        format!(
            "COUNT(*), SUM({scale}), SUM({pro}), SUM({pas}), SUM({det}), SUM(has_complaint = 'yes'), {}",
            touchpoint_cols("SUM({t}), COUNT({t})")
        )
    });
    &COLS
}
const TALLY_WIDTH: usize = 6 + 2 * TOUCHPOINTS.len();

fn tally(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Tally> {
    let n =
        |i: usize| -> rusqlite::Result<i64> { Ok(r.get::<_, Option<i64>>(at + i)?.unwrap_or(0)) };
    let mut t = Tally {
        interviews: n(0)? as u64,
        with_nps: n(1)? as u64,
        promoters: n(2)? as u64,
        passives: n(3)? as u64,
        detractors: n(4)? as u64,
        complaints: n(5)? as u64,
        ..Tally::default()
    };
    for i in 0..TOUCHPOINTS.len() {
        t.sat_sum[i] = n(6 + 2 * i)?;
        t.sat_n[i] = n(7 + 2 * i)? as u64;
    }
    Ok(t)
}

fn campaign_stats_sql(c: &Connection, w: &str, args: &[SqlValue]) -> Result<CampaignStats> {
    let p = || rusqlite::params_from_iter(args.iter());
    let cols = tally_cols();
    let mut out = CampaignStats::default();
    let mut review = [0u64; 5];
    let mut country: Vec<KeyTally> = Vec::new();
    {
        let mut st = c.prepare_cached(&format!(
            "SELECT country, COALESCE(city, ''), {cols},
               SUM(review_state IS NULL), SUM(review_state = 'received'),
               SUM(review_state = 'has_issues'), SUM(review_state = 'approved'),
               SUM(review_state = 'rejected')
             FROM interviews{w} GROUP BY country, city"
        ))?;
        let mut rows = st.query(p())?;
        while let Some(r) = rows.next()? {
            let cc: String = r.get(0)?;
            let t = tally(r, 2)?;
            for (i, slot) in review.iter_mut().enumerate() {
                *slot += r.get::<_, Option<i64>>(2 + TALLY_WIDTH + i)?.unwrap_or(0) as u64;
            }
            out.total.merge(&t);
            match country.last_mut() {
                Some(k) if k.key == cc => k.tally.merge(&t),
                _ => country.push(KeyTally {
                    key: cc.clone(),
                    tally: t.clone(),
                }),
            }
            // A missing city and an empty one are the same place ("").
            let city: String = r.get(1)?;
            match out
                .by_place
                .iter_mut()
                .find(|p| p.country == cc && p.city == city)
            {
                Some(p) => p.tally.merge(&t),
                None => out.by_place.push(PlaceTally {
                    country: cc,
                    city,
                    tally: t,
                }),
            }
        }
    }
    out.by_country = country;
    {
        let mut st = c.prepare_cached(&format!(
            "SELECT COALESCE(segment, ''), {cols} FROM interviews{w}
             GROUP BY COALESCE(segment, '')"
        ))?;
        let rows = st.query_map(p(), |r| {
            Ok(KeyTally {
                key: r.get(0)?,
                tally: tally(r, 1)?,
            })
        })?;
        out.by_segment = rows.collect::<rusqlite::Result<_>>()?;
    }
    {
        let mut st = c.prepare_cached(&format!(
            "SELECT created_by, COUNT(*) FROM interviews{w} GROUP BY created_by"
        ))?;
        let rows = st.query_map(p(), |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        out.by_employee = rows.collect::<rusqlite::Result<_>>()?;
    }
    out.by_review_state = REVIEW_STATES
        .iter()
        .zip(review)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| ((*s).to_owned(), n))
        .collect();
    out.normalise();
    Ok(out)
}

pub(super) fn campaign_stats(store: &SqliteStore, f: &InterviewFilter) -> Result<CampaignStats> {
    let mut args: Vec<SqlValue> = Vec::new();
    let w = interview_where(f, &mut args);
    store.read(|c| campaign_stats_sql(c, &w, &args))
}

/// One page of the review queue, newest first.
pub(super) fn review_queue(store: &SqliteStore, q: &ReviewQuery) -> Result<ReviewPage> {
    let mut args: Vec<SqlValue> = Vec::new();
    let w = queue_where(q, "instr", &mut args);
    let (total, records) = store.read(|c| {
        let total: i64 = c.query_row(
            &format!("SELECT COUNT(*) FROM interviews{w}"),
            params_from_iter(&args),
            |r| r.get(0),
        )?;
        let records: Vec<String> = all(c, &queue_page_sql(&w, q), params_from_iter(&args), |r| {
            Ok(r.get(0)?)
        })?;
        Ok((total as u64, records))
    })?;
    review_page(total, &records)
}
