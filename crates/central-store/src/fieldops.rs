//! Quota progress, written once for both backends: targets per place and
//! segment (and per employee) against the submitted interviews the
//! projection counts ([`crate::CentralStore::done_counts`]).

use std::collections::HashMap;

use serde::Serialize;

use crate::{DoneCount, Quota};

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
