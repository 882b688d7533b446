//! JSON for the dashboard's data: campaign stats, the filtered review queue,
//! and the OpenAPI document of the whole JSON API.

use axum::Json;
use axum::extract::State;
use central_store::InterviewFilter;
use central_store::dashboard::{CampaignStats, ReviewPage, TOUCHPOINTS};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{Action, Principal, authorize, readable_countries};
use crate::dashboard::queue::QueueParams;
use crate::error::ApiError;
use crate::extract::ApiQuery;

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    pub country: Option<String>,
}

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

/// `GET /api/v1/stats?country=CI`: progress and scores of the caller's
/// countries (403 for a country they may not read).
pub async fn stats(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<StatsBody>, ApiError> {
    let countries = match q.country.filter(|c| !c.is_empty()) {
        Some(c) => {
            authorize(&principal, Action::ReadInterviews { country: &c })?;
            Some(vec![c])
        }
        None => match readable_countries(&principal) {
            None => None,
            Some(cs) if cs.is_empty() => {
                return Err(ApiError::Forbidden("no country assigned".into()));
            }
            Some(cs) => {
                for c in &cs {
                    authorize(&principal, Action::ReadInterviews { country: c })?;
                }
                Some(cs)
            }
        },
    };
    let filter = InterviewFilter {
        countries: countries.clone().unwrap_or_default(),
        ..InterviewFilter::default()
    };
    let stats = state
        .blocking(move |st| Ok(st.store.campaign_stats(&filter)?))
        .await?;
    Ok(Json(StatsBody {
        countries,
        touchpoints: TOUCHPOINTS,
        nps_score: stats.total.nps_score(),
        satisfaction: [0, 1, 2, 3, 4].map(|i| stats.total.sat_avg(i)),
        stats,
    }))
}

/// `GET /api/v1/review-queue?...`: the dashboard's queue filters, as JSON.
pub async fn review_queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<QueueParams>,
) -> Result<Json<ReviewPage>, ApiError> {
    let q = params.to_query(&principal)?;
    let page = state
        .blocking(move |st| Ok(st.store.review_queue(&q)?))
        .await?;
    Ok(Json(page))
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}
