//! JSON for the dashboard's data: campaign stats, the filtered review queue,
//! and the OpenAPI document of the whole JSON API.

use axum::Json;
use axum::extract::State;
use central_store::dashboard::ReviewPage;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::service::queue::QueueParams;
use crate::service::stats::StatsBody;

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    pub country: Option<String>,
}

/// `GET /api/v1/stats?country=CI`: progress and scores of the caller's
/// countries (403 for a country they may not read).
pub async fn stats(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<StatsBody>, ApiError> {
    Ok(Json(
        crate::service::stats::stats(&state, &principal, q.country.as_deref()).await?,
    ))
}

/// `GET /api/v1/review-queue?...`: the dashboard's queue filters, as JSON.
pub async fn review_queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<QueueParams>,
) -> Result<Json<ReviewPage>, ApiError> {
    Ok(Json(
        crate::service::queue::page(&state, &principal, &params).await?,
    ))
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

/// `GET /api/v1/command-centre?country=&day=&silent_h=`: the dashboard's
/// command centre, as JSON.
pub async fn command_centre(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<crate::dashboard::CommandQuery>,
) -> Result<Json<crate::service::command::CommandCentre>, ApiError> {
    Ok(Json(
        crate::service::command::command_centre(
            &state,
            &principal,
            q.country.as_deref(),
            q.day.as_deref(),
            q.silent_h,
        )
        .await?,
    ))
}
