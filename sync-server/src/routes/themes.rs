//! Theme coding over JSON: the campaign's codebook, suggestions for uncoded
//! verbatims, and setting an interview's themes.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use survey_model::InterviewRecord;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::service::themes::{
    self as service, CodebookUpdate, CodebookView, SuggestQuery, Suggestions,
};

/// `GET /api/v1/themes/codebook`.
pub async fn codebook(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<CodebookView>, ApiError> {
    Ok(Json(service::codebook(&state, &principal).await?))
}

/// `POST /api/v1/themes/codebook` with a [`CodebookUpdate`].
pub async fn save_codebook(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(u): ApiJson<CodebookUpdate>,
) -> Result<Json<CodebookView>, ApiError> {
    Ok(Json(service::save_codebook(&state, &principal, u).await?))
}

/// `GET /api/v1/themes/suggestions?country=&limit=`.
pub async fn suggestions(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<SuggestQuery>,
) -> Result<Json<Suggestions>, ApiError> {
    Ok(Json(service::suggestions(&state, &principal, &q).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemesBody {
    pub themes: Vec<String>,
}

/// `POST /api/v1/interviews/{id}/themes` `{"themes": ["price", "billing"]}`.
pub async fn set_themes(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ThemesBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    Ok(Json(
        service::set_themes(&state, &principal, id, body.themes).await?,
    ))
}
