//! Assignments and quotas: `POST /api/v1/assignments` and `POST
//! /api/v1/quotas` (CSV), `GET /api/v1/quotas` (targets with progress).

use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::places::PlacesQuery;
use crate::service::fieldops::{self as service, Imported, QuotaRow};

/// `POST /api/v1/assignments` (body: CSV `login,place_code[,team]`).
pub async fn import_assignments(
    State(state): State<AppState>,
    principal: Principal,
    body: String,
) -> Result<Json<Imported>, ApiError> {
    Ok(Json(
        service::import_assignments(&state, &principal, body).await?,
    ))
}

/// `POST /api/v1/quotas` (body: CSV `place_code,segment,target[,login]`).
pub async fn import_quotas(
    State(state): State<AppState>,
    principal: Principal,
    body: String,
) -> Result<Json<Imported>, ApiError> {
    Ok(Json(
        service::import_quotas(&state, &principal, body).await?,
    ))
}

/// `GET /api/v1/me/assignment`: the caller's place, team and targets
/// (`null` when not assigned).
pub async fn my_assignment(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Option<survey_model::places::FieldAssignment>>, ApiError> {
    Ok(Json(service::my_assignment(&state, &principal).await?))
}

/// `GET /api/v1/quotas?country=CI`: every target with what is done.
pub async fn quotas(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PlacesQuery>,
) -> Result<Json<Vec<QuotaRow>>, ApiError> {
    Ok(Json(
        service::quota_progress(&state, &principal, q.country.as_deref()).await?,
    ))
}
