//! The API's request extractors: axum's `Json`, `Query` and `Path` whose
//! rejections become [`ApiError`]s, so a bad query string, path parameter or
//! body is answered with the API's `{"error": ...}` and the rejection's status
//! (400, 415 for a body that is not `application/json`, 422 for JSON of the
//! wrong shape).

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};

use crate::error::ApiError;

/// A JSON request body.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query parameters.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The client address (absent when the router is served without connect info,
/// as in in-process tests).
pub type ClientAddr = Option<Extension<ConnectInfo<SocketAddr>>>;

pub fn client_ip(addr: &ClientAddr) -> std::net::IpAddr {
    addr.as_ref()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.0.ip())
}
