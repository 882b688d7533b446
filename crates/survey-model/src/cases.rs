//! Follow-up cases: the rule that opens one for a submitted interview, the
//! states a case goes through, and the resolution categories. A case is the
//! operator acting on what one customer said: call back whoever asked to be
//! contacted, and any detractor whose complaint is not resolved.
//!
//! Pure rules only: the store keeps the cases, the server enforces who may
//! move them.

use serde::{Deserialize, Serialize};

use crate::interview::InterviewRecord;

/// Why a case was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseReason {
    /// The customer asked to be contacted (`follow_up_requested = yes`).
    FollowUpRequested,
    /// A detractor (NPS 0-6) with a complaint not resolved.
    UnresolvedDetractor,
    /// Opened by hand by a coordinator.
    Manual,
}

impl CaseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseReason::FollowUpRequested => "follow_up_requested",
            CaseReason::UnresolvedDetractor => "unresolved_detractor",
            CaseReason::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<CaseReason> {
        [
            CaseReason::FollowUpRequested,
            CaseReason::UnresolvedDetractor,
            CaseReason::Manual,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Contacted,
    Resolved,
    NotReachable,
    Closed,
}

/// Every status, in workflow order.
pub const CASE_STATUSES: [CaseStatus; 5] = [
    CaseStatus::Open,
    CaseStatus::Contacted,
    CaseStatus::Resolved,
    CaseStatus::NotReachable,
    CaseStatus::Closed,
];

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Contacted => "contacted",
            CaseStatus::Resolved => "resolved",
            CaseStatus::NotReachable => "not_reachable",
            CaseStatus::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<CaseStatus> {
        CASE_STATUSES.into_iter().find(|c| c.as_str() == s)
    }
    /// Whether a case may go from `self` to `next`: open → contacted |
    /// not reachable; contacted → resolved | not reachable; not reachable →
    /// contacted (a later call got through); any but closed → closed.
    pub fn may_become(self, next: CaseStatus) -> bool {
        use CaseStatus::*;
        matches!(
            (self, next),
            (Open, Contacted | NotReachable)
                | (Contacted, Resolved | NotReachable)
                | (NotReachable, Contacted)
                | (Open | Contacted | Resolved | NotReachable, Closed)
        )
    }
    /// Whether the case still needs work.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            CaseStatus::Open | CaseStatus::Contacted | CaseStatus::NotReachable
        )
    }
}

/// How a resolved case was resolved.
pub const RESOLUTIONS: [&str; 6] = [
    "fixed",
    "explained",
    "compensated",
    "escalated",
    "no_action_needed",
    "other",
];

/// Which interviews open a case by themselves (per campaign, in the
/// server configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseRules {
    /// Open a case when the customer asked to be contacted.
    pub on_follow_up_request: bool,
    /// Open a case for a detractor whose complaint is not resolved.
    pub on_unresolved_detractor: bool,
}

impl Default for CaseRules {
    fn default() -> Self {
        CaseRules {
            on_follow_up_request: true,
            on_unresolved_detractor: true,
        }
    }
}

/// The reason a submitted, consented interview opens a case under `rules`,
/// if it does. A detractor's complaint counts as unresolved unless the
/// customer said it was resolved (`complaint_resolved = yes`).
pub fn opens_case(r: &InterviewRecord, rules: &CaseRules) -> Option<CaseReason> {
    let consented = r.answers.get("consent").and_then(|v| v.as_bool()) == Some(true);
    if r.status != "submitted" || !consented {
        return None;
    }
    if rules.on_follow_up_request && r.answer_str("follow_up_requested") == Some("yes") {
        return Some(CaseReason::FollowUpRequested);
    }
    let detractor = r
        .answer_i64("nps")
        .and_then(crate::nps::band)
        .is_some_and(|b| b == crate::nps::Band::Detractor);
    if rules.on_unresolved_detractor
        && detractor
        && r.answer_str("has_complaint") == Some("yes")
        && r.answer_str("complaint_resolved") != Some("yes")
    {
        return Some(CaseReason::UnresolvedDetractor);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_moves_forward_and_never_out_of_closed() {
        use CaseStatus::*;
        assert!(Open.may_become(Contacted));
        assert!(Contacted.may_become(Resolved));
        assert!(NotReachable.may_become(Contacted));
        assert!(Resolved.may_become(Closed));
        assert!(!Open.may_become(Resolved), "contact first");
        assert!(!Resolved.may_become(Open));
        for s in CASE_STATUSES {
            assert!(!Closed.may_become(s), "{s:?}");
            assert_eq!(CaseStatus::parse(s.as_str()), Some(s));
        }
    }
}
