//! The one error type at the HTTP edge.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every handler error becomes one of these, rendered as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
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
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            // Details go to the log (never PII: store errors carry no answers).
            tracing::error!(error = %detail, "internal error");
        }
        let mut resp = (status, Json(json!({ "error": self.to_string() }))).into_response();
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
            E::Store(s) => s.into(),
        }
    }
}
