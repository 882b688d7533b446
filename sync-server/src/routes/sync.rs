//! `POST /api/v1/sync`: push a batch of documents, pull the feed, one round trip.

use std::collections::BTreeMap;

use sha2::Digest;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use central_store::merge::{Caller, PushError, push_knowing};
use survey_protocol::{CONTENT_TYPE, DocStatus, FeedDoc, Replacement, SyncRequest, SyncResponse};

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;
use crate::metrics::DocLabels;

pub async fn sync(
    State(state): State<AppState>,
    principal: Principal,
    headers: header::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&principal, Action::Sync)?;
    let device = principal.device.clone().ok_or(ApiError::Unauthorized)?;
    let held = held_forms(&headers);
    // Device clock minus server clock, read before any slow work.
    let clock_skew_s = headers
        .get(survey_protocol::DEVICE_TIME_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|t| t.saturating_sub(central_store::unix_now()));
    state.metrics.sync_bytes_in.inc_by(body.len() as u64);
    // One copy of the forms per request (reloaded first when stale): the merge
    // projects with it and the response names its newest versions.
    let forms = state.fresh_forms().await;
    let country = principal
        .user
        .countries
        .first()
        .cloned()
        .unwrap_or_default();
    let latest: Vec<(String, u32)> = forms
        .latest()
        .iter()
        .filter(|f| f.def().is_for(&country))
        .map(|f| (f.id().to_owned(), f.version()))
        .collect();
    let user = principal.user.clone();
    let assigned = principal.assignment.clone();
    // Everything after authentication is CPU or store work: one blocking
    // task (gunzip and decode, merge, feed, encode) instead of one per step.
    let (bytes, places_revision, assignment_revision) = state
        .blocking(move |st| {
            let req = decode_request(&body, st.settings.max_decoded_bytes)?;
            st.metrics
                .sync_bundles_in
                .inc_by(req.docs.iter().filter(|d| !d.data.is_empty()).count() as u64);
            if req.docs.len() > st.settings.max_docs_per_request {
                return Err(ApiError::PayloadTooLarge(format!(
                    "{} documents in one request; at most {}",
                    req.docs.len(),
                    st.settings.max_docs_per_request
                )));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = req.docs.iter().find(|d| !seen.insert(d.doc_id)) {
                return Err(ApiError::BadRequest(format!(
                    "document {} appears twice in one request",
                    dup.doc_id
                )));
            }
            let caller = Caller {
                user: &user,
                source: &device.id,
                clock_skew_s,
            };
            // Read once (the assignment with the device's token): the
            // response names the assignment's revision, and the push judges
            // its interviews by the assigned place.
            let (assignment, known) =
                crate::service::fieldops::assignment_and_place(st, &user, assigned)?;
            // A cursor below the one last handed to this device means the
            // device lost state (a restored store, or a lost response): the
            // feed then includes the device's own changes too, so it gets
            // back what it pushed before.
            let exclude = if req.cursor < device.feed_cursor {
                ""
            } else {
                device.id.as_str()
            };
            // The feed is read with the push's commit (one round trip on
            // PostgreSQL), or after it when the push committed nothing.
            let ask = central_store::FeedRequest {
                owner: &user.id,
                exclude_source: exclude,
                after: req.cursor,
                max_changes: st.settings.feed_max_changes,
                max_bytes: st.settings.feed_max_bytes,
            };
            let mut outcome = push_knowing(
                st.store.as_ref(),
                &forms,
                caller,
                &req.docs,
                Some(&known),
                Some(&ask),
            )
            .map_err(|e| match e {
                PushError::Forbidden { doc, reason } => {
                    tracing::warn!(user = %user.id, device = %device.id, doc = %doc, %reason, "push refused");
                    ApiError::Forbidden(format!("interview {doc}: {reason}"))
                }
                PushError::Store(s) => s.into(),
            })?;
            let page = match outcome.feed.take() {
                Some(p) => p,
                None => st.store.feed(
                    ask.owner,
                    ask.exclude_source,
                    ask.after,
                    ask.max_changes,
                    ask.max_bytes,
                )?,
            };
            let (feed, replaced) = feed_docs(
                st.store.as_ref(),
                page.items,
                outcome.repairs,
                req.cursor,
                outcome.replaced,
            )?;
            let places_revision = match user.countries.first() {
                Some(c) => st.places_revision(c)?,
                None => String::new(),
            };
            let assignment_revision = assignment.map(|a| a.revision);
            st.store.touch_device(
                &device.id,
                central_store::unix_now(),
                page.cursor,
                held.as_deref(),
            )?;
            let resp = SyncResponse {
                cursor: page.cursor,
                more: page.more,
                results: outcome.results,
                feed,
                replaced,
            };
            count_outcome(st, &resp, outcome.new_changes);
            let bytes = survey_protocol::encode_small_plain(&resp)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            st.metrics.sync_bytes_out.inc_by(bytes.len() as u64);
            Ok((bytes, places_revision, assignment_revision.unwrap_or_default()))
        })
        .await?;
    // The newest version of every form: a device lacking one fetches it.
    let forms_header =
        header::HeaderValue::from_str(&survey_protocol::form_versions_header(&latest))
            .map_err(|e| ApiError::Internal(format!("forms header: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(CONTENT_TYPE),
            ),
            (
                header::HeaderName::from_static(survey_protocol::FORMS_HEADER),
                forms_header,
            ),
            (
                header::HeaderName::from_static(survey_protocol::PLACES_HEADER),
                header::HeaderValue::from_str(&places_revision)
                    .map_err(|e| ApiError::Internal(format!("places header: {e}")))?,
            ),
            (
                header::HeaderName::from_static(survey_protocol::ASSIGNMENT_HEADER),
                header::HeaderValue::from_str(&assignment_revision)
                    .map_err(|e| ApiError::Internal(format!("assignment header: {e}")))?,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The form versions the device says it holds, normalised (`id@v,...`,
/// at most [`MAX_REPORTED_FORMS`] entries); `None` when it sent no report
/// (an older client), which keeps the last one on record.
fn held_forms(headers: &header::HeaderMap) -> Option<String> {
    let value = headers.get(survey_protocol::FORMS_HEADER)?.to_str().ok()?;
    let mut forms = survey_protocol::parse_form_versions(value);
    forms.truncate(MAX_REPORTED_FORMS);
    Some(survey_protocol::form_versions_header(&forms))
}

/// Gunzip and decode a sync body, the errors said for the device.
fn decode_request(body: &[u8], max_decoded: usize) -> Result<SyncRequest, ApiError> {
    survey_protocol::decode(body, max_decoded).map_err(|e| match e {
        survey_protocol::DecodeError::TooLarge(n) => {
            ApiError::PayloadTooLarge(format!("sync body expands beyond {n} bytes"))
        }
        // A newer app against this (older) server: say what to do;
        // the app shows the message and keeps its data.
        survey_protocol::DecodeError::Version(v) => ApiError::BadRequest(format!(
            "unsupported protocol version {v}: this server speaks sync protocol {}; \
             upgrade the server (the app keeps its interviews until then)",
            survey_protocol::PROTOCOL_VERSION
        )),
        other => ApiError::BadRequest(format!("malformed sync body: {other}")),
    })
}

/// The sync metrics of one response: documents by status, changes in and
/// out.
fn count_outcome(st: &AppState, resp: &SyncResponse, new_changes: usize) {
    st.metrics.sync_changes_in.inc_by(new_changes as u64);
    for r in &resp.results {
        let status = match r.status {
            DocStatus::Applied => "applied",
            DocStatus::MissingDeps { .. } => "missing_deps",
            DocStatus::Rejected { .. } => "rejected",
            DocStatus::ActorClash { .. } => "actor_clash",
            DocStatus::Replaced => "replaced",
        };
        st.metrics
            .sync_docs
            .get_or_create(&DocLabels {
                status: status.into(),
            })
            .inc();
    }
    st.metrics
        .sync_feed_changes
        .inc_by(resp.feed.iter().map(|f| f.changes.len() as u64).sum());
}

/// How many form versions one device report may list.
const MAX_REPORTED_FORMS: usize = 32;

/// The response feed: the page's changes and the repair changes of pushed
/// documents, grouped by document (log order first, then repairs), each change
/// once, with the document's current server heads. A document rewritten
/// after `cursor` (personal data erased), or pushed in its old form
/// (`replaced`), goes whole instead, as a [`Replacement`].
fn feed_docs(
    store: &dyn central_store::CentralStore,
    items: Vec<central_store::FeedItem>,
    repairs: Vec<(uuid::Uuid, Vec<Vec<u8>>)>,
    cursor: u64,
    replaced: Vec<uuid::Uuid>,
) -> Result<(Vec<FeedDoc>, Vec<Replacement>), ApiError> {
    let mut by_doc: BTreeMap<uuid::Uuid, Vec<Vec<u8>>> = BTreeMap::new();
    for item in items {
        by_doc.entry(item.doc_id).or_default().push(item.bytes);
    }
    for (doc_id, changes) in repairs {
        by_doc.entry(doc_id).or_default().extend(changes);
    }
    // Each document is read once: its snapshot goes out if it is replaced.
    let whole = |d: central_store::StoredDoc| -> Result<Replacement, ApiError> {
        Ok(Replacement {
            doc_id: d.doc_id,
            heads: store.doc_heads(d.doc_id)?,
            snapshot: d.snapshot,
        })
    };
    let replaced: std::collections::BTreeSet<uuid::Uuid> = replaced.into_iter().collect();
    let mut out = Vec::with_capacity(replaced.len());
    for doc_id in &replaced {
        if let Some(d) = store.load_doc(*doc_id)? {
            out.push(whole(d)?);
        }
    }
    let mut feed = Vec::with_capacity(by_doc.len());
    for (doc_id, mut changes) in by_doc {
        if replaced.contains(&doc_id) {
            continue;
        }
        if let Some(d) = store.load_doc(doc_id)?
            && d.epoch_seq > cursor
        {
            out.push(whole(d)?);
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        changes.retain(|c| seen.insert(sha2::Sha256::digest(c)));
        let heads = store.doc_heads(doc_id)?;
        feed.push(FeedDoc {
            doc_id,
            changes,
            heads,
        });
    }
    Ok((feed, out))
}
