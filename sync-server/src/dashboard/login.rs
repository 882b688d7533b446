//! Login and logout. Passwords are argon2id; a login makes a random session
//! token (only its SHA-256 is stored) sent as an HttpOnly, SameSite=Strict
//! cookie. The login form itself is protected by a double-submit token.

use std::sync::LazyLock;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use central_store::dashboard::Session;
use central_store::{Role, unix_now};
use maud::html;
use serde::Deserialize;

use super::error::{HtmlError, HtmlForm};
use super::{DashUser, layout, see_other};
use crate::AppState;
use crate::auth::{
    SESSION_COOKIE, cookie_value, hash_password, hash_secret, new_token, same_secret,
    verify_password,
};
use crate::error::ApiError;
use crate::extract::{ClientAddr, client_ip};

const LOGIN_CSRF_COOKIE: &str = "fv_login";

/// A hash to verify against when the login does not exist, so that unknown
/// and known logins take the same time.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("fieldvoice-dummy-password").unwrap_or_default());

fn cookie_header(state: &AppState, name: &str, value: &str, max_age: i64) -> String {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    message: Option<&str>,
    login: &str,
) -> Response {
    let token = new_token("");
    let body = html! {
        div.login {
            h1 { "Coordinator sign-in" }
            @if let Some(m) = message { p.err role="alert" { (m) } }
            form method="post" action="/dashboard/login" {
                input type="hidden" name="csrf" value=(token);
                label { "Login" input name="login" id="login" autocomplete="username" required value=(login); }
                label { "Password" input name="password" id="password" type="password" autocomplete="current-password" required; }
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    (
        status,
        [(
            SET_COOKIE,
            cookie_header(state, LOGIN_CSRF_COOKIE, &token, 3600),
        )],
        layout::frame("Sign in", None, None, body),
    )
        .into_response()
}

/// `GET /dashboard/login`.
pub async fn form(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if DashUser::from_request_parts(&mut parts, &state)
        .await
        .is_ok()
    {
        return Redirect::to("/dashboard/").into_response();
    }
    login_page(&state, StatusCode::OK, None, "")
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
}

/// `POST /dashboard/login`.
pub async fn submit(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: axum::http::HeaderMap,
    HtmlForm(f): HtmlForm<LoginForm>,
) -> Result<Response, HtmlError> {
    let expected = cookie_value(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(&f.csrf, expected) {
        return Err(HtmlError(ApiError::Forbidden(
            "the sign-in form expired; reload the page and try again".into(),
        )));
    }
    let login = f.login.trim().to_owned();
    if login.is_empty() || login.len() > 200 || f.password.len() > 1024 {
        return Ok(login_page(
            &state,
            StatusCode::BAD_REQUEST,
            Some("Enter your login and password."),
            "",
        ));
    }
    // Every attempt counts, per client address and login (a guesser) and per
    // address whatever the login (a sprayer trying one password on many
    // logins): both are slowed down before any password is checked.
    let ip = client_ip(&addr);
    if state.login_address_limiter.check_key(&ip).is_err() {
        tracing::warn!("dashboard login rate-limited (address)");
        return Err(HtmlError(ApiError::TooManyRequests));
    }
    let key = format!("{ip}|{}", login.to_lowercase());
    if state.login_limiter.check_key(&key).is_err() {
        tracing::warn!("dashboard login rate-limited");
        return Err(HtmlError(ApiError::TooManyRequests));
    }
    let password = f.password;
    let lookup = login.clone();
    let user = state
        .blocking(move |st| {
            let found = st.store.user_by_login(&lookup)?;
            let phc = found
                .as_ref()
                .and_then(|(_, h)| h.clone())
                .unwrap_or_else(|| DUMMY_HASH.clone());
            let ok = verify_password(&password, &phc);
            Ok(found.filter(|(u, h)| {
                ok && h.is_some() && u.active && matches!(u.role, Role::Admin | Role::Coordinator)
            }))
        })
        .await?;
    let Some((user, _)) = user else {
        tracing::info!("dashboard login refused");
        return Ok(login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("Wrong login or password."),
            &login,
        ));
    };
    let token = new_token("fvs_");
    let now = unix_now();
    let ttl = state.settings.session_ttl.as_secs() as i64;
    let session = Session {
        user_id: user.id.clone(),
        csrf: new_token(""),
        created_at: now,
        expires_at: now + ttl,
    };
    let hash = hash_secret(&token);
    let u = user.clone();
    state
        .blocking(move |st| {
            st.store.create_session(&hash, &session)?;
            crate::audit::record(st, &u, "dashboard.login", &u.id, "");
            Ok(())
        })
        .await?;
    tracing::info!(user = %user.id, "dashboard login");
    let mut resp = see_other("/dashboard/");
    let h = resp.headers_mut();
    for c in [
        cookie_header(&state, SESSION_COOKIE, &token, ttl),
        cookie_header(&state, LOGIN_CSRF_COOKIE, "", 0),
    ] {
        if let Ok(v) = header::HeaderValue::from_str(&c) {
            h.append(SET_COOKIE, v);
        }
    }
    Ok(resp)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /dashboard/logout`: deletes the session.
pub async fn logout(
    State(state): State<AppState>,
    who: DashUser,
    headers: axum::http::HeaderMap,
    HtmlForm(f): HtmlForm<CsrfForm>,
) -> Result<Response, HtmlError> {
    who.check_csrf(&f.csrf)?;
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE) {
        let hash = hash_secret(token);
        state
            .blocking(move |st| Ok(st.store.delete_session(&hash)?))
            .await?;
    }
    let mut resp = see_other("/dashboard/login");
    if let Ok(v) = header::HeaderValue::from_str(&cookie_header(&state, SESSION_COOKIE, "", 0)) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(resp)
}
