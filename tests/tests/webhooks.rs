//! Webhooks against a real receiver on loopback (axum), which checks every
//! signature itself (HMAC-SHA256 with the secret it was given) and counts
//! what it acknowledged per idempotency key.
//!
//! - In process, on SQLite and PostgreSQL: events of an interview's whole
//!   life (submitted, reviewed, its case opened, moved and closed) are
//!   queued while the receiver is down (connection refused), then while it
//!   answers 503; once it is healthy, every event arrives, each acknowledged
//!   exactly once per hook, signed; personal data only to the hook allowed
//!   to receive it; a paused hook holds its deliveries; a given-up delivery
//!   is queued again by the admin.
//! - The real binary SIGKILLed while deliveries are failing: after the
//!   restart every event is delivered, each exactly once.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use central_store::webhooks::EVENT_KINDS;
use central_store::{Role, unix_now};
use fieldvoice_tests::pg::free_port;
use fieldvoice_tests::server::{Device, ServerProcess, TestServer, admin, api};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sync_server::Settings;
use sync_server::webhooks::WebhookSettings;

const PHONE: &str = "+225 07 11 22 33 44";
const NAME: &str = "Awa Koné";

/// What the receiver saw of one request.
#[derive(Debug, Clone)]
struct Hit {
    hook: String,
    key: String,
    kind: String,
    raw: String,
    signed: bool,
    answered: u16,
}

#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Answer 503 to this many more (signed) requests.
    fail_next: Arc<AtomicU32>,
    /// Secret per hook path.
    secrets: Arc<Mutex<HashMap<String, String>>>,
}

/// The receiver's own check: `t=<secs>,v1=<hex HMAC-SHA256("<t>.<body>")>`,
/// `t` within five minutes.
fn verify(secret: &str, header: &str, raw: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        if let Some(x) = part.strip_prefix("t=") {
            t = Some(x);
        } else if let Some(x) = part.strip_prefix("v1=") {
            v1 = Some(x);
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if t.parse::<i64>()
        .map_or(true, |t| (unix_now() - t).abs() > 300)
    {
        return false;
    }
    let Ok(sig) = hex::decode(v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(raw.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

async fn receive(
    State(rx): State<Receiver>,
    Path(hook): Path<String>,
    headers: HeaderMap,
    raw: String,
) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let secret = rx.secrets.lock().unwrap().get(&hook).cloned();
    let signed = secret.is_some_and(|s| verify(&s, &header("x-fieldvoice-signature"), &raw));
    let answered = if !signed {
        401
    } else if rx
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        503
    } else {
        200
    };
    rx.hits.lock().unwrap().push(Hit {
        hook,
        key: header("idempotency-key"),
        kind: header("x-fieldvoice-event"),
        raw,
        signed,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

impl Receiver {
    /// Listen on `port` from now on.
    async fn up(&self, port: u16) -> tokio::task::JoinHandle<()> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let app = Router::new()
            .route("/hooks/{hook}", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        })
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Acknowledged (2xx) requests per idempotency key of `hook`.
    fn acked(&self, hook: &str) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for h in self.hits() {
            if h.hook == hook && h.answered == 200 {
                *m.entry(h.key).or_insert(0) += 1;
            }
        }
        m
    }
}

/// Poll `f` until it is true (at most `secs`).
async fn wait_until(what: &str, secs: u64, mut f: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The delivery log of `hook` over the API.
async fn log(url: &str, admin: &str, hook: &str) -> Vec<Value> {
    let (st, v) = api(
        url,
        admin,
        "GET",
        &format!("/api/v1/webhooks/{hook}/deliveries?limit=500"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    v.as_array().unwrap().clone()
}

fn fast() -> WebhookSettings {
    WebhookSettings {
        first_retry: Duration::from_millis(150),
        max_retry: Duration::from_millis(600),
        give_up_after: Duration::from_secs(3600),
        timeout: Duration::from_secs(2),
        poll: Duration::from_millis(50),
        batch: 16,
    }
}

/// A submitted interview whose customer asked to be called back, from a
/// new phone of employee `login`; returns its id.
async fn follow_up_interview(phone: &Device) -> uuid::Uuid {
    let id = phone.submit(&survey_model::sample::with(
        fieldvoice_tests::complete_answers(3),
        &[
            ("customer_name", json!(NAME)),
            ("follow_up_requested", json!("yes")),
            ("follow_up_contact", json!(PHONE)),
        ],
    ));
    phone.sync().await.unwrap();
    id
}

async fn register(url: &str, admin: &str, rx: &Receiver, name: &str, body: Value) -> String {
    let (st, h) = api(url, admin, "POST", "/api/v1/webhooks", Some(body)).await;
    assert_eq!(st, 201, "{h}");
    let secret = h["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    rx.secrets
        .lock()
        .unwrap()
        .insert(name.to_owned(), secret.to_owned());
    h["id"].as_str().unwrap().to_owned()
}

async fn in_process(pg: bool) {
    let settings = Settings {
        webhooks: fast(),
        ..Settings::default()
    };
    let (srv, _db) = TestServer::on_backend_with(pg, settings).await;
    let url = srv.url.clone();
    let admin_token = srv.admin_token.clone();
    let (_, coord) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (_, agent) = srv.token_for("agent.ci", Role::Agent, "CI");
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/hooks");
    let rx = Receiver::default();

    // Only admins register hooks; bad requests are named.
    let (st, _) = api(
        &url,
        &coord,
        "POST",
        "/api/v1/webhooks",
        Some(json!({"url": format!("{base}/x"), "events": ["case.opened"]})),
    )
    .await;
    assert_eq!(st, 403);
    for (body, says) in [
        (
            json!({"url": "ftp://example.org/x", "events": ["case.opened"]}),
            "http",
        ),
        (
            json!({"url": format!("{base}/x"), "events": ["case.deleted"]}),
            "unknown event",
        ),
        (
            json!({"url": format!("{base}/x"), "events": []}),
            "at least one",
        ),
    ] {
        let (st, e) = api(&url, &admin_token, "POST", "/api/v1/webhooks", Some(body)).await;
        assert_eq!(st, 400, "{e}");
        assert!(e["error"].as_str().unwrap().contains(says), "{e}");
    }
    let all = register(
        &url,
        &admin_token,
        &rx,
        "all",
        json!({"url": format!("{base}/all"), "events": EVENT_KINDS, "description": "BI"}),
    )
    .await;
    let pii = register(
        &url,
        &admin_token,
        &rx,
        "pii",
        json!({"url": format!("{base}/pii"), "events": ["case.opened"], "allow_pii": true}),
    )
    .await;
    let (_, listed) = api(&url, &admin_token, "GET", "/api/v1/webhooks", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains("whsec_"),
        "no secret in the list"
    );
    let audit = srv.state.store.audit_log(100).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "webhook.create" && e.detail.contains("allow_pii=true")),
        "a PII hook is audited as such"
    );

    // An interview's life while the receiver is down.
    let phone = srv.device("awa", &code).await;
    let iv = follow_up_interview(&phone).await;
    let (st, _) = api(
        &url,
        &coord,
        "POST",
        &format!("/api/v1/interviews/{iv}/review"),
        Some(json!({"state": "approved"})),
    )
    .await;
    assert_eq!(st, 200);
    let (_, cases) = api(&url, &coord, "GET", "/api/v1/cases", None).await;
    let case = cases[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{case}");
    for (token, body) in [
        (&agent, json!({"version": 1, "owner": "me"})),
        (&agent, json!({"version": 2, "status": "contacted"})),
        (
            &agent,
            json!({"version": 3, "status": "resolved", "resolution": "fixed", "satisfaction": 5}),
        ),
        (&coord, json!({"version": 4, "status": "closed"})),
    ] {
        let (st, v) = api(&url, token, "POST", &path, Some(body)).await;
        assert_eq!(st, 200, "{v}");
    }
    let expected_all = [
        "case.closed",
        "case.opened",
        "case.updated",
        "case.updated",
        "case.updated",
        "interview.reviewed",
        "interview.submitted",
    ];
    // Every delivery is tried at least twice against the closed port.
    wait_until("two failed attempts of each delivery", 60, async || {
        let (a, p) = (
            log(&url, &admin_token, &all).await,
            log(&url, &admin_token, &pii).await,
        );
        a.len() == expected_all.len()
            && p.len() == 1
            && a.iter()
                .chain(&p)
                .all(|d| d["attempts"].as_i64().unwrap() >= 2 && d["state"] == "pending")
    })
    .await;
    let first = &log(&url, &admin_token, &all).await[0];
    assert!(first["last_error"].as_str().is_some(), "{first}");
    assert!(first["last_status"].is_null(), "refused: no HTTP status");

    // Up, answering 503 three times first.
    rx.fail_next.store(3, Ordering::SeqCst);
    let _server = rx.up(port).await;
    wait_until("every delivery", 60, async || {
        let (a, p) = (
            log(&url, &admin_token, &all).await,
            log(&url, &admin_token, &pii).await,
        );
        a.iter().chain(&p).all(|d| d["state"] == "delivered")
    })
    .await;
    // Each event exactly once per hook, all signed, each kind as it happened.
    let hits = rx.hits();
    assert!(hits.iter().all(|h| h.signed), "every request is signed");
    assert_eq!(hits.iter().filter(|h| h.answered == 503).count(), 3);
    for (hook, name, n) in [(&all, "all", 7), (&pii, "pii", 1)] {
        let acked = rx.acked(name);
        let logged: BTreeMap<String, usize> = log(&url, &admin_token, hook)
            .await
            .iter()
            .map(|d| (d["event_id"].as_str().unwrap().to_owned(), 1))
            .collect();
        assert_eq!(acked, logged, "{name}: each event acknowledged once");
        assert_eq!(acked.len(), n);
    }
    let mut kinds: Vec<String> = hits
        .iter()
        .filter(|h| h.hook == "all" && h.answered == 200)
        .map(|h| h.kind.clone())
        .collect();
    kinds.sort();
    assert_eq!(kinds, expected_all);
    for h in hits.iter().filter(|h| h.answered == 200) {
        let b: Value = serde_json::from_str(&h.raw).unwrap();
        assert_eq!(
            b["id"],
            h.key.as_str(),
            "the body names its idempotency key"
        );
        assert_eq!(b["type"], h.kind.as_str());
        assert_eq!(b["country"], "CI");
        let about = if h.kind.starts_with("case.") {
            &b["data"]["interview_id"]
        } else {
            &b["subject"]
        };
        assert_eq!(about, &json!(iv.to_string()), "{}", h.raw);
        if h.hook == "all" {
            assert!(
                !h.raw.contains("11 22 33 44") && !h.raw.contains(NAME),
                "no personal data to a hook without the right: {}",
                h.raw
            );
            assert!(b.get("pii").is_none());
        } else {
            assert_eq!(b["pii"]["follow_up_contact"], PHONE);
            assert_eq!(b["pii"]["customer_name"], NAME);
        }
        if h.kind == "case.closed" {
            assert_eq!(b["data"]["status"], "closed");
            assert_eq!(b["data"]["satisfaction"], 5);
        }
    }
    // The log shows the failures before the success.
    for d in log(&url, &admin_token, &all).await {
        let attempts = d["attempt_log"].as_array().unwrap();
        assert_eq!(attempts.len() as i64, d["attempts"].as_i64().unwrap());
        assert_eq!(attempts.last().unwrap()["status"], 200);
        assert!(attempts.len() >= 3, "{d}");
        assert!(attempts[0]["error"].is_string());
    }

    // A paused hook holds its deliveries; a given-up one is queued again.
    let (st, h) = api(
        &url,
        &admin_token,
        "POST",
        &format!("/api/v1/webhooks/{all}"),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!((st, &h["active"]), (200, &json!(false)));
    let (st, _) = api(
        &url,
        &coord,
        "POST",
        &format!("/api/v1/interviews/{iv}/review"),
        Some(json!({"state": "has_issues"})),
    )
    .await;
    assert_eq!(st, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = log(&url, &admin_token, &all).await;
    assert_eq!(held.len(), 8);
    let new = &held[0];
    assert_eq!(
        (new["kind"].as_str(), new["attempts"].as_i64()),
        (Some("interview.reviewed"), Some(0))
    );
    let id = new["id"].as_i64().unwrap();
    // The worker gives up on a delivery this old (simulated: an admin sees it failed).
    srv.state
        .store
        .finish_delivery(
            &central_store::webhooks::Attempt {
                delivery_id: id,
                at_ms: central_store::unix_now_ms(),
                status: None,
                error: Some("given up".into()),
                duration_ms: 0,
            },
            central_store::webhooks::Next::Failed,
        )
        .unwrap();
    let retry = format!("/api/v1/webhooks/{all}/deliveries/{id}/retry");
    let (st, _) = api(&url, &coord, "POST", &retry, None).await;
    assert_eq!(st, 403);
    let (st, _) = api(&url, &admin_token, "POST", &retry, None).await;
    assert_eq!(st, 204);
    let (st, _) = api(&url, &admin_token, "POST", &retry, None).await;
    assert_eq!(st, 404, "only a failed delivery is queued again");
    api(
        &url,
        &admin_token,
        "POST",
        &format!("/api/v1/webhooks/{all}"),
        Some(json!({"active": true})),
    )
    .await;
    wait_until("the held delivery", 30, async || {
        log(&url, &admin_token, &all).await[0]["state"] == "delivered"
    })
    .await;
    assert_eq!(rx.acked("all").len(), 8);
    assert!(rx.acked("all").values().all(|n| *n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_reach_a_receiver_that_was_down_once_each_on_sqlite() {
    in_process(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_reach_a_receiver_that_was_down_once_each_on_postgres() {
    in_process(true).await;
}

fn created(out: &str, prefix: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {out}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_a_sigkill_and_arrive_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let admin_token = created(&admin(&db, &["bootstrap"]), "token ");
    let coord = created(
        &admin(
            &db,
            &[
                "create-user",
                "--login",
                "coord",
                "--name",
                "C",
                "--role",
                "coordinator",
                "--country",
                "CI",
            ],
        ),
        "token ",
    );
    let codes: Vec<String> = (0..3)
        .map(|i| {
            created(
                &admin(
                    &db,
                    &[
                        "create-user",
                        "--login",
                        &format!("emp{i}"),
                        "--name",
                        "E",
                        "--country",
                        "CI",
                    ],
                ),
                "enrollment code ",
            )
        })
        .collect();
    let env = [
        ("FIELDVOICE_WEBHOOK_FIRST_RETRY_MS", "150"),
        ("FIELDVOICE_WEBHOOK_MAX_RETRY_MS", "600"),
        ("FIELDVOICE_WEBHOOK_TIMEOUT_MS", "2000"),
        ("FIELDVOICE_WEBHOOK_POLL_MS", "50"),
    ];
    let server =
        ServerProcess::start_with_env(&db, &dir.path().join("s1.log"), "127.0.0.1:0", &env);
    let url = server.url.clone();
    let port = free_port();
    let rx = Receiver::default();
    let hook = register(
        &url,
        &admin_token,
        &rx,
        "all",
        json!({"url": format!("http://127.0.0.1:{port}/hooks/all"), "events": EVENT_KINDS}),
    )
    .await;

    // Three phones, each an interview with a call-back request; each reviewed.
    let mut ivs = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let phone = Device::enroll(&dir.path().join(format!("p{i}.sqlite3")), &url, code).await;
        ivs.push(follow_up_interview(&phone).await);
    }
    for iv in &ivs {
        let (st, _) = api(
            &url,
            &coord,
            "POST",
            &format!("/api/v1/interviews/{iv}/review"),
            Some(json!({"state": "approved"})),
        )
        .await;
        assert_eq!(st, 200);
    }
    // 3 × (submitted, case opened, reviewed), all failing.
    wait_until("nine failing deliveries", 60, async || {
        let l = log(&url, &admin_token, &hook).await;
        l.len() == 9 && l.iter().all(|d| d["attempts"].as_i64().unwrap() >= 2)
    })
    .await;
    server.kill();

    // Restarted; the receiver comes up, failing twice first.
    let server =
        ServerProcess::start_with_env(&db, &dir.path().join("s2.log"), "127.0.0.1:0", &env);
    rx.fail_next.store(2, Ordering::SeqCst);
    let _up = rx.up(port).await;
    let url = server.url.clone();
    wait_until("every delivery after the restart", 60, async || {
        log(&url, &admin_token, &hook)
            .await
            .iter()
            .all(|d| d["state"] == "delivered")
    })
    .await;
    let acked = rx.acked("all");
    assert_eq!(acked.len(), 9);
    assert!(acked.values().all(|n| *n == 1), "{acked:?}");
    let logged: Vec<String> = log(&url, &admin_token, &hook)
        .await
        .iter()
        .map(|d| d["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(logged.iter().all(|k| acked.contains_key(k)));
    assert!(rx.hits().iter().all(|h| h.signed));
    let mut kinds: Vec<String> = rx
        .hits()
        .iter()
        .filter(|h| h.answered == 200)
        .map(|h| h.kind.clone())
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        ["case.opened", "interview.reviewed", "interview.submitted"]
    );
}
