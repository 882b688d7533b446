//! The audit log in SQLite.

use rusqlite::params;

use super::{SqliteStore, all};
use crate::rows::{AUDIT_COLS, audit_entry};
use crate::{AuditEntry, Result};

pub(super) fn audit(store: &SqliteStore, e: &AuditEntry) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            "INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![e.at, e.actor, e.action, e.target, e.detail],
        )?;
        Ok(())
    })
}

pub(super) fn audit_log(store: &SqliteStore, limit: usize) -> Result<Vec<AuditEntry>> {
    let sql = format!("SELECT {AUDIT_COLS} FROM audit_log ORDER BY id DESC LIMIT ?1");
    store.read(|c| all(c, &sql, [limit as i64], |r| audit_entry(r)))
}
