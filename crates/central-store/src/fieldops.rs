//! Quota progress, written once for both backends: targets per place and
//! segment (and per employee) against the submitted interviews the
//! projection counts ([`crate::CentralStore::done_counts`]).

use std::collections::HashMap;

use serde::Serialize;

use crate::{DoneCount, Quota};

/// The columns of a quota tally row ([`crate::rows::done_count`]), grouped by
/// place, segment and employee.
pub(crate) const TALLY_COLS: &str = "place_code, COALESCE(segment, '') AS segment, created_by, \
     COUNT(*) AS n, SUM(CASE WHEN (COALESCE(check_count, 0) + cross_count) > 0 THEN 1 ELSE 0 END) AS flagged";

/// What the command centre counts in SQL: submitted interviews per place,
/// segment and employee (with how many are flagged), and interviews
/// created per hour (UTC) of one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldTallies {
    pub done: Vec<DoneCount>,
    /// (hour 0-23, interviews created in it), hours without any left out.
    pub hours: Vec<(u8, u64)>,
}

/// The tally query over the interview filter's WHERE clause `w`.
pub(crate) fn tally_sql(w: &str) -> String {
    format!(
        "SELECT {TALLY_COLS} FROM interviews{w} AND status = 'submitted' AND place_code IS NOT NULL
         GROUP BY place_code, COALESCE(segment, ''), created_by"
    )
}

/// The hourly query over `w`; `from` and `to` are placeholders bound to the
/// day's bounds on `created_at` (RFC 3339 text sorts by time).
pub(crate) fn hours_sql(w: &str, from: &str, to: &str) -> String {
    format!(
        "SELECT substr(created_at, 12, 2) AS h, COUNT(*) AS n FROM interviews{w}
         AND created_at >= {from} AND created_at < {to} GROUP BY substr(created_at, 12, 2)"
    )
}

/// One quota target and how much of it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaProgress {
    pub place_code: String,
    pub segment: String,
    /// Empty for the place's target; else the employee's.
    pub user_id: String,
    pub target: u32,
    /// Submitted interviews of that segment at that place (by that employee
    /// for a personal target).
    pub done: u64,
}

/// The progress of every target: a place's target counts every employee's
/// interviews there, a personal target only that employee's.
pub fn progress(quotas: &[Quota], done: &[DoneCount]) -> Vec<QuotaProgress> {
    let mut by_place: HashMap<(&str, &str), u64> = HashMap::new();
    let mut by_person: HashMap<(&str, &str, &str), u64> = HashMap::new();
    for d in done {
        *by_place
            .entry((d.place_code.as_str(), d.segment.as_str()))
            .or_default() += d.count;
        *by_person
            .entry((
                d.place_code.as_str(),
                d.segment.as_str(),
                d.created_by.as_str(),
            ))
            .or_default() += d.count;
    }
    quotas
        .iter()
        .map(|q| {
            let key = (q.place_code.as_str(), q.segment.as_str());
            let done = if q.user_id.is_empty() {
                by_place.get(&key).copied()
            } else {
                by_person.get(&(key.0, key.1, q.user_id.as_str())).copied()
            };
            QuotaProgress {
                place_code: q.place_code.clone(),
                segment: q.segment.clone(),
                user_id: q.user_id.clone(),
                target: q.target,
                done: done.unwrap_or(0),
            }
        })
        .collect()
}
