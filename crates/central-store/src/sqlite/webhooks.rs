//! Webhooks in SQLite: hooks, the events written inside other writes'
//! transactions, and the delivery queue.

use rusqlite::{Transaction, params};

use super::{SqliteStore, all, first};
use crate::webhooks::{Attempt, Delivery, DeliveryJob, Event, Next, Webhook};
use crate::{Result, sql};

/// Write `events` and their pending deliveries inside `tx`.
pub(super) fn insert_events(tx: &Transaction<'_>, events: &[Event]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let now_ms = crate::unix_now_ms();
    let mut ins = tx.prepare_cached(sql::INSERT_EVENT.sqlite())?;
    let mut fan = tx.prepare_cached(sql::FAN_OUT_EVENT.sqlite())?;
    for e in events {
        let pattern = e.kind_pattern();
        if ins.execute(params![
            e.id, e.kind, e.campaign, e.country, e.subject, e.at, e.payload, pattern
        ])? == 1
        {
            fan.execute(params![e.id, now_ms, pattern])?;
        }
    }
    Ok(())
}

pub(super) fn emit(store: &SqliteStore, events: &[Event]) -> Result<()> {
    store.write(|tx| insert_events(tx, events))
}

pub(super) fn create_webhook(store: &SqliteStore, h: &Webhook, secret: &str) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            sql::INSERT_WEBHOOK.sqlite(),
            params![
                h.id,
                h.url,
                h.events_column(),
                h.allow_pii,
                h.active,
                h.description,
                h.created_by,
                h.created_at,
                secret
            ],
        )?;
        Ok(())
    })
}

pub(super) fn list_webhooks(store: &SqliteStore) -> Result<Vec<Webhook>> {
    store.read(|c| {
        all(c, sql::LIST_WEBHOOKS.sqlite(), [], |r| {
            crate::rows::webhook(r)
        })
    })
}

pub(super) fn webhook(store: &SqliteStore, id: &str) -> Result<Option<Webhook>> {
    store.read(|c| {
        first(c, sql::WEBHOOK_BY_ID.sqlite(), [id], |r| {
            crate::rows::webhook(r)
        })
    })
}

pub(super) fn set_webhook_active(store: &SqliteStore, id: &str, active: bool) -> Result<bool> {
    store.write(|tx| Ok(tx.execute(sql::SET_WEBHOOK_ACTIVE.sqlite(), params![id, active])? == 1))
}

pub(super) fn claim_deliveries(
    store: &SqliteStore,
    now_ms: i64,
    lease_until_ms: i64,
    limit: usize,
) -> Result<Vec<DeliveryJob>> {
    let claim = uuid::Uuid::new_v4().to_string();
    store.write(|tx| {
        let n = tx.execute(
            sql::CLAIM_DELIVERIES.sqlite(),
            params![now_ms, limit as i64, lease_until_ms, claim],
        )?;
        if n == 0 {
            return Ok(Vec::new());
        }
        all(tx, sql::CLAIMED.sqlite(), [&claim], |r| {
            crate::rows::delivery_job(r)
        })
    })
}

pub(super) fn finish_delivery(store: &SqliteStore, a: &Attempt, next: Next) -> Result<()> {
    let (next_at, delivered) = match next {
        Next::Retry(at) => (at, None),
        Next::Delivered => (a.at_ms, Some(a.at_ms)),
        Next::Failed => (a.at_ms, None),
    };
    store.write(|tx| {
        tx.execute(
            sql::FINISH_DELIVERY.sqlite(),
            params![
                a.delivery_id,
                next.state(),
                next_at,
                a.status,
                a.error,
                delivered
            ],
        )?;
        tx.execute(
            sql::INSERT_ATTEMPT.sqlite(),
            params![a.delivery_id, a.at_ms, a.status, a.error, a.duration_ms],
        )?;
        Ok(())
    })
}

pub(super) fn retry_delivery(store: &SqliteStore, id: i64, now_ms: i64) -> Result<bool> {
    store.write(|tx| Ok(tx.execute(sql::RETRY_DELIVERY.sqlite(), params![id, now_ms])? == 1))
}

pub(super) fn deliveries(
    store: &SqliteStore,
    hook_id: &str,
    state: Option<&str>,
    limit: usize,
) -> Result<Vec<Delivery>> {
    store.read(|c| {
        all(
            c,
            sql::DELIVERIES.sqlite(),
            params![hook_id, state, limit as i64],
            |r| crate::rows::delivery(r),
        )
    })
}

pub(super) fn delivery_attempts(store: &SqliteStore, delivery_id: i64) -> Result<Vec<Attempt>> {
    store.read(|c| {
        all(c, sql::ATTEMPTS.sqlite(), [delivery_id], |r| {
            crate::rows::attempt(r)
        })
    })
}
