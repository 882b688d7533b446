//! Interview quality checks: the rules that flag a rushed, repeated or
//! invented interview for a coordinator's attention, each with a documented
//! threshold ([`CheckRules`], configurable by the server operator).
//!
//! Six checks read one interview (its record, its [`Paradata`] and what the
//! server knows of its context: the coordinates of the employee's place and
//! the device's clock skew); two compare interviews with each other
//! ([`Check::CloseTogether`], [`Check::DuplicatePhone`]) and are kept by the
//! store, from the values this module derives ([`phone_key`],
//! [`Paradata::submitted_at`]). A flag is a prompt to look, never a verdict.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::interview::{InterviewRecord, Paradata};
use crate::mcmb::TOUCHPOINTS;

/// One quality check (serialized as its [`Check::as_str`] name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Consented, submitted, and first answer → submit took less than
    /// [`CheckRules::min_duration_s`].
    TooFast,
    /// Answers changed again after moving on more than
    /// [`CheckRules::max_edits`] times.
    ManyEdits,
    /// Submitted within [`CheckRules::close_gap_s`] of another interview by
    /// the same employee (device clock).
    CloseTogether,
    /// The GPS point is more than [`CheckRules::max_distance_km`] from the
    /// employee's assigned place (else the place the interview names).
    FarFromPlace,
    /// The customer's phone number (digits, last nine) is also in another
    /// interview of the campaign.
    DuplicatePhone,
    /// At least [`CheckRules::straight_min_ratings`] touchpoint ratings, all
    /// the same value.
    StraightLined,
    /// Consented and submitted, with the customer's own words (`verbatim`)
    /// shorter than [`CheckRules::min_verbatim_chars`] characters.
    ShortVerbatim,
    /// The device clock differed from the server's by more than
    /// [`CheckRules::max_clock_skew_s`] when it synced this interview: its
    /// times (duration, close-together) are not to be trusted.
    ClockSkew,
}

/// Every check, in display order.
pub const CHECKS: [Check; 8] = [
    Check::TooFast,
    Check::ManyEdits,
    Check::CloseTogether,
    Check::FarFromPlace,
    Check::DuplicatePhone,
    Check::StraightLined,
    Check::ShortVerbatim,
    Check::ClockSkew,
];

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::TooFast => "too_fast",
            Check::ManyEdits => "many_edits",
            Check::CloseTogether => "close_together",
            Check::FarFromPlace => "far_from_place",
            Check::DuplicatePhone => "duplicate_phone",
            Check::StraightLined => "straight_lined",
            Check::ShortVerbatim => "short_verbatim",
            Check::ClockSkew => "clock_skew",
        }
    }
    pub fn parse(s: &str) -> Option<Check> {
        CHECKS.into_iter().find(|c| c.as_str() == s)
    }
    /// Whether the store computes this check by comparing interviews.
    pub fn is_cross(self) -> bool {
        matches!(self, Check::CloseTogether | Check::DuplicatePhone)
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The thresholds of the checks. Defaults suit the MCMB interview (about
/// 10-15 minutes with a consenting customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckRules {
    pub min_duration_s: i64,
    pub max_edits: u32,
    pub close_gap_s: i64,
    pub max_distance_km: f64,
    pub straight_min_ratings: usize,
    pub min_verbatim_chars: usize,
    pub max_clock_skew_s: i64,
}

impl Default for CheckRules {
    fn default() -> Self {
        CheckRules {
            min_duration_s: 240,
            max_edits: 10,
            close_gap_s: 120,
            max_distance_km: 15.0,
            straight_min_ratings: 4,
            min_verbatim_chars: 15,
            max_clock_skew_s: 600,
        }
    }
}

impl CheckRules {
    /// Every problem of these rules (a threshold that makes no sense).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.min_duration_s < 0 {
            out.push("min_duration_s must be 0 or more".to_owned());
        }
        if self.close_gap_s < 0 {
            out.push("close_gap_s must be 0 or more".to_owned());
        }
        if !(self.max_distance_km.is_finite() && self.max_distance_km > 0.0) {
            out.push("max_distance_km must be a positive number".to_owned());
        }
        if self.straight_min_ratings < 2 {
            out.push("straight_min_ratings must be 2 or more".to_owned());
        }
        if self.max_clock_skew_s <= 0 {
            out.push("max_clock_skew_s must be positive".to_owned());
        }
        out
    }
}

/// What the server knows around an interview when it checks it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CheckContext {
    /// (lat, lon) of the employee's assigned place, else of the place the
    /// interview names, when the place list has coordinates.
    pub place: Option<(f64, f64)>,
    /// Device clock minus server clock, seconds, measured at the sync that
    /// delivered this version of the interview.
    pub clock_skew_s: Option<i64>,
}

/// The question holding the customer's phone number.
pub const PHONE_QUESTION: &str = "customer_phone";
/// The question holding the customer's own words.
pub const VERBATIM_QUESTION: &str = "verbatim";
/// The question holding the GPS point of the interview.
pub const LOCATION_QUESTION: &str = "location";

fn consented_and_submitted(r: &InterviewRecord) -> bool {
    r.status == "submitted" && r.answers.get("consent").and_then(|v| v.as_bool()) == Some(true)
}

/// The single-interview checks that fire on `r`, in [`CHECKS`] order.
pub fn assess(
    r: &InterviewRecord,
    p: &Paradata,
    ctx: &CheckContext,
    rules: &CheckRules,
) -> Vec<Check> {
    let mut out = Vec::new();
    let full = consented_and_submitted(r);
    if full && p.duration_s.is_some_and(|d| d < rules.min_duration_s) {
        out.push(Check::TooFast);
    }
    if p.edits > rules.max_edits {
        out.push(Check::ManyEdits);
    }
    if let (Some(place), Some(gps)) = (ctx.place, location(r))
        && distance_km(place, gps) > rules.max_distance_km
    {
        out.push(Check::FarFromPlace);
    }
    let ratings: Vec<i64> = TOUCHPOINTS.iter().filter_map(|t| r.answer_i64(t)).collect();
    if ratings.len() >= rules.straight_min_ratings && ratings.windows(2).all(|w| w[0] == w[1]) {
        out.push(Check::StraightLined);
    }
    if full {
        let words = r.answer_str(VERBATIM_QUESTION).unwrap_or("").trim();
        if words.chars().count() < rules.min_verbatim_chars {
            out.push(Check::ShortVerbatim);
        }
    }
    if ctx
        .clock_skew_s
        .is_some_and(|s| s.abs() > rules.max_clock_skew_s)
    {
        out.push(Check::ClockSkew);
    }
    out
}

/// The GPS point of an interview, as (lat, lon).
pub fn location(r: &InterviewRecord) -> Option<(f64, f64)> {
    let v = r.answers.get(LOCATION_QUESTION)?;
    Some((v.get("lat")?.as_f64()?, v.get("lon")?.as_f64()?))
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

/// The key under which two interviews of a campaign share a customer phone:
/// the last nine digits of the number (so `+225 07 12 34 56 78` and
/// `0712345678` match), hashed with the campaign so the indexed column
/// holds no phone number. `None` with fewer than six digits.
pub fn phone_key(campaign: &str, r: &InterviewRecord) -> Option<String> {
    let digits: String = r
        .answer_str(PHONE_QUESTION)?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if digits.len() < 6 {
        return None;
    }
    let tail = &digits[digits.len().saturating_sub(9)..];
    let mut h = Sha256::new();
    h.update(campaign.as_bytes());
    h.update([0]);
    h.update(tail.as_bytes());
    Some(hex16(&h.finalize()))
}

fn hex16(b: &[u8]) -> String {
    b.iter().take(16).map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_abidjan_to_dakar_is_about_1800_km() {
        // 9.4 degrees of latitude and 13.4 of longitude at about 10 N: 16.2
        // degrees of arc, 1,800 km.
        let d = distance_km((5.323, -4.0196), (14.6928, -17.4467));
        assert!((1_780.0..1_820.0).contains(&d), "{d}");
        // One degree of latitude is 111.2 km.
        assert!((distance_km((0.0, 0.0), (1.0, 0.0)) - 111.2).abs() < 0.1);
        assert!(distance_km((5.0, 5.0), (5.0, 5.0)) < 1e-9);
    }

    #[test]
    fn every_check_round_trips_by_name() {
        for c in CHECKS {
            assert_eq!(Check::parse(c.as_str()), Some(c));
        }
        assert_eq!(Check::parse("nope"), None);
    }

    #[test]
    fn default_rules_have_no_problems_and_bad_ones_do() {
        assert!(CheckRules::default().problems().is_empty());
        let bad = CheckRules {
            max_distance_km: f64::NAN,
            straight_min_ratings: 1,
            ..CheckRules::default()
        };
        assert_eq!(bad.problems().len(), 2);
    }
}
