//! Health, metrics and forms.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;

/// `GET /healthz`: the store answers.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let stats = state.blocking(|st| Ok(st.store.stats()?)).await?;
    Ok(Json(
        serde_json::json!({ "status": "ok", "documents": stats.documents }),
    ))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
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
    let form = state.blocking(move |st| st.install_form(&body)).await?;
    crate::routes::users::audit(
        &state,
        &principal.user,
        "form.put",
        form.id(),
        &form.version().to_string(),
    );
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"form_id": form.id(), "version": form.version()})),
    ))
}
