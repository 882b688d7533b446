//! PostgreSQL for tests: a fresh database per test, on the server named by
//! `FIELDVOICE_TEST_PG_URL` (CI starts one cluster for the whole run), or
//! else on a throwaway cluster this process starts itself (initdb into a temp
//! dir, a free port, a unix socket dir inside the temp dir). The PostgreSQL
//! tests never skip.
//!
//! initdb refuses to run as root, so as root the cluster runs as the
//! unprivileged system user `fieldvoice-pg` (created if missing). A watchdog
//! shell stops the cluster and removes its directory when this process exits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The system user the throwaway cluster runs as when the tests run as root.
pub const PG_USER: &str = "fieldvoice-pg";

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Cluster {
    /// URL of the `postgres` maintenance database.
    pub url: String,
    pub dir: PathBuf,
}

fn find_bin(name: &str) -> PathBuf {
    locate_bin(name).unwrap_or_else(|| {
        panic!(
            "PostgreSQL binary {name} not found (set FIELDVOICE_PG_BIN); a test that \
                 needs PostgreSQL starts with skip_unless!(Need::Postgres)"
        )
    })
}

/// Where the PostgreSQL binary `name` is, if anywhere.
pub fn locate_bin(name: &str) -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("FIELDVOICE_PG_BIN") {
        return Some(Path::new(&dir).join(name)).filter(|p| p.exists());
    }
    let mut candidates = vec![PathBuf::from("/usr/local/bin")];
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path().join("bin")).collect();
        v.sort();
        v.reverse();
        candidates.extend(v);
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.exists())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Run `bin args` as the cluster's user.
fn run_as(user: Option<&str>, bin: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = match user {
        Some(u) => {
            let mut c = Command::new("runuser");
            c.args(["-u", u, "--"]).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(args).output().expect("run PostgreSQL tool")
}

/// A loopback port nobody listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Cluster {
    /// initdb + start on a free port; stopped when this process exits.
    pub fn start() -> Cluster {
        Cluster::start_configured("", &|_| {})
    }

    /// [`Cluster::start`] with `extra` server options (`-c name=value ...`),
    /// after `prepare` has seen the data directory (to add certificates or
    /// rewrite `pg_hba.conf`; files it writes are handed to the cluster's user).
    pub fn start_configured(extra: &str, prepare: &dyn Fn(&Path)) -> Cluster {
        let root = is_root();
        let user = root.then_some(PG_USER);
        if root
            && !Command::new("id")
                .arg(PG_USER)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        {
            let ok = Command::new("useradd")
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    PG_USER,
                ])
                .status()
                .expect("useradd");
            // Another test binary may have created it at the same moment.
            assert!(
                ok.success()
                    || Command::new("id")
                        .arg(PG_USER)
                        .status()
                        .is_ok_and(|s| s.success()),
                "could not create the system user {PG_USER}"
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("fieldvoice-pg-")
            .tempdir()
            .expect("tempdir")
            .keep();
        if root {
            let st = Command::new("chown")
                .arg(format!("{PG_USER}:"))
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(st.success(), "chown of the cluster dir failed");
        }
        let data = dir.join("data");
        let data_s = data.to_str().expect("utf-8 path");
        let out = run_as(
            user,
            &find_bin("initdb"),
            &[
                "-D",
                data_s,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        prepare(&data);
        if root {
            let _ = Command::new("chown")
                .arg("-R")
                .arg(format!("{PG_USER}:"))
                .arg(&data)
                .status();
        }
        let sock = dir.join("sock");
        std::fs::create_dir_all(&sock).expect("socket dir");
        if root {
            let _ = Command::new("chown")
                .arg(format!("{PG_USER}:"))
                .arg(&sock)
                .status();
        }
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off {extra}",
                sock.display()
            );
            let log = dir.join("postgres.log");
            let out = run_as(
                user,
                &find_bin("pg_ctl"),
                &[
                    "-D",
                    data_s,
                    "-l",
                    log.to_str().expect("utf-8"),
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            );
            if out.status.success() {
                spawn_watchdog(user, &dir, &data);
                return Cluster {
                    url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                    dir,
                };
            }
            last_err = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("pg_ctl start failed: {last_err}");
    }
}

/// A shell that waits for this process to end, then stops the cluster.
fn spawn_watchdog(user: Option<&str>, dir: &Path, data: &Path) {
    let pg_ctl = find_bin("pg_ctl");
    let stop = match user {
        Some(u) => format!(
            "runuser -u {u} -- {} -D {} -m immediate stop",
            pg_ctl.display(),
            data.display()
        ),
        None => format!(
            "{} -D {} -m immediate stop",
            pg_ctl.display(),
            data.display()
        ),
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// URL of the server the tests use: `FIELDVOICE_TEST_PG_URL`, or a cluster
/// started once for this process.
pub fn server_url() -> String {
    static CLUSTER: OnceLock<String> = OnceLock::new();
    CLUSTER
        .get_or_init(|| match std::env::var("FIELDVOICE_TEST_PG_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => Cluster::start().url,
        })
        .clone()
}

/// `url` with its database name replaced by `db`.
pub fn with_dbname(url: &str, db: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(scheme_end);
    let (authority, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{head}{authority}/{db}{query}")
}

/// Run `sql` (one or more statements) on the database at `url` through
/// tokio-postgres's own driver, from a thread of its own (callers may be on
/// a runtime, or be testing the store's connections): every row it returns,
/// its values as text (`NULL` as "").
pub fn sql_rows(url: &str, sql: &str) -> Vec<Vec<String>> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL server");
            tokio::spawn(conn);
            client
                .simple_query(&sql)
                .await
                .expect("test SQL")
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                        (0..r.len())
                            .map(|i| r.get(i).unwrap_or_default().to_owned())
                            .collect(),
                    ),
                    _ => None,
                })
                .collect()
        })
    })
    .join()
    .expect("test SQL thread")
}

/// Run SQL on the maintenance database.
fn admin_sql(sql: String) {
    sql_rows(&server_url(), &sql);
}

/// A fresh, empty database, dropped at the end of the test.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn create() -> TestDb {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        admin_sql(format!("CREATE DATABASE {name}"));
        TestDb {
            url: with_dbname(&server_url(), &name),
            name,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::panic::catch_unwind(|| {
            admin_sql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        });
    }
}

/// The real `fieldvoice-server` binary serving the PostgreSQL database at
/// `url` on a free loopback port (a replica; start several on one URL).
pub fn start_replica(url: &str, log: &Path) -> crate::server::ServerProcess {
    use std::io::BufRead;
    let log_file = std::fs::File::create(log).expect("log file");
    let mut child = Command::new(crate::server::server_binary())
        .args(["--database", url, "serve", "--listen", "127.0.0.1:0"])
        .env("FIELDVOICE_ENROLL_PER_MINUTE", "100000")
        .stdout(std::process::Stdio::piped())
        .stderr(log_file)
        .spawn()
        .expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("server exited; see {}", log.display()))
            .expect("read");
        if let Some(u) = line.strip_prefix("listening on ") {
            break u.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    crate::server::ServerProcess { child, url }
}

/// Run `fieldvoice-server --database URL admin ARGS...` and return stdout.
pub fn admin(url: &str, args: &[&str]) -> String {
    let out = Command::new(crate::server::server_binary())
        .args(["--database", url, "admin"])
        .args(args)
        .output()
        .expect("run admin");
    assert!(
        out.status.success(),
        "admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
