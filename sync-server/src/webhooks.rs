//! The webhook delivery worker: claims due deliveries from the store (a
//! lease, so several replicas share the queue and a killed one's claims
//! come back), posts each event signed with its hook's secret, and records
//! every attempt. A failure is retried with exponential backoff until the
//! delivery is `give_up_after` old; an admin can queue a failed one again.
//!
//! Each POST carries:
//! - `Idempotency-Key`: the event id, the same on every retry and for every
//!   hook (a receiver that stores it processes each event once);
//! - `X-Fieldvoice-Event`: the event kind; `X-Fieldvoice-Delivery`: the
//!   delivery id (one per hook and event);
//! - `X-Fieldvoice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//!   "<t>.<body>" keyed with the hook's secret>` (reject old `t` against
//!   replays).

use std::time::{Duration, Instant};

use central_store::unix_now_ms;
use central_store::webhooks::{Attempt, DeliveryJob, Next};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::task::JoinSet;

use crate::AppState;
use crate::error::ApiError;

/// Header names of a delivery.
pub const SIGNATURE_HEADER: &str = "x-fieldvoice-signature";
pub const EVENT_HEADER: &str = "x-fieldvoice-event";
pub const DELIVERY_HEADER: &str = "x-fieldvoice-delivery";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// How the worker retries.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Wait after the first failure; doubled after each next one.
    pub first_retry: Duration,
    /// Longest wait between two attempts.
    pub max_retry: Duration,
    /// A delivery this old is given up (`failed`) after its next failure.
    pub give_up_after: Duration,
    /// Per-attempt timeout (connect and answer).
    pub timeout: Duration,
    /// How often the queue is polled when it is idle.
    pub poll: Duration,
    /// Deliveries claimed (and sent concurrently) at once.
    pub batch: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(72 * 3600),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            batch: 16,
        }
    }
}

impl WebhookSettings {
    /// How long a claim lasts: two timeouts and a margin, so a live worker
    /// always finishes first and a dead one's claims come back soon.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(5)
    }

    /// The wait after failure number `failures` (1 = the first).
    pub fn backoff(&self, failures: i64) -> Duration {
        let doublings = u32::try_from(failures.clamp(1, 30) - 1).unwrap_or(0);
        self.first_retry
            .saturating_mul(1u32 << doublings.min(20))
            .min(self.max_retry)
    }
}

/// The `v1` signature of `body` sent at `t`.
pub fn sign(secret: &str, t: i64, body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes a key of any length: this does not happen.
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Start the worker on the current runtime; it runs until the process ends.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(state))
}

async fn run(state: AppState) {
    let w = state.settings.webhooks.clone();
    let client = match reqwest::Client::builder()
        .timeout(w.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("fieldvoice-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook worker not started: no HTTP client");
            return;
        }
    };
    let lease = i64::try_from(w.lease().as_millis()).unwrap_or(i64::MAX);
    loop {
        let now = unix_now_ms();
        let batch = w.batch;
        let claimed = state
            .blocking(move |st| Ok(st.store.claim_deliveries(now, now + lease, batch)?))
            .await;
        let jobs = match claimed {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "webhook queue not read");
                Vec::new()
            }
        };
        if jobs.is_empty() {
            tokio::time::sleep(w.poll).await;
            continue;
        }
        let mut set = JoinSet::new();
        for job in jobs {
            set.spawn(deliver(state.clone(), client.clone(), job));
        }
        while set.join_next().await.is_some() {}
    }
}

/// The body of a delivery: the event, and the interview's PII fields when
/// the hook may receive them.
fn body(job: &DeliveryJob, pii: Option<Value>) -> String {
    let data: Value = serde_json::from_str(&job.event.payload).unwrap_or(Value::Null);
    let mut b = json!({
        "id": job.event.id,
        "type": job.event.kind,
        "created_at": job.event.at,
        "campaign": job.event.campaign,
        "country": job.event.country,
        "subject": job.event.subject,
        "data": data,
    });
    if let Some(p) = pii {
        b["pii"] = p;
    }
    b.to_string()
}

/// The PII answers of the interview an event is about (read at send time:
/// erased details are never sent).
fn pii_of(state: &AppState, job: &DeliveryJob) -> Result<Value, ApiError> {
    let data: Value = serde_json::from_str(&job.event.payload).unwrap_or(Value::Null);
    let Some(id) = data
        .get("interview_id")
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
    else {
        return Ok(json!({}));
    };
    let Some(r) = state.store.interview(id)? else {
        return Ok(json!({}));
    };
    let forms = state.forms();
    let Some(form) = forms.get(&r.form_id, r.form_version) else {
        return Ok(json!({}));
    };
    let fields: serde_json::Map<String, Value> = form
        .pii_questions()
        .filter_map(|f| r.answers.get(&f.name).map(|v| (f.name.clone(), v.clone())))
        .collect();
    Ok(Value::Object(fields))
}

async fn deliver(state: AppState, client: reqwest::Client, job: DeliveryJob) {
    let pii = if job.allow_pii {
        let j = job.clone();
        match state.blocking(move |st| pii_of(st, &j)).await {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, delivery = job.delivery_id, "PII not read; delivery postponed");
                None
            }
        }
    } else {
        None
    };
    let started_ms = unix_now_ms();
    let clock = Instant::now();
    let (status, error) = if job.allow_pii && pii.is_none() {
        (None, Some("personal data could not be read".to_owned()))
    } else {
        let body = body(&job, pii);
        let t = started_ms / 1000;
        let sent = client
            .post(&job.url)
            .header("content-type", "application/json")
            .header(IDEMPOTENCY_HEADER, &job.event.id)
            .header(EVENT_HEADER, &job.event.kind)
            .header(DELIVERY_HEADER, job.delivery_id.to_string())
            .header(
                SIGNATURE_HEADER,
                format!("t={t},v1={}", sign(&job.secret, t, &body)),
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => (Some(i64::from(r.status().as_u16())), None),
            Ok(r) => (
                Some(i64::from(r.status().as_u16())),
                Some(format!(
                    "the receiver answered HTTP {}",
                    r.status().as_u16()
                )),
            ),
            Err(e) => (None, Some(e.without_url().to_string())),
        }
    };
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let at_ms = unix_now_ms();
    let w = &state.settings.webhooks;
    let next = if error.is_none() {
        Next::Delivered
    } else if Duration::from_millis(u64::try_from(at_ms - job.created_ms).unwrap_or(0))
        >= w.give_up_after
    {
        Next::Failed
    } else {
        let wait = i64::try_from(w.backoff(job.attempts + 1).as_millis()).unwrap_or(i64::MAX);
        Next::Retry(at_ms.saturating_add(wait))
    };
    if let Some(e) = &error {
        tracing::info!(
            delivery = job.delivery_id,
            hook = %job.hook_id,
            kind = %job.event.kind,
            attempt = job.attempts + 1,
            error = %e,
            "webhook delivery failed"
        );
    }
    let attempt = Attempt {
        delivery_id: job.delivery_id,
        at_ms,
        status,
        error,
        duration_ms,
    };
    if let Err(e) = state
        .blocking(move |st| Ok(st.store.finish_delivery(&attempt, next)?))
        .await
    {
        // The lease runs out and the delivery is sent again: the receiver
        // sees the same idempotency key.
        tracing::warn!(error = %e, "webhook attempt not recorded");
    }
}
