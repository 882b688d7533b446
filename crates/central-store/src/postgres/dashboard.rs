//! SQL for the dashboard methods of the PostgreSQL backend, the counterpart of
//! `sqlite/dashboard.rs` with the same results: aggregates run over the
//! projection's columns (covering index `interviews_agg`, no record JSON is
//! read), the review queue pages in `created_at DESC, doc_id` order on
//! `interviews_queue` and reads only the page's records.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use tokio_postgres::Client;

use super::{Param, PgStore, refs};
use crate::dashboard::{
    CampaignStats, KeyTally, PlaceTally, REVIEW_STATES, ReviewPage, ReviewQuery, TOUCHPOINTS,
    Tally, queue_page_sql, tally_nps_conditions, touchpoint_cols,
};
use crate::query::{interview_where, queue_where, review_page};
use crate::{InterviewFilter, Result, StoreError};

/// The [`Tally`] columns; the NPS conditions come from the one banding. Every
/// sum is cast back to BIGINT (PostgreSQL sums BIGINTs as NUMERIC).
fn tally_cols() -> &'static str {
    static COLS: LazyLock<String> = LazyLock::new(|| {
        let [scale, pro, pas, det] = tally_nps_conditions();
        format!(
            "COUNT(*), COUNT(*) FILTER (WHERE {scale}), COUNT(*) FILTER (WHERE {pro}),
  COUNT(*) FILTER (WHERE {pas}), COUNT(*) FILTER (WHERE {det}),
  COUNT(*) FILTER (WHERE has_complaint = 'yes'), {}",
            touchpoint_cols("SUM({t})::bigint, COUNT({t})")
        )
    });
    &COLS
}
const TALLY_WIDTH: usize = 6 + 2 * TOUCHPOINTS.len();

fn count(r: &tokio_postgres::Row, i: usize) -> Result<u64> {
    let n: Option<i64> = r.try_get(i)?;
    u64::try_from(n.unwrap_or(0)).map_err(|_| StoreError::Corrupt("negative count".into()))
}

fn tally(r: &tokio_postgres::Row, at: usize) -> Result<Tally> {
    let mut t = Tally {
        interviews: count(r, at)?,
        with_nps: count(r, at + 1)?,
        promoters: count(r, at + 2)?,
        passives: count(r, at + 3)?,
        detractors: count(r, at + 4)?,
        complaints: count(r, at + 5)?,
        ..Tally::default()
    };
    for i in 0..TOUCHPOINTS.len() {
        t.sat_sum[i] = r.try_get::<_, Option<i64>>(at + 6 + 2 * i)?.unwrap_or(0);
        t.sat_n[i] = count(r, at + 7 + 2 * i)?;
    }
    Ok(t)
}

async fn campaign_stats_sql(c: &Client, w: &str, args: &[Param]) -> Result<CampaignStats> {
    let p = refs(args);
    let cols = tally_cols();
    let mut out = CampaignStats::default();
    let mut review = [0u64; 5];
    let mut country: BTreeMap<String, Tally> = BTreeMap::new();
    // Places are grouped by the city as shown (`""` for none), as the
    // streaming default does.
    let rows = c
        .query(
            &format!(
                "SELECT country, COALESCE(city, ''), {cols},
                   COUNT(*) FILTER (WHERE review_state IS NULL),
                   COUNT(*) FILTER (WHERE review_state = 'received'),
                   COUNT(*) FILTER (WHERE review_state = 'has_issues'),
                   COUNT(*) FILTER (WHERE review_state = 'approved'),
                   COUNT(*) FILTER (WHERE review_state = 'rejected')
                 FROM interviews{w} GROUP BY 1, 2"
            ),
            &p,
        )
        .await?;
    for r in &rows {
        let cc: String = r.try_get(0)?;
        let t = tally(r, 2)?;
        for (i, slot) in review.iter_mut().enumerate() {
            *slot += count(r, 2 + TALLY_WIDTH + i)?;
        }
        out.total.merge(&t);
        country.entry(cc.clone()).or_default().merge(&t);
        out.by_place.push(PlaceTally {
            country: cc,
            city: r.try_get(1)?,
            tally: t,
        });
    }
    out.by_country = country
        .into_iter()
        .map(|(key, tally)| KeyTally { key, tally })
        .collect();
    let rows = c
        .query(
            &format!(
                "SELECT COALESCE(segment, ''), {cols} FROM interviews{w}
                 GROUP BY COALESCE(segment, '')"
            ),
            &p,
        )
        .await?;
    out.by_segment = rows
        .iter()
        .map(|r| {
            Ok(KeyTally {
                key: r.try_get(0)?,
                tally: tally(r, 1)?,
            })
        })
        .collect::<Result<_>>()?;
    let rows = c
        .query(
            &format!("SELECT created_by, COUNT(*) FROM interviews{w} GROUP BY created_by"),
            &p,
        )
        .await?;
    out.by_employee = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, count(r, 1)?)))
        .collect::<Result<_>>()?;
    out.by_review_state = REVIEW_STATES
        .iter()
        .zip(review)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| ((*s).to_owned(), n))
        .collect();
    out.normalise();
    Ok(out)
}

pub(super) fn campaign_stats(store: &PgStore, f: &InterviewFilter) -> Result<CampaignStats> {
    let mut args: Vec<Param> = Vec::new();
    let w = interview_where(f, &mut args);
    store.with(async |c| campaign_stats_sql(c, &w, &args).await)
}

/// One page of the review queue, newest first (`created_at` is COLLATE "C":
/// byte order, as in SQLite).
pub(super) fn review_queue(store: &PgStore, q: &ReviewQuery) -> Result<ReviewPage> {
    let mut args: Vec<Param> = Vec::new();
    let w = queue_where(q, "strpos", &mut args);
    let p = refs(&args);
    let (total, records) = store.with(async |c| {
        let total: i64 = c
            .query_one(&format!("SELECT COUNT(*) FROM interviews{w}"), &p)
            .await?
            .try_get(0)?;
        let rows = c.query(&queue_page_sql(&w, q), &p).await?;
        let records = rows
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect::<Result<Vec<String>>>()?;
        Ok((u64::try_from(total).unwrap_or(0), records))
    })?;
    review_page(total, &records)
}
