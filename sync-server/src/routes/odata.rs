//! The OData v4 feed for Power BI, Excel and other OData clients:
//!
//! - `GET /api/v1/odata` the service document,
//! - `GET /api/v1/odata/$metadata` the CSDL,
//! - `GET /api/v1/odata/Interviews` the interviews of the caller's countries
//!   (the export's base rule and columns, PII omitted), with `$select`,
//!   `$filter`, `$top`, `$skip`, `$count` and server-driven paging
//!   (`@odata.nextLink` with a `$skiptoken`; `Prefer: odata.maxpagesize`),
//! - `GET /api/v1/odata/Interviews/$count` the number as text.
//!
//! Authenticated like every API call; OData clients send an API token as the
//! password of HTTP Basic authentication (any user name). Errors use the
//! OData JSON error format, `{"error": {"code", "message"}}`, rendered from
//! the one [`ApiError`]. Each page is one keyset read on a blocking thread.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use export::odata::{ENTITY_SET, Feed, MAX_PAGE_SIZE, PAGE_SIZE, Query};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// The service root's path.
pub const ROOT: &str = "/api/v1/odata";
/// Content type of the JSON answers.
pub const JSON_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;charset=utf-8";
/// Content type of `$metadata`.
pub const XML_CONTENT_TYPE: &str = "application/xml;charset=utf-8";

/// An [`ApiError`] in the OData JSON error format.
#[derive(Debug)]
pub struct ODataError(pub ApiError);

impl<E: Into<ApiError>> From<E> for ODataError {
    fn from(e: E) -> Self {
        ODataError(e.into())
    }
}

impl IntoResponse for ODataError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        self.0.log();
        let body = serde_json::json!({
            "error": { "code": status.as_u16().to_string(), "message": self.0.to_string() }
        });
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert("odata-version", HeaderValue::from_static("4.0"));
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fieldvoice\", charset=\"UTF-8\""),
            );
        }
        resp
    }
}

/// The service root URL as the client reached it (`X-Forwarded-Proto` and
/// `X-Forwarded-Host` from a reverse proxy win over `Host`).
fn root_url(headers: &HeaderMap) -> String {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let proto = get("x-forwarded-proto")
        .and_then(|p| p.split(',').next())
        .map_or("http", str::trim);
    let host = get("x-forwarded-host")
        .or_else(|| get("host"))
        .unwrap_or("localhost");
    format!("{proto}://{host}{ROOT}")
}

fn odata_headers(content_type: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    h
}

/// The caller's countries for the feed (the export scope).
fn countries(principal: &Principal) -> Result<Vec<String>, ApiError> {
    Ok(Scope::resolve(principal, Purpose::Export, None)?.filter())
}

fn params(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("query string: {e}")))
}

async fn feed(state: &AppState) -> Result<Feed, ApiError> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let places = st.store.list_places()?;
        Ok::<_, ApiError>(Feed::new(&st.forms(), places))
    })
    .await?
}

/// Run a scan of the feed on a blocking thread, sharing the exports' permits
/// (a count reads every interview of the scope).
async fn scan<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = super::export::EXPORT_PERMITS
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || f(&st)).await?
}

/// `GET /api/v1/odata`: the service document.
pub async fn service(
    principal: Result<Principal, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ODataError> {
    countries(&principal?)?;
    let root = root_url(&headers);
    let body = serde_json::json!({
        "@odata.context": format!("{root}/$metadata"),
        "value": [{ "name": ENTITY_SET, "kind": "EntitySet", "url": ENTITY_SET }],
    });
    Ok((odata_headers(JSON_CONTENT_TYPE), body.to_string()).into_response())
}

/// `GET /api/v1/odata/$metadata`.
pub async fn metadata(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
) -> Result<Response, ODataError> {
    countries(&principal?)?;
    let xml = feed(&state).await?.metadata_xml();
    Ok((odata_headers(XML_CONTENT_TYPE), xml).into_response())
}

/// The page size a request asks for with `Prefer: odata.maxpagesize=N`.
fn max_page_size(headers: &HeaderMap) -> Option<usize> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .find_map(|n| n.trim().parse::<usize>().ok())
        .map(|n| n.clamp(1, MAX_PAGE_SIZE))
}

/// `GET /api/v1/odata/Interviews`.
pub async fn interviews(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ODataError> {
    let countries = countries(&principal?)?;
    let pairs = params(raw.as_deref())?;
    let feed = feed(&state).await?;
    let q = feed.parse_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let asked = max_page_size(&headers);
    let page_size = asked.unwrap_or(PAGE_SIZE);
    let root = root_url(&headers);
    let (page, count, select, q) = scan(&state, move |st| {
        let forms = st.forms();
        let store = st.store.as_ref();
        let count = if q.count {
            Some(feed.count(store, &forms, &countries, &q)?)
        } else {
            None
        };
        let page = feed.page(store, &forms, &countries, &q, page_size)?;
        Ok((page, count, feed.select_names(&q), q))
    })
    .await?;
    let mut body = Vec::with_capacity(page.json.len() + 512);
    let context = match &select {
        Some(s) => format!("{root}/$metadata#{ENTITY_SET}({s})"),
        None => format!("{root}/$metadata#{ENTITY_SET}"),
    };
    body.extend_from_slice(b"{\"@odata.context\":");
    body.extend_from_slice(serde_json::Value::from(context).to_string().as_bytes());
    if let Some(n) = count {
        body.extend_from_slice(format!(",\"@odata.count\":{n}").as_bytes());
    }
    body.extend_from_slice(b",\"value\":[");
    body.extend_from_slice(&page.json);
    body.push(b']');
    let remaining = q.top.map(|t| t.saturating_sub(page.rows as u64));
    if let Some(last) = &page.next
        && remaining != Some(0)
    {
        let link = next_link(&root, &pairs, last, remaining);
        body.extend_from_slice(b",\"@odata.nextLink\":");
        body.extend_from_slice(serde_json::Value::from(link).to_string().as_bytes());
    }
    body.push(b'}');
    let mut h = odata_headers(JSON_CONTENT_TYPE);
    if let Some(n) = asked
        && let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={n}"))
    {
        h.insert("preference-applied", v);
    }
    Ok((h, body).into_response())
}

/// The next page's URL: the same options, `$skip` consumed, `$top` reduced
/// to what is left, and the last row's id as `$skiptoken`.
fn next_link(root: &str, pairs: &[(String, String)], last: &str, top: Option<u64>) -> String {
    let mut next: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "$skip" | "$skiptoken" | "$top"))
        .cloned()
        .collect();
    if let Some(t) = top {
        next.push(("$top".into(), t.to_string()));
    }
    next.push(("$skiptoken".into(), last.to_owned()));
    // Percent-encoded, but the `$` of system query options kept as clients write it.
    let enc = |s: &str| {
        serde_urlencoded::to_string([("", s)])
            .map(|e| e.trim_start_matches('=').to_owned())
            .unwrap_or_default()
    };
    let qs: Vec<String> = next
        .iter()
        .map(|(k, v)| match k.strip_prefix('$') {
            Some(rest) => format!("${}={}", enc(rest), enc(v)),
            None => format!("{}={}", enc(k), enc(v)),
        })
        .collect();
    format!("{root}/{ENTITY_SET}?{}", qs.join("&"))
}

/// `GET /api/v1/odata/Interviews/$count`: the number of matching rows, as text.
pub async fn count(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ODataError> {
    let countries = countries(&principal?)?;
    let pairs = params(raw.as_deref())?;
    let feed = feed(&state).await?;
    // Paging options do not change a count.
    let q: Query = feed.parse_query(
        pairs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "$top" | "$skip" | "$select" | "$count"))
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )?;
    let n = scan(&state, move |st| {
        Ok(feed.count(st.store.as_ref(), &st.forms(), &countries, &q)?)
    })
    .await?;
    Ok((odata_headers("text/plain;charset=utf-8"), n.to_string()).into_response())
}
