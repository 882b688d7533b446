//! Webhooks, the admin's side: register a receiver (URL, event kinds, whether
//! it may receive personal data), pause or resume it, read its delivery log
//! and queue a failed delivery again. Delivery itself is
//! [`crate::webhooks`]'s worker.

use central_store::webhooks::{Attempt, Delivery, EVENT_KINDS, Webhook};
use central_store::{unix_now, unix_now_ms};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;

/// Longest receiver URL.
const MAX_URL: usize = 2000;
/// Longest delivery log page.
const MAX_LOG: usize = 500;

/// A hook to register.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub allow_pii: bool,
    #[serde(default)]
    pub description: String,
}

/// A registered hook and its signing secret (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: String,
}

/// A line of the delivery log with its attempts.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub attempt_log: Vec<Attempt>,
}

/// Which deliveries to list.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// `pending`, `delivered` or `failed`.
    pub state: Option<String>,
    pub limit: Option<usize>,
}

fn validate(n: &NewWebhook) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::BadRequest(m));
    if n.url.len() > MAX_URL {
        return bad(format!("url is longer than {MAX_URL} characters"));
    }
    match reqwest::Url::parse(&n.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(_) => return bad("url must be an http:// or https:// address".into()),
        Err(e) => return bad(format!("url is not valid: {e}")),
    }
    if n.events.is_empty() {
        return bad(format!(
            "events must name at least one of {}",
            EVENT_KINDS.join(", ")
        ));
    }
    if let Some(k) = n.events.iter().find(|k| !EVENT_KINDS.contains(&k.as_str())) {
        return bad(format!(
            "unknown event {k:?}; the kinds are {}",
            EVENT_KINDS.join(", ")
        ));
    }
    if n.description.chars().count() > 500 {
        return bad("description is longer than 500 characters".into());
    }
    Ok(())
}

/// Register a hook (admins only; one that may receive personal data is
/// audited as such).
pub async fn create(state: &AppState, p: &Principal, n: NewWebhook) -> Result<Created, ApiError> {
    authorize(p, Action::Administer)?;
    validate(&n)?;
    let mut events = n.events.clone();
    events.sort();
    events.dedup();
    let webhook = Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        url: n.url,
        events,
        allow_pii: n.allow_pii,
        active: true,
        description: n.description.trim().to_owned(),
        created_by: p.user.id.clone(),
        created_at: unix_now(),
    };
    let key: [u8; 32] = rand::random();
    let secret = format!("whsec_{}", hex::encode(key));
    let user = p.user.clone();
    let (h, s) = (webhook.clone(), secret.clone());
    state
        .blocking(move |st| {
            st.store.create_webhook(&h, &s)?;
            let detail = format!("events={} allow_pii={}", h.events.join(","), h.allow_pii);
            crate::audit::record(st, &user, "webhook.create", &h.id, &detail);
            Ok(())
        })
        .await?;
    Ok(Created { webhook, secret })
}

pub async fn list(state: &AppState, p: &Principal) -> Result<Vec<Webhook>, ApiError> {
    authorize(p, Action::Administer)?;
    state.blocking(|st| Ok(st.store.list_webhooks()?)).await
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("webhook {id} not found"))
}

/// Pause or resume a hook (deliveries wait while it is paused).
pub async fn set_active(
    state: &AppState,
    p: &Principal,
    id: String,
    active: bool,
) -> Result<Webhook, ApiError> {
    authorize(p, Action::Administer)?;
    let user = p.user.clone();
    state
        .blocking(move |st| {
            if !st.store.set_webhook_active(&id, active)? {
                return Err(not_found(&id));
            }
            let action = if active {
                "webhook.resume"
            } else {
                "webhook.pause"
            };
            crate::audit::record(st, &user, action, &id, "");
            st.store.webhook(&id)?.ok_or_else(|| not_found(&id))
        })
        .await
}

/// A hook's delivery log, newest first, each with its attempts.
pub async fn log(
    state: &AppState,
    p: &Principal,
    id: String,
    q: LogQuery,
) -> Result<Vec<LogLine>, ApiError> {
    authorize(p, Action::Administer)?;
    if let Some(s) = q.state.as_deref()
        && !matches!(s, "pending" | "delivered" | "failed")
    {
        return Err(ApiError::BadRequest(format!(
            "state {s:?} is not pending, delivered or failed"
        )));
    }
    state
        .blocking(move |st| {
            if st.store.webhook(&id)?.is_none() {
                return Err(not_found(&id));
            }
            let limit = q.limit.unwrap_or(100).clamp(1, MAX_LOG);
            let mut out = Vec::new();
            for d in st.store.deliveries(&id, q.state.as_deref(), limit)? {
                let attempt_log = st.store.delivery_attempts(d.id)?;
                out.push(LogLine {
                    delivery: d,
                    attempt_log,
                });
            }
            Ok(out)
        })
        .await
}

/// Queue a failed delivery again, due now.
pub async fn retry(
    state: &AppState,
    p: &Principal,
    hook: String,
    delivery: i64,
) -> Result<(), ApiError> {
    authorize(p, Action::Administer)?;
    let user = p.user.clone();
    state
        .blocking(move |st| {
            let mine = st
                .store
                .deliveries(&hook, Some("failed"), MAX_LOG)?
                .iter()
                .any(|d| d.id == delivery);
            if !mine || !st.store.retry_delivery(delivery, unix_now_ms())? {
                return Err(ApiError::NotFound(format!(
                    "no failed delivery {delivery} of webhook {hook}"
                )));
            }
            crate::audit::record(st, &user, "webhook.redeliver", &hook, &delivery.to_string());
            Ok(())
        })
        .await
}
