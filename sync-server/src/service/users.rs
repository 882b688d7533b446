//! People and devices: scoped listings, display names, and the direct
//! account helpers used by the CLI, the demo seed and tests.

use std::collections::{HashMap, HashSet};

use central_store::{Device, NewUser, User, unix_now};

use crate::AppState;
use crate::auth::{API_TOKEN_PREFIX, Principal, hash_secret, new_enrollment_code, new_token};
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// The devices (not revoked) of `users`. Blocking: call from a blocking thread.
pub fn devices_of(state: &AppState, users: &[User]) -> Result<Vec<Device>, ApiError> {
    let ids: HashSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    Ok(state
        .store
        .list_devices(None)?
        .into_iter()
        .filter(|d| !d.revoked && ids.contains(d.user_id.as_str()))
        .collect())
}

/// Users of `scope`, each once (a user may work in several countries).
/// Blocking: call from a blocking thread.
pub fn users_in(state: &AppState, scope: &Scope) -> Result<Vec<User>, ApiError> {
    let Some(countries) = scope.countries() else {
        return Ok(state.store.list_users(None)?);
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for c in countries {
        for u in state.store.list_users(Some(c))? {
            if seen.insert(u.id.clone()) {
                out.push(u);
            }
        }
    }
    Ok(out)
}

/// Users of the countries `p` may manage (`asked`, or all of theirs).
pub async fn list(
    state: &AppState,
    p: &Principal,
    asked: Option<&str>,
) -> Result<Vec<User>, ApiError> {
    let scope = Scope::resolve(p, Purpose::ManageUsers, asked)?;
    state.blocking(move |st| users_in(st, &scope)).await
}

/// Devices of the users of the countries `p` may manage.
pub async fn devices(
    state: &AppState,
    p: &Principal,
    asked: Option<&str>,
) -> Result<Vec<Device>, ApiError> {
    let scope = Scope::resolve(p, Purpose::ManageUsers, asked)?;
    state
        .blocking(move |st| {
            let ids: Option<Vec<String>> = match scope {
                Scope::All => None,
                Scope::Countries(_) => {
                    Some(users_in(st, &scope)?.into_iter().map(|u| u.id).collect())
                }
            };
            Ok(st.store.list_devices(ids.as_deref())?)
        })
        .await
}

/// Display names of users by id (ids without a user are left out).
pub async fn names(
    state: &AppState,
    ids: Vec<String>,
) -> Result<HashMap<String, String>, ApiError> {
    state
        .blocking(move |st| {
            let mut names = HashMap::new();
            for id in ids {
                if !names.contains_key(&id)
                    && let Some(u) = st.store.user(&id)?
                {
                    names.insert(id, u.name);
                }
            }
            Ok(names)
        })
        .await
}

/// Create an API token for a user (used by `admin` CLI commands and tests).
pub fn issue_api_token(state: &AppState, user: &User, label: &str) -> Result<String, ApiError> {
    let token = new_token(API_TOKEN_PREFIX);
    state
        .store
        .add_api_token(&user.id, &hash_secret(&token), label, unix_now())?;
    Ok(token)
}

/// Create an employee and an enrollment code directly (CLI and simulations).
/// Only employees get codes: any other role is refused before anything is
/// created.
pub fn create_user_with_code(state: &AppState, user: &NewUser) -> Result<(User, String), ApiError> {
    if !user.role.has_devices() || user.countries.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "enrollment codes are only issued for employees with a country, not for a {}",
            user.role.as_str()
        )));
    }
    let u = state.store.create_user(user, unix_now())?;
    let code = new_enrollment_code();
    let expires = unix_now() + state.settings.enrollment_ttl.as_secs() as i64;
    state
        .store
        .add_enrollment_code(&u.id, &hash_secret(&code), expires)?;
    Ok((u, code))
}
