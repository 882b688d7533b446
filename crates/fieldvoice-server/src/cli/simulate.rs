//! `fieldvoice-server simulate`: a field-day rehearsal over real HTTP.
//!
//! 1. starts a server process on a fresh SQLite store, or `--replicas N`
//!    processes on the PostgreSQL database given by `--database postgres://...`
//!    (which must be empty), or uses `--server`,
//! 2. bulk-imports N employees (CSV) and enrolls N devices, each a real device
//!    store in a temp dir, spread round-robin over the replicas,
//! 3. creates M interviews offline across the devices,
//! 4. syncs every device in a burst with concurrency C, and
//! 5. prints throughput, bytes per interview, latency percentiles, server CPU
//!    per 1,000 interviews (and PostgreSQL's, when its backends run on this
//!    machine), server peak RSS and errors, after checking the server holds
//!    every interview.
//!
//! With `--replay`, step 4 measures the server alone: every device's sync
//! body is prepared first (from its real store, as `sync` would send it),
//! then the bodies are posted with concurrency C and nothing is done with
//! the answers, so the devices' own work is out of the numbers.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use device_store::DeviceStore;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Semaphore;

use super::config::Config;

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Number of devices (one employee each).
    #[arg(long, default_value_t = 200)]
    pub devices: usize,
    /// Number of interviews, spread over the devices.
    #[arg(long, default_value_t = 300)]
    pub interviews: usize,
    /// Devices syncing at the same time during the burst.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Server processes to start on the same database (PostgreSQL only);
    /// devices are spread over them round-robin.
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Use this running server instead of starting one (needs --admin-token).
    #[arg(long)]
    pub server: Option<String>,
    #[arg(long, env = "FIELDVOICE_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Work directory (default: a temporary one, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Countries the employees are spread over.
    #[arg(
        long,
        default_value = "CI,SN,CM,ML,BF,GN,NE,TD,CG,CD,GA,MG,JO,EG,TN,MA,BW"
    )]
    pub countries: String,
    /// Measure the server alone: prepare every device's sync body first,
    /// then replay the bodies over HTTP (see the module docs).
    #[arg(long)]
    pub replay: bool,
}

struct ServerProc {
    child: tokio::process::Child,
    url: String,
    pid: u32,
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(&format!(
            "{{elapsed:>4}} {{bar:36}} {{pos}}/{{len}} {what} {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

/// Start `replicas` server processes on `database` (a PostgreSQL URL), or
/// one on a fresh SQLite store in `dir`; returns them and an admin token.
async fn start_servers(
    dir: &Path,
    database: Option<&str>,
    replicas: usize,
) -> anyhow::Result<(Vec<ServerProc>, String)> {
    let db: std::ffi::OsString = match database {
        Some(url) => url.into(),
        None => dir.join("server.sqlite3").into(),
    };
    let token = bootstrap(&db).await?;
    let mut servers = Vec::new();
    for _ in 0..replicas {
        servers.push(start_server(&db).await?);
    }
    Ok((servers, token))
}

async fn bootstrap(db: &std::ffi::OsStr) -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    let out = tokio::process::Command::new(&exe)
        .arg("--database")
        .arg(db)
        .args(["admin", "bootstrap"])
        .output()
        .await?;
    if !out.status.success() {
        bail!("bootstrap failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token "))
        .ok_or_else(|| anyhow!("bootstrap printed no token"))?
        .to_owned();
    Ok(token)
}

async fn start_server(db: &std::ffi::OsStr) -> anyhow::Result<ServerProc> {
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(&exe)
        .arg("--database")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("FIELDVOICE_ENROLL_PER_MINUTE", "100000000")
        .env("FIELDVOICE_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or_else(|| anyhow!("server exited at once"))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(l) = lines.next_line().await? {
            if let Some(u) = l.strip_prefix("listening on ") {
                return Ok::<_, anyhow::Error>(u.to_owned());
            }
        }
        bail!("server exited before listening")
    })
    .await
    .context("waiting for the server")??;
    // Keep draining stdout so the server never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(ServerProc { child, url, pid })
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user + system) a process has used so far, from
/// `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at ')'.
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks())
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`, usually 100).
fn clock_ticks() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The CPU seconds so far of PostgreSQL's backends serving `store`'s
/// database, by process id: `None` when none of them runs on this machine
/// (a remote database). Backends that exit meanwhile are not counted.
async fn pg_backends_cpu(
    store: &Arc<central_store::PgStore>,
) -> Option<std::collections::HashMap<i32, f64>> {
    let store = Arc::clone(store);
    let pids = tokio::task::spawn_blocking(move || store.backend_pids())
        .await
        .ok()?
        .ok()?;
    let local: std::collections::HashMap<i32, f64> = pids
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| Some((pid, cpu_seconds(u32::try_from(pid).ok()?)?)))
        .collect();
    (!local.is_empty()).then_some(local)
}

/// The servers' CPU seconds so far (`None` for an external server).
fn servers_cpu(servers: &[ServerProc]) -> Option<f64> {
    if servers.is_empty() {
        return None;
    }
    servers.iter().map(|s| cpu_seconds(s.pid)).sum()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[allow(clippy::too_many_lines)]
pub async fn run(config: &Config, args: SimulateArgs) -> anyhow::Result<()> {
    if args.devices == 0 || args.concurrency == 0 || args.replicas == 0 {
        bail!("--devices, --concurrency and --replicas must be at least 1");
    }
    let pg = super::config::is_postgres_url(&config.database).then_some(config.database.as_str());
    if pg.is_none() && args.replicas > 1 {
        bail!("--replicas needs a shared PostgreSQL database: --database postgres://...");
    }
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_owned()
        }
    };
    let (mut servers, urls, token) = match (&args.server, &args.admin_token) {
        (Some(url), Some(t)) => (
            Vec::new(),
            vec![url.trim_end_matches('/').to_owned()],
            t.clone(),
        ),
        (Some(_), None) => bail!("--server needs --admin-token"),
        (None, _) => {
            let (s, t) = start_servers(&dir, pg, args.replicas).await?;
            let urls = s.iter().map(|s| s.url.clone()).collect();
            (s, urls, t)
        }
    };
    let url = urls[0].clone();
    let http = sync_client::http_client()?;
    let countries: Vec<&str> = args
        .countries
        .split(',')
        .filter(|c| !c.is_empty())
        .collect();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    // A SQLite path given as --database is not touched: say so.
    let store = match pg {
        Some(u) => super::config::redact_url(u),
        None if servers.is_empty() => "SQLite".to_owned(),
        None => format!(
            "SQLite, a fresh one in {} (--database is used only when it is a PostgreSQL URL)",
            dir.display()
        ),
    };
    println!(
        "simulate: {} devices, {} interviews, concurrency {}, store {store}, servers {}",
        args.devices,
        args.interviews,
        args.concurrency,
        urls.join(" ")
    );

    // 1. Bulk import of employees.
    let t = Instant::now();
    let mut csv = String::from("login,name,country\n");
    for i in 0..args.devices {
        csv.push_str(&format!(
            "sim{run_id}.{i},Simulated Employee {i},{}\n",
            countries[i % countries.len()]
        ));
    }
    let resp = http
        .post(format!("{url}/api/v1/users/import"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!(
            "user import failed: {} {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    let imported: serde_json::Value = resp.json().await?;
    let codes: Vec<String> = imported["created"]
        .as_array()
        .ok_or_else(|| anyhow!("import returned no list"))?
        .iter()
        .filter_map(|u| u["enrollment_code"].as_str().map(str::to_owned))
        .collect();
    if codes.len() != args.devices {
        bail!(
            "imported {} of {} users: {}",
            codes.len(),
            args.devices,
            imported["problems"]
        );
    }
    println!(
        "bulk import of {} employees: {:.1?}",
        codes.len(),
        t.elapsed()
    );

    // 2. Enrollment of every device.
    let t = Instant::now();
    let devdir = dir.join("devices");
    std::fs::create_dir_all(&devdir)?;
    let b = bar(args.devices as u64, "enrolled");
    let sem = Arc::new(Semaphore::new(args.concurrency));
    let mut tasks = Vec::new();
    for (i, code) in codes.into_iter().enumerate() {
        let (sem, http, url, path, b) = (
            sem.clone(),
            http.clone(),
            // Round-robin over the replicas: the device keeps syncing there.
            urls[i % urls.len()].clone(),
            devdir.join(format!("{i}.sqlite3")),
            b.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire_owned().await?;
            let store = tokio::task::spawn_blocking(move || DeviceStore::open(&path)).await??;
            let store = Arc::new(Mutex::new(store));
            sync_client::enroll(&http, store, &url, &code, "simulated phone").await?;
            b.inc(1);
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    b.finish_and_clear();
    println!("enrolled {} devices: {:.1?}", args.devices, t.elapsed());

    // 3. Offline interviews: a generated campaign over the 120 places.
    let t = Instant::now();
    let campaign = Arc::new(fieldgen::generate(&fieldgen::Spec::submitted(
        2026,
        args.interviews,
    )));
    let b = bar(args.interviews as u64, "interviews");
    let per_device: Vec<usize> = (0..args.devices)
        .map(|i| args.interviews / args.devices + usize::from(i < args.interviews % args.devices))
        .collect();
    let fill_sem = Arc::new(Semaphore::new(2));
    let mut tasks = Vec::new();
    let mut n0 = 0;
    for (i, &k) in per_device.iter().enumerate() {
        if k == 0 {
            continue;
        }
        let (sem, path, b, start, campaign) = (
            fill_sem.clone(),
            devdir.join(format!("{i}.sqlite3")),
            b.clone(),
            n0,
            campaign.clone(),
        );
        n0 += k;
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire_owned().await?;
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let mut store = DeviceStore::open(&path)?;
                let form = store.form("mcmb-interview", None)?;
                for j in 0..k {
                    let mut iv = store.create_interview(&form)?;
                    let g = &campaign[start + j];
                    let answers = if form.question(survey_model::mcmb::PLACE_QUESTION).is_some() {
                        g.answers_v2()
                    } else {
                        g.answers.clone()
                    };
                    for (q, v) in answers {
                        iv.set_answer_json(&form, q, &v)?;
                    }
                    let eval = iv.submit(&form)?;
                    if !eval.is_complete() {
                        bail!("simulated interview incomplete: {:?}", eval.diagnostics);
                    }
                    store.save(&mut iv, Some(&form))?;
                    b.inc(1);
                }
                Ok(())
            })
            .await?
        }));
    }
    for t in tasks {
        t.await??;
    }
    b.finish_and_clear();
    println!(
        "created {} interviews offline: {:.1?}",
        args.interviews,
        t.elapsed()
    );

    // 4. The burst (or, with --replay, the prepared bodies).
    let replay = if args.replay {
        Some(prepare_bodies(&devdir, args.devices).await?)
    } else {
        None
    };
    let cpu_before = servers_cpu(&servers);
    // PostgreSQL's own CPU, when it runs here: in the burst it shares the
    // cores with the server and the devices (SQLite's work is the server's).
    // One connection of its own, opened once: its backend is left out.
    let pg_local = match pg {
        Some(u) if args.server.is_none() => {
            let u = u.to_owned();
            tokio::task::spawn_blocking(move || central_store::PgStore::connect_with(&u, 1))
                .await?
                .ok()
                .map(Arc::new)
        }
        _ => None,
    };
    let pg_before = match &pg_local {
        Some(store) => pg_backends_cpu(store).await,
        None => None,
    };
    let b = bar(args.devices as u64, "devices synced");
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let (up, down, errors, acked) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.devices {
        let (sem, http, path, b) = (
            sem.clone(),
            http.clone(),
            devdir.join(format!("{i}.sqlite3")),
            b.clone(),
        );
        let (lat, up, down, errors, acked) = (
            latencies.clone(),
            up.clone(),
            down.clone(),
            errors.clone(),
            acked.clone(),
        );
        let prepared = replay.as_ref().map(|r| r[i].clone());
        let sync_url = format!("{}/api/v1/sync", urls[i % urls.len()]);
        tasks.push(tokio::spawn(async move {
            let Ok(_p) = sem.acquire_owned().await else {
                return;
            };
            let result = async {
                if let Some(body) = prepared {
                    return replay_one(&http, &sync_url, body).await;
                }
                let store = tokio::task::spawn_blocking(move || DeviceStore::open(&path)).await??;
                let store = Arc::new(Mutex::new(store));
                let r =
                    sync_client::sync(&http, store.clone(), &sync_client::SyncOptions::default())
                        .await?;
                let left = tokio::task::spawn_blocking(move || {
                    store
                        .lock()
                        .map_err(|_| anyhow!("poisoned"))?
                        .pending(1)
                        .map_err(anyhow::Error::from)
                })
                .await??;
                if !left.is_empty() || !r.docs_rejected.is_empty() {
                    bail!(
                        "device still has unsynced or rejected interviews: {:?}",
                        r.docs_rejected
                    );
                }
                Ok::<_, anyhow::Error>(r)
            }
            .await;
            match result {
                Ok(r) => {
                    up.fetch_add(r.bytes_up, Ordering::Relaxed);
                    down.fetch_add(r.bytes_down, Ordering::Relaxed);
                    acked.fetch_add(r.docs_acknowledged as u64, Ordering::Relaxed);
                    if let Ok(mut l) = lat.lock() {
                        l.extend(r.latencies);
                    }
                }
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(device = i, error = %e, "device sync failed");
                }
            }
            b.inc(1);
        }));
    }
    for t in tasks {
        t.await?;
    }
    let burst = t.elapsed();
    let cpu = servers_cpu(&servers).zip(cpu_before).map(|(a, b)| a - b);
    let pg_cpu = match (&pg_local, &pg_before) {
        (Some(store), Some(before)) => pg_backends_cpu(store).await.map(|after| {
            after
                .iter()
                .map(|(pid, c)| c - before.get(pid).copied().unwrap_or(0.0))
                .sum::<f64>()
        }),
        _ => None,
    };
    b.finish_and_clear();

    // 5. Check and report.
    let page: serde_json::Value = http
        .get(format!("{url}/api/v1/interviews?limit=1"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let on_server = page["total"].as_u64().unwrap_or(0);
    let mut lat = latencies.lock().map_err(|_| anyhow!("poisoned"))?.clone();
    lat.sort();
    let m = args.interviews.max(1) as f64;
    let rss: Vec<Option<f64>> = servers.iter().map(|s| peak_rss_mb(s.pid)).collect();
    println!(
        "== field-day burst{} ==",
        if args.replay {
            " (replay: the server alone)"
        } else {
            ""
        }
    );
    println!(
        "devices synced:         {} ({} errors)",
        args.devices,
        errors.load(Ordering::Relaxed)
    );
    println!(
        "interviews acknowledged: {} / {}; on server: {on_server}",
        acked.load(Ordering::Relaxed),
        args.interviews
    );
    // Issue targets for the 10,000-device / 15,000-interview burst.
    // The PostgreSQL target is set for one replica; a run with more says so
    // rather than print a target that is not its own.
    let burst_target = match (pg, args.replicas) {
        (Some(_), 1) => "< 40 s on PostgreSQL, one replica".to_owned(),
        (Some(_), n) => format!("< 40 s on PostgreSQL with one replica; this run has {n}"),
        (None, _) => "< 30 s on SQLite".to_owned(),
    };
    println!(
        "burst wall time:        {:.2?}  ({:.0} interviews/s; target for 10k/15k with devices: {burst_target})",
        burst,
        m / burst.as_secs_f64()
    );
    println!(
        "requests:               {}  latency p50 {:.1?}  p99 {:.1?}  max {:.1?}",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or_default()
    );
    println!(
        "bytes up per interview: {:.0} B (target <= 1.1 KB)   down per interview: {:.0} B",
        up.load(Ordering::Relaxed) as f64 / m,
        down.load(Ordering::Relaxed) as f64 / m
    );
    match cpu {
        Some(c) => println!(
            "server CPU:             {c:.1} s in all, {:.2} s per 1,000 interviews (target <= 1.0)",
            c / m * 1000.0
        ),
        None => println!("server CPU:             n/a (external server)"),
    }
    if let Some(c) = pg_cpu {
        println!(
            "PostgreSQL CPU:         {c:.1} s in all, {:.2} s per 1,000 interviews (its backends for this database, on this machine)",
            c / m * 1000.0
        );
    }
    if rss.is_empty() {
        println!("server peak RSS:        n/a (external server)");
    }
    for (i, r) in rss.iter().enumerate() {
        match r {
            Some(r) => println!("server {i} peak RSS:      {r:.1} MB (target < 200)"),
            None => println!("server {i} peak RSS:      n/a"),
        }
    }
    for s in &mut servers {
        let _ = s.child.start_kill();
        let _ = s.child.wait().await;
    }
    let errs = errors.load(Ordering::Relaxed);
    if errs > 0 || (args.server.is_none() && on_server != args.interviews as u64) {
        bail!(
            "simulation finished with {errs} device errors and {on_server}/{} interviews on the server",
            args.interviews
        );
    }
    Ok(())
}

/// One device's prepared sync: its token and the body `sync` would send.
#[derive(Clone)]
struct Prepared {
    token: String,
    body: Arc<Vec<u8>>,
    docs: usize,
}

/// Every device's first sync body, read from its store (nothing is marked
/// sent: the stores stay as they were).
async fn prepare_bodies(devdir: &Path, devices: usize) -> anyhow::Result<Vec<Prepared>> {
    let t = Instant::now();
    let b = bar(devices as u64, "bodies prepared");
    let devdir = devdir.to_owned();
    let bb = b.clone();
    let out = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Prepared>> {
        (0..devices)
            .map(|i| {
                let store = DeviceStore::open(&devdir.join(format!("{i}.sqlite3")))?;
                let token = store
                    .enrollment()?
                    .ok_or_else(|| anyhow!("device {i} is not enrolled"))?
                    .device_token;
                let pending = store.pending(usize::MAX)?;
                let body = sync_client::push_body(store.cursor()?, &pending)?;
                bb.inc(1);
                Ok(Prepared {
                    token,
                    body: Arc::new(body),
                    docs: pending.len(),
                })
            })
            .collect()
    })
    .await??;
    b.finish_and_clear();
    println!(
        "prepared {} sync bodies ({:.1} MB): {:.1?}",
        out.len(),
        out.iter().map(|p| p.body.len()).sum::<usize>() as f64 / 1e6,
        t.elapsed()
    );
    Ok(out)
}

/// Post one prepared body; the server must apply every document in it.
async fn replay_one(
    http: &reqwest::Client,
    url: &str,
    p: Prepared,
) -> anyhow::Result<sync_client::SyncReport> {
    let started = Instant::now();
    let resp = http
        .post(url)
        .bearer_auth(&p.token)
        .header(reqwest::header::CONTENT_TYPE, survey_protocol::CONTENT_TYPE)
        .body(p.body.as_ref().clone())
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("sync answered {}", resp.status());
    }
    let bytes = resp.bytes().await?;
    let elapsed = started.elapsed();
    let answer: survey_protocol::SyncResponse =
        survey_protocol::decode(&bytes, 256 * 1024 * 1024).map_err(|e| anyhow!("{e}"))?;
    let applied = answer
        .results
        .iter()
        .filter(|r| r.status == survey_protocol::DocStatus::Applied)
        .count();
    if applied != p.docs {
        bail!("{applied} of {} documents applied", p.docs);
    }
    Ok(sync_client::SyncReport {
        docs_acknowledged: applied,
        bytes_up: p.body.len() as u64,
        bytes_down: bytes.len() as u64,
        latencies: vec![elapsed],
        ..Default::default()
    })
}
