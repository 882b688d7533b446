//! Dashboard login sessions in PostgreSQL.

use super::PgStore;
use crate::rows::{self};
use crate::sql;
use crate::{Hash, Result, User};

pub(super) fn create_session(
    store: &PgStore,
    token_hash: &Hash,
    s: &crate::dashboard::Session,
) -> Result<()> {
    store.tx(async |tx| {
        tx.execute(sql::DROP_EXPIRED_SESSIONS.pg(), &[&s.created_at])
            .await?;
        tx.execute(
            sql::INSERT_SESSION.pg(),
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
    let sql = sql::SESSION_BY_TOKEN.pg();
    store.first(sql, &[&&token_hash[..], &now], |r| {
        Ok((rows::session(r)?, rows::user(r)?))
    })
}

pub(super) fn delete_session(store: &PgStore, token_hash: &Hash) -> Result<bool> {
    store.with(async |c| {
        Ok(c.execute(sql::DELETE_SESSION.pg(), &[&&token_hash[..]])
            .await?
            > 0)
    })
}
