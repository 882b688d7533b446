//! Dashboard login sessions in SQLite.

use rusqlite::params;

use super::{SqliteStore, first};
use crate::dashboard::Session;
use crate::rows::{self};
use crate::sql;
use crate::{Hash, Result, User};

pub(super) fn create_session(store: &SqliteStore, token_hash: &Hash, s: &Session) -> Result<()> {
    store.write(|tx| {
        tx.execute(sql::DROP_EXPIRED_SESSIONS.sqlite(), [s.created_at])?;
        tx.execute(
            sql::INSERT_SESSION.sqlite(),
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
    let sql = sql::SESSION_BY_TOKEN.sqlite();
    store.read(|c| {
        first(c, sql, params![&token_hash[..], now], |r| {
            Ok((rows::session(r)?, rows::user(r)?))
        })
    })
}

pub(super) fn delete_session(store: &SqliteStore, token_hash: &Hash) -> Result<bool> {
    store.write(|tx| Ok(tx.execute(sql::DELETE_SESSION.sqlite(), [&token_hash[..]])? > 0))
}
