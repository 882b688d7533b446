//! Users, devices, enrollment codes and API tokens in SQLite.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::SqliteStore;
use crate::{Device, Hash, NewUser, Result, Role, StoreError, User};

pub(crate) const USER_COLS: &str =
    "u.id, u.login, u.name, u.role, u.countries, u.active, u.created_at";

pub(crate) fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get("role")?;
    let countries: String = r.get("countries")?;
    Ok(User {
        id: r.get("id")?,
        login: r.get("login")?,
        name: r.get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Employee),
        countries: countries
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        active: r.get::<_, i64>("active")? != 0,
        created_at: r.get("created_at")?,
    })
}

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        label: r.get("label")?,
        created_at: r.get("created_at")?,
        last_sync_at: r.get("last_sync_at")?,
        revoked: r.get::<_, Option<i64>>("revoked_at")?.is_some(),
        feed_cursor: r.get::<_, i64>("feed_cursor")?.max(0) as u64,
    })
}

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
    store.read(|c| {
        Ok(c.query_row(
            &format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"),
            [id],
            user_from_row,
        )
        .optional()?)
    })
}

pub(super) fn user_by_login(
    store: &SqliteStore,
    login: &str,
) -> Result<Option<(User, Option<String>)>> {
    store.read(|c| {
        Ok(c.query_row(
            &format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.login = ?1"),
            [login],
            |r| Ok((user_from_row(r)?, r.get("password_hash")?)),
        )
        .optional()?)
    })
}

pub(super) fn list_users(store: &SqliteStore, country: Option<&str>) -> Result<Vec<User>> {
    store.read(|c| {
        let mut st = c.prepare(&format!(
            "SELECT {USER_COLS} FROM users u
             WHERE ?1 IS NULL OR (',' || u.countries || ',') LIKE ('%,' || ?1 || ',%')
             ORDER BY u.login"
        ))?;
        let rows = st.query_map([country], user_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    })
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
        let user = tx
            .query_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1 AND u.active = 1"),
                [&user_id],
                user_from_row,
            )
            .optional()?
            .ok_or(StoreError::InvalidCode)?;
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
    store.read(|c| {
        Ok(c.query_row(
            &format!(
                "SELECT d.id AS d_id, d.user_id, d.label, d.created_at AS d_created,
                        d.last_sync_at, d.revoked_at, d.feed_cursor, {USER_COLS}
                 FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.active = 1"
            ),
            [&token_hash[..]],
            |r| {
                Ok((
                    Device {
                        id: r.get("d_id")?,
                        user_id: r.get("user_id")?,
                        label: r.get("label")?,
                        created_at: r.get("d_created")?,
                        last_sync_at: r.get("last_sync_at")?,
                        revoked: false,
                        feed_cursor: r.get::<_, i64>("feed_cursor")?.max(0) as u64,
                    },
                    user_from_row(r)?,
                ))
            },
        )
        .optional()?)
    })
}

pub(super) fn list_devices(
    store: &SqliteStore,
    user_ids: Option<&[String]>,
) -> Result<Vec<Device>> {
    store.read(|c| {
        let mut st = c.prepare(
            "SELECT id, user_id, label, created_at, last_sync_at, revoked_at, feed_cursor FROM devices
             ORDER BY created_at",
        )?;
        let rows = st.query_map([], device_from_row)?;
        let all: Vec<Device> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(match user_ids {
            None => all,
            Some(ids) => all
                .into_iter()
                .filter(|d| ids.contains(&d.user_id))
                .collect(),
        })
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
    store.read(|c| {
        Ok(c.query_row(
            &format!(
                "SELECT {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.active = 1"
            ),
            [&token_hash[..]],
            user_from_row,
        )
        .optional()?)
    })
}
