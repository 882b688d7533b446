//! The audit log at the HTTP edge: who did what to which target. The one
//! place handlers and services write audit entries from.

use central_store::{AuditEntry, StoreError, User, unix_now};

use crate::AppState;

fn entry(actor: &User, action: &str, target: &str, detail: &str) -> AuditEntry {
    AuditEntry {
        at: unix_now(),
        actor: actor.id.clone(),
        action: action.into(),
        target: target.into(),
        detail: detail.into(),
    }
}

/// Record an action that has already happened. A failed audit write is logged
/// (without the detail, which may name a customer) and does not undo it.
/// Blocking: call from a blocking thread.
pub fn record(state: &AppState, actor: &User, action: &str, target: &str, detail: &str) {
    if let Err(err) = state.store.audit(&entry(actor, action, target, detail)) {
        tracing::error!(error = %err, action, "audit write failed");
    }
}

/// Record an action that must not happen unless it is audited (PII exports):
/// the caller stops on error. Blocking: call from a blocking thread.
pub fn record_first(
    state: &AppState,
    actor: &User,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), StoreError> {
    state.store.audit(&entry(actor, action, target, detail))
}
