//! Follow-up cases, the parts both backends share: the listing query of a
//! [`CaseFilter`] (through a [`Binder`]) and the default service level.

use survey_model::InterviewRecord;
use survey_model::cases::{CaseReason, CaseRules, CaseStatus, opens_case};

use crate::query::Binder;
use crate::rows::CASE_COLS;
use crate::{Case, CaseFilter, CentralStore, Result};

/// Hours to the first contact and to the resolution when a country has no
/// service level of its own.
pub const DEFAULT_SERVICE_LEVEL: (u32, u32) = (48, 7 * 24);

/// The listing query of `f`, by due date then id, and its parameters.
pub(crate) fn list_sql<B: Binder>(f: &CaseFilter) -> (String, B) {
    let mut b = B::default();
    let mut w = String::from(" WHERE 1 = 1");
    if !f.countries.is_empty() {
        w.push_str(&format!(" AND {}", b.one_of("country", &f.countries)));
    }
    if let Some(s) = &f.status {
        w.push_str(&format!(" AND status = {}", b.text(s.clone())));
    }
    if let Some(o) = &f.owner {
        w.push_str(&format!(" AND owner = {}", b.text(o.clone())));
    }
    let sql = format!(
        "SELECT {CASE_COLS} FROM cases{w} ORDER BY due_at, id LIMIT {} OFFSET {}",
        f.limit.unwrap_or(100).min(10_000),
        f.offset.unwrap_or(0)
    );
    (sql, b)
}

/// A new case for `r`, opened at `now` by `opened_by` (`rule` or a user id)
/// for `reason`, due by the country's service level.
pub fn new_case(
    store: &dyn CentralStore,
    r: &InterviewRecord,
    reason: CaseReason,
    opened_by: &str,
    now: i64,
) -> Result<Case> {
    let first_contact_hours = store
        .list_service_levels()?
        .into_iter()
        .find(|s| s.country == r.country)
        .map_or(DEFAULT_SERVICE_LEVEL.0, |s| s.first_contact_hours);
    Ok(Case {
        id: uuid::Uuid::new_v4().to_string(),
        interview_id: r.interview_id.clone(),
        campaign: r.campaign.clone(),
        country: r.country.clone(),
        reason: reason.as_str().to_owned(),
        status: CaseStatus::Open.as_str().to_owned(),
        owner: None,
        root_cause: r
            .answers
            .get("complaint_root_cause")
            .and_then(|v| v.as_array())
            .and_then(|a| a.first())
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        opened_at: now,
        opened_by: opened_by.to_owned(),
        due_at: now + i64::from(first_contact_hours) * 3600,
        first_contact_at: None,
        resolved_at: None,
        closed_at: None,
        resolution: None,
        satisfaction: None,
        updated_at: now,
        version: 1,
    })
}

/// Open the cases `rules` call for among `records` (submitted interviews
/// that have none yet); returns the cases opened.
pub fn open_by_rule<'a>(
    store: &dyn CentralStore,
    rules: &CaseRules,
    records: impl Iterator<Item = &'a InterviewRecord>,
    now: i64,
) -> Result<Vec<Case>> {
    let mut opened = Vec::new();
    for r in records {
        let Some(reason) = opens_case(r, rules) else {
            continue;
        };
        if store.case_of_interview(&r.interview_id)?.is_some() {
            continue;
        }
        let case = new_case(store, r, reason, "rule", now)?;
        if store.open_case(&case)? {
            opened.push(case);
        }
    }
    Ok(opened)
}
