//! Prometheus metrics (prometheus-client) and the middleware that counts requests.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DocLabels {
    pub status: String,
}

/// All server metrics.
#[derive(Debug)]
pub struct Metrics {
    pub registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_latency: Family<HttpLabels, Histogram>,
    pub sync_docs: Family<DocLabels, Counter>,
    /// Pushed documents that carried changes (a non-empty Automerge bundle).
    pub sync_bundles_in: Counter,
    /// New Automerge changes stored from pushes (retries add nothing).
    pub sync_changes_in: Counter,
    pub sync_feed_changes: Counter,
    pub sync_bytes_in: Counter,
    pub sync_bytes_out: Counter,
    pub in_flight: Gauge,
    /// Store work (merges, edits, reads) waiting for a permit: the merge queue.
    pub merge_waiting: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("fieldvoice");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_latency = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let sync_docs = Family::<DocLabels, Counter>::default();
        let sync_bundles_in = Counter::default();
        let sync_changes_in = Counter::default();
        let sync_feed_changes = Counter::default();
        let sync_bytes_in = Counter::default();
        let sync_bytes_out = Counter::default();
        let in_flight = Gauge::default();
        let merge_waiting = Gauge::default();
        registry.register(
            "merge_waiting",
            "Store work waiting for a merge permit (the merge queue)",
            merge_waiting.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        registry.register("http_request_seconds", "HTTP latency", http_latency.clone());
        registry.register(
            "sync_documents",
            "Pushed documents by outcome",
            sync_docs.clone(),
        );
        registry.register(
            "sync_bundles_received",
            "Pushed documents that carried changes (non-empty Automerge bundles)",
            sync_bundles_in.clone(),
        );
        registry.register(
            "sync_changes_received",
            "New Automerge changes stored from pushes (a retried push adds none)",
            sync_changes_in.clone(),
        );
        registry.register(
            "sync_feed_changes",
            "Changes sent in feeds",
            sync_feed_changes.clone(),
        );
        registry.register(
            "sync_bytes_received",
            "Sync body bytes received",
            sync_bytes_in.clone(),
        );
        registry.register(
            "sync_bytes_sent",
            "Sync body bytes sent",
            sync_bytes_out.clone(),
        );
        registry.register("http_in_flight", "Requests being served", in_flight.clone());
        Metrics {
            registry,
            http_requests,
            http_latency,
            sync_docs,
            sync_bundles_in,
            sync_changes_in,
            sync_feed_changes,
            sync_bytes_in,
            sync_bytes_out,
            in_flight,
            merge_waiting,
        }
    }
}

impl Metrics {
    /// Text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Holds one unit of a gauge (`in_flight`, `merge_waiting`); gives it back
/// when dropped, also when the request future is dropped unfinished (client gone).
pub(crate) struct InFlight(Gauge);

impl InFlight {
    pub(crate) fn enter(g: &Gauge) -> InFlight {
        g.inc();
        InFlight(g.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Count every request by matched route (never the raw path: ids stay out).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let start = std::time::Instant::now();
    let in_flight = InFlight::enter(&state.metrics.in_flight);
    let resp = next.run(req).await;
    drop(in_flight);
    let labels = HttpLabels {
        route,
        status: resp.status().as_u16(),
    };
    state.metrics.http_requests.get_or_create(&labels).inc();
    state
        .metrics
        .http_latency
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    resp
}
