//! A whole system on loopback for randomized tests: the real
//! `fieldvoice-server` binary on SQLite or PostgreSQL (restartable on the same
//! database after a SIGKILL) behind a proxy that can swallow responses, plus a
//! small seeded random generator.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use central_store::{CentralStore, PgStore, SqliteStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::server::ServerProcess;

/// Which central store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// splitmix64: small, seeded, reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[self.below(v.len())])
    }
}

/// Read one HTTP message head + `Content-Length` from `buf`, if complete.
fn head_and_len(buf: &[u8]) -> Option<(usize, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Some((end, len))
}

/// Read one whole HTTP message (head and `Content-Length` body) from `from`.
async fn read_message(from: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(60), from.read(&mut chunk)).await {
            Ok(Ok(n)) => n,
            _ => 0,
        };
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, len)) = head_and_len(&buf)
            && buf.len() >= head + len
        {
            return buf;
        }
    }
}

/// A loopback proxy to the current server. While `drops` > 0, each new
/// connection forwards one whole request, waits for the server's whole
/// response (so the server has committed) and closes the client's side
/// without passing it on: the acknowledgement is lost. Use a client without
/// connection pooling so every request is a new connection.
#[derive(Debug)]
pub struct DropProxy {
    pub url: String,
    upstream: Arc<Mutex<String>>,
    drops: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl DropProxy {
    pub async fn start() -> DropProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = Arc::new(Mutex::new(String::new()));
        let drops = Arc::new(AtomicU32::new(0));
        let (up, dr) = (upstream.clone(), drops.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let target = up.lock().expect("upstream").clone();
                let Ok(mut server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let swallow = dr
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                    .is_ok();
                tokio::spawn(async move {
                    if !swallow {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        return;
                    }
                    let req = read_message(&mut client).await;
                    if server.write_all(&req).await.is_err() {
                        return;
                    }
                    let _ = read_message(&mut server).await;
                    // Both sockets drop: the client never sees the response.
                });
            }
        });
        DropProxy {
            url,
            upstream,
            drops,
            task,
        }
    }
    /// Forward to the server at `url` (`http://host:port`) from now on.
    pub fn set_upstream(&self, url: &str) {
        *self.upstream.lock().expect("upstream") = url.trim_start_matches("http://").to_owned();
    }
    /// Swallow the responses of the next `n` connections.
    pub fn drop_next(&self, n: u32) {
        self.drops.store(n, Ordering::SeqCst);
    }
    /// Swallows still armed (0 once they happened).
    pub fn armed(&self) -> u32 {
        self.drops.load(Ordering::SeqCst)
    }
}

impl Drop for DropProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The server binary on one database, behind a [`DropProxy`].
#[derive(Debug)]
pub struct System {
    pub backend: Backend,
    /// The `--database` argument: a SQLite path or a PostgreSQL URL.
    pub db: String,
    pub dir: PathBuf,
    pub proxy: DropProxy,
    server: Option<ServerProcess>,
    starts: usize,
    _pg: Option<crate::pg::TestDb>,
}

impl System {
    /// A fresh database (not served yet: run admin commands first).
    pub async fn new(backend: Backend, dir: &Path) -> System {
        let (db, pg) = match backend {
            Backend::Sqlite => (
                dir.join("server.sqlite3").to_string_lossy().into_owned(),
                None,
            ),
            Backend::Postgres => {
                let t = crate::pg::TestDb::create();
                (t.url.clone(), Some(t))
            }
        };
        System {
            backend,
            db,
            dir: dir.to_owned(),
            proxy: DropProxy::start().await,
            server: None,
            starts: 0,
            _pg: pg,
        }
    }

    /// `fieldvoice-server --database DB admin ARGS...`; returns stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        crate::pg::admin(&self.db, args)
    }

    /// Start (or restart) the server on the database; the proxy follows it.
    pub fn serve(&mut self) {
        assert!(self.server.is_none(), "already serving");
        self.starts += 1;
        let log = self.dir.join(format!("server{}.log", self.starts));
        let p = ServerProcess::start_on(Path::new(&self.db), &log, "127.0.0.1:0");
        self.proxy.set_upstream(&p.url);
        self.server = Some(p);
    }

    /// SIGKILL the server (no graceful shutdown).
    pub fn kill(&mut self) {
        if let Some(p) = self.server.take() {
            p.kill();
        }
    }

    /// A store handle on the same database (opened on a blocking thread:
    /// opening connects and migrates, blocking work).
    pub async fn open_store(&self) -> Arc<dyn CentralStore> {
        let (backend, db) = (self.backend, self.db.clone());
        tokio::task::spawn_blocking(move || -> Arc<dyn CentralStore> {
            match backend {
                Backend::Sqlite => Arc::new(SqliteStore::open(Path::new(&db)).expect("sqlite")),
                Backend::Postgres => Arc::new(PgStore::connect(&db).expect("postgres")),
            }
        })
        .await
        .expect("open store")
    }
}
