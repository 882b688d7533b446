//! Hackathon actions over JSON: list, record, read (with progress notes)
//! and update (with a note, at the version read).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use central_store::ActionItem;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::service::actions::{self as service, ActionQuery, ActionUpdate, ActionView, NewAction};

/// `GET /api/v1/actions?country=`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ActionQuery>,
) -> Result<Json<Vec<ActionItem>>, ApiError> {
    Ok(Json(service::list(&state, &principal, &q).await?))
}

/// `POST /api/v1/actions` with a [`NewAction`]: 201.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(n): ApiJson<NewAction>,
) -> Result<(StatusCode, Json<ActionItem>), ApiError> {
    let a = service::create(&state, &principal, n).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// `GET /api/v1/actions/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ActionView>, ApiError> {
    Ok(Json(
        service::detail(&state, &principal, &id.to_string()).await?,
    ))
}

/// `POST /api/v1/actions/{id}` with an [`ActionUpdate`].
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(u): ApiJson<ActionUpdate>,
) -> Result<Json<ActionItem>, ApiError> {
    Ok(Json(
        service::update(&state, &principal, &id.to_string(), u).await?,
    ))
}
