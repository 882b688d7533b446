//! `GET /api/v1/places` and `POST /api/v1/places` (a CSV place file).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::service::places::{PlaceImport, import, list};
use survey_model::places::PlaceList;

#[derive(Debug, Deserialize)]
pub struct PlacesQuery {
    pub country: Option<String>,
}

/// `GET /api/v1/places?country=CI`: the place list and its revision.
pub async fn list_places(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PlacesQuery>,
) -> Result<Json<PlaceList>, ApiError> {
    Ok(Json(list(&state, &principal, q.country).await?))
}

/// `POST /api/v1/places` (body: CSV): add or change places by code.
pub async fn import_places(
    State(state): State<AppState>,
    principal: Principal,
    body: String,
) -> Result<Json<PlaceImport>, ApiError> {
    Ok(Json(import(&state, &principal, body).await?))
}
