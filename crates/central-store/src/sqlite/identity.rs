//! Users, devices, enrollment codes and API tokens in SQLite.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{SqliteStore, all, first};
use crate::rows::{DEVICE_COLS, USER_COLS, device, user as user_row};
use crate::{Device, Hash, NewUser, Result, StoreError, User};

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
        .map_err(|e| match StoreError::from(e) {
            StoreError::Duplicate(_) => StoreError::Duplicate(format!("login {}", u.login)),
            other => other,
        })?;
        Ok(())
    })?;
    Ok(u.to_user(id, now))
}

pub(super) fn user(store: &SqliteStore, id: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1");
    store.read(|c| first(c, &sql, [id], |r| user_row(r)))
}

pub(super) fn user_by_login(
    store: &SqliteStore,
    login: &str,
) -> Result<Option<(User, Option<String>)>> {
    let sql = format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.login = ?1");
    store.read(|c| {
        first(c, &sql, [login], |r| {
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
        let n = tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user_id, hash],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    })
}

pub(super) fn add_enrollment_code(
    store: &SqliteStore,
    user_id: &str,
    code_hash: &Hash,
    expires_at: i64,
) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            "DELETE FROM enrollment_codes WHERE user_id = ?1 AND used_at IS NULL",
            [user_id],
        )?;
        tx.execute(
            "INSERT INTO enrollment_codes(code_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            params![&code_hash[..], user_id, expires_at],
        )?;
        Ok(())
    })
}

pub(super) fn redeem_enrollment(
    store: &SqliteStore,
    code_hash: &Hash,
    now: i64,
    device_id: &str,
    label: &str,
    token_hash: &Hash,
) -> Result<User> {
    store.write(|tx| {
        let user_id: Option<String> = tx
            .query_row(
                "UPDATE enrollment_codes SET used_at = ?2
                 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                 RETURNING user_id",
                params![&code_hash[..], now],
                |r| r.get(0),
            )
            .optional()?;
        let user_id = user_id.ok_or(StoreError::InvalidCode)?;
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1 AND u.active = 1");
        let user = first(tx, &sql, [&user_id], |r| user_row(r))?.ok_or(StoreError::InvalidCode)?;
        tx.execute(
            "INSERT INTO devices(id, user_id, label, token_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![device_id, user_id, label, &token_hash[..], now],
        )?;
        Ok(user)
    })
}

pub(super) fn device_by_token(
    store: &SqliteStore,
    token_hash: &Hash,
) -> Result<Option<(Device, User)>> {
    let sql = format!(
        "SELECT {DEVICE_COLS}, {USER_COLS} FROM devices d JOIN users u ON u.id = d.user_id
         WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.active = 1"
    );
    store.read(|c| {
        first(c, &sql, [&token_hash[..]], |r| {
            Ok((device(r)?, user_row(r)?))
        })
    })
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
    store.write(|tx| {
        Ok(tx.execute(
            "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![device_id, now],
        )? > 0)
    })
}

pub(super) fn touch_device(
    store: &SqliteStore,
    device_id: &str,
    now: i64,
    feed_cursor: u64,
) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            "UPDATE devices SET last_sync_at = ?2, feed_cursor = ?3 WHERE id = ?1",
            params![
                device_id,
                now,
                i64::try_from(feed_cursor).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(())
    })
}

pub(super) fn add_api_token(
    store: &SqliteStore,
    user_id: &str,
    token_hash: &Hash,
    label: &str,
    now: i64,
) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            "INSERT INTO api_tokens(token_hash, user_id, label, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![&token_hash[..], user_id, label, now],
        )?;
        Ok(())
    })
}

pub(super) fn user_by_api_token(store: &SqliteStore, token_hash: &Hash) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.active = 1"
    );
    store.read(|c| first(c, &sql, [&token_hash[..]], |r| user_row(r)))
}
