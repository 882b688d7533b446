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
    Ok(case_with(
        &store.list_service_levels()?,
        r,
        reason,
        opened_by,
        now,
    ))
}

/// [`new_case`] with the service levels read already.
fn case_with(
    levels: &[crate::ServiceLevel],
    r: &InterviewRecord,
    reason: CaseReason,
    opened_by: &str,
    now: i64,
) -> Case {
    let first_contact_hours = levels
        .iter()
        .find(|s| s.country == r.country)
        .map_or(DEFAULT_SERVICE_LEVEL.0, |s| s.first_contact_hours);
    Case {
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
        contact_erased_at: None,
        updated_at: now,
        version: 1,
    }
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
    for case in by_rule(store, rules, records.map(|r| (r, false)), now)? {
        if store.open_case(&case)? {
            opened.push(case);
        }
    }
    Ok(opened)
}

/// The cases `rules` open for `records` that have none yet, not written.
/// A record marked new (an interview new to the server) has no case, so
/// none is looked up. The service levels are read once, when a case opens.
pub fn by_rule<'a>(
    store: &dyn CentralStore,
    rules: &CaseRules,
    records: impl Iterator<Item = (&'a InterviewRecord, bool)>,
    now: i64,
) -> Result<Vec<Case>> {
    let mut levels: Option<Vec<crate::ServiceLevel>> = None;
    let mut out = Vec::new();
    for (r, new) in records {
        let Some(reason) = opens_case(r, rules) else {
            continue;
        };
        if !new && store.case_of_interview(&r.interview_id)?.is_some() {
            continue;
        }
        let levels = match &mut levels {
            Some(l) => l,
            None => levels.insert(store.list_service_levels()?),
        };
        out.push(case_with(levels, r, reason, "rule", now));
    }
    Ok(out)
}

/// Service-level figures of a group of cases (a country, or a country and
/// a root cause).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CaseStats {
    pub country: String,
    /// `None`: every root cause of the country.
    pub root_cause: Option<String>,
    pub cases: u64,
    /// Cases with a first contact.
    pub contacted: u64,
    /// Of those, contacted within the country's service level.
    pub contacted_in_time: u64,
    /// Active cases past their first-contact deadline without a contact.
    pub overdue: u64,
    /// `contacted_in_time / (contacted + overdue)`: missed deadlines count
    /// against the share before the case is ever contacted.
    pub first_contact_share: Option<f64>,
    pub mean_hours_to_first_contact: Option<f64>,
    pub resolved: u64,
    pub resolved_in_time: u64,
    pub mean_hours_to_resolution: Option<f64>,
    /// Customers who rated the resolution, and their mean (1-5).
    pub rated: u64,
    pub mean_satisfaction: Option<f64>,
}

/// The service-level figures of `cases` at `now`, per country and per
/// (country, root cause), countries in order, a country's total first.
pub fn case_stats(cases: &[Case], levels: &[crate::ServiceLevel], now: i64) -> Vec<CaseStats> {
    use std::collections::BTreeMap;
    #[derive(Default)]
    struct Acc {
        s: CaseStats,
        to_contact: f64,
        to_resolve: f64,
        sat: f64,
    }
    let level = |country: &str| {
        levels
            .iter()
            .find(|l| l.country == country)
            .map_or(DEFAULT_SERVICE_LEVEL, |l| {
                (l.first_contact_hours, l.resolution_hours)
            })
    };
    let mut groups: BTreeMap<(String, Option<String>), Acc> = BTreeMap::new();
    for c in cases {
        let (first_h, resolve_h) = level(&c.country);
        let keys = [
            (c.country.clone(), None),
            (
                c.country.clone(),
                Some(c.root_cause.clone().unwrap_or_else(|| "none".into())),
            ),
        ];
        for key in keys {
            let a = groups.entry(key).or_default();
            a.s.cases += 1;
            if let Some(t) = c.first_contact_at {
                a.s.contacted += 1;
                let h = (t - c.opened_at) as f64 / 3600.0;
                a.to_contact += h;
                if h <= f64::from(first_h) {
                    a.s.contacted_in_time += 1;
                }
            } else if CaseStatus::parse(&c.status).is_some_and(CaseStatus::is_active)
                && now > c.opened_at + i64::from(first_h) * 3600
            {
                a.s.overdue += 1;
            }
            if let Some(t) = c.resolved_at {
                a.s.resolved += 1;
                let h = (t - c.opened_at) as f64 / 3600.0;
                a.to_resolve += h;
                if h <= f64::from(resolve_h) {
                    a.s.resolved_in_time += 1;
                }
            }
            if let Some(v) = c.satisfaction {
                a.s.rated += 1;
                a.sat += v as f64;
            }
        }
    }
    groups
        .into_iter()
        .map(|((country, root_cause), a)| {
            let mean = |sum: f64, n: u64| (n > 0).then(|| sum / n as f64);
            let due = a.s.contacted + a.s.overdue;
            CaseStats {
                country,
                root_cause,
                first_contact_share: (due > 0).then(|| a.s.contacted_in_time as f64 / due as f64),
                mean_hours_to_first_contact: mean(a.to_contact, a.s.contacted),
                mean_hours_to_resolution: mean(a.to_resolve, a.s.resolved),
                mean_satisfaction: mean(a.sat, a.s.rated),
                ..a.s
            }
        })
        .collect()
}
