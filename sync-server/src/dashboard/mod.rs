//! The coordinator dashboard: server-rendered HTML (maud) under `/dashboard`,
//! small pages with inline CSS and SVG charts, no JavaScript. Login with a
//! password gives a session cookie (only its SHA-256 is stored); every
//! state-changing form carries the session's CSRF token; every page goes
//! through [`crate::auth::authorize`] with the country it shows.

mod interview;
mod layout;
mod login;
mod progress;
pub mod queue;
mod svg;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use central_store::User;

use crate::AppState;
use crate::auth::{Action, Principal, authorize, readable_countries, same_secret};
use crate::error::ApiError;

pub use layout::STYLE;

/// The dashboard routes (merged into [`crate::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard/") }))
        .route("/dashboard", get(|| async { Redirect::to("/dashboard/") }))
        .route("/dashboard/", get(progress::page))
        .route("/dashboard/login", get(login::form).post(login::submit))
        .route("/dashboard/logout", post(login::logout))
        .route("/dashboard/reviews", get(queue::page))
        .route("/dashboard/interviews/{id}", get(interview::page))
        .route("/dashboard/interviews/{id}/review", post(interview::review))
        .route(
            "/dashboard/interviews/{id}/comment",
            post(interview::comment),
        )
        .route("/dashboard/interviews/{id}/tag", post(interview::tag))
        .layer(axum::middleware::from_fn(headers))
}

/// Security headers on every dashboard response; JSON errors become small
/// HTML pages (the error itself still comes from [`ApiError`]).
async fn headers(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let mut resp = if (status.is_client_error() || status.is_server_error()) && is_json {
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_default();
        let mut r = (status, layout::error_page(status, &message)).into_response();
        if let Some(v) = parts.headers.get(header::RETRY_AFTER) {
            r.headers_mut().insert(header::RETRY_AFTER, v.clone());
        }
        r
    } else {
        resp
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, layout::csp());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

/// A logged-in dashboard user. Pages that need one redirect to the login form
/// when the session is missing or expired.
#[derive(Debug, Clone)]
pub struct DashUser {
    pub principal: Principal,
    pub csrf: String,
}

impl DashUser {
    pub fn user(&self) -> &User {
        &self.principal.user
    }

    /// Check the synchroniser token a form sent.
    pub fn check_csrf(&self, sent: &str) -> Result<(), ApiError> {
        if same_secret(sent, &self.csrf) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("missing or wrong CSRF token".into()))
        }
    }

    /// The countries a page may show: `Some(c)` must be readable (else 403);
    /// `None` means all the user's countries (`None` again for admins).
    pub fn countries(&self, asked: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
        match asked.filter(|c| !c.is_empty()) {
            Some(c) => {
                authorize(&self.principal, Action::ReadInterviews { country: c })?;
                Ok(Some(vec![c.to_owned()]))
            }
            None => match readable_countries(&self.principal) {
                None => Ok(None),
                Some(cs) if cs.is_empty() => Err(ApiError::Forbidden("no country assigned".into())),
                Some(cs) => {
                    for c in &cs {
                        authorize(&self.principal, Action::ReadInterviews { country: c })?;
                    }
                    Ok(Some(cs))
                }
            },
        }
    }
}

impl FromRequestParts<AppState> for DashUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match crate::auth::session_from_cookie(state, parts).await {
            Ok(Some((session, user))) => Ok(DashUser {
                principal: Principal { user, device: None },
                csrf: session.csrf,
            }),
            Ok(None) => Err(Redirect::to("/dashboard/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// 303 back to a page after a form post.
fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}
