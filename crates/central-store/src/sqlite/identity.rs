//! Users, devices, enrollment codes and API tokens in SQLite.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{SqliteStore, all, first};
use crate::backend::{NewApiToken, NewCode, Redeem, Touch};
use crate::rows::{self, DEVICE_COLS, USER_COLS, device, user as user_row};
use crate::sql;
use crate::{Device, DeviceAuth, Hash, NewUser, Result, StoreError, User};

pub(super) fn create_user(store: &SqliteStore, u: &NewUser, now: i64) -> Result<User> {
    let id = Uuid::now_v7().to_string();
    store.write(|tx| {
        tx.execute(
            "INSERT INTO users(id, login, name, role, countries, password_hash, active, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)",
            params![
                id,
                u.login,
                u.name,
                u.role.as_str(),
                u.countries.join(","),
                u.password_hash,
                now
            ],
        )
        .map_err(|e| rows::login_taken(&u.login, e.into()))?;
        Ok(())
    })?;
    Ok(u.to_user(id, now))
}

pub(super) fn user(store: &SqliteStore, id: &str) -> Result<Option<User>> {
    store.read(|c| first(c, sql::USER_BY_ID.sqlite(), [id], |r| user_row(r)))
}

pub(super) fn user_by_login(
    store: &SqliteStore,
    login: &str,
) -> Result<Option<(User, Option<String>)>> {
    let sql = sql::USER_BY_LOGIN.sqlite();
    store.read(|c| {
        first(c, sql, [login], |r| {
            Ok((user_row(r)?, r.get("password_hash")?))
        })
    })
}

pub(super) fn list_users(store: &SqliteStore, country: Option<&str>) -> Result<Vec<User>> {
    let sql = format!(
        "SELECT {USER_COLS} FROM users u
         WHERE ?1 IS NULL OR (',' || u.countries || ',') LIKE ('%,' || ?1 || ',%')
         ORDER BY u.login"
    );
    store.read(|c| all(c, &sql, [country], |r| user_row(r)))
}

pub(super) fn set_password_hash(store: &SqliteStore, user_id: &str, hash: &str) -> Result<()> {
    store.write(|tx| {
        let n = tx.execute(sql::SET_PASSWORD.sqlite(), params![user_id, hash])?;
        rows::user_updated(n as u64, user_id)
    })
}

pub(super) fn user_language(store: &SqliteStore, user_id: &str) -> Result<Option<String>> {
    let found =
        store.read(|c| first(c, sql::USER_LANGUAGE.sqlite(), [user_id], |r| Ok(r.get(0)?)))?;
    Ok(found.flatten())
}

pub(super) fn set_user_language(
    store: &SqliteStore,
    user_id: &str,
    language: Option<&str>,
) -> Result<()> {
    store.write(|tx| {
        let n = tx.execute(sql::SET_USER_LANGUAGE.sqlite(), params![user_id, language])?;
        rows::user_updated(n as u64, user_id)
    })
}

pub(super) fn add_enrollment_code(store: &SqliteStore, req: &NewCode<'_>) -> Result<()> {
    store.write(|tx| {
        tx.execute(sql::DROP_OPEN_CODES.sqlite(), [req.user_id])?;
        tx.execute(
            sql::INSERT_CODE.sqlite(),
            params![&req.code_hash[..], req.user_id, req.expires_at],
        )?;
        Ok(())
    })
}

pub(super) fn redeem_enrollment(store: &SqliteStore, req: &Redeem<'_>) -> Result<User> {
    store.write(|tx| {
        let user_id: Option<String> = tx
            .query_row(
                sql::USE_CODE.sqlite(),
                params![&req.code_hash[..], req.now],
                |r| r.get(0),
            )
            .optional()?;
        let user_id = user_id.ok_or(StoreError::InvalidCode)?;
        let sql = sql::ACTIVE_USER_BY_ID.sqlite();
        let user = first(tx, sql, [&user_id], |r| user_row(r))?.ok_or(StoreError::InvalidCode)?;
        tx.execute(
            sql::INSERT_DEVICE.sqlite(),
            params![
                req.device_id,
                user_id,
                req.label,
                &req.token_hash[..],
                req.now
            ],
        )?;
        Ok(user)
    })
}

pub(super) fn device_by_token(
    store: &SqliteStore,
    token_hash: &Hash,
) -> Result<Option<DeviceAuth>> {
    let sql = sql::DEVICE_BY_TOKEN.sqlite();
    store.read(|c| first(c, sql, [&token_hash[..]], |r| rows::device_auth(r)))
}

pub(super) fn list_devices(
    store: &SqliteStore,
    user_ids: Option<&[String]>,
) -> Result<Vec<Device>> {
    let sql = format!("SELECT {DEVICE_COLS} FROM devices d ORDER BY d.created_at");
    let all = store.read(|c| all(c, &sql, [], |r| device(r)))?;
    Ok(match user_ids {
        None => all,
        Some(ids) => all
            .into_iter()
            .filter(|d| ids.contains(&d.user_id))
            .collect(),
    })
}

pub(super) fn revoke_device(store: &SqliteStore, device_id: &str, now: i64) -> Result<bool> {
    store.write(|tx| Ok(tx.execute(sql::REVOKE_DEVICE.sqlite(), params![device_id, now])? > 0))
}

pub(super) fn touch_device(store: &SqliteStore, req: &Touch<'_>) -> Result<()> {
    store.write_relaxed(|tx| {
        tx.prepare_cached(sql::TOUCH_DEVICE.sqlite())?
            .execute(params![
                req.device_id,
                req.now,
                i64::try_from(req.feed_cursor).unwrap_or(i64::MAX),
                req.forms
            ])?;
        Ok(())
    })
}

pub(super) fn add_api_token(store: &SqliteStore, req: &NewApiToken<'_>) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            sql::INSERT_API_TOKEN.sqlite(),
            params![&req.token_hash[..], req.user_id, req.label, req.now],
        )?;
        Ok(())
    })
}

pub(super) fn user_by_api_token(store: &SqliteStore, token_hash: &Hash) -> Result<Option<User>> {
    let sql = sql::USER_BY_API_TOKEN.sqlite();
    store.read(|c| first(c, sql, [&token_hash[..]], |r| user_row(r)))
}
