//! Webhook events and their deliveries, the parts both backends share.
//!
//! An [`Event`] is written in the same transaction as the change it reports
//! (an interview's merge, a case opened or moved, an action saved): the
//! store's `commit_docs`, `open_case`, `update_case` and `save_action` insert
//! it and, in the same statement batch, one pending delivery per active hook
//! subscribed to its kind. So an acknowledged change never loses its event,
//! and an event is never sent for a change that was rolled back. An event
//! no hook subscribes to is not kept (no outbox row). The sync
//! server's worker claims due deliveries (a lease, so a replica that dies
//! mid-send does not block them for ever), posts them and records each
//! attempt. Payloads hold no personal data: the worker adds the interview's
//! PII fields at send time, only for hooks marked `allow_pii`, so erased
//! details are never sent from a stale copy.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use survey_model::InterviewRecord;

use crate::Case;

/// The event kinds a hook can subscribe to.
pub const EVENT_KINDS: [&str; 6] = [
    "interview.submitted",
    "interview.reviewed",
    "case.opened",
    "case.updated",
    "case.closed",
    "action.updated",
];

/// The interview answers an event carries (never free text or contact
/// details: those are the form's PII fields, added only for PII hooks).
const INTERVIEW_FIELDS: [&str; 5] = [
    "segment",
    "nps",
    "satisfaction",
    "complaint_root_cause",
    "follow_up_requested",
];

/// One event; its id is the idempotency key of every delivery of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// UUID.
    pub id: String,
    /// One of [`EVENT_KINDS`].
    pub kind: String,
    pub campaign: String,
    pub country: String,
    /// The interview, case or action it is about.
    pub subject: String,
    /// Unix seconds.
    pub at: i64,
    /// JSON object, no personal data.
    pub payload: String,
}

impl Event {
    pub fn new(
        kind: &str,
        campaign: &str,
        country: &str,
        subject: &str,
        at: i64,
        payload: &Value,
    ) -> Event {
        Event {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            campaign: campaign.to_owned(),
            country: country.to_owned(),
            subject: subject.to_owned(),
            at,
            payload: payload.to_string(),
        }
    }

    /// The `LIKE` pattern matching this kind in a hook's comma list.
    pub(crate) fn kind_pattern(&self) -> String {
        format!("%,{},%", self.kind)
    }
}

/// What an event says of an interview.
pub fn interview_payload(r: &InterviewRecord) -> Value {
    let answers: serde_json::Map<String, Value> = INTERVIEW_FIELDS
        .iter()
        .filter_map(|k| r.answers.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    json!({
        "interview_id": r.interview_id,
        "form_id": r.form_id,
        "form_version": r.form_version,
        "created_by": r.created_by,
        "status": r.status,
        "submitted_at": r.submitted_at,
        "review_state": r.review_state,
        "place_code": r.answers.get("place_code"),
        "answers": answers,
    })
}

/// The events of one interview write: `before` is the stored (status,
/// review state) the write started from (`None`: a new interview).
pub fn interview_events(
    before: Option<(&str, Option<&str>)>,
    after: &InterviewRecord,
    at: i64,
) -> Vec<Event> {
    let (old_status, old_review) = before.unwrap_or(("", None));
    let mut kinds = Vec::new();
    if after.status == "submitted" && old_status != "submitted" {
        kinds.push("interview.submitted");
    }
    if after.review_state.is_some() && after.review_state.as_deref() != old_review {
        kinds.push("interview.reviewed");
    }
    if kinds.is_empty() {
        return Vec::new();
    }
    let payload = interview_payload(after);
    kinds
        .into_iter()
        .map(|k| {
            Event::new(
                k,
                &after.campaign,
                &after.country,
                &after.interview_id,
                at,
                &payload,
            )
        })
        .collect()
}

/// The event of a case opened (`opened`) or updated.
pub fn case_event(c: &Case, opened: bool) -> Event {
    let kind = if opened {
        "case.opened"
    } else if c.status == survey_model::cases::CaseStatus::Closed.as_str() {
        "case.closed"
    } else {
        "case.updated"
    };
    // The whole case: it holds no contact details.
    let payload = serde_json::to_value(c).unwrap_or(Value::Null);
    Event::new(kind, &c.campaign, &c.country, &c.id, c.updated_at, &payload)
}

/// The event of an action created or updated (as stored: `version` is the
/// stored one).
pub fn action_event(a: &crate::ActionItem) -> Event {
    let payload = serde_json::to_value(a).unwrap_or(Value::Null);
    Event::new(
        "action.updated",
        &a.campaign,
        &a.country,
        &a.id,
        a.updated_at,
        &payload,
    )
}

/// A registered receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// UUID.
    pub id: String,
    pub url: String,
    /// Subscribed kinds (of [`EVENT_KINDS`]).
    pub events: Vec<String>,
    /// Whether deliveries carry the interview's PII fields.
    pub allow_pii: bool,
    pub active: bool,
    pub description: String,
    pub created_by: String,
    pub created_at: i64,
}

impl Webhook {
    /// The stored form of `events`: `,a,b,` so a `LIKE '%,kind,%'` matches.
    pub(crate) fn events_column(&self) -> String {
        format!(",{},", self.events.join(","))
    }
}

/// A due delivery, claimed by one worker until its lease ends.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub delivery_id: i64,
    pub hook_id: String,
    pub url: String,
    pub secret: String,
    pub allow_pii: bool,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When the delivery was queued (unix ms).
    pub created_ms: i64,
    pub event: Event,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub delivery_id: i64,
    /// Unix ms.
    pub at_ms: i64,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<i64>,
    /// What went wrong (refused connection, timeout, a non-2xx answer).
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    /// Try again at this unix ms.
    Retry(i64),
    /// Given up (too old): an admin may queue it again.
    Failed,
}

impl Next {
    pub(crate) fn state(self) -> &'static str {
        match self {
            Next::Delivered => "delivered",
            Next::Retry(_) => "pending",
            Next::Failed => "failed",
        }
    }
}

/// A line of a hook's delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub hook_id: String,
    /// The idempotency key.
    pub event_id: String,
    pub kind: String,
    pub subject: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_at_ms: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_ms: Option<i64>,
    pub created_ms: i64,
}

/// The columns [`crate::rows::delivery`] reads, from `webhook_deliveries d
/// JOIN webhook_events e`.
pub(crate) const DELIVERY_COLS: &str = "d.id, d.hook_id, d.event_id, e.kind, e.subject, d.state,
  d.attempts, d.next_at_ms, d.last_status, d.last_error, d.delivered_ms, d.created_ms";

/// The columns [`crate::rows::webhook`] reads.
pub(crate) const WEBHOOK_COLS: &str =
    "id, url, events, allow_pii, active, description, created_by, created_at";
