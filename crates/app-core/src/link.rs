//! Enrollment input: a server URL plus a code, or a QR link
//! `fieldvoice://enroll?server=...&code=...` pasted in either field.

use reqwest::Url;

use crate::AppError;

/// Where and with what to enroll, after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollTarget {
    /// `http(s)://host[:port][/prefix]`, no trailing slash.
    pub server_url: String,
    /// The one-time code, trimmed, upper-cased.
    pub code: String,
}

/// Accept what an employee can type or scan: a plain server URL and code, or
/// the QR link text in either field (its parts win over empty fields).
pub fn parse_enroll_input(server: &str, code: &str) -> Result<EnrollTarget, AppError> {
    let (mut server, mut code) = (server.trim().to_owned(), code.trim().to_owned());
    for text in [server.clone(), code.clone()] {
        if let Some((s, c)) = parse_link(&text)? {
            server = s;
            code = c;
        }
    }
    if server.is_empty() {
        return Err(AppError::Input("the server address is missing".into()));
    }
    if code.is_empty() {
        return Err(AppError::Input("the enrollment code is missing".into()));
    }
    if code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AppError::Input(
            "the enrollment code has letters, digits and dashes only".into(),
        ));
    }
    Ok(EnrollTarget {
        server_url: normalize_server_url(&server)?,
        code: code.to_ascii_uppercase(),
    })
}

fn parse_link(text: &str) -> Result<Option<(String, String)>, AppError> {
    if !text.to_ascii_lowercase().starts_with("fieldvoice:") {
        return Ok(None);
    }
    let url = Url::parse(text)
        .map_err(|e| AppError::Input(format!("the enrollment link is not valid: {e}")))?;
    let mut server = None;
    let mut code = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "server" => server = Some(v.into_owned()),
            "code" => code = Some(v.into_owned()),
            _ => {}
        }
    }
    match (server, code) {
        (Some(s), Some(c)) => Ok(Some((s, c))),
        _ => Err(AppError::Input(
            "the enrollment link needs both server= and code=".into(),
        )),
    }
}

/// `host:port` becomes `http://host:port`; only http and https are accepted.
pub fn normalize_server_url(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    let with_scheme = if s.contains("://") {
        s.to_owned()
    } else {
        format!("http://{s}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| AppError::Input(format!("`{s}` is not a server address: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(AppError::Input(format!(
            "`{s}` is not an http(s) server address"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
