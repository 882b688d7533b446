//! The interview review API (JSON): adapts requests to [`crate::service::interviews`].

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use survey_model::InterviewRecord;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::service::interviews::{self as service, Detail, ListQuery, Page};

/// `GET /api/v1/interviews`: only countries the caller may read.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    Ok(Json(service::list(&state, &principal, q).await?))
}

/// `GET /api/v1/interviews/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Detail>, ApiError> {
    Ok(Json(service::detail(&state, &principal, id).await?))
}

#[derive(Debug, Deserialize)]
pub struct ReviewBody {
    pub state: String,
}

/// `POST /api/v1/interviews/{id}/review` `{"state": "has_issues"}`.
pub async fn review(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    Ok(Json(
        service::review(&state, &principal, id, &body.state).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct CommentBody {
    pub text: String,
}

/// `POST /api/v1/interviews/{id}/comments` `{"text": "..."}`.
pub async fn comment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    Ok(Json(
        service::comment(&state, &principal, id, &body.text).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct TagBody {
    pub tag: String,
    #[serde(default = "yes")]
    pub on: bool,
}

fn yes() -> bool {
    true
}

/// `POST /api/v1/interviews/{id}/tags` `{"tag": "root_cause:network", "on": true}`.
pub async fn tag(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TagBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    Ok(Json(
        service::tag(&state, &principal, id, &body.tag, body.on).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct EraseBody {
    pub scope: service::EraseScope,
}

/// `POST /api/v1/interviews/{id}/erase` `{"scope": "pii" | "interview"}`:
/// erase personal data for good, on the customer's request (admins).
pub async fn erase(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EraseBody>,
) -> Result<Json<service::Erased>, ApiError> {
    Ok(Json(
        service::erase(&state, &principal, id, body.scope).await?,
    ))
}
