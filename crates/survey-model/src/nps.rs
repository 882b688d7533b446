//! The one Net Promoter Score banding. Every count of promoters, passives and
//! detractors — the projection, both SQL dashboards and their streaming
//! defaults, the review-queue filter, exports and the analysis report — goes
//! through [`band`] or builds its SQL from [`Band::range`], so they cannot
//! disagree. A score outside [`MIN`]..=[`MAX`] has no band: it is not an NPS
//! answer (the projection leaves it out and flags it).

use serde::{Deserialize, Serialize};

/// Lowest score of the 0–10 scale.
pub const MIN: i64 = 0;
/// Highest score of the 0–10 scale.
pub const MAX: i64 = 10;
/// Scores `MIN..=DETRACTOR_MAX` are detractors.
pub const DETRACTOR_MAX: i64 = 6;
/// Scores `PROMOTER_MIN..=MAX` are promoters; those in between are passives.
pub const PROMOTER_MIN: i64 = 9;

/// The band of an NPS answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Detractor,
    Passive,
    Promoter,
}

impl Band {
    pub const ALL: [Band; 3] = [Band::Detractor, Band::Passive, Band::Promoter];

    /// The inclusive score range of the band.
    pub const fn range(self) -> (i64, i64) {
        match self {
            Band::Detractor => (MIN, DETRACTOR_MAX),
            Band::Passive => (DETRACTOR_MAX + 1, PROMOTER_MIN - 1),
            Band::Promoter => (PROMOTER_MIN, MAX),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Band::Detractor => "detractor",
            Band::Passive => "passive",
            Band::Promoter => "promoter",
        }
    }

    pub fn parse(s: &str) -> Option<Band> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// The band of `score`, `None` outside `MIN..=MAX`.
pub fn band(score: i64) -> Option<Band> {
    Band::ALL.into_iter().find(|b| {
        let (lo, hi) = b.range();
        (lo..=hi).contains(&score)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_score_of_the_scale_has_exactly_one_band() {
        let want = [
            (0, Band::Detractor),
            (6, Band::Detractor),
            (7, Band::Passive),
            (8, Band::Passive),
            (9, Band::Promoter),
            (10, Band::Promoter),
        ];
        for (score, b) in want {
            assert_eq!(band(score), Some(b), "{score}");
        }
        for score in MIN..=MAX {
            let n = Band::ALL
                .iter()
                .filter(|b| (b.range().0..=b.range().1).contains(&score))
                .count();
            assert_eq!(n, 1, "{score} is in {n} bands");
        }
    }

    #[test]
    fn scores_off_the_scale_have_no_band() {
        for score in [-1, 11, i64::MIN, i64::MAX, 100] {
            assert_eq!(band(score), None, "{score}");
        }
    }

    #[test]
    fn band_names_round_trip_and_match_serde() {
        for b in Band::ALL {
            assert_eq!(Band::parse(b.as_str()), Some(b));
            assert_eq!(
                serde_json::to_value(b).unwrap(),
                serde_json::json!(b.as_str())
            );
        }
        assert_eq!(Band::parse("lukewarm"), None);
    }
}
