//! Enrollment and identity administration.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use central_store::{Device, NewUser, Role, User, unix_now};
use serde::{Deserialize, Serialize};
use survey_protocol::{EnrollRequest, EnrollResponse};

use crate::AppState;
use crate::auth::{
    Action, DEVICE_TOKEN_PREFIX, Principal, authorize, hash_password, hash_secret,
    new_enrollment_code, new_token, normalize_code,
};
use crate::error::ApiError;
use crate::extract::{ClientAddr, client_ip};
use crate::identity::{ImportProblem, enrollment_link, is_country, parse_user_csv, qr_svg};
use crate::service::users as service;

/// `POST /api/v1/enroll`: exchange a one-time code for a device token.
pub async fn enroll(
    State(state): State<AppState>,
    addr: ClientAddr,
    Json(req): Json<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    if state.enroll_limiter.check_key(&client_ip(&addr)).is_err() {
        return Err(ApiError::TooManyRequests);
    }
    let code = normalize_code(&req.code)
        .ok_or_else(|| ApiError::BadRequest("an enrollment code looks like ABCDE-12345".into()))?;
    let label: String = req.device_label.chars().take(100).collect();
    let resp = state
        .blocking(move |st| {
            let token = new_token(DEVICE_TOKEN_PREFIX);
            let device_id = uuid::Uuid::now_v7().to_string();
            let user = st.store.redeem_enrollment(
                &hash_secret(&code),
                unix_now(),
                &device_id,
                &label,
                &hash_secret(&token),
            )?;
            // Codes are only issued for employees; a code for anyone else (one
            // issued before that rule, or written into the store by other
            // means) must not yield a working device.
            if !user.role.has_devices() {
                st.store.revoke_device(&device_id, unix_now())?;
                crate::audit::record(
                    st,
                    &user,
                    "device.enroll.refused",
                    &device_id,
                    user.role.as_str(),
                );
                return Err(ApiError::Forbidden(
                    "devices are only enrolled for employees".into(),
                ));
            }
            crate::audit::record(st, &user, "device.enroll", &device_id, "");
            let country = user.countries.first().cloned().unwrap_or_default();
            // Forms for the device's country only (or for every country).
            let forms = st
                .forms()
                .latest()
                .iter()
                .filter(|f| f.def().is_for(&country))
                .filter_map(|f| serde_json::to_string(f.def()).ok())
                .collect();
            Ok(EnrollResponse {
                device_id,
                device_token: token,
                user_id: user.id,
                user_name: user.name,
                country,
                campaign: st.settings.campaign.clone(),
                forms,
            })
        })
        .await?;
    tracing::info!(device = %resp.device_id, "device enrolled");
    Ok(Json(resp))
}

/// `GET /api/v1/me`.
pub async fn me(principal: Principal) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "user": principal.user,
        "device": principal.device.map(|d| d.id),
    }))
}

#[derive(Debug, Deserialize)]
pub struct CountryQuery {
    pub country: Option<String>,
}

/// `GET /api/v1/users?country=CI`.
pub async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<CountryQuery>,
) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(
        service::list(&state, &principal, q.country.as_deref()).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct CreateUser {
    pub login: String,
    pub name: String,
    #[serde(default = "employee")]
    pub role: Role,
    pub countries: Vec<String>,
    pub password: Option<String>,
}

fn employee() -> Role {
    Role::Employee
}

/// `POST /api/v1/users`.
pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    Json(req): Json<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    if req.countries.is_empty() || !req.countries.iter().all(|c| is_country(c)) {
        return Err(ApiError::BadRequest(
            "countries must be two-letter upper-case ISO codes".into(),
        ));
    }
    for c in &req.countries {
        authorize(
            &principal,
            Action::CreateUser {
                role: req.role,
                country: c,
            },
        )?;
    }
    let login = req.login.trim().to_owned();
    if login.is_empty() || login.len() > 100 || req.name.trim().is_empty() {
        return Err(ApiError::BadRequest("login and name are required".into()));
    }
    if req
        .password
        .as_ref()
        .is_some_and(|p| p.chars().count() < 10)
    {
        return Err(ApiError::BadRequest(
            "passwords need at least 10 characters".into(),
        ));
    }
    let actor = principal.user.clone();
    let user = state
        .blocking(move |st| {
            // argon2 is deliberately slow: on this blocking thread, not async.
            let password_hash = req.password.as_deref().map(hash_password).transpose()?;
            let u = st.store.create_user(
                &NewUser {
                    login,
                    name: req.name.trim().to_owned(),
                    role: req.role,
                    countries: req.countries,
                    password_hash,
                },
                unix_now(),
            )?;
            crate::audit::record(st, &actor, "user.create", &u.id, u.role.as_str());
            Ok(u)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Debug, Serialize)]
pub struct ImportedUser {
    pub line: usize,
    pub user_id: String,
    pub login: String,
    pub name: String,
    pub country: String,
    /// Employees only: other roles never get a device.
    pub enrollment_code: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ImportResult {
    pub created: Vec<ImportedUser>,
    pub problems: Vec<ImportProblem>,
}

/// `POST /api/v1/users/import` (body: CSV). Creates the valid rows, each with an
/// enrollment code, and reports the others by line.
pub async fn import_users(
    State(state): State<AppState>,
    principal: Principal,
    body: String,
) -> Result<Json<ImportResult>, ApiError> {
    let (rows, mut problems) = parse_user_csv(&body).map_err(ApiError::BadRequest)?;
    // Authorise every row before creating any.
    for r in &rows {
        authorize(
            &principal,
            Action::CreateUser {
                role: r.role,
                country: &r.country,
            },
        )?;
    }
    let actor = principal.user.clone();
    let result = state
        .blocking(move |st| {
            let mut created = Vec::with_capacity(rows.len());
            let expires = unix_now() + st.settings.enrollment_ttl.as_secs() as i64;
            for r in rows {
                let made = st.store.create_user(
                    &NewUser {
                        login: r.login.clone(),
                        name: r.name.clone(),
                        role: r.role,
                        countries: vec![r.country.clone()],
                        password_hash: None,
                    },
                    unix_now(),
                );
                match made {
                    Ok(u) => {
                        // Only employees get devices; other roles sign in with
                        // a password or an API token.
                        let code = if u.role.has_devices() {
                            let code = new_enrollment_code();
                            st.store
                                .add_enrollment_code(&u.id, &hash_secret(&code), expires)?;
                            Some(code)
                        } else {
                            None
                        };
                        created.push(ImportedUser {
                            line: r.line,
                            user_id: u.id,
                            login: r.login,
                            name: r.name,
                            country: r.country,
                            enrollment_code: code,
                        });
                    }
                    Err(central_store::StoreError::Duplicate(_)) => problems.push(ImportProblem {
                        line: r.line,
                        message: format!("login `{}` already exists", r.login),
                    }),
                    Err(e) => return Err(e.into()),
                }
            }
            crate::audit::record(
                st,
                &actor,
                "user.import",
                "-",
                &format!("{} created", created.len()),
            );
            problems.sort_by_key(|p| p.line);
            Ok(ImportResult { created, problems })
        })
        .await?;
    Ok(Json(result))
}

/// The caller may issue a code for `target`: the target is an employee with at
/// least one country, and the caller may issue codes in *every* one of them
/// (an account without countries can never pass a per-country check by
/// default).
fn authorize_enrollment_code(p: &Principal, target: &User) -> Result<(), ApiError> {
    if !target.role.has_devices() {
        return Err(ApiError::Forbidden(format!(
            "enrollment codes are only issued for employees, not for a {}",
            target.role.as_str()
        )));
    }
    if target.countries.is_empty() {
        return Err(ApiError::Forbidden(
            "the employee has no country; assign one first".into(),
        ));
    }
    for c in &target.countries {
        authorize(
            p,
            Action::IssueEnrollmentCode {
                role: target.role,
                country: c,
            },
        )?;
    }
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct EnrollmentCode {
    pub user_id: String,
    /// Shown once; only its hash is stored.
    pub code: String,
    pub expires_at: i64,
    pub link: String,
    pub qr_svg: String,
}

async fn target_user(state: &AppState, id: String) -> Result<User, ApiError> {
    state
        .blocking(move |st| {
            st.store
                .user(&id)?
                .ok_or_else(|| ApiError::NotFound("user".into()))
        })
        .await
}

/// `POST /api/v1/users/{id}/enrollment-code`: a new one-time code (text + QR).
pub async fn enrollment_code(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<EnrollmentCode>, ApiError> {
    let user = target_user(&state, id).await?;
    authorize_enrollment_code(&principal, &user)?;
    let code = new_enrollment_code();
    let expires_at = unix_now() + state.settings.enrollment_ttl.as_secs() as i64;
    let link = enrollment_link(&state.settings.public_url, &code);
    let qr = qr_svg(&link).map_err(ApiError::Internal)?;
    let (uid, hash) = (user.id.clone(), hash_secret(&code));
    let actor = principal.user.clone();
    state
        .blocking(move |st| {
            st.store.add_enrollment_code(&uid, &hash, expires_at)?;
            crate::audit::record(st, &actor, "enrollment.code", &uid, "");
            Ok(())
        })
        .await?;
    Ok(Json(EnrollmentCode {
        user_id: user.id,
        code,
        expires_at,
        link,
        qr_svg: qr,
    }))
}

/// `GET /api/v1/devices?country=CI`.
pub async fn list_devices(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<CountryQuery>,
) -> Result<Json<Vec<Device>>, ApiError> {
    let devices = service::devices(&state, &principal, q.country.as_deref()).await?;
    Ok(Json(devices))
}

/// `POST /api/v1/devices/{id}/revoke`: the device's token stops working at once.
pub async fn revoke_device(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let p = principal.clone();
    state
        .blocking(move |st| {
            let device = st
                .store
                .list_devices(None)?
                .into_iter()
                .find(|d| d.id == id)
                .ok_or_else(|| ApiError::NotFound("device".into()))?;
            let owner = st
                .store
                .user(&device.user_id)?
                .ok_or_else(|| ApiError::NotFound("device".into()))?;
            let allowed = owner
                .countries
                .iter()
                .any(|c| authorize(&p, Action::ManageUsers { country: c }).is_ok());
            if !allowed {
                return Err(ApiError::Forbidden("device of another country".into()));
            }
            st.store.revoke_device(&id, unix_now())?;
            crate::audit::record(st, &p.user, "device.revoke", &id, "");
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
