//! Dashboard login sessions in SQLite.

use rusqlite::params;

use super::{SqliteStore, first};
use crate::dashboard::Session;
use crate::rows::{self, SESSION_COLS, USER_COLS};
use crate::{Hash, Result, User};

pub(super) fn create_session(store: &SqliteStore, token_hash: &Hash, s: &Session) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1",
            [s.created_at],
        )?;
        tx.execute(
            "INSERT INTO sessions(token_hash, user_id, csrf, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                &token_hash[..],
                s.user_id,
                s.csrf,
                s.created_at,
                s.expires_at
            ],
        )?;
        Ok(())
    })
}

pub(super) fn session(
    store: &SqliteStore,
    token_hash: &Hash,
    now: i64,
) -> Result<Option<(Session, User)>> {
    let sql = format!(
        "SELECT {SESSION_COLS}, {USER_COLS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.active = 1"
    );
    store.read(|c| {
        first(c, &sql, params![&token_hash[..], now], |r| {
            Ok((rows::session(r)?, rows::user(r)?))
        })
    })
}

pub(super) fn delete_session(store: &SqliteStore, token_hash: &Hash) -> Result<bool> {
    store.write(|tx| {
        Ok(tx.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [&token_hash[..]],
        )? > 0)
    })
}
