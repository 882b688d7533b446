//! Dashboard login sessions in PostgreSQL.

use super::PgStore;
use super::identity::{USER_COLS, user_from_row};
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
    let row = store.with(async |c| {
        Ok(c.query_opt(
            &format!(
                "SELECT s.user_id AS s_user, s.csrf, s.created_at AS s_created, s.expires_at,
                        {USER_COLS}
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active"
            ),
            &[&&token_hash[..], &now],
        )
        .await?)
    })?;
    row.map(|r| {
        Ok((
            crate::dashboard::Session {
                user_id: r.try_get("s_user")?,
                csrf: r.try_get("csrf")?,
                created_at: r.try_get("s_created")?,
                expires_at: r.try_get("expires_at")?,
            },
            user_from_row(&r)?,
        ))
    })
    .transpose()
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
