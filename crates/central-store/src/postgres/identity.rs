//! Users, devices, enrollment codes and API tokens in PostgreSQL.

use uuid::Uuid;

use super::PgStore;
use crate::backend::{NewApiToken, NewCode, Redeem, Touch};
use crate::rows::{self, DEVICE_COLS, USER_COLS};
use crate::sql;
use crate::{Device, DeviceAuth, Hash, NewUser, Result, StoreError, User};

pub(super) fn create_user(store: &PgStore, u: &NewUser, now: i64) -> Result<User> {
    let id = Uuid::now_v7().to_string();
    store.with(async |c| {
        c.execute(
            "INSERT INTO users(id, login, name, role, countries, password_hash, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7)",
            &[
                &id,
                &u.login,
                &u.name,
                &u.role.as_str(),
                &u.countries.join(","),
                &u.password_hash,
                &now,
            ],
        )
        .await
        .map_err(|e| rows::login_taken(&u.login, e.into()))?;
        Ok(())
    })?;
    Ok(u.to_user(id, now))
}

pub(super) fn user(store: &PgStore, id: &str) -> Result<Option<User>> {
    store.first(sql::USER_BY_ID.pg(), &[&id], rows::user)
}

pub(super) fn user_by_login(
    store: &PgStore,
    login: &str,
) -> Result<Option<(User, Option<String>)>> {
    let sql = sql::USER_BY_LOGIN.pg();
    store.first(sql, &[&login], |r| {
        Ok((rows::user(r)?, r.try_get("password_hash")?))
    })
}

pub(super) fn list_users(store: &PgStore, country: Option<&str>) -> Result<Vec<User>> {
    let sql = format!(
        "SELECT {USER_COLS} FROM users u
         WHERE $1::text IS NULL OR (',' || u.countries || ',') LIKE ('%,' || $1 || ',%')
         ORDER BY u.login"
    );
    store.all(&sql, &[&country], rows::user)
}

pub(super) fn set_password_hash(store: &PgStore, user_id: &str, hash: &str) -> Result<()> {
    let n = store.with(async |c| {
        Ok(c.execute(sql::SET_PASSWORD.pg(), &[&user_id, &hash])
            .await?)
    })?;
    rows::user_updated(n, user_id)
}

pub(super) fn user_language(store: &PgStore, user_id: &str) -> Result<Option<String>> {
    let found = store.first(sql::USER_LANGUAGE.pg(), &[&user_id], |r| Ok(r.try_get(0)?))?;
    Ok(found.flatten())
}

pub(super) fn set_user_language(
    store: &PgStore,
    user_id: &str,
    language: Option<&str>,
) -> Result<()> {
    let n = store.with(async |c| {
        Ok(
            c.execute(sql::SET_USER_LANGUAGE.pg(), &[&user_id, &language])
                .await?,
        )
    })?;
    rows::user_updated(n, user_id)
}

pub(super) fn add_enrollment_code(store: &PgStore, req: &NewCode<'_>) -> Result<()> {
    store.tx(async |tx| {
        tx.execute(sql::DROP_OPEN_CODES.pg(), &[&req.user_id])
            .await?;
        tx.execute(
            sql::INSERT_CODE.pg(),
            &[&&req.code_hash[..], &req.user_id, &req.expires_at],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn redeem_enrollment(store: &PgStore, req: &Redeem<'_>) -> Result<User> {
    store.tx(async |tx| {
        // The row lock of the UPDATE makes a second redeemer wait, then
        // see `used_at` set and match nothing: one device per code.
        let user_id: String = tx
            .query_opt(sql::USE_CODE.pg(), &[&&req.code_hash[..], &req.now])
            .await?
            .ok_or(StoreError::InvalidCode)?
            .try_get(0)?;
        let row = tx
            .query_opt(sql::ACTIVE_USER_BY_ID.pg(), &[&user_id])
            .await?
            .ok_or(StoreError::InvalidCode)?;
        let user = rows::user(&row)?;
        tx.execute(
            sql::INSERT_DEVICE.pg(),
            &[
                &req.device_id,
                &user_id,
                &req.label,
                &&req.token_hash[..],
                &req.now,
            ],
        )
        .await?;
        Ok(user)
    })
}

pub(super) fn device_by_token(store: &PgStore, token_hash: &Hash) -> Result<Option<DeviceAuth>> {
    store.first(
        sql::DEVICE_BY_TOKEN.pg(),
        &[&&token_hash[..]],
        rows::device_auth,
    )
}

pub(super) fn list_devices(store: &PgStore, user_ids: Option<&[String]>) -> Result<Vec<Device>> {
    let ids: Option<Vec<String>> = user_ids.map(<[String]>::to_vec);
    let sql = format!(
        "SELECT {DEVICE_COLS} FROM devices d WHERE $1::text[] IS NULL OR d.user_id = ANY($1)
         ORDER BY d.created_at, d.id"
    );
    store.all(&sql, &[&ids], rows::device)
}

pub(super) fn revoke_device(store: &PgStore, device_id: &str, now: i64) -> Result<bool> {
    store.with(async |c| {
        Ok(c.execute(sql::REVOKE_DEVICE.pg(), &[&device_id, &now])
            .await?
            > 0)
    })
}

pub(super) fn touch_device(store: &PgStore, req: &Touch<'_>) -> Result<()> {
    let cursor = i64::try_from(req.feed_cursor).unwrap_or(i64::MAX);
    // One round trip, on a relaxed connection: bookkeeping a crash may lose
    // (the next sync writes it again) does not wait for the WAL flush.
    store.relaxed_cached(async |c| {
        let st = c.stmt(sql::TOUCH_DEVICE.pg()).await?;
        c.client
            .execute(&st, &[&req.device_id, &req.now, &cursor, &req.forms])
            .await?;
        Ok(())
    })
}

pub(super) fn add_api_token(store: &PgStore, req: &NewApiToken<'_>) -> Result<()> {
    store.with(async |c| {
        c.execute(
            sql::INSERT_API_TOKEN.pg(),
            &[&&req.token_hash[..], &req.user_id, &req.label, &req.now],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn user_by_api_token(store: &PgStore, token_hash: &Hash) -> Result<Option<User>> {
    let sql = sql::USER_BY_API_TOKEN.pg();
    store.first(sql, &[&&token_hash[..]], rows::user)
}
