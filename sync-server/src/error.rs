//! The one error type at the HTTP edge.

use axum::Json;
use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every handler error becomes one of these, rendered as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// A 400 listing located problems, rendered as
    /// `{"error": ..., "problems": [{"sheet", "row", "column", "message"}, ...]}`
    /// (an uploaded XLSForm that does not convert).
    #[error("{0}")]
    Problems(String, Vec<serde_json::Value>),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("too many requests; slow down")]
    TooManyRequests,
    #[error("server busy; retry later")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
    /// A request the framework could not read, with the status its rejection
    /// carries: 400 (bad query, path or JSON syntax), 404, 405, 408, 413, 415
    /// (not `application/json`), 422 (JSON of the wrong shape).
    #[error("{1}")]
    Rejected(StatusCode, String),
}

impl ApiError {
    /// Log what the client is not told (internal details; never PII: store
    /// errors carry no answers).
    pub fn log(&self) {
        if let ApiError::Internal(detail) = self {
            tracing::error!(error = %detail, "internal error");
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Problems(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Rejected(status, _) => *status,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        self.log();
        let body = match &self {
            ApiError::Problems(message, problems) => {
                json!({ "error": message, "problems": problems })
            }
            _ => json!({ "error": self.to_string() }),
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<central_store::StoreError> for ApiError {
    fn from(e: central_store::StoreError) -> Self {
        use central_store::StoreError as E;
        match e {
            E::Duplicate(what) => ApiError::Conflict(format!("{what} already exists")),
            E::NotFound(what) => ApiError::NotFound(what),
            E::InvalidCode => ApiError::Forbidden(e.to_string()),
            E::Conflict(_) => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("background task: {e}"))
    }
}

impl From<central_store::merge::EditError> for ApiError {
    fn from(e: central_store::merge::EditError) -> Self {
        use central_store::merge::EditError as E;
        match e {
            E::NotFound(id) => ApiError::NotFound(format!("interview {id}")),
            E::Model(m) => ApiError::BadRequest(m.to_string()),
            E::Policy(v) => ApiError::Forbidden(format!("write policy: {v}")),
            E::Store(s) => s.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::Rejected(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::Rejected(r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::Rejected(r.status(), r.body_text())
    }
}

/// Largest plain-text error body turned into a JSON message.
const MAX_ERROR_TEXT: usize = 4096;

/// Middleware: on `/api/` paths, an error response that is not JSON yet (what
/// the framework answers by itself: unknown route, wrong method, body over the
/// limit, unreadable body, request timeout) becomes the API's
/// `{"error": ...}` with the same status and headers (`Allow`, ...).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_ERROR_TEXT)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
        });
    let mut out = ApiError::Rejected(status, text).into_response();
    let own: Vec<header::HeaderName> = out.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !own.contains(name) {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}
