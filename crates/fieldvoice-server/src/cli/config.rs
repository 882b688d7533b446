//! Configuration: defaults < TOML file < FIELDVOICE_* environment < flags.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use central_store::CentralStore;
use serde::Deserialize;
use sync_server::Settings;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: String,
    pub public_url: String,
    pub campaign: String,
    pub max_body_bytes: usize,
    pub max_docs_per_request: usize,
    /// Concurrent merges; 0 (the default): [`merge_concurrency_for`] the
    /// configured database.
    pub merge_concurrency: usize,
    pub enroll_per_minute: u32,
    pub login_per_minute: u32,
    /// Dashboard login attempts per client address per minute, any login.
    pub login_per_address_per_minute: u32,
    pub request_timeout_secs: u64,
    /// Mark dashboard cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Dashboard session lifetime.
    pub session_ttl_secs: u64,
    /// How often a replica reloads the published forms from the store.
    pub forms_refresh_secs: u64,
    /// `text` or `json`.
    pub log_format: String,
    /// File holding the key of export pseudonyms (`FIELDVOICE_PSEUDONYM_KEY_FILE`;
    /// `FIELDVOICE_PSEUDONYM_KEY` holds the key itself).
    pub pseudonym_key_file: Option<std::path::PathBuf>,
    /// Thresholds of the interview quality checks (`[checks]` table; see
    /// `survey_model::checks` for each rule).
    pub checks: survey_model::CheckRules,
    /// Which submitted interviews open a follow-up case (`[cases]` table:
    /// `on_follow_up_request`, `on_unresolved_detractor`).
    pub cases: survey_model::cases::CaseRules,
    /// The field day's working hours (UTC): the command centre expects a
    /// linear share of each target between them.
    pub day_start_hour: u8,
    pub day_end_hour: u8,
    /// How webhook deliveries are retried (`[webhooks]` table).
    pub webhooks: WebhookConfig,
    /// Days a closed case's contact details stay on its interview.
    pub contact_retention_days: u64,
    /// How often the retention sweep runs, in seconds.
    pub retention_sweep_secs: u64,
    /// Per campaign, how long its personal data is kept after it ended
    /// (`[[retention]]` tables: `campaign`, `ended` = its last day as
    /// `YYYY-MM-DD`, `pii_days`).
    pub retention: Vec<RetentionConfig>,
    /// On SIGTERM, keep serving this long with `/readyz` answering 503, so a
    /// load balancer stops sending new requests first.
    pub drain_delay_secs: u64,
    /// Then stop accepting, and wait at most this long for requests in flight.
    pub drain_timeout_secs: u64,
}

/// One `[[retention]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    pub campaign: String,
    /// The campaign's last day, `YYYY-MM-DD` (UTC).
    pub ended: String,
    /// Days its personal data is kept after that day.
    pub pii_days: u64,
}

impl RetentionConfig {
    fn parse(&self) -> anyhow::Result<sync_server::CampaignRetention> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let day = time::Date::parse(&self.ended, format).map_err(|e| {
            anyhow::anyhow!(
                "retention of campaign {:?}: ended = {:?} is not a date YYYY-MM-DD ({e})",
                self.campaign,
                self.ended
            )
        })?;
        if self.campaign.trim().is_empty() {
            anyhow::bail!("a [[retention]] table needs a campaign");
        }
        Ok(sync_server::CampaignRetention {
            campaign: self.campaign.clone(),
            // The end of that day.
            ended_at: day.midnight().assume_utc().unix_timestamp() + 86_400,
            pii_days: self.pii_days,
        })
    }
}

/// The `[webhooks]` table: retry timing of deliveries.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Wait after the first failed attempt; doubled after each next one.
    pub first_retry_ms: u64,
    /// Longest wait between two attempts.
    pub max_retry_ms: u64,
    /// A delivery this old is given up after its next failure.
    pub give_up_after_secs: u64,
    /// Per-attempt timeout.
    pub timeout_ms: u64,
    /// How often an idle queue is polled.
    pub poll_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        let w = sync_server::webhooks::WebhookSettings::default();
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        WebhookConfig {
            first_retry_ms: ms(w.first_retry),
            max_retry_ms: ms(w.max_retry),
            give_up_after_secs: w.give_up_after.as_secs(),
            timeout_ms: ms(w.timeout),
            poll_ms: ms(w.poll),
        }
    }
}

impl WebhookConfig {
    fn settings(&self) -> sync_server::webhooks::WebhookSettings {
        use std::time::Duration;
        sync_server::webhooks::WebhookSettings {
            first_retry: Duration::from_millis(self.first_retry_ms),
            max_retry: Duration::from_millis(self.max_retry_ms),
            give_up_after: Duration::from_secs(self.give_up_after_secs),
            timeout: Duration::from_millis(self.timeout_ms),
            poll: Duration::from_millis(self.poll_ms),
            ..Default::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let s = Settings::default();
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: "fieldvoice.sqlite3".into(),
            public_url: s.public_url,
            campaign: s.campaign,
            max_body_bytes: s.max_body_bytes,
            max_docs_per_request: s.max_docs_per_request,
            merge_concurrency: 0,
            enroll_per_minute: s.enroll_per_minute,
            login_per_minute: s.login_per_minute,
            login_per_address_per_minute: s.login_per_address_per_minute,
            request_timeout_secs: s.request_timeout.as_secs(),
            secure_cookies: s.secure_cookies,
            session_ttl_secs: s.session_ttl.as_secs(),
            forms_refresh_secs: s.forms_refresh.as_secs(),
            log_format: "text".into(),
            pseudonym_key_file: None,
            checks: s.check_rules,
            cases: s.case_rules,
            day_start_hour: s.day_start_hour,
            day_end_hour: s.day_end_hour,
            webhooks: WebhookConfig::default(),
            contact_retention_days: s.contact_retention.as_secs() / 86_400,
            retention_sweep_secs: s.retention_every.as_secs(),
            retention: Vec::new(),
            drain_delay_secs: 0,
            drain_timeout_secs: 30,
        }
    }
}

fn env_override<T: std::str::FromStr>(key: &str, slot: &mut T) -> anyhow::Result<()>
where
    T::Err: std::fmt::Display,
{
    if let Ok(v) = std::env::var(key) {
        *slot = v
            .parse()
            .map_err(|e| anyhow::anyhow!("{key}={v:?} is not valid: {e}"))?;
    }
    Ok(())
}

impl Config {
    pub fn load(file: Option<&Path>, database: Option<&str>) -> anyhow::Result<Config> {
        let mut c = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing config {}", p.display()))?
            }
            None => Config::default(),
        };
        env_override("FIELDVOICE_LISTEN", &mut c.listen)?;
        env_override("FIELDVOICE_PUBLIC_URL", &mut c.public_url)?;
        env_override("FIELDVOICE_CAMPAIGN", &mut c.campaign)?;
        env_override("FIELDVOICE_MAX_BODY_BYTES", &mut c.max_body_bytes)?;
        env_override(
            "FIELDVOICE_MAX_DOCS_PER_REQUEST",
            &mut c.max_docs_per_request,
        )?;
        env_override("FIELDVOICE_MERGE_CONCURRENCY", &mut c.merge_concurrency)?;
        env_override("FIELDVOICE_ENROLL_PER_MINUTE", &mut c.enroll_per_minute)?;
        env_override("FIELDVOICE_LOGIN_PER_MINUTE", &mut c.login_per_minute)?;
        env_override(
            "FIELDVOICE_LOGIN_PER_ADDRESS_PER_MINUTE",
            &mut c.login_per_address_per_minute,
        )?;
        env_override("FIELDVOICE_LOG_FORMAT", &mut c.log_format)?;
        env_override(
            "FIELDVOICE_REQUEST_TIMEOUT_SECS",
            &mut c.request_timeout_secs,
        )?;
        env_override("FIELDVOICE_SECURE_COOKIES", &mut c.secure_cookies)?;
        env_override("FIELDVOICE_SESSION_TTL_SECS", &mut c.session_ttl_secs)?;
        env_override("FIELDVOICE_FORMS_REFRESH_SECS", &mut c.forms_refresh_secs)?;
        env_override(
            "FIELDVOICE_CONTACT_RETENTION_DAYS",
            &mut c.contact_retention_days,
        )?;
        env_override("FIELDVOICE_DRAIN_DELAY_SECS", &mut c.drain_delay_secs)?;
        env_override("FIELDVOICE_DRAIN_TIMEOUT_SECS", &mut c.drain_timeout_secs)?;
        if c.retention_sweep_secs == 0 {
            anyhow::bail!("retention_sweep_secs must be positive");
        }
        for r in &c.retention {
            r.parse()?;
        }
        let w = &mut c.webhooks;
        env_override("FIELDVOICE_WEBHOOK_FIRST_RETRY_MS", &mut w.first_retry_ms)?;
        env_override("FIELDVOICE_WEBHOOK_MAX_RETRY_MS", &mut w.max_retry_ms)?;
        env_override(
            "FIELDVOICE_WEBHOOK_GIVE_UP_AFTER_SECS",
            &mut w.give_up_after_secs,
        )?;
        env_override("FIELDVOICE_WEBHOOK_TIMEOUT_MS", &mut w.timeout_ms)?;
        env_override("FIELDVOICE_WEBHOOK_POLL_MS", &mut w.poll_ms)?;
        if w.first_retry_ms == 0
            || w.max_retry_ms < w.first_retry_ms
            || w.timeout_ms == 0
            || w.poll_ms == 0
        {
            anyhow::bail!(
                "[webhooks]: first_retry_ms, timeout_ms and poll_ms must be positive and max_retry_ms at least first_retry_ms"
            );
        }
        if let Ok(f) = std::env::var("FIELDVOICE_PSEUDONYM_KEY_FILE") {
            c.pseudonym_key_file = Some(f.into());
        }
        if let Some(db) = database {
            c.database = db.to_owned();
        }
        if c.day_start_hour >= c.day_end_hour || c.day_end_hour > 24 {
            anyhow::bail!(
                "day_start_hour ({}) must be below day_end_hour ({}), at most 24",
                c.day_start_hour,
                c.day_end_hour
            );
        }
        let problems = c.checks.problems();
        if !problems.is_empty() {
            anyhow::bail!("[checks] in the configuration: {}", problems.join("; "));
        }
        Ok(c)
    }

    pub fn settings(&self) -> Settings {
        Settings {
            campaign: self.campaign.clone(),
            public_url: self.public_url.clone(),
            max_body_bytes: self.max_body_bytes,
            max_docs_per_request: self.max_docs_per_request,
            merge_concurrency: match self.merge_concurrency {
                0 => merge_concurrency_for(&self.database),
                n => n,
            },
            enroll_per_minute: self.enroll_per_minute,
            login_per_minute: self.login_per_minute,
            login_per_address_per_minute: self.login_per_address_per_minute,
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs),
            secure_cookies: self.secure_cookies,
            session_ttl: std::time::Duration::from_secs(self.session_ttl_secs),
            forms_refresh: std::time::Duration::from_secs(self.forms_refresh_secs),
            check_rules: self.checks.clone(),
            case_rules: self.cases.clone(),
            day_start_hour: self.day_start_hour,
            day_end_hour: self.day_end_hour,
            webhooks: self.webhooks.settings(),
            contact_retention: std::time::Duration::from_secs(
                self.contact_retention_days.saturating_mul(86_400),
            ),
            retention_every: std::time::Duration::from_secs(self.retention_sweep_secs),
            // Checked when the configuration was loaded.
            campaign_retention: self
                .retention
                .iter()
                .filter_map(|r| r.parse().ok())
                .collect(),
            ..Settings::default()
        }
    }

    /// Open the configured store.
    pub fn open_store(&self) -> anyhow::Result<Arc<dyn CentralStore>> {
        let db = self.database.as_str();
        if is_postgres_url(db) {
            let store = central_store::PgStore::connect(db)
                .with_context(|| format!("opening PostgreSQL store {}", redact_url(db)))?;
            return Ok(Arc::new(store));
        }
        let path = db.strip_prefix("sqlite://").unwrap_or(db);
        let store = central_store::SqliteStore::open(Path::new(path))
            .with_context(|| format!("opening SQLite store {path}"))?;
        Ok(Arc::new(store))
    }
}

/// How many merges run at once by default: one per core on SQLite, where a
/// merge is CPU work from start to commit; four per core on PostgreSQL, where
/// a merge mostly waits on round trips and the commit's WAL flush (with one
/// per core the field-day replay on 2 cores ran at half the rate: 216 vs 434
/// interviews/s).
pub fn merge_concurrency_for(database: &str) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    if is_postgres_url(database) {
        4 * cores
    } else {
        cores
    }
}

/// `postgres://` and `postgresql://` URLs select the PostgreSQL store.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) if rest[..at].contains(':') => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme_end], &rest[at..])
        }
        _ => url.to_owned(),
    }
}

pub fn init_tracing(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FIELDVOICE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn merge_concurrency_defaults_by_database_and_yields_to_an_explicit_value() {
        let sqlite = Config::load(None, Some("/tmp/x.sqlite3")).unwrap();
        let pg = Config::load(None, Some("postgres://u@h/db")).unwrap();
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(sqlite.settings().merge_concurrency, cores);
        assert_eq!(pg.settings().merge_concurrency, 4 * cores);
        let mut set = pg.clone();
        set.merge_concurrency = 3;
        assert_eq!(set.settings().merge_concurrency, 3);
    }
}
