//! The audit log in PostgreSQL.

use super::PgStore;
use crate::rows::{self, AUDIT_COLS};
use crate::{AuditEntry, Result};

pub(super) fn audit(store: &PgStore, e: &AuditEntry) -> Result<()> {
    store.with(async |c| {
        c.execute(
            "INSERT INTO audit_log(at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
            &[&e.at, &e.actor, &e.action, &e.target, &e.detail],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn audit_log(store: &PgStore, limit: usize) -> Result<Vec<AuditEntry>> {
    let sql = format!("SELECT {AUDIT_COLS} FROM audit_log ORDER BY id DESC LIMIT $1");
    store.all(&sql, &[&(limit as i64)], rows::audit_entry)
}
