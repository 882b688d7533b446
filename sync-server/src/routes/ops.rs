//! Health, metrics and forms.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;

/// `GET /healthz`: the store answers a `SELECT 1`. Cheap on purpose: it does
/// not wait for a merge permit (a sync burst holds them all) and reads no
/// table; counts are in `admin stats`, traffic in `/metrics`.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.ping()).await??;
    Ok(Json(serde_json::json!({ "status": "ok" })))
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

/// `POST /api/v1/forms` (admin): install a validated form version.
pub async fn put_form(
    State(state): State<AppState>,
    principal: Principal,
    body: String,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    authorize(&principal, Action::Administer)?;
    let actor = principal.user.clone();
    let form = state
        .blocking(move |st| {
            let form = st.install_form(&body)?;
            crate::audit::record(
                st,
                &actor,
                "form.put",
                form.id(),
                &form.version().to_string(),
            );
            Ok(form)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"form_id": form.id(), "version": form.version()})),
    ))
}
