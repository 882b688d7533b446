//! Hackathon actions: what a country's team commits to do about the root
//! causes customers' complaints point to. An action names the root causes
//! and themes it addresses, the interviews that are its evidence, an owner,
//! a due date, its status and progress notes, and the effect it should have
//! on next year's figures, which the year-over-year report compares.
//!
//! Pure rules only (statuses, limits, validation): the store keeps actions,
//! the server decides who may write them.

use serde::{Deserialize, Serialize};

/// The root-cause question of the MCMB form; actions address its options.
pub const ROOT_CAUSE_QUESTION: &str = "complaint_root_cause";

/// Longest title, and longest description, expected effect or note.
pub const MAX_TITLE: usize = 200;
pub const MAX_TEXT: usize = 4000;
/// Most linked interviews, root causes or themes of one action.
pub const MAX_LINKS: usize = 500;

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Planned,
    InProgress,
    Done,
    Dropped,
}

/// Every status, in order.
pub const ACTION_STATUSES: [ActionStatus; 4] = [
    ActionStatus::Planned,
    ActionStatus::InProgress,
    ActionStatus::Done,
    ActionStatus::Dropped,
];

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Planned => "planned",
            ActionStatus::InProgress => "in_progress",
            ActionStatus::Done => "done",
            ActionStatus::Dropped => "dropped",
        }
    }
    pub fn parse(s: &str) -> Option<ActionStatus> {
        ACTION_STATUSES.into_iter().find(|a| a.as_str() == s)
    }
}

/// Whether `d` is a calendar date written `YYYY-MM-DD`.
pub fn is_date(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| d.get(r).and_then(|s| s.parse::<u32>().ok());
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(day)) => {
            let days = match m {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
                2 => 28,
                _ => return false,
            };
            (1900..=9999).contains(&y) && (1..=days).contains(&day)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in ACTION_STATUSES {
            assert_eq!(ActionStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ActionStatus::parse("finished"), None);
    }

    #[test]
    fn dates_are_checked_by_the_calendar() {
        assert!(is_date("2027-03-31"));
        assert!(is_date("2028-02-29"));
        assert!(!is_date("2027-02-29"));
        assert!(!is_date("2027-04-31"));
        assert!(!is_date("2027-4-30"));
        assert!(!is_date("31/03/2027"));
    }
}
