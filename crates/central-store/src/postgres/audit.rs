//! The audit log in PostgreSQL.

use super::PgStore;
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
    let rows = store.with(async |c| {
        Ok(c.query(
            "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
            &[&(limit as i64)],
        )
        .await?)
    })?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                action: r.try_get(2)?,
                target: r.try_get(3)?,
                detail: r.try_get(4)?,
            })
        })
        .collect()
}
