//! `fieldvoice-server export`, `report` and `bench-export`: dataset exports and
//! the analysis report straight from the store, with progress bars.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use central_store::merge::FormRegistry;
use central_store::{AuditEntry, CentralStore, InterviewFilter, Role, unix_now};
use export::{ExportOptions, Format, PiiPolicy, PseudonymKey};
use indicatif::{ProgressBar, ProgressStyle};

use super::config::Config;

/// Environment variable holding the pseudonym key (at least 16 bytes of text).
pub const KEY_ENV: &str = "FIELDVOICE_PSEUDONYM_KEY";
/// Environment variable naming a file that holds the pseudonym key.
pub const KEY_FILE_ENV: &str = "FIELDVOICE_PSEUDONYM_KEY_FILE";

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// csv, xlsx, parquet, jsonl or geojson.
    #[arg(long, value_parser = parse_format)]
    pub format: Format,
    /// Directory to write the data file, dictionary and manifest.json into.
    #[arg(long)]
    pub out: PathBuf,
    /// Country to export; repeat for several (default: all).
    #[arg(long = "country")]
    pub countries: Vec<String>,
    /// Only interviews changed after this log position (a previous manifest's max_seq).
    #[arg(long)]
    pub since: Option<u64>,
    /// What to do with PII questions: omit, pseudonymize or include.
    #[arg(long, default_value = "omit")]
    pub pii: String,
    /// Language of labels in the dictionary and XLSX: en, fr, ar, pt.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Coded values: `codes` (default), `columns` (a `<column>_label` beside
    /// each coded column, in --lang) or `values` (labels instead of codes).
    /// `--labels` alone means `columns`.
    #[arg(long, default_value = "codes", num_args = 0..=1, default_missing_value = "columns")]
    pub labels: String,
    /// CSV for Excel: put a UTF-8 byte order mark in front (accents, Arabic).
    #[arg(long)]
    pub excel: bool,
    /// Add the review comments' text (scrubbed unless --pii include).
    #[arg(long)]
    pub comments: bool,
    /// Export drafts too.
    #[arg(long)]
    pub include_drafts: bool,
    /// Export interviews rejected in review too.
    #[arg(long)]
    pub include_rejected: bool,
    /// File holding the pseudonym key (else $FIELDVOICE_PSEUDONYM_KEY).
    #[arg(long, env = KEY_FILE_ENV)]
    pub pseudonym_key_file: Option<PathBuf>,
    /// Login of the admin asking for raw PII (required with --pii include; audited).
    #[arg(long = "as")]
    pub as_login: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The HTML report to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the summary as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Country to include; repeat for several (default: all).
    #[arg(long = "country")]
    pub countries: Vec<String>,
    /// Report language: en, fr, ar, pt.
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Campaign to report on, or `all` (default: the configured campaign).
    #[arg(long)]
    pub campaign: Option<String>,
    /// Place codes, comma-separated (default: all).
    #[arg(long, default_value = "")]
    pub place: String,
    /// Segments, comma-separated (default: all).
    #[arg(long, default_value = "")]
    pub segment: String,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD.
    #[arg(long)]
    pub to: Option<String>,
    /// Review states, comma-separated (`none`: not reviewed).
    #[arg(long, default_value = "")]
    pub review_state: String,
    /// Count interviews rejected in review too.
    #[arg(long)]
    pub include_rejected: bool,
    /// Figures on fewer respondents are greyed and marked.
    #[arg(long, default_value_t = 30)]
    pub min_n: u64,
    /// Also print the report to this PDF file (A4, headless Chromium).
    #[arg(long)]
    pub pdf: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Synthetic interviews to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub interviews: u64,
    /// Working directory (store and exports).
    #[arg(long)]
    pub dir: PathBuf,
    /// Formats to time, comma-separated.
    #[arg(long, default_value = "parquet,csv")]
    pub formats: String,
    /// Reuse the store in DIR if it already holds the interviews.
    #[arg(long)]
    pub reuse: bool,
    /// Also page through the whole OData feed over loopback HTTP.
    #[arg(long)]
    pub odata: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).map_err(|e| e.to_string())
}

/// The pseudonym key: `$FIELDVOICE_PSEUDONYM_KEY` itself, else the contents of
/// `file` (flag, `$FIELDVOICE_PSEUDONYM_KEY_FILE` or the config's
/// `pseudonym_key_file`); `None` if neither is set. Never hard-coded.
pub fn pseudonym_key(file: Option<&Path>) -> anyhow::Result<Option<PseudonymKey>> {
    let bytes = if let Ok(v) = std::env::var(KEY_ENV) {
        v.trim().as_bytes().to_vec()
    } else if let Some(f) = file {
        let text =
            std::fs::read(f).with_context(|| format!("reading pseudonym key {}", f.display()))?;
        trim_bytes(&text).to_vec()
    } else {
        return Ok(None);
    };
    Ok(Some(PseudonymKey::new(bytes)?))
}

fn trim_bytes(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_owned());
    pb
}

fn filter_for(countries: &[String], since: Option<u64>) -> InterviewFilter {
    InterviewFilter {
        countries: countries.to_vec(),
        since_seq: since,
        ..InterviewFilter::default()
    }
}

pub async fn run_export(config: &Config, mut args: ExportArgs) -> anyhow::Result<()> {
    let store = config.open_store()?;
    if args.pseudonym_key_file.is_none() {
        args.pseudonym_key_file = config.pseudonym_key_file.clone();
    }
    tokio::task::spawn_blocking(move || export_blocking(store.as_ref(), &args)).await?
}

fn export_blocking(store: &dyn CentralStore, args: &ExportArgs) -> anyhow::Result<()> {
    let pii = match args.pii.as_str() {
        "omit" => PiiPolicy::Omit,
        "pseudonymize" | "pseudonymise" => PiiPolicy::Pseudonymize(
            pseudonym_key(args.pseudonym_key_file.as_deref())?.with_context(|| {
                format!("--pii pseudonymize needs a key: ${KEY_ENV}, --pseudonym-key-file, ${KEY_FILE_ENV} or pseudonym_key_file in the config")
            })?,
        ),
        "include" => {
            let login = args
                .as_login
                .as_deref()
                .context("--pii include exports raw personal data: name the admin asking with --as LOGIN")?;
            let (user, _) = store
                .user_by_login(login)?
                .with_context(|| format!("no user `{login}`"))?;
            if user.role != Role::Admin || !user.active {
                bail!("only an active admin may export raw PII (`{login}` is a {})", user.role.as_str());
            }
            store.audit(&AuditEntry {
                at: unix_now(),
                actor: user.id.clone(),
                action: "export_pii".into(),
                target: format!("{} via cli", args.format.as_str()),
                detail: format!("countries={:?} since={:?}", args.countries, args.since),
            })?;
            PiiPolicy::Include
        }
        other => bail!("--pii must be omit, pseudonymize or include (got `{other}`)"),
    };
    let opts = ExportOptions {
        format: args.format,
        countries: args.countries.clone(),
        since_seq: args.since,
        pii,
        lang: export::parse_lang(&args.lang)?,
        labels: export::Labels::parse(&args.labels)?,
        excel: args.excel,
        comments: args.comments,
        base: export::BaseRule {
            include_drafts: args.include_drafts,
            include_rejected: args.include_rejected,
        },
    };
    let forms = FormRegistry::load(store)?;
    let total = store.count_interviews(&filter_for(&args.countries, args.since))?;
    let pb = progress_bar(total, &format!("export {}", args.format.as_str()));
    let manifest = export::export_to_dir(store, &forms, &opts, &args.out, &mut |n| {
        pb.set_position(n);
        true
    })?;
    pb.finish_and_clear();
    println!(
        "exported {} interviews to {} ({}; left out: {} drafts, {} without consent, {} rejected)",
        manifest.rows,
        args.out.join(args.format.file_name()).display(),
        manifest.base,
        manifest.left_out.drafts,
        manifest.left_out.without_consent,
        manifest.left_out.rejected,
    );
    if let Some(n) = manifest.removed {
        println!("{n} interviews left the dataset since --since: listed in removed.csv");
    }
    println!("dataset version {}", manifest.dataset_version);
    println!(
        "max seq {} (next incremental run: --since {})",
        manifest.max_seq, manifest.max_seq
    );
    Ok(())
}

pub async fn run_report(config: &Config, args: ReportArgs) -> anyhow::Result<()> {
    let store = config.open_store()?;
    let campaign = config.campaign.clone();
    tokio::task::spawn_blocking(move || report_blocking(store.as_ref(), &campaign, &args)).await?
}

fn report_blocking(
    store: &dyn CentralStore,
    campaign: &str,
    args: &ReportArgs,
) -> anyhow::Result<()> {
    let lang = export::parse_lang(&args.lang)?;
    let forms = FormRegistry::load(store)?;
    let (codebook, _) = export::coding::load_codebook(store, campaign)?;
    let coding = export::coding::coding_from_store(store, &forms, campaign, codebook)?;
    let filter = export::analysis::ReportFilter::parse(
        Some(args.campaign.as_deref().unwrap_or(campaign)),
        &args.place,
        &args.segment,
        args.from.as_deref(),
        args.to.as_deref(),
        &args.review_state,
        args.include_rejected,
    )?;
    let cfg = export::analysis::AnalysisConfig {
        min_n: args.min_n,
        ..Default::default()
    };
    let total = store.count_interviews(&filter_for(&args.countries, None))?;
    let pb = progress_bar(total, "analyse");
    let summary = export::analysis::summarize_with(
        store,
        &forms,
        &args.countries,
        &lang,
        &filter,
        &cfg,
        &coding,
        &mut |n| {
            pb.set_position(n);
            true
        },
    )?;
    pb.finish_and_clear();
    let html = export::report::render_html(&summary);
    std::fs::write(&args.out, html).with_context(|| format!("writing {}", args.out.display()))?;
    if let Some(pdf) = &args.pdf {
        print_pdf(&args.out, pdf)?;
        println!("PDF written to {}", pdf.display());
    }
    if let Some(j) = &args.json {
        let text = serde_json::to_vec_pretty(&summary)?;
        std::fs::write(j, text).with_context(|| format!("writing {}", j.display()))?;
    }
    println!(
        "report on {} interviews (NPS {}) written to {}",
        summary.interviews,
        summary
            .nps_overall
            .as_ref()
            .map_or("n/a".to_owned(), |n| format!("{:.1}", n.nps)),
        args.out.display()
    );
    Ok(())
}

// --- benchmark -----------------------------------------------------------------

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Reset the peak-RSS counter (Linux: `5` into clear_refs) so each phase is measured alone.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

pub async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || bench_blocking(&args)).await?
}

fn bench_blocking(args: &BenchArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)?;
    let db = args.dir.join("bench.sqlite3");
    let formats: Vec<Format> = args
        .formats
        .split(',')
        .map(|f| Format::parse(f.trim()))
        .collect::<Result<_, _>>()?;
    let open = || -> anyhow::Result<central_store::SqliteStore> {
        let store = central_store::SqliteStore::open(&db)?;
        let form = survey_model::mcmb_form()?;
        store.put_form(form.id(), form.version(), survey_model::BUILTIN_FORMS[0].1)?;
        Ok(store)
    };
    let mut store = open()?;
    let have = store.count_interviews(&InterviewFilter::default())?;
    if !(args.reuse && have == args.interviews) {
        // A fresh store: synthetic rows only, none left from an earlier run.
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        store = open()?;
        let t = Instant::now();
        fill_store(&store, args.interviews)?;
        drop(store);
        let took = t.elapsed();
        println!(
            "filled {} synthetic interviews in {:.1} s ({} MB store)",
            args.interviews,
            took.as_secs_f64(),
            std::fs::metadata(&db).map_or(0, |m| m.len()) / 1_000_000
        );
    }
    let store = central_store::SqliteStore::open(&db)?;
    let forms = FormRegistry::load(&store)?;
    for format in formats {
        let out = args.dir.join(format!("export-{}", format.as_str()));
        let _ = std::fs::remove_dir_all(&out);
        reset_peak_rss();
        let opts = ExportOptions {
            format,
            ..ExportOptions::default()
        };
        let pb = progress_bar(args.interviews, &format!("export {}", format.as_str()));
        let t = Instant::now();
        let mut rss_at_10pct = None;
        let ten = (args.interviews / 10).max(1);
        let m = export::export_to_dir(&store, &forms, &opts, &out, &mut |n| {
            pb.set_position(n);
            if rss_at_10pct.is_none() && n >= ten {
                rss_at_10pct = peak_rss_kib();
            }
            true
        })?;
        let took = t.elapsed();
        pb.finish_and_clear();
        report_line(format, m.rows, took, dir_size(&out), rss_at_10pct);
    }
    drop(store);
    if args.odata {
        odata_bench(&db, args.interviews)?;
    }
    Ok(())
}

/// Page through the whole OData feed as a client would (HTTP Basic with an
/// admin's API token, pages of the largest size a client may ask for,
/// following `@odata.nextLink`), against a server in this process on
/// loopback: rows, time and the process's peak RSS (server and client).
fn odata_bench(db: &Path, expect: u64) -> anyhow::Result<()> {
    use std::sync::Arc;
    let store: Arc<dyn CentralStore> = Arc::new(central_store::SqliteStore::open(db)?);
    let state = sync_server::AppState::new(store, sync_server::Settings::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = state.store.create_user(
        &central_store::NewUser {
            login: format!("bench.{}", uuid::Uuid::new_v4()),
            name: "Bench".into(),
            role: Role::Admin,
            countries: Vec::new(),
            password_hash: None,
        },
        unix_now(),
    )?;
    let token = sync_server::service::users::issue_api_token(&state, &user, "bench")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::runtime::Handle::current().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = sync_server::router(state)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        reset_peak_rss();
        let client = reqwest::Client::new();
        let mut url = format!("http://{addr}/api/v1/odata/Interviews");
        let (mut rows, mut pages) = (0u64, 0u64);
        let pb = progress_bar(expect, "odata paging");
        let t = Instant::now();
        let mut rss10 = None;
        loop {
            let page: serde_json::Value = client
                .get(&url)
                .basic_auth("bench", Some(&token))
                .header(
                    "prefer",
                    format!("odata.maxpagesize={}", export::odata::MAX_PAGE_SIZE),
                )
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            rows += page["value"].as_array().map_or(0, |a| a.len() as u64);
            pages += 1;
            pb.set_position(rows);
            if rss10.is_none() && rows >= expect / 10 {
                rss10 = peak_rss_kib();
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => break,
            }
        }
        let secs = t.elapsed().as_secs_f64();
        pb.finish_and_clear();
        server.abort();
        println!(
            "odata    rows {rows:>9}  {secs:>7.2} s  {:>10.0} rows/s  {pages} pages  peak RSS {:>6.1} MB (at 10%: {:.1} MB)",
            rows as f64 / secs.max(1e-9),
            peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
            rss10.unwrap_or(0) as f64 / 1024.0,
        );
        Ok(())
    })
}

fn report_line(format: Format, rows: u64, took: Duration, bytes: u64, rss10: Option<u64>) {
    let secs = took.as_secs_f64();
    println!(
        "{:<8} rows {:>9}  {:>7.2} s  {:>10.0} rows/s  output {:>7.1} MB  peak RSS {:>6.1} MB (at 10%: {:.1} MB)",
        format.as_str(),
        rows,
        secs,
        rows as f64 / secs.max(1e-9),
        bytes as f64 / 1e6,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
        rss10.unwrap_or(0) as f64 / 1024.0,
    );
}

/// Bulk-insert synthetic projection rows (benchmark only: tests go through
/// the sync path), through the store's one projection upsert.
fn fill_store(store: &central_store::SqliteStore, n: u64) -> anyhow::Result<()> {
    let pb = progress_bar(n, "fill store");
    let countries = ["CI", "SN", "CM", "ML", "BF", "MA", "CD", "GN"];
    let segments = survey_model::mcmb::SEGMENTS;
    let areas = ["urban", "peri_urban", "rural"];
    let cats = &survey_model::mcmb::COMPLAINT_CATEGORIES[..6];
    let verbatims = [
        (
            "fr",
            "Améliorez la couverture réseau dans les quartiers nord",
        ),
        (
            "en",
            "The data bundles are too expensive and the speed is slow",
        ),
        ("pt", "A rede cai muitas vezes à noite"),
        ("ar", "الشبكة ضعيفة في المساء والإنترنت بطيء"),
    ];
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    const CHUNK: u64 = 50_000;
    let mut i = 0u64;
    while i < n {
        let mut rows = Vec::with_capacity(CHUNK as usize);
        {
            for k in i..(i + CHUNK).min(n) {
                let r = next();
                let id =
                    uuid::Uuid::from_u64_pair(0x0190_0000_0000_7000 | (k >> 32), k).to_string();
                let country = countries[(r % 8) as usize];
                let segment = segments[((r >> 3) % 4) as usize];
                let area = areas[((r >> 5) % 3) as usize];
                let nps = ((r >> 7) % 11) as i64;
                let complaint = (r >> 11) % 2 == 0;
                let (vl, vt) = verbatims[((r >> 12) % 4) as usize];
                let consent = (r >> 14) % 50 != 0;
                let user = format!("user-{}", (r >> 20) % 10_000);
                let device = format!("dev-{}", (r >> 20) % 10_000);
                let created = format!(
                    "2026-11-30T{:02}:{:02}:00Z",
                    8 + (r >> 30) % 10,
                    (r >> 34) % 60
                );
                let mut answers = serde_json::json!({
                    "consent": consent,
                    "segment": segment,
                    "customer_name": "Synthetic Name",
                    "customer_phone": format!("+225 07 {:08}", r % 100_000_000),
                    "city": "Abidjan",
                    "area_type": area,
                    "location": {"lat": 5.3 + (r % 1000) as f64 / 10_000.0, "lon": -4.0 - ((r >> 10) % 1000) as f64 / 10_000.0, "accuracy": 10.0},
                    "customer_since_years": (r >> 40) % 20,
                    "services_used": ["mobile_voice", "mobile_money"],
                    "nps": nps,
                    "nps_reason": vt,
                    "sat_network": 1 + (r >> 44) % 5,
                    "sat_shop": 1 + (r >> 47) % 5,
                    "sat_billing": 1 + (r >> 50) % 5,
                    "has_complaint": if complaint { "yes" } else { "no" },
                    "verbatim": vt,
                    "verbatim_language": vl,
                    "interview_date": "2026-11-30",
                });
                if complaint && let Some(o) = answers.as_object_mut() {
                    o.insert(
                        "complaint_categories".into(),
                        serde_json::json!([cats[((r >> 53) % 6) as usize]]),
                    );
                    o.insert(
                        "complaint_root_cause".into(),
                        serde_json::json!(["network"]),
                    );
                    o.insert("complaint_since".into(), serde_json::json!("2026-08-01"));
                }
                let record = serde_json::json!({
                    "interview_id": id, "form_id": "mcmb-interview", "form_version": 1,
                    "campaign": "mcmb-2026", "country": country, "created_by": user,
                    "device_id": device, "created_at": created, "status": "submitted",
                    "submitted_at": created, "review_state": null, "answers": answers,
                    "tags": [], "comment_count": 0, "conflicts": [],
                    "heads": [format!("{:064x}", u128::from(r) * 31 + u128::from(k))],
                });
                rows.push((serde_json::from_value(record)?, (k + 1) as i64));
            }
        }
        store.insert_synthetic_rows(&rows)?;
        i = (i + CHUNK).min(n);
        pb.set_position(i);
    }
    pb.finish_and_clear();
    Ok(())
}

/// Print the HTML report `html` to `pdf` with headless Chromium (its A4
/// print stylesheet; no header or footer). The browser is `FIELDVOICE_CHROMIUM`
/// or the first of chromium, chromium-browser, google-chrome on the PATH.
fn print_pdf(html: &std::path::Path, pdf: &std::path::Path) -> anyhow::Result<()> {
    let browser = std::env::var_os("FIELDVOICE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .find_map(|b| {
                    std::env::var_os("PATH").and_then(|p| {
                        std::env::split_paths(&p)
                            .map(|d| d.join(b))
                            .find(|c| c.is_file())
                    })
                })
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--pdf needs Chromium: install chromium or set FIELDVOICE_CHROMIUM to its path"
            )
        })?;
    let html = std::fs::canonicalize(html)?;
    let profile = tempfile::tempdir()?;
    let out = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .with_context(|| format!("running {}", browser.display()))?;
    let ok = std::fs::read(pdf).is_ok_and(|b| b.starts_with(b"%PDF"));
    if !out.status.success() || !ok {
        anyhow::bail!(
            "{} could not print the PDF: {}",
            browser.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
