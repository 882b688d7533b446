//! Campaign progress and scores of the caller's countries.

use central_store::InterviewFilter;
use central_store::dashboard::{CampaignStats, TOUCHPOINTS};
use serde::Serialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// Stats plus derived scores, as served.
#[derive(Debug, Serialize)]
pub struct StatsBody {
    pub countries: Option<Vec<String>>,
    pub touchpoints: [&'static str; 5],
    pub nps_score: Option<f64>,
    pub satisfaction: [Option<f64>; 5],
    #[serde(flatten)]
    pub stats: CampaignStats,
}

/// Progress and scores of `asked` (or all the caller's countries).
pub async fn stats(
    state: &AppState,
    p: &Principal,
    asked: Option<&str>,
) -> Result<StatsBody, ApiError> {
    let scope = Scope::resolve(p, Purpose::Read, asked)?;
    let filter = InterviewFilter {
        countries: scope.filter(),
        ..InterviewFilter::default()
    };
    let stats = state
        .blocking(move |st| Ok(st.store.campaign_stats(&filter)?))
        .await?;
    Ok(StatsBody {
        countries: scope.countries().map(<[String]>::to_vec),
        touchpoints: TOUCHPOINTS,
        nps_score: stats.total.nps_score(),
        satisfaction: [0, 1, 2, 3, 4].map(|i| stats.total.sat_avg(i)),
        stats,
    })
}
