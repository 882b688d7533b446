//! SQL for the dashboard methods of the SQLite backend: aggregates run over the
//! covering index `interviews_agg` (no record JSON is read), the review queue
//! pages with `ORDER BY created_at DESC` on an index.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use survey_model::InterviewRecord;

use crate::dashboard::{
    CampaignStats, KeyTally, PlaceTally, REVIEW_STATES, ReviewQuery, Session, Tally, complaint_key,
    queue_conditions, queue_page_sql, sats_of, tally_nps_conditions,
};
use crate::sqlite::{USER_COLS, user_from_row};
use crate::{Hash, Result, User};

/// Fill the dashboard columns of a projection row just upserted.
pub(crate) fn fill_dashboard_columns(
    tx: &Transaction<'_>,
    key: &str,
    r: &InterviewRecord,
) -> Result<()> {
    let s = sats_of(r);
    let cats = complaint_key(r);
    tx.prepare_cached(
        "UPDATE interviews SET sat_network = ?2, sat_shop = ?3, sat_call_centre = ?4,
           sat_billing = ?5, sat_mobile_money = ?6, complaint_categories = ?7 WHERE doc_id = ?1",
    )?
    .execute(params![key, s[0], s[1], s[2], s[3], s[4], cats])?;
    Ok(())
}

/// The [`Tally`] columns; the NPS conditions come from the one banding.
fn tally_cols() -> &'static str {
    static COLS: LazyLock<String> = LazyLock::new(|| {
        let [scale, pro, pas, det] = tally_nps_conditions();
        format!(
            "COUNT(*), SUM({scale}), SUM({pro}), SUM({pas}), SUM({det}), SUM(has_complaint = 'yes'),
  SUM(sat_network), COUNT(sat_network), SUM(sat_shop), COUNT(sat_shop),
  SUM(sat_call_centre), COUNT(sat_call_centre), SUM(sat_billing), COUNT(sat_billing),
  SUM(sat_mobile_money), COUNT(sat_mobile_money)"
        )
    });
    &COLS
}
const TALLY_WIDTH: usize = 16;

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
    for i in 0..5 {
        t.sat_sum[i] = n(6 + 2 * i)?;
        t.sat_n[i] = n(7 + 2 * i)? as u64;
    }
    Ok(t)
}

pub(crate) fn campaign_stats(c: &Connection, w: &str, args: &[String]) -> Result<CampaignStats> {
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

pub(crate) fn review_queue(
    c: &Connection,
    q: &ReviewQuery,
    mut w: String,
    mut args: Vec<String>,
) -> Result<(u64, Vec<String>)> {
    let mut arg = |w: &mut String, sql: &str, v: String| {
        args.push(v);
        w.push_str(&sql.replace('?', &format!("?{}", args.len())));
    };
    for (sql, v) in queue_conditions(q, "instr") {
        match v {
            Some(v) => arg(&mut w, &sql, v),
            None => w.push_str(&sql),
        }
    }
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM interviews{w}"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let mut st = c.prepare(&queue_page_sql(&w, q))?;
    let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
    Ok((total as u64, rows.collect::<rusqlite::Result<_>>()?))
}

pub(crate) fn create_session(tx: &Transaction<'_>, token_hash: &Hash, s: &Session) -> Result<()> {
    tx.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1",
        [s.created_at],
    )?;
    tx.execute(
        "INSERT INTO sessions(token_hash, user_id, csrf, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            &token_hash[..],
            s.user_id,
            s.csrf,
            s.created_at,
            s.expires_at
        ],
    )?;
    Ok(())
}

pub(crate) fn session(
    c: &Connection,
    token_hash: &Hash,
    now: i64,
) -> Result<Option<(Session, User)>> {
    Ok(c.query_row(
        &format!(
            "SELECT s.user_id AS s_user, s.csrf, s.created_at AS s_created, s.expires_at, {USER_COLS}
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.active = 1"
        ),
        params![&token_hash[..], now],
        |r| {
            Ok((
                Session {
                    user_id: r.get("s_user")?,
                    csrf: r.get("csrf")?,
                    created_at: r.get("s_created")?,
                    expires_at: r.get("expires_at")?,
                },
                user_from_row(r)?,
            ))
        },
    )
    .optional()?)
}
