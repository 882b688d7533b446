//! Webhook costs on a SQLite store (or PostgreSQL with
//! `FIELDVOICE_BENCH_PG_URL` set to an empty database):
//! - what an event adds to the write that carries it: `emit` of one event
//!   per transaction, with no hook (the event is not kept) and with one
//!   subscribed hook (outbox row + delivery row);
//! - the worker's throughput draining a backlog (a receiver that was down
//!   all field day) into a local receiver that answers 200 at once.
//!
//! `cargo bench -p sync-server --bench webhooks [-- EVENTS]` (default 5,000)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use central_store::webhooks::{Event, Webhook};
use central_store::{CentralStore, SqliteStore};
use sync_server::webhooks::WebhookSettings;
use sync_server::{AppState, Settings};

fn event(i: usize) -> Event {
    Event::new(
        "case.opened",
        "mcmb-2026",
        "CI",
        &format!("case-{i}"),
        0,
        &serde_json::json!({"interview_id": uuid::Uuid::new_v4().to_string(), "status": "open"}),
    )
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, backend): (Arc<dyn CentralStore>, &str) =
        match std::env::var("FIELDVOICE_BENCH_PG_URL") {
            Ok(url) if !url.is_empty() => (
                Arc::new(central_store::PgStore::connect(&url).unwrap()),
                "postgres",
            ),
            _ => (
                Arc::new(SqliteStore::open(&dir.path().join("bench.sqlite3")).unwrap()),
                "sqlite",
            ),
        };
    println!("webhooks bench on {backend}, {n} events");

    // 1. What an event costs its write.
    let t = Instant::now();
    for i in 0..n {
        store.emit(&[event(i)]).unwrap();
    }
    let without = t.elapsed();
    let received = Arc::new(AtomicUsize::new(0));
    let port = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let count = count.clone();
                async move {
                    count.fetch_add(1, Ordering::Relaxed);
                    "ok"
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    });
    store
        .create_webhook(
            &Webhook {
                id: uuid::Uuid::new_v4().to_string(),
                url: format!("http://127.0.0.1:{port}/hook"),
                events: vec!["case.opened".into()],
                allow_pii: false,
                active: true,
                description: "bench".into(),
                created_by: "bench".into(),
                created_at: 0,
            },
            "whsec_bench",
        )
        .unwrap();
    let t = Instant::now();
    for i in 0..n {
        store.emit(&[event(i)]).unwrap();
    }
    let with = t.elapsed();
    // Inside a larger write (as in a push), the event rows cost no commit of
    // their own: batches of 100 show the rows' marginal cost.
    let t = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let events: Vec<Event> = chunk.iter().map(|i| event(*i)).collect();
        store.emit(&events).unwrap();
    }
    let batched = t.elapsed();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "emit, one event per transaction: {:.0} µs without a subscribed hook, {:.0} µs with one (mostly the commit)",
        per(without),
        per(with)
    );
    println!(
        "emit, 100 events per transaction, one hook: {:.0} µs per event (the rows alone)",
        per(batched)
    );
    // The backlog: every event emitted while the hook existed.
    let n = 2 * n;

    // 2. Draining the backlog.
    let settings = Settings {
        webhooks: WebhookSettings {
            poll: Duration::from_millis(20),
            ..WebhookSettings::default()
        },
        ..Settings::default()
    };
    let state = AppState::new(store.clone(), settings).unwrap();
    let t = Instant::now();
    rt.block_on(async {
        let worker = sync_server::webhooks::spawn(state);
        while received.load(Ordering::Relaxed) < n {
            assert!(
                t.elapsed() < Duration::from_secs(600),
                "backlog not drained"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.abort();
    });
    let drained = t.elapsed();
    println!(
        "worker: {n} deliveries in {:.2} s = {:.0} deliveries/s (signed, logged, batch of {})",
        drained.as_secs_f64(),
        n as f64 / drained.as_secs_f64(),
        WebhookSettings::default().batch
    );
}
