//! Webhooks in PostgreSQL: hooks, the events written inside other writes'
//! transactions, and the delivery queue (claimed with `SKIP LOCKED`, so
//! replicas share it without sending one delivery twice at once).

use std::sync::LazyLock;

use tokio_postgres::Transaction;

use super::PgStore;
use crate::webhooks::{Attempt, Delivery, DeliveryJob, Event, Next, Webhook};
use crate::{Result, sql};

/// Record `events` and fan them out to the hooks whose kinds match, in one
/// statement (one round trip for a whole commit's events): an event no
/// active hook wants is not stored (as `INSERT_EVENT` and `FAN_OUT_EVENT`
/// do one event at a time on SQLite). `{only}` narrows the events stored.
const EVENTS_TEMPLATE: &str = "WITH e AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
         $6::bigint[], $7::text[], $8::text[]) WITH ORDINALITY
         AS e(id, kind, campaign, country, subject, at, payload, pattern, n)),
     ins AS (INSERT INTO webhook_events(id, kind, campaign, country, subject, at, payload)
       SELECT id, kind, campaign, country, subject, at, payload FROM e
       WHERE EXISTS (SELECT 1 FROM webhooks WHERE events LIKE e.pattern){only}
       ORDER BY n RETURNING id)
     INSERT INTO webhook_deliveries(hook_id, event_id, state, attempts, next_at_ms,
       locked_until_ms, created_ms)
     SELECT w.id, e.id, 'pending', 0, $9, 0, $9
     FROM ins JOIN e ON e.id = ins.id JOIN webhooks w ON w.events LIKE e.pattern
     ORDER BY e.n, w.id";

/// Every event given (see [`EVENTS_TEMPLATE`]).
pub(super) static INSERT_EVENTS: LazyLock<String> =
    LazyLock::new(|| EVENTS_TEMPLATE.replace("{only}", ""));

/// The `case.opened` events of cases that a push opened in the same
/// transaction: those whose case is stored. A push's pipeline cannot wait
/// for each case insert's outcome, and an interview that has a case already
/// opens none (the new case's id is then not stored, nor its event).
pub(super) static INSERT_OPENED_CASE_EVENTS: LazyLock<String> = LazyLock::new(|| {
    EVENTS_TEMPLATE.replace(
        "{only}",
        "\n         AND EXISTS (SELECT 1 FROM cases c WHERE c.id = e.subject)",
    )
});

/// Write `events` and their pending deliveries inside `tx`.
pub(super) async fn insert_events(tx: &Transaction<'_>, events: &[Event]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let st = tx.prepare(&INSERT_EVENTS).await?;
    insert_events_with(tx, &st, events).await
}

/// [`insert_events`] with its statement prepared already (`INSERT_EVENTS`
/// from a connection's statement cache).
pub(super) async fn insert_events_with(
    tx: &impl tokio_postgres::GenericClient,
    st: &tokio_postgres::Statement,
    events: &[Event],
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&Event) -> &str| events.iter().map(f).collect::<Vec<&str>>();
    let at: Vec<i64> = events.iter().map(|e| e.at).collect();
    let patterns: Vec<String> = events.iter().map(Event::kind_pattern).collect();
    tx.execute(
        st,
        &[
            &col(|e| &e.id),
            &col(|e| &e.kind),
            &col(|e| &e.campaign),
            &col(|e| &e.country),
            &col(|e| &e.subject),
            &at,
            &col(|e| &e.payload),
            &patterns,
            &crate::unix_now_ms(),
        ],
    )
    .await?;
    Ok(())
}

pub(super) fn emit(store: &PgStore, events: &[Event]) -> Result<()> {
    store.tx(async |tx| insert_events(tx, events).await)
}

pub(super) fn create_webhook(store: &PgStore, h: &Webhook, secret: &str) -> Result<()> {
    store.with(async |c| {
        c.execute(
            sql::INSERT_WEBHOOK.pg(),
            &[
                &h.id,
                &h.url,
                &h.events_column(),
                &h.allow_pii,
                &h.active,
                &h.description,
                &h.created_by,
                &h.created_at,
                &secret,
            ],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn list_webhooks(store: &PgStore) -> Result<Vec<Webhook>> {
    store.all(sql::LIST_WEBHOOKS.pg(), &[], crate::rows::webhook)
}

pub(super) fn webhook(store: &PgStore, id: &str) -> Result<Option<Webhook>> {
    store.first(sql::WEBHOOK_BY_ID.pg(), &[&id], crate::rows::webhook)
}

pub(super) fn set_webhook_active(store: &PgStore, id: &str, active: bool) -> Result<bool> {
    let n = store.with(async |c| {
        Ok(c.execute(sql::SET_WEBHOOK_ACTIVE.pg(), &[&id, &active])
            .await?)
    })?;
    Ok(n == 1)
}

pub(super) fn claim_deliveries(
    store: &PgStore,
    now_ms: i64,
    lease_until_ms: i64,
    limit: usize,
) -> Result<Vec<DeliveryJob>> {
    let claim = uuid::Uuid::new_v4().to_string();
    let rows = store.tx(async |tx| {
        let n = tx
            .execute(
                sql::CLAIM_DELIVERIES_PG.as_str(),
                &[&now_ms, &(limit as i64), &lease_until_ms, &claim],
            )
            .await?;
        if n == 0 {
            return Ok(Vec::new());
        }
        Ok(tx.query(sql::CLAIMED.pg(), &[&claim]).await?)
    })?;
    rows.iter().map(crate::rows::delivery_job).collect()
}

pub(super) fn finish_delivery(store: &PgStore, a: &Attempt, next: Next) -> Result<()> {
    let (next_at, delivered) = match next {
        Next::Retry(at) => (at, None),
        Next::Delivered => (a.at_ms, Some(a.at_ms)),
        Next::Failed => (a.at_ms, None),
    };
    store.tx(async |tx| {
        tx.execute(
            sql::FINISH_DELIVERY.pg(),
            &[
                &a.delivery_id,
                &next.state(),
                &next_at,
                &a.status,
                &a.error,
                &delivered,
            ],
        )
        .await?;
        tx.execute(
            sql::INSERT_ATTEMPT.pg(),
            &[
                &a.delivery_id,
                &a.at_ms,
                &a.status,
                &a.error,
                &a.duration_ms,
            ],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn retry_delivery(store: &PgStore, id: i64, now_ms: i64) -> Result<bool> {
    let n =
        store.with(async |c| Ok(c.execute(sql::RETRY_DELIVERY.pg(), &[&id, &now_ms]).await?))?;
    Ok(n == 1)
}

pub(super) fn deliveries(
    store: &PgStore,
    hook_id: &str,
    state: Option<&str>,
    limit: usize,
) -> Result<Vec<Delivery>> {
    store.all(
        sql::DELIVERIES.pg(),
        &[&hook_id, &state, &(limit as i64)],
        crate::rows::delivery,
    )
}

pub(super) fn delivery_attempts(store: &PgStore, delivery_id: i64) -> Result<Vec<Attempt>> {
    store.all(sql::ATTEMPTS.pg(), &[&delivery_id], crate::rows::attempt)
}
