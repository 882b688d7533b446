//! The dashboard's error type: an [`ApiError`] rendered as a small HTML page
//! with the same status, and the request extractors whose rejections become
//! one. Dashboard handlers return `Result<_, HtmlError>`.

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::response::{IntoResponse, Response};

use super::i18n;
use super::layout::error_page;
use crate::error::ApiError;

/// An error shown to a person in a browser.
#[derive(Debug)]
pub struct HtmlError(pub ApiError);

impl IntoResponse for HtmlError {
    /// The page is in the language of the request being answered
    /// ([`i18n::current`]); the errors whose text is fixed are translated,
    /// the others carry their own (English) detail.
    fn into_response(self) -> Response {
        let status = self.0.status();
        self.0.log();
        let lang = i18n::current();
        let message = match &self.0 {
            ApiError::Unauthorized => lang.t("error.unauthorized").to_owned(),
            ApiError::TooManyRequests => lang.t("error.too_many").to_owned(),
            ApiError::Unavailable => lang.t("error.unavailable").to_owned(),
            ApiError::Internal(_) => lang.t("error.internal").to_owned(),
            e => e.to_string(),
        };
        (status, error_page(lang, status, &message)).into_response()
    }
}

impl From<ApiError> for HtmlError {
    fn from(e: ApiError) -> Self {
        HtmlError(e)
    }
}

impl From<PathRejection> for HtmlError {
    fn from(r: PathRejection) -> Self {
        HtmlError(r.into())
    }
}

impl From<QueryRejection> for HtmlError {
    fn from(r: QueryRejection) -> Self {
        HtmlError(r.into())
    }
}

impl From<FormRejection> for HtmlError {
    fn from(r: FormRejection) -> Self {
        HtmlError(ApiError::Rejected(r.status(), r.body_text()))
    }
}

/// Query parameters of a page.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(HtmlError))]
pub struct HtmlQuery<T>(pub T);

/// Path parameters of a page.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(HtmlError))]
pub struct HtmlPath<T>(pub T);

/// A posted HTML form.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Form), rejection(HtmlError))]
pub struct HtmlForm<T>(pub T);
