//! Follow-up cases over JSON: the queue, one case, the contact details
//! (audited), opening by hand, updates, and the countries' service levels.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use central_store::{Case, ServiceLevel};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::stats::StatsQuery;
use crate::service::cases::{self as service, CaseQuery, CaseUpdate, CaseView, Contact};

/// `GET /api/v1/cases?country=&status=&owner=me&page=`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> Result<Json<Vec<Case>>, ApiError> {
    Ok(Json(service::list(&state, &principal, &q).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub interview_id: Uuid,
}

/// `POST /api/v1/cases` `{"interview_id": ...}`: open one by hand.
pub async fn open(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(b): ApiJson<OpenCase>,
) -> Result<(StatusCode, Json<Case>), ApiError> {
    let case = service::open(&state, &principal, b.interview_id).await?;
    Ok((StatusCode::CREATED, Json(case)))
}

/// `GET /api/v1/cases/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        service::detail(&state, &principal, &id.to_string()).await?,
    ))
}

/// `POST /api/v1/cases/{id}` with a [`CaseUpdate`].
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(u): ApiJson<CaseUpdate>,
) -> Result<Json<Case>, ApiError> {
    Ok(Json(
        service::update(&state, &principal, &id.to_string(), u).await?,
    ))
}

/// `GET /api/v1/cases/{id}/contact`: owner and coordinators only, audited.
pub async fn contact(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(
        service::contact(&state, &principal, &id.to_string()).await?,
    ))
}

/// How many service levels changed.
#[derive(Debug, Serialize)]
pub struct Changed {
    pub changed: usize,
}

/// `GET /api/v1/service-levels`.
pub async fn service_levels(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<ServiceLevel>>, ApiError> {
    Ok(Json(service::service_levels(&state, &principal).await?))
}

/// `POST /api/v1/service-levels` `[{"country","first_contact_hours","resolution_hours"}]`.
pub async fn set_service_levels(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(rows): ApiJson<Vec<ServiceLevel>>,
) -> Result<Json<Changed>, ApiError> {
    Ok(Json(Changed {
        changed: service::set_service_levels(&state, &principal, rows).await?,
    }))
}

/// `GET /api/v1/case-stats?country=`: service-level figures per country and
/// root cause.
pub async fn stats(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<Vec<central_store::cases::CaseStats>>, ApiError> {
    Ok(Json(
        service::stats(&state, &principal, q.country.as_deref()).await?,
    ))
}
