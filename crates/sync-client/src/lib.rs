//! sync-client owns the device side of the sync protocol: it reads pending
//! changes from a [`DeviceStore`], sends them in batches with the feed cursor in
//! one `POST /api/v1/sync` per round, applies what the server sends back, and
//! records acknowledgements. Retries with exponential backoff are safe because
//! the server stores changes idempotently; progress is committed to the store
//! after every round, so an interrupted sync resumes where it stopped.
//!
//! It is Tauri-agnostic and headless-testable. It must not hold UI state, read
//! configuration files or the environment: callers pass the server URL, token
//! and options.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{Change, ChangeHash};
use device_store::{DeviceStore, Enrollment, StoreError};
use survey_protocol::{
    CONTENT_TYPE, Compression, DocPush, DocStatus, EnrollRequest, EnrollResponse, SyncRequest,
    SyncResponse,
};
use uuid::Uuid;

/// Errors of a sync or enrollment.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("network: {0}")]
    Network(#[from] reqwest::Error),
    #[error("server refused ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the device token was refused; enroll again")]
    Unauthorized,
    #[error("device store: {0}")]
    Store(#[from] StoreError),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("the device is not enrolled")]
    NotEnrolled,
    #[error("background task failed: {0}")]
    Join(String),
}

/// Tunables of a sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Documents per request.
    pub batch_docs: usize,
    /// Attempts per request on network errors, 429 and 5xx.
    pub attempts: u32,
    /// First backoff delay; doubles each attempt.
    pub backoff: Duration,
    /// Upper bound of rounds in one run (feed paging included).
    pub max_rounds: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            batch_docs: 100,
            attempts: 5,
            backoff: Duration::from_millis(300),
            max_rounds: 200,
        }
    }
}

/// What a sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub rounds: usize,
    pub docs_sent: usize,
    pub changes_sent: usize,
    pub docs_acknowledged: usize,
    pub docs_rejected: Vec<(Uuid, String)>,
    pub feed_changes: usize,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub retries: u32,
    /// Latency of each request round trip.
    pub latencies: Vec<Duration>,
    /// Documents sent again to fetch changes this device lacked.
    pub repairs: usize,
    /// Times the server reported this store's actor in use elsewhere.
    /// Documents the server rewrote (personal data erased) that this device
    /// replaced, rebasing its unsynced edits.
    pub documents_replaced: usize,
    pub actor_resets: usize,
    /// Form versions published on the server that this run fetched and stored.
    pub forms_received: Vec<(String, u32)>,
    /// The number of places in the place list fetched in this run, when the
    /// server's revision differed from the one on the device.
    pub places_received: Option<usize>,
    /// The employee's assignment (place, team, targets) changed on the
    /// server and was fetched in this run.
    pub assignment_received: bool,
}

/// Build an HTTP client with sensible timeouts for poor networks.
pub fn http_client() -> Result<reqwest::Client, SyncError> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("fieldvoice-sync/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

async fn refused(resp: reqwest::Response) -> SyncError {
    let status = resp.status().as_u16();
    if status == 401 {
        return SyncError::Unauthorized;
    }
    let body = resp.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or(body);
    SyncError::Refused { status, message }
}

/// Exchange a one-time enrollment code for a device token, and store the
/// enrollment and the campaign's forms in the device store.
pub async fn enroll(
    http: &reqwest::Client,
    store: Arc<Mutex<DeviceStore>>,
    server_url: &str,
    code: &str,
    device_label: &str,
) -> Result<Enrollment, SyncError> {
    let url = format!("{}/api/v1/enroll", server_url.trim_end_matches('/'));
    let resp = http
        .post(url)
        .json(&EnrollRequest {
            code: code.to_owned(),
            device_label: device_label.to_owned(),
        })
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(refused(resp).await);
    }
    let e: EnrollResponse = resp.json().await?;
    let enrollment = Enrollment {
        server_url: server_url.trim_end_matches('/').to_owned(),
        device_id: e.device_id,
        device_token: e.device_token,
        user_id: e.user_id,
        user_name: e.user_name,
        country: e.country,
        campaign: e.campaign,
    };
    let en = enrollment.clone();
    blocking(store.clone(), move |s| {
        for f in &e.forms {
            s.put_form(f)?;
        }
        s.set_enrollment(&en)?;
        // A new enrollment starts a new feed.
        s.set_cursor(0)?;
        Ok(())
    })
    .await?;
    // The place list comes now, so the first interview can be done offline;
    // if this fails, the next sync fetches it (its revision differs).
    if let Err(e) = fetch_places(
        http,
        &store,
        &enrollment.server_url,
        &enrollment.device_token,
    )
    .await
    {
        tracing::warn!(error = %e, "place list not fetched at enrollment");
    }
    if let Err(e) = fetch_assignment(
        http,
        &store,
        &enrollment.server_url,
        &enrollment.device_token,
    )
    .await
    {
        tracing::warn!(error = %e, "assignment not fetched at enrollment");
    }
    Ok(enrollment)
}

/// Fetch the employee's field assignment and store it; returns whether there is one.
async fn fetch_assignment(
    http: &reqwest::Client,
    store: &Arc<Mutex<DeviceStore>>,
    server_url: &str,
    token: &str,
) -> Result<bool, SyncError> {
    let r = http
        .get(format!("{server_url}/api/v1/me/assignment"))
        .bearer_auth(token)
        .send()
        .await?;
    if !r.status().is_success() {
        return Err(refused(r).await);
    }
    let a: Option<survey_model::places::FieldAssignment> = r.json().await?;
    let some = a.is_some();
    blocking(store.clone(), move |s| s.set_assignment(a.as_ref())).await?;
    Ok(some)
}

/// Fetch the place list of this device's country and store it; returns how
/// many places it holds.
async fn fetch_places(
    http: &reqwest::Client,
    store: &Arc<Mutex<DeviceStore>>,
    server_url: &str,
    token: &str,
) -> Result<usize, SyncError> {
    let r = http
        .get(format!("{server_url}/api/v1/places"))
        .bearer_auth(token)
        .send()
        .await?;
    if !r.status().is_success() {
        return Err(refused(r).await);
    }
    let list: survey_model::places::PlaceList = r.json().await?;
    let n = list.places.len();
    blocking(store.clone(), move |s| {
        s.set_places(&list.revision, &list.places)
    })
    .await?;
    Ok(n)
}

async fn blocking<T: Send + 'static>(
    store: Arc<Mutex<DeviceStore>>,
    f: impl FnOnce(&mut DeviceStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(move || {
        let mut s = store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut s)
    })
    .await
    .map_err(|e| SyncError::Join(e.to_string()))?
    .map_err(SyncError::from)
}

fn hashes(h: &[ChangeHash]) -> Vec<[u8; 32]> {
    h.iter().map(|h| h.0).collect()
}

fn change_hashes(h: &[[u8; 32]]) -> Vec<ChangeHash> {
    h.iter().map(|b| ChangeHash(*b)).collect()
}

/// Rounds of one run that may end with feed changes still not applicable.
const MAX_REPAIR_ROUNDS: usize = 4;
/// Actor clashes one run resolves before giving up.
const MAX_CLASHES: usize = 1000;

/// Sync the store with its server until nothing is pending and the feed is
/// drained (or `max_rounds` is reached).
pub async fn sync(
    http: &reqwest::Client,
    store: Arc<Mutex<DeviceStore>>,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let enrollment = blocking(store.clone(), |s| s.enrollment())
        .await?
        .ok_or(SyncError::NotEnrolled)?;
    let url = format!("{}/api/v1/sync", enrollment.server_url);
    let mut report = SyncReport::default();
    // Documents already settled in this run (acknowledged or rejected) are not
    // sent again in this run, which bounds the work even if they stay dirty.
    let mut settled: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    let mut repair_rounds = 0;
    let mut clashes = 0;
    let mut published_forms: Option<String> = None;
    let mut places_revision: Option<String> = None;
    let mut assignment_revision: Option<String> = None;
    // The newest version of each form this device holds, reported on every
    // request so the dashboard can show devices still on an old version.
    let held = blocking(store.clone(), |s| s.forms()).await?;
    let held = survey_protocol::form_versions_header(&newest_of_each(held));
    for _ in 0..opts.max_rounds {
        let limit = opts.batch_docs + settled.len();
        let batch = opts.batch_docs;
        let skip = settled.clone();
        let (cursor, pending) = blocking(store.clone(), move |s| {
            let pending: Vec<_> = s
                .pending(limit)?
                .into_iter()
                .filter(|p| !skip.contains(&p.id))
                .take(batch)
                .collect();
            Ok((s.cursor()?, pending))
        })
        .await?;
        report.docs_sent += pending.len();
        report.changes_sent += pending.iter().map(|p| p.change_count).sum::<usize>();
        let body = push_body(cursor, &pending)?;
        let sent_docs = pending.len();
        report.bytes_up += body.len() as u64;
        let (resp, elapsed, forms, places, assignment) = post_with_retry(
            http,
            &url,
            &enrollment.device_token,
            &held,
            body,
            opts,
            &mut report,
        )
        .await?;
        report.latencies.push(elapsed);
        if forms.is_some() {
            published_forms = forms;
        }
        if places.is_some() {
            places_revision = places;
        }
        if assignment.is_some() {
            assignment_revision = assignment;
        }
        report.bytes_down += resp.len() as u64;
        let resp: SyncResponse = survey_protocol::decode(&resp, 256 * 1024 * 1024)
            .map_err(|e| SyncError::Protocol(e.to_string()))?;
        report.rounds += 1;
        report.feed_changes += resp.feed.iter().map(|f| f.changes.len()).sum::<usize>();
        let full_batch = sent_docs >= opts.batch_docs;
        let more = resp.more;
        let outcome = blocking(store.clone(), move |s| apply_response(s, resp)).await?;
        report.docs_acknowledged += outcome.acknowledged.len();
        settled.extend(outcome.acknowledged);
        for (id, reason) in outcome.rejected {
            settled.insert(id);
            report.docs_rejected.push((id, reason));
        }
        // Documents to repair go out again in the next round, as "have"
        // messages if nothing else changed.
        for id in &outcome.repair {
            settled.remove(id);
        }
        report.repairs += outcome.repair.len();
        if !outcome.repair.is_empty() {
            repair_rounds += 1;
            if repair_rounds > MAX_REPAIR_ROUNDS {
                // The cursor stays where it was: the next run tries again.
                tracing::warn!(documents = outcome.repair.len(), "repair did not complete");
                break;
            }
        }
        if !outcome.actor_clash.is_empty() {
            clashes += outcome.actor_clash.len();
            if clashes > MAX_CLASHES {
                return Err(SyncError::Protocol(
                    "the server keeps reporting an actor clash".into(),
                ));
            }
            let clashed = outcome.actor_clash;
            let resets = blocking(store.clone(), move |s| {
                let mut resets = 0;
                for (id, heads) in clashed {
                    resets += usize::from(s.resolve_actor_clash(id, &heads)?);
                }
                Ok(resets)
            })
            .await?;
            if resets > 0 {
                tracing::warn!(
                    "this store's actor writes from another device too; took a new actor"
                );
            }
            report.actor_resets += resets;
            continue;
        }
        // Replaced documents' rebased edits go out in the next round.
        report.documents_replaced += outcome.replaced.len();
        // Done when the feed is drained, nothing needs repair and the last
        // batch was not full.
        if !more && !full_batch && outcome.repair.is_empty() && outcome.replaced.is_empty() {
            break;
        }
    }
    if let Some(rev) = places_revision {
        let have = blocking(store.clone(), |s| s.places_revision()).await?;
        if have.as_deref() != Some(rev.as_str()) {
            // Like forms: a list that cannot be fetched now is fetched next time.
            match fetch_places(
                http,
                &store,
                &enrollment.server_url,
                &enrollment.device_token,
            )
            .await
            {
                Ok(n) => report.places_received = Some(n),
                Err(e) => tracing::warn!(error = %e, "place list download failed"),
            }
        }
    }
    if let Some(rev) = assignment_revision {
        let have = blocking(store.clone(), |s| s.assignment()).await?;
        let have = have.map(|a| a.revision).unwrap_or_default();
        if have != rev {
            match fetch_assignment(
                http,
                &store,
                &enrollment.server_url,
                &enrollment.device_token,
            )
            .await
            {
                Ok(_) => report.assignment_received = true,
                Err(e) => tracing::warn!(error = %e, "assignment download failed"),
            }
        }
    }
    if let Some(header) = published_forms {
        report.forms_received = fetch_new_forms(
            http,
            &store,
            &enrollment.server_url,
            &enrollment.device_token,
            &header,
        )
        .await?;
    }
    Ok(report)
}

/// Fetch and store the form versions the server named that this device
/// lacks. A version that cannot be fetched or stored now is logged and left
/// for the next run (the documents are already synced).
async fn fetch_new_forms(
    http: &reqwest::Client,
    store: &Arc<Mutex<DeviceStore>>,
    server_url: &str,
    token: &str,
    header: &str,
) -> Result<Vec<(String, u32)>, SyncError> {
    let published = survey_protocol::parse_form_versions(header);
    let have = blocking(store.clone(), |s| s.forms()).await?;
    let mut received = Vec::new();
    for (id, version) in published {
        if have.iter().any(|(f, v)| *f == id && *v == version) {
            continue;
        }
        let url = format!("{server_url}/api/v1/forms/{id}/{version}");
        let json = match http.get(&url).bearer_auth(token).send().await {
            Ok(r) if r.status().is_success() => match r.text().await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(form = %id, version, error = %e, "form download failed");
                    continue;
                }
            },
            Ok(r) => {
                let err = refused(r).await;
                tracing::warn!(form = %id, version, error = %err, "form refused");
                continue;
            }
            Err(e) => {
                tracing::warn!(form = %id, version, error = %e, "form download failed");
                continue;
            }
        };
        match blocking(store.clone(), move |s| s.put_form(&json)).await {
            Ok(form) if form.id() == id && form.version() == version => {
                received.push((id, version));
            }
            Ok(form) => tracing::warn!(
                form = %id,
                version,
                got = %form.id(),
                "the server sent another form than the one named"
            ),
            Err(e) => tracing::warn!(form = %id, version, error = %e, "form not stored"),
        }
    }
    Ok(received)
}

#[derive(Default)]
struct Outcome {
    acknowledged: Vec<Uuid>,
    rejected: Vec<(Uuid, String)>,
    /// Documents whose feed changes could not be applied (missing
    /// dependencies): the cursor stays put and they are sent as "have".
    repair: Vec<Uuid>,
    /// Documents refused for an actor clash, with the server's heads.
    actor_clash: Vec<(Uuid, Vec<ChangeHash>)>,
    /// Documents replaced by the server's rewrite (personal data erased).
    replaced: Vec<Uuid>,
}

fn apply_response(s: &mut DeviceStore, resp: SyncResponse) -> Result<Outcome, StoreError> {
    let mut out = Outcome::default();
    // Rewritten documents first (personal data erased): the old copy and its
    // history go, this device's unsynced edits are rebased onto the new one.
    for r in resp.replaced {
        s.replace_document(r.doc_id, &r.snapshot, &change_hashes(&r.heads))?;
        out.replaced.push(r.doc_id);
    }
    // Feed next, so acknowledgements can see the server's full heads.
    for fd in resp.feed {
        let changes: Vec<Change> = fd
            .changes
            .into_iter()
            .filter_map(|b| match Change::from_bytes(b) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(doc = %fd.doc_id, error = %e, "server sent an unreadable change; skipped");
                    None
                }
            })
            .collect();
        match s.apply_remote(fd.doc_id, changes, &change_hashes(&fd.heads)) {
            Ok(()) => {}
            // This device lacks changes the feed's depend on (its store was
            // restored, or it never received them): nothing of it is kept,
            // the cursor does not move, and the document goes out as a
            // "have" in the next round so the server sends what is missing.
            Err(StoreError::Model(e)) => {
                tracing::warn!(doc = %fd.doc_id, error = %e, "feed changes need a repair");
                s.mark_dirty(fd.doc_id)?;
                out.repair.push(fd.doc_id);
            }
            Err(e) => return Err(e),
        }
    }
    let mut acks = Vec::new();
    for r in resp.results {
        match r.status {
            DocStatus::Applied => {
                acks.push((r.doc_id, change_hashes(&r.heads)));
                out.acknowledged.push(r.doc_id);
            }
            DocStatus::MissingDeps { .. } => s.reset_server_heads(r.doc_id)?,
            DocStatus::Rejected { reason } => {
                s.set_sync_error(r.doc_id, Some(&reason))?;
                out.rejected.push((r.doc_id, reason));
            }
            DocStatus::ActorClash { .. } => {
                out.actor_clash.push((r.doc_id, change_hashes(&r.heads)))
            }
            // The replacement came above; the rebased edits go next round.
            DocStatus::Replaced => {}
        }
    }
    // The acknowledgements and the cursor: one transaction.
    s.acknowledge(&acks, out.repair.is_empty().then_some(resp.cursor))?;
    Ok(out)
}

/// The body of one `POST /api/v1/sync`: these pending documents and the
/// feed cursor, gzip-framed (what [`sync`] sends; `simulate --replay`
/// prepares bodies with it).
pub fn push_body(cursor: u64, pending: &[device_store::PendingDoc]) -> Result<Vec<u8>, SyncError> {
    let docs: Vec<DocPush> = pending
        .iter()
        .map(|p| DocPush {
            doc_id: p.id,
            base_heads: hashes(&p.base_heads),
            heads: hashes(&p.heads),
            data: p.data.clone(),
        })
        .collect();
    survey_protocol::encode(&SyncRequest { cursor, docs }, Compression::Gzip)
        .map_err(|e| SyncError::Protocol(e.to_string()))
}

/// The newest version of each form id in `forms` (sorted by id, version).
fn newest_of_each(forms: Vec<(String, u32)>) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = Vec::new();
    for (id, v) in forms {
        match out.last_mut() {
            Some((last, lv)) if *last == id => *lv = (*lv).max(v),
            _ => out.push((id, v)),
        }
    }
    out
}

/// A sync response: body, latency, and the forms, places and assignment headers.
type Response = (
    Vec<u8>,
    Duration,
    Option<String>,
    Option<String>,
    Option<String>,
);

async fn post_with_retry(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    held_forms: &str,
    body: Vec<u8>,
    opts: &SyncOptions,
    report: &mut SyncReport,
) -> Result<Response, SyncError> {
    let mut delay = opts.backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let t = Instant::now();
        let result = http
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(survey_protocol::FORMS_HEADER, held_forms)
            .header(
                survey_protocol::DEVICE_TIME_HEADER,
                survey_model::now().1.to_string(),
            )
            .body(body.clone())
            .send()
            .await;
        let retryable = match result {
            Ok(resp) if resp.status().is_success() => {
                let header = |name: &str| {
                    resp.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let forms = header(survey_protocol::FORMS_HEADER);
                let places = header(survey_protocol::PLACES_HEADER);
                let assignment = header(survey_protocol::ASSIGNMENT_HEADER);
                match resp.bytes().await {
                    Ok(b) => return Ok((b.to_vec(), t.elapsed(), forms, places, assignment)),
                    Err(e) => SyncError::Network(e),
                }
            }
            Ok(resp)
                if resp.status().is_server_error()
                    || resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS =>
            {
                refused(resp).await
            }
            Ok(resp) => return Err(refused(resp).await),
            Err(e) => SyncError::Network(e),
        };
        if attempt >= opts.attempts {
            return Err(retryable);
        }
        tracing::debug!(attempt, error = %retryable, "sync request failed; retrying");
        report.retries += 1;
        // Jitter spreads retries of many devices after an outage.
        let jitter = Duration::from_millis(u64::from(Uuid::new_v4().as_bytes()[0]) % 100);
        tokio::time::sleep(delay + jitter).await;
        delay = delay.saturating_mul(2).min(Duration::from_secs(30));
    }
}
