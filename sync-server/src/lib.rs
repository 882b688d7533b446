//! sync-server owns the HTTP edge of fieldvoice: the axum router (sync,
//! enrollment, identity administration, interview review API, the coordinator
//! dashboard, analyst exports and reports, OpenAPI, health and metrics),
//! authentication and the one authorisation policy, request limits, and the glue
//! that runs central-store work on blocking threads under a semaphore. The
//! `fieldvoice-server` binary (crates/fieldvoice-server) is the command line
//! over this library; device-side crates (device-store, sync-client) and CLI
//! crates (clap, indicatif, toml, reqwest) are not dependencies of this one.
//!
//! The library must not read the environment or configuration files: the binary
//! builds [`Settings`] and hands them in. Handlers must not log secrets or
//! interview answers.

pub mod audit;
pub mod auth;
pub mod csvfile;
pub mod dashboard;
pub mod demo;
pub mod error;
pub mod extract;
pub mod identity;
pub mod metrics;
pub mod openapi;
pub mod places;
pub mod retention;
pub mod routes;
pub mod scope;
pub mod service;
pub mod webhooks;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use central_store::CentralStore;
use central_store::merge::FormRegistry;
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio::sync::Semaphore;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// Runtime settings, built by the binary from its config file and environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Campaign new interviews belong to, e.g. `mcmb-2026`.
    pub campaign: String,
    /// URL devices use to reach this server (put in enrollment QR codes).
    pub public_url: String,
    /// Largest request body accepted, compressed.
    pub max_body_bytes: usize,
    /// Largest sync body after decompression.
    pub max_decoded_bytes: usize,
    /// Most documents in one sync request.
    pub max_docs_per_request: usize,
    /// Concurrent merges (blocking threads doing Automerge + store work).
    pub merge_concurrency: usize,
    /// Feed page size, in changes and bytes.
    pub feed_max_changes: usize,
    pub feed_max_bytes: usize,
    /// How long an enrollment code stays valid.
    pub enrollment_ttl: Duration,
    /// Enrollment attempts per client address per minute.
    pub enroll_per_minute: u32,
    /// Dashboard login attempts per client address and login per minute.
    pub login_per_minute: u32,
    /// Dashboard login attempts per client address per minute, whatever the
    /// login (against password spraying: one password tried on many logins).
    pub login_per_address_per_minute: u32,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Key of the keyed pseudonyms in exports (`pii=pseudonymize`); none = refused.
    pub pseudonym_key: Option<export::PseudonymKey>,
    /// Mark dashboard session cookies `Secure` (set behind HTTPS).
    pub secure_cookies: bool,
    /// How long a dashboard login lasts.
    pub session_ttl: Duration,
    /// How old this process's copy of the published forms may get before a
    /// sync reloads it from the store (forms published through another
    /// replica reach this one's devices within this delay).
    pub forms_refresh: Duration,
    /// Thresholds of the interview quality checks.
    pub check_rules: survey_model::CheckRules,
    /// Which submitted interviews open a follow-up case by themselves.
    pub case_rules: survey_model::cases::CaseRules,
    /// The field day's working hours (UTC, start inclusive, end exclusive):
    /// the command centre expects a linear share of each target by then.
    pub day_start_hour: u8,
    pub day_end_hour: u8,
    /// How webhook deliveries are retried.
    pub webhooks: webhooks::WebhookSettings,
    /// How long a closed case's contact details stay on the interview.
    pub contact_retention: Duration,
    /// How often the retention sweep runs.
    pub retention_every: Duration,
    /// Per campaign: how long after it ends its personal data is kept.
    pub campaign_retention: Vec<CampaignRetention>,
}

/// The retention of one campaign's personal data: `pii_days` days after the
/// campaign's last day ended (`ended_at`, Unix seconds), the form's PII
/// answers of its interviews (names, phone numbers, the contact given for a
/// follow-up, so the cases' contact details too) are erased by rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRetention {
    pub campaign: String,
    pub ended_at: i64,
    pub pii_days: u64,
}

impl CampaignRetention {
    /// When the campaign's personal data is due for erasure (Unix seconds).
    pub fn due_at(&self) -> i64 {
        let days = i64::try_from(self.pii_days).unwrap_or(i64::MAX / 86_400);
        self.ended_at.saturating_add(days.saturating_mul(86_400))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            campaign: "mcmb-2026".into(),
            public_url: "http://127.0.0.1:8080".into(),
            max_body_bytes: 8 * 1024 * 1024,
            max_decoded_bytes: 32 * 1024 * 1024,
            max_docs_per_request: 500,
            merge_concurrency: 2,
            feed_max_changes: 2000,
            feed_max_bytes: 4 * 1024 * 1024,
            enrollment_ttl: Duration::from_secs(14 * 24 * 3600),
            enroll_per_minute: 20,
            login_per_minute: 10,
            login_per_address_per_minute: 30,
            request_timeout: Duration::from_secs(60),
            pseudonym_key: None,
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            forms_refresh: Duration::from_secs(30),
            check_rules: survey_model::CheckRules::default(),
            webhooks: webhooks::WebhookSettings::default(),
            contact_retention: Duration::from_secs(30 * 24 * 3600),
            retention_every: Duration::from_secs(3600),
            campaign_retention: Vec::new(),
            case_rules: survey_model::cases::CaseRules::default(),
            day_start_hour: 8,
            day_end_hour: 17,
        }
    }
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn CentralStore>,
    /// Shared, never cloned per request: a reload swaps the `Arc`.
    pub forms: Arc<RwLock<Arc<FormRegistry>>>,
    pub settings: Arc<Settings>,
    pub merge_permits: Arc<Semaphore>,
    pub metrics: Arc<metrics::Metrics>,
    pub enroll_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pub login_limiter: Arc<DefaultKeyedRateLimiter<String>>,
    pub login_address_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// One Automerge actor per (server process, user) for server-side edits.
    server_actors: Arc<Mutex<HashMap<String, automerge::ActorId>>>,
    /// When `forms` was last loaded from the store.
    forms_loaded_at: Arc<Mutex<std::time::Instant>>,
    /// Each country's places revision and when it was read, kept as long as
    /// the forms (`Settings::forms_refresh`): every sync names it.
    places_revisions: Arc<Mutex<HashMap<String, (String, std::time::Instant)>>>,
    /// The theme model trained on the campaign's coded verbatims.
    pub theme_cache: Arc<service::themes::CodingCache>,
    /// Export jobs running or finished on this replica.
    pub export_jobs: Arc<service::export_jobs::ExportJobs>,
    /// Set when the process is shutting down: `/readyz` answers 503.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl AppState {
    /// Build the state; loads the forms stored in `store`.
    pub fn new(store: Arc<dyn CentralStore>, settings: Settings) -> Result<AppState, ApiError> {
        let mut forms = FormRegistry::load(store.as_ref())?;
        forms.set_check_rules(settings.check_rules.clone());
        forms.set_case_rules(settings.case_rules.clone());
        Ok(AppState {
            store,
            forms: Arc::new(RwLock::new(Arc::new(forms))),
            merge_permits: Arc::new(Semaphore::new(settings.merge_concurrency.max(1))),
            metrics: Arc::new(metrics::Metrics::default()),
            enroll_limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota(
                settings.enroll_per_minute,
            ))),
            login_limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota(
                settings.login_per_minute,
            ))),
            login_address_limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota(
                settings.login_per_address_per_minute,
            ))),
            settings: Arc::new(settings),
            server_actors: Arc::new(Mutex::new(HashMap::new())),
            forms_loaded_at: Arc::new(Mutex::new(std::time::Instant::now())),
            places_revisions: Arc::default(),
            theme_cache: Arc::new(service::themes::CodingCache::default()),
            export_jobs: Arc::new(service::export_jobs::ExportJobs::default()),
            draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }

    /// The actor this server process uses for `user_id`'s edits.
    pub fn actor_for(&self, user_id: &str) -> automerge::ActorId {
        let mut m = self
            .server_actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.entry(user_id.to_owned())
            .or_insert_with(|| survey_model::actor_from_uuid(uuid::Uuid::new_v4()))
            .clone()
    }

    /// Store a form (validated) and make it available immediately.
    pub fn install_form(&self, json: &str) -> Result<survey_model::Form, ApiError> {
        let form =
            survey_model::Form::from_json(json).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        self.store.put_form(form.id(), form.version(), json)?;
        let mut guard = self
            .forms
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Copy-on-write: requests holding the old registry keep it.
        Arc::make_mut(&mut guard).insert(form.clone());
        Ok(form)
    }

    /// Reload the published forms from the store (another replica may have
    /// published one). Blocking. On error the current copy stays.
    pub fn reload_forms(&self) {
        match FormRegistry::load(self.store.as_ref()) {
            Ok(mut forms) => {
                forms.set_check_rules(self.settings.check_rules.clone());
                forms.set_case_rules(self.settings.case_rules.clone());
                *self
                    .forms
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(forms);
                *self
                    .forms_loaded_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = std::time::Instant::now();
            }
            Err(e) => tracing::warn!(error = %e, "reloading forms failed"),
        }
    }

    /// The places revision of `country` (blocking: call on a blocking
    /// thread), read from the store at most once per `forms_refresh` per
    /// country; an import through this process forgets them
    /// ([`Self::forget_places_revisions`]), so its devices see it at their
    /// next sync and other replicas' within `forms_refresh`, like a form.
    pub fn places_revision(&self, country: &str) -> Result<String, ApiError> {
        if let Some((rev, at)) = self.cached_places_revisions().get(country)
            && at.elapsed() < self.settings.forms_refresh
        {
            return Ok(rev.clone());
        }
        let rev = self.store.places_revision(country)?;
        self.cached_places_revisions()
            .insert(country.to_owned(), (rev.clone(), std::time::Instant::now()));
        Ok(rev)
    }

    /// Forget the cached places revisions (after an import).
    pub fn forget_places_revisions(&self) {
        self.cached_places_revisions().clear();
    }

    fn cached_places_revisions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (String, std::time::Instant)>> {
        self.places_revisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The form registry, reloaded from the store first when this process's
    /// copy is older than `Settings::forms_refresh`.
    /// When many requests find it stale at once, the first claims the reload
    /// and the others go on with the current copy.
    pub async fn fresh_forms(&self) -> Arc<FormRegistry> {
        let claimed = {
            let mut at = self
                .forms_loaded_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let stale = at.elapsed() >= self.settings.forms_refresh;
            if stale {
                *at = std::time::Instant::now();
            }
            stale
        };
        if claimed {
            let st = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || st.reload_forms()).await {
                tracing::warn!(error = %e, "reloading forms failed");
            }
        }
        self.forms()
    }

    /// A snapshot of the form registry.
    pub fn forms(&self) -> Arc<FormRegistry> {
        self.forms
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Run blocking store work under the merge semaphore.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let waiting = metrics::InFlight::enter(&self.metrics.merge_waiting);
        let permit = self.merge_permits.clone().acquire_owned().await;
        drop(waiting);
        let permit = permit.map_err(|_| ApiError::Unavailable)?;
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&state)
        })
        .await?
    }
}

/// Which responses the compression layer gzips: the default rules (not
/// tiny, not images or event streams) minus content that is compressed
/// already: sync bodies (gzip inside), Parquet and XLSX exports.
fn compressible() -> impl Predicate {
    DefaultPredicate::new()
        .and(NotForContentType::const_new(survey_protocol::CONTENT_TYPE))
        .and(NotForContentType::const_new(
            "application/vnd.apache.parquet",
        ))
        .and(NotForContentType::const_new(
            "application/vnd.openxmlformats-officedocument",
        ))
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    let timeout = state.settings.request_timeout;
    routes::api()
        .merge(dashboard::routes())
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        // Outside the timeout: 408s are counted, and `in_flight` has a drop
        // guard for requests whose client goes away.
        .layer(axum::middleware::from_fn_with_state(state, metrics::track))
        .layer(axum::middleware::from_fn(error::json_errors))
        // Gzip for clients that ask (JSON, forms, place lists, dashboard
        // pages, CSV): poor networks. Not for bodies compressed already.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .compress_when(compressible()),
        )
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                // Path only: query strings may carry filters with names.
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            },
        ))
}
