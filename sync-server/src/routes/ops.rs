//! Health, metrics and forms.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::service::forms::{FormBody, Publication};

/// The form in a request body: an XLSForm workbook when sent as
/// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`,
/// otherwise fieldvoice JSON text. The router's body limit applies to both.
fn form_body(headers: &axum::http::HeaderMap, body: Bytes) -> FormBody {
    let xlsx = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(xlsform::XLSX_CONTENT_TYPE))
        });
    if xlsx {
        FormBody::Xlsx(body)
    } else {
        FormBody::Json(body)
    }
}

/// `GET /healthz`: the store answers a `SELECT 1`. Cheap on purpose: it does
/// not wait for a merge permit (a sync burst holds them all) and reads no
/// table; counts are in `admin stats`, traffic in `/metrics`.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.ping()).await??;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

/// `GET /readyz`: 200 while this replica takes traffic (store reachable,
/// not shutting down); 503 `{"status": "draining"}` once SIGTERM arrived, so
/// a load balancer moves new requests to other replicas while this one
/// finishes its own. `/healthz` is liveness: it stays 200 while draining.
pub async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "draining" })),
        )
            .into_response();
    }
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.ping()).await {
        Ok(Ok(())) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        _ => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "store unreachable" })),
        )
            .into_response(),
    }
}

/// Content type of `/metrics` (Prometheus text format 0.0.4).
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        state.metrics.render(),
    )
}

/// `GET /api/v1/forms`: every form (any authenticated caller; devices too).
pub async fn list_forms(
    State(state): State<AppState>,
    _principal: Principal,
) -> Json<Vec<serde_json::Value>> {
    let forms = state.forms();
    let mut out: Vec<serde_json::Value> = forms
        .all()
        .filter_map(|f| serde_json::to_value(f.def()).ok())
        .collect();
    out.sort_by_key(|v| (v["form_id"].to_string(), v["version"].as_u64()));
    Json(out)
}

/// `GET /api/v1/forms/{id}/{version}`: one form version (any authenticated
/// caller; devices fetch the versions the sync header names).
pub async fn get_form(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, version)): ApiPath<(String, u32)>,
) -> Result<Json<survey_model::FormDef>, ApiError> {
    // A device sees the forms of its country only.
    let device_country = principal.device.as_ref().map(|_| {
        principal
            .user
            .countries
            .first()
            .cloned()
            .unwrap_or_default()
    });
    let mut forms = state.fresh_forms().await;
    if forms.get(&id, version).is_none() {
        // Published through another replica since this one last looked.
        let st = state.clone();
        tokio::task::spawn_blocking(move || st.reload_forms()).await?;
        forms = state.forms();
    }
    forms
        .get(&id, version)
        .filter(|f| device_country.as_ref().is_none_or(|c| f.def().is_for(c)))
        .map(|f| Json(f.def().clone()))
        .ok_or_else(|| ApiError::NotFound(format!("form {id} version {version}")))
}

/// `POST /api/v1/forms` (admin): publish a form version. 201 with what
/// changed from the previous version; 200 for the same version and content
/// again; 409 for a changed published version or a lower number.
pub async fn put_form(
    State(state): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Publication>), ApiError> {
    let body = form_body(&headers, body);
    let p = crate::service::forms::publish(&state, &principal, body).await?;
    let status = if p.already_published {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(p)))
}

/// `POST /api/v1/forms/preview` (admin): what publishing this form would
/// change (questions added, removed, retyped; options; wording; rules),
/// without publishing it.
pub async fn preview_form(
    State(state): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Json<Publication>, ApiError> {
    let body = form_body(&headers, body);
    Ok(Json(
        crate::service::forms::preview(&state, &principal, body).await?,
    ))
}
