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

use super::error::{HtmlError, HtmlForm, HtmlQuery};
use super::i18n::{self, Lang};
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

/// The sign-in page in `lang`. `chosen`: the language picked with `?lang=`,
/// kept by the form so that its answer stays in that language.
fn login_page(
    state: &AppState,
    lang: Lang,
    chosen: Option<Lang>,
    status: StatusCode,
    message: Option<&str>,
    login: &str,
) -> Response {
    let token = new_token("");
    let body = html! {
        div.login {
            h1 { (lang.t("login.heading")) }
            @if let Some(m) = message { p.err role="alert" { (m) } }
            form method="post" action="/dashboard/login" {
                input type="hidden" name="csrf" value=(token);
                @if let Some(l) = chosen { input type="hidden" name="lang" value=(l.code()); }
                label { (lang.t("login.login")) input name="login" id="login" autocomplete="username" required value=(login); }
                label { (lang.t("login.password")) input name="password" id="password" type="password" autocomplete="current-password" required; }
                button.primary type="submit" { (lang.t("login.submit")) }
            }
            nav.langs aria-label=(lang.t("nav.language")) {
                @for l in Lang::ALL {
                    @if l == lang { strong lang=(l.code()) dir=(l.dir()) aria-current="true" { (l.name()) } }
                    @else { a href=(format!("/dashboard/login?lang={}", l.code())) lang=(l.code()) dir=(l.dir()) { (l.name()) } }
                }
            }
        }
    };
    (
        status,
        [(
            SET_COOKIE,
            cookie_header(state, LOGIN_CSRF_COOKIE, &token, 3600),
        )],
        layout::frame(lang, lang.t("login.title"), None, None, body),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// A language code: the page in that language instead of the browser's.
    pub lang: Option<String>,
}

/// The language a sign-in form asks for (`?lang=` or its hidden field), else
/// the browser's; a value that is no language is a 400.
fn asked_language(asked: Option<&str>) -> Result<(Lang, Option<Lang>), HtmlError> {
    match asked {
        None | Some("") => Ok((i18n::current(), None)),
        Some(code) => match Lang::parse(code) {
            Some(l) => {
                i18n::set_current(l);
                Ok((l, Some(l)))
            }
            None => Err(unknown_language(i18n::current(), code)),
        },
    }
}

/// The 400 for a language code the dashboard does not speak.
fn unknown_language(lang: Lang, code: &str) -> HtmlError {
    let shown: String = code.chars().take(40).collect();
    let codes: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
    HtmlError(ApiError::BadRequest(lang.tf(
        "error.language",
        &[("code", &shown), ("codes", &codes.join(", "))],
    )))
}

/// `GET /dashboard/login?lang=fr`.
pub async fn form(
    State(state): State<AppState>,
    HtmlQuery(q): HtmlQuery<LoginQuery>,
    req: Request,
) -> Result<Response, HtmlError> {
    let (lang, chosen) = asked_language(q.lang.as_deref())?;
    let (mut parts, _) = req.into_parts();
    if DashUser::from_request_parts(&mut parts, &state)
        .await
        .is_ok()
    {
        return Ok(Redirect::to("/dashboard/").into_response());
    }
    Ok(login_page(&state, lang, chosen, StatusCode::OK, None, ""))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
    /// The language the form was shown in when it was picked with `?lang=`.
    #[serde(default)]
    pub lang: String,
}

/// `POST /dashboard/login`.
pub async fn submit(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: axum::http::HeaderMap,
    HtmlForm(f): HtmlForm<LoginForm>,
) -> Result<Response, HtmlError> {
    let (lang, chosen) = asked_language(Some(&f.lang))?;
    let expected = cookie_value(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(&f.csrf, expected) {
        return Err(HtmlError(ApiError::Forbidden(
            lang.t("login.expired").to_owned(),
        )));
    }
    let login = f.login.trim().to_owned();
    if login.is_empty() || login.len() > 200 || f.password.len() > 1024 {
        return Ok(login_page(
            &state,
            lang,
            chosen,
            StatusCode::BAD_REQUEST,
            Some(lang.t("login.missing")),
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
                ok && h.is_some()
                    && u.active
                    && matches!(
                        u.role,
                        Role::Admin | Role::Coordinator | Role::Agent | Role::Analyst
                    )
            }))
        })
        .await?;
    let Some((user, _)) = user else {
        tracing::info!("dashboard login refused");
        return Ok(login_page(
            &state,
            lang,
            chosen,
            StatusCode::UNAUTHORIZED,
            Some(lang.t("login.wrong")),
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

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub lang: String,
    /// The dashboard page to come back to.
    #[serde(default)]
    pub back: String,
}

/// `back` when it is a dashboard page of this server, else the progress page
/// (never another site: no open redirect).
fn local_page(back: &str) -> &str {
    let plain = back.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if plain && back.len() <= 2000 && back.starts_with("/dashboard/") && !back.contains("//") {
        back
    } else {
        "/dashboard/"
    }
}

/// `POST /dashboard/language` (`csrf`, `lang`, `back`): save the user's
/// dashboard language on the account (audited) and go back to the page.
pub async fn language(
    State(state): State<AppState>,
    who: DashUser,
    HtmlForm(f): HtmlForm<LanguageForm>,
) -> Result<Response, HtmlError> {
    who.check_csrf(&f.csrf)?;
    let Some(lang) = Lang::parse(&f.lang) else {
        return Err(unknown_language(who.lang, &f.lang));
    };
    let user = who.user().clone();
    state
        .blocking(move |st| {
            st.store.set_user_language(&user.id, Some(lang.code()))?;
            crate::audit::record(st, &user, "user.language", &user.id, lang.code());
            Ok(())
        })
        .await?;
    i18n::set_current(lang);
    Ok(see_other(local_page(&f.back)))
}

#[cfg(test)]
mod tests {
    use super::local_page;

    #[test]
    fn the_language_switcher_only_goes_back_to_dashboard_pages() {
        for ok in [
            "/dashboard/",
            "/dashboard/reviews?country=CI&page=2",
            "/dashboard/interviews/0190c1f2-7e4b-7a40-8000-000000000001",
        ] {
            assert_eq!(local_page(ok), ok);
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/dashboard/",
            "/dashboard//evil.example",
            "/\\evil.example",
            "/dashboard/\\evil",
            "/api/v1/users",
            "/dashboard/ x",
            "/dashboard/\r\nSet-Cookie: a=b",
            "/dashboardevil",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_page(bad), "/dashboard/", "{bad:?}");
        }
    }
}
