//! Webhooks over JSON (admins): register, list, pause/resume, delivery log,
//! redeliver.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use central_store::webhooks::Webhook;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::service::webhooks::{self as service, Created, LogLine, LogQuery, NewWebhook};

/// `POST /api/v1/webhooks` `{"url", "events": [...], "allow_pii", "description"}`:
/// 201 with the signing secret (shown this once).
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(n): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let c = service::create(&state, &principal, n).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// `GET /api/v1/webhooks` (no secrets).
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    Ok(Json(service::list(&state, &principal).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetActive {
    pub active: bool,
}

/// `POST /api/v1/webhooks/{id}` `{"active": false}`: pause or resume.
pub async fn set_active(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(b): ApiJson<SetActive>,
) -> Result<Json<Webhook>, ApiError> {
    Ok(Json(
        service::set_active(&state, &principal, id.to_string(), b.active).await?,
    ))
}

/// `GET /api/v1/webhooks/{id}/deliveries?state=&limit=`: the delivery log.
pub async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<Vec<LogLine>>, ApiError> {
    Ok(Json(
        service::log(&state, &principal, id.to_string(), q).await?,
    ))
}

/// `POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry`: queue a failed
/// delivery again (204).
pub async fn retry(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, delivery)): ApiPath<(uuid::Uuid, i64)>,
) -> Result<StatusCode, ApiError> {
    service::retry(&state, &principal, id.to_string(), delivery).await?;
    Ok(StatusCode::NO_CONTENT)
}
