//! The audit log in SQLite.

use rusqlite::params;

use super::SqliteStore;
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
    store.read(|c| {
        let mut st = c.prepare(
            "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                target: r.get(3)?,
                detail: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    })
}
