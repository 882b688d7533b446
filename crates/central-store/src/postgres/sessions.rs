//! Dashboard login sessions in PostgreSQL.

use super::PgStore;
use crate::rows::{self, SESSION_COLS, USER_COLS};
use crate::{Hash, Result, User};

pub(super) fn create_session(
    store: &PgStore,
    token_hash: &Hash,
    s: &crate::dashboard::Session,
) -> Result<()> {
    store.tx(async |tx| {
        tx.execute(
            "DELETE FROM sessions WHERE expires_at <= $1",
            &[&s.created_at],
        )
        .await?;
        tx.execute(
            "INSERT INTO sessions(token_hash, user_id, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &&token_hash[..],
                &s.user_id,
                &s.csrf,
                &s.created_at,
                &s.expires_at,
            ],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn session(
    store: &PgStore,
    token_hash: &Hash,
    now: i64,
) -> Result<Option<(crate::dashboard::Session, User)>> {
    let sql = format!(
        "SELECT {SESSION_COLS}, {USER_COLS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active"
    );
    store.first(&sql, &[&&token_hash[..], &now], |r| {
        Ok((rows::session(r)?, rows::user(r)?))
    })
}

pub(super) fn delete_session(store: &PgStore, token_hash: &Hash) -> Result<bool> {
    store.with(async |c| {
        Ok(c.execute(
            "DELETE FROM sessions WHERE token_hash = $1",
            &[&&token_hash[..]],
        )
        .await?
            > 0)
    })
}
