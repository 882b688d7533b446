//! The audit log in PostgreSQL.

use super::PgStore;
use crate::rows::{self};
use crate::sql;
use crate::{AuditEntry, Result};

pub(super) fn audit(store: &PgStore, e: &AuditEntry) -> Result<()> {
    store.with(async |c| {
        c.execute(
            sql::INSERT_AUDIT.pg(),
            &[&e.at, &e.actor, &e.action, &e.target, &e.detail],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn audit_log(store: &PgStore, limit: usize) -> Result<Vec<AuditEntry>> {
    let sql = sql::AUDIT_LOG.pg();
    store.all(sql, &[&(limit as i64)], rows::audit_entry)
}
