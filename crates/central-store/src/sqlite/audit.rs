//! The audit log in SQLite.

use rusqlite::params;

use super::{SqliteStore, all};
use crate::rows::audit_entry;
use crate::sql;
use crate::{AuditEntry, Result};

pub(super) fn audit(store: &SqliteStore, e: &AuditEntry) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            sql::INSERT_AUDIT.sqlite(),
            params![e.at, e.actor, e.action, e.target, e.detail],
        )?;
        Ok(())
    })
}

pub(super) fn audit_log(store: &SqliteStore, limit: usize) -> Result<Vec<AuditEntry>> {
    let sql = sql::AUDIT_LOG.sqlite();
    store.read(|c| all(c, sql, [limit as i64], |r| audit_entry(r)))
}
