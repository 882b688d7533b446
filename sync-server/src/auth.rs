//! Authentication (who is calling) and the single authorisation policy (what
//! they may do). Every handler calls [`authorize`]; nothing else decides.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use central_store::{Device, Hash, Role, User};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// Prefix of device tokens.
pub const DEVICE_TOKEN_PREFIX: &str = "fvd_";
/// Prefix of API tokens (admins, coordinators, analysts).
pub const API_TOKEN_PREFIX: &str = "fva_";

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// Set when the caller authenticated with a device token.
    pub device: Option<Device>,
    /// A device's employee's field assignment, read with the token (a sync
    /// answers with its revision and judges interviews by its place).
    pub assignment: Option<central_store::Assignment>,
}

/// Something a caller wants to do, with the country it concerns.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Push and pull interviews from an enrolled device.
    Sync,
    /// Create a user with `role` in `country`.
    CreateUser { role: Role, country: &'a str },
    /// See users and devices of a country; revoke devices.
    ManageUsers { country: &'a str },
    /// Issue a one-time enrollment code (a device) for a user with `role` who
    /// works in `country`. Only employees ever get devices.
    IssueEnrollmentCode { role: Role, country: &'a str },
    /// Read interviews of a country.
    ReadInterviews { country: &'a str },
    /// Review, comment and tag interviews of a country.
    Review { country: &'a str },
    /// Export a country's dataset.
    Export { country: &'a str },
    /// Export with PII included.
    ExportPii,
    /// Manage forms and read the audit log.
    Administer,
    /// Add or change the places of a country, who works where and the quota
    /// targets there.
    ManagePlaces { country: &'a str },
    /// Publish a version of a form that is for `country` and lets its
    /// coordinators publish (the form's own rule is checked by the forms service).
    PublishForm { country: &'a str },
    /// Read the place list of a country (devices: their employee's country).
    ReadPlaces { country: &'a str },
    /// See and work the follow-up cases of a country (agents: those
    /// assigned to them or to nobody).
    WorkCases { country: &'a str },
    /// Open cases by hand, assign them, set the country's service level.
    ManageCases { country: &'a str },
    /// See and write the hackathon actions of a country (its coordinators
    /// and analysts: the country's hackathon team).
    ManageActions { country: &'a str },
    /// Erase an interview's personal data for good, on the customer's
    /// request (rewrites its history): admins only.
    ErasePersonalData,
    /// Read the campaign's theme codebook.
    ReadCodebook,
    /// Change the campaign's theme codebook.
    EditCodebook,
}

fn in_country(u: &User, c: &str) -> bool {
    u.countries.iter().any(|x| x == c)
}

/// The authorisation policy. Returns `Forbidden` with a reason when denied.
pub fn authorize(p: &Principal, action: Action<'_>) -> Result<(), ApiError> {
    let u = &p.user;
    let allowed = match (u.role, action) {
        // A device acts only for an employee, whatever its token says.
        (role, Action::Sync) => p.device.is_some() && role.has_devices(),
        (role, Action::ReadPlaces { country }) if p.device.is_some() => {
            role.has_devices() && in_country(u, country)
        }
        // Everything else needs a person, not a device token.
        _ if p.device.is_some() => false,
        // No code can ever make a device for an admin, coordinator or analyst.
        (_, Action::IssueEnrollmentCode { role, .. }) if !role.has_devices() => false,
        (Role::Admin, _) => true,
        (Role::Coordinator, Action::IssueEnrollmentCode { country, .. }) => in_country(u, country),
        (Role::Coordinator, Action::CreateUser { role, country }) => {
            matches!(role, Role::Employee | Role::Agent) && in_country(u, country)
        }
        (
            Role::Coordinator,
            Action::ManageUsers { country }
            | Action::ReadInterviews { country }
            | Action::Review { country }
            | Action::Export { country }
            | Action::ManagePlaces { country }
            | Action::PublishForm { country }
            | Action::WorkCases { country }
            | Action::ManageCases { country }
            | Action::ManageActions { country },
        ) => in_country(u, country),
        (Role::Coordinator, Action::ReadCodebook | Action::EditCodebook) => true,
        (Role::Analyst, Action::ReadCodebook) => true,
        (Role::Agent, Action::WorkCases { country }) => in_country(u, country),
        (_, Action::ReadPlaces { country }) => in_country(u, country),
        (Role::Analyst, Action::Export { country } | Action::ManageActions { country }) => {
            in_country(u, country)
        }
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a {} may not do this here",
            u.role.as_str()
        )))
    }
}

/// SHA-256 of a secret (tokens and enrollment codes are high-entropy random
/// strings, so a fast hash is enough; passwords use argon2).
pub fn hash_secret(s: &str) -> Hash {
    Sha256::digest(s.as_bytes()).into()
}

/// A new random token with `prefix`.
pub fn new_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Crockford base32 without I, L, O, U: unambiguous when read aloud or typed.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new one-time enrollment code, `XXXXX-XXXXX` (50 bits).
pub fn new_enrollment_code() -> String {
    let mut s = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            s.push('-');
        }
        let n: u8 = rand::random::<u8>() & 31;
        s.push(CODE_ALPHABET[n as usize] as char);
    }
    s
}

/// Normalise a typed code: drop spaces and dashes, upper-case, map look-alikes.
/// Returns `None` if it cannot be a code.
pub fn normalize_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(10);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !CODE_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
        if out.len() > 10 {
            return None;
        }
    }
    (out.len() == 10).then(|| format!("{}-{}", &out[..5], &out[5..]))
}

/// Hash a password with argon2id.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
}

/// Check a password against an argon2 PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The credentials of the `Authorization` header when it uses `scheme`.
fn authorization<'a>(parts: &'a Parts, scheme: &str) -> Option<&'a str> {
    let v = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (s, credentials) = v.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| credentials.trim())
}

fn bearer(parts: &Parts) -> Option<&str> {
    authorization(parts, "bearer")
}

/// The password of HTTP Basic authentication, when it is an API token: how
/// OData clients (Power BI, Excel) send one. The user name is ignored.
fn basic_api_token(parts: &Parts) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(authorization(parts, "basic")?)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (_, password) = text.split_once(':')?;
    password
        .starts_with(API_TOKEN_PREFIX)
        .then(|| password.to_owned())
}

/// Resolve a bearer token to a principal.
pub async fn principal_from_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let store = state.store.clone();
    let hash = hash_secret(token);
    if token.starts_with(DEVICE_TOKEN_PREFIX) {
        let found = tokio::task::spawn_blocking(move || store.device_by_token(&hash)).await??;
        let auth = found.ok_or(ApiError::Unauthorized)?;
        Ok(Principal {
            user: auth.user,
            device: Some(auth.device),
            assignment: auth.assignment,
        })
    } else if token.starts_with(API_TOKEN_PREFIX) {
        let user = tokio::task::spawn_blocking(move || store.user_by_api_token(&hash))
            .await??
            .ok_or(ApiError::Unauthorized)?;
        Ok(Principal {
            user,
            device: None,
            assignment: None,
        })
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Name of the dashboard session cookie.
pub const SESSION_COOKIE: &str = "fv_session";
/// Header that carries the CSRF token on cookie-authenticated API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookie_value(&parts.headers, name)
}

/// The value of cookie `name` in `headers`, if any.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Compare two secrets without leaking where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    hash_secret(a) == hash_secret(b)
}

/// The dashboard session named by the request's cookie, if valid.
pub async fn session_from_cookie(
    state: &AppState,
    parts: &Parts,
) -> Result<Option<(central_store::dashboard::Session, User)>, ApiError> {
    let Some(token) = cookie(parts, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = hash_secret(token);
    let store = state.store.clone();
    Ok(
        tokio::task::spawn_blocking(move || store.session(&hash, central_store::unix_now()))
            .await??,
    )
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let p = if let Some(token) = bearer(parts) {
            let token = token.to_owned();
            principal_from_token(state, &token).await?
        } else if let Some(token) = basic_api_token(parts) {
            principal_from_token(state, &token).await?
        } else {
            // The dashboard's session cookie; state-changing calls must echo
            // the session's CSRF token in a header.
            let (session, user) = session_from_cookie(state, parts)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            if !parts.method.is_safe() {
                let sent = parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !same_secret(sent, &session.csrf) {
                    return Err(ApiError::Forbidden("missing or wrong CSRF token".into()));
                }
            }
            Principal {
                user,
                device: None,
                assignment: None,
            }
        };
        parts.extensions.insert(p.clone());
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_normalise_and_reject_garbage() {
        let c = new_enrollment_code();
        assert_eq!(normalize_code(&c).as_deref(), Some(c.as_str()));
        assert_eq!(
            normalize_code(&c.to_lowercase().replace('-', " ")).as_deref(),
            Some(c.as_str())
        );
        assert_eq!(
            normalize_code("abcde-fghjk").as_deref(),
            Some("ABCDE-FGHJK")
        );
        assert_eq!(
            normalize_code("oooo0-11111").as_deref(),
            Some("00000-11111")
        );
        for bad in [
            "",
            "ABCD",
            "ABCDE-FGHJKM",
            "ABCDE-FGHJ!",
            "ÀBCDE-FGHJK",
            "UUUUU-UUUUU",
        ] {
            assert_eq!(normalize_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a phc string"));
    }
}
