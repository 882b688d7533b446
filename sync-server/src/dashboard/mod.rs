//! The coordinator dashboard: server-rendered HTML (maud) under `/dashboard`,
//! small pages with inline CSS and SVG charts, no JavaScript. Login with a
//! password gives a session cookie (only its SHA-256 is stored); every
//! state-changing form carries the session's CSRF token; every page goes
//! through [`crate::auth::authorize`] with the country it shows.

mod actions;
mod bulk;
mod cases;
mod command;
mod error;
mod exports;
mod forms;
pub mod i18n;
mod interview;
mod layout;
mod login;
mod map;
mod progress;
pub mod queue;
mod svg;
mod themes;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use central_store::User;

use crate::AppState;
use crate::auth::{Principal, same_secret};
use crate::error::ApiError;

pub use command::CommandQuery;
pub use error::{HtmlError, HtmlForm, HtmlPath, HtmlQuery};
pub use layout::STYLE;

/// The dashboard routes (merged into [`crate::router`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard/") }))
        .route("/dashboard", get(|| async { Redirect::to("/dashboard/") }))
        .route("/dashboard/", get(progress::page))
        .route("/dashboard/login", get(login::form).post(login::submit))
        .route("/dashboard/logout", post(login::logout))
        .route("/dashboard/command", get(command::page))
        .route(
            "/dashboard/actions",
            get(actions::page).post(actions::create),
        )
        .route(
            "/dashboard/actions/{id}",
            get(actions::action_page).post(actions::update),
        )
        .route("/dashboard/themes", get(themes::page).post(themes::save))
        .route(
            "/dashboard/themes/codebook",
            get(themes::codebook_page).post(themes::save_codebook),
        )
        .route(
            "/dashboard/exports",
            get(exports::page).post(exports::start),
        )
        .route("/dashboard/cases", get(cases::page))
        .route("/dashboard/cases/assign", post(cases::assign))
        .route(
            "/dashboard/cases/{id}",
            get(cases::case_page).post(cases::update),
        )
        .route("/dashboard/cases/{id}/contact", post(cases::contact))
        .route("/dashboard/language", post(login::language))
        .route("/dashboard/reviews", get(queue::page))
        .route("/dashboard/reviews/bulk", post(bulk::submit))
        .route("/dashboard/forms", get(forms::page))
        .route("/dashboard/forms/preview", post(forms::preview_upload))
        .route("/dashboard/forms/publish", post(forms::publish_form))
        .route("/dashboard/interviews/{id}", get(interview::page))
        .route("/dashboard/interviews/{id}/review", post(interview::review))
        .route(
            "/dashboard/interviews/{id}/comment",
            post(interview::comment),
        )
        .route("/dashboard/interviews/{id}/tag", post(interview::tag))
        .layer(axum::middleware::from_fn(headers))
}

/// Security headers on every dashboard response (errors are already HTML:
/// handlers return [`HtmlError`]). The request is answered in the browser's
/// language until [`DashUser`] knows the account's ([`i18n::scope`]).
async fn headers(req: Request, next: Next) -> Response {
    let lang = i18n::Lang::choose(None, accept_language(req.headers()));
    let mut resp = i18n::scope(lang, next.run(req)).await;
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

/// The `Accept-Language` header, if readable.
fn accept_language(h: &axum::http::HeaderMap) -> Option<&str> {
    h.get(header::ACCEPT_LANGUAGE)?.to_str().ok()
}

/// A logged-in dashboard user. Pages that need one redirect to the login form
/// when the session is missing or expired.
#[derive(Debug, Clone)]
pub struct DashUser {
    pub principal: Principal,
    pub csrf: String,
    /// The language of the pages: the account's choice, else the browser's.
    pub lang: i18n::Lang,
    /// This page's path and query (a GET), where the language switcher comes
    /// back to; `/dashboard/` for a form post.
    pub path: String,
}

impl DashUser {
    pub fn user(&self) -> &User {
        &self.principal.user
    }

    /// Check the synchroniser token a form sent.
    pub fn check_csrf(&self, sent: &str) -> Result<(), HtmlError> {
        if same_secret(sent, &self.csrf) {
            Ok(())
        } else {
            Err(HtmlError(ApiError::Forbidden(
                self.lang.t("error.csrf").to_owned(),
            )))
        }
    }
}

impl FromRequestParts<AppState> for DashUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match crate::auth::session_from_cookie(state, parts).await {
            Ok(Some((session, user))) => {
                let lang =
                    i18n::Lang::choose(user.language.as_deref(), accept_language(&parts.headers));
                i18n::set_current(lang);
                let path = match (&parts.method, parts.uri.path_and_query()) {
                    (&axum::http::Method::GET, Some(pq)) => pq.as_str().to_owned(),
                    _ => "/dashboard/".to_owned(),
                };
                Ok(DashUser {
                    principal: Principal {
                        user,
                        device: None,
                        assignment: None,
                    },
                    csrf: session.csrf,
                    lang,
                    path,
                })
            }
            Ok(None) => Err(Redirect::to("/dashboard/login").into_response()),
            Err(e) => Err(HtmlError(e).into_response()),
        }
    }
}

/// 303 back to a page after a form post.
/// A posted form's fields, in order.
pub(crate) type Fields = Vec<(String, String)>;

/// A posted form's fields in order (repeated names kept), CSRF checked.
pub(crate) fn posted_fields(who: &DashUser, body: &[u8]) -> Result<Fields, HtmlError> {
    let fields: Fields = serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::BadRequest(format!("malformed form: {e}")))?;
    who.check_csrf(field(&fields, "csrf"))?;
    Ok(fields)
}

/// A posted form with ticked rows (`ids` once per row), CSRF checked:
/// its fields and the ids.
pub(crate) fn ticked_form(
    who: &DashUser,
    body: &[u8],
) -> Result<(Fields, Vec<uuid::Uuid>), HtmlError> {
    let fields = posted_fields(who, body)?;
    let ids = fields
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| {
            uuid::Uuid::parse_str(v)
                .map_err(|_| ApiError::BadRequest(format!("{v:?} is not an id")))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok((fields, ids))
}

/// The value of field `k` of a posted form ("" when absent).
pub(crate) fn field<'a>(fields: &'a [(String, String)], k: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}
