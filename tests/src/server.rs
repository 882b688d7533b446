//! Test servers: an in-process axum server on a loopback port, or the real
//! `fieldvoice-server` binary as a child process (for kill tests).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use central_store::{CentralStore, NewUser, Role, SqliteStore, User};
use device_store::DeviceStore;
use sync_server::service::users::{create_user_with_code, issue_api_token};
use sync_server::{AppState, Settings};

/// A server running inside the test process on 127.0.0.1.
pub struct TestServer {
    pub url: String,
    pub state: AppState,
    pub admin_token: String,
    pub dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
    /// The webhook delivery worker and the retention sweep.
    worker: tokio::task::JoinHandle<()>,
    sweep: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn CentralStore> =
            Arc::new(SqliteStore::open(&dir.path().join("server.sqlite3")).expect("store"));
        Self::start_on(store, settings, dir).await
    }

    /// A server with default settings on SQLite, or on a throwaway
    /// PostgreSQL database (returned: dropping it drops the database).
    pub async fn on_backend(pg: bool) -> (TestServer, Option<crate::pg::TestDb>) {
        Self::on_backend_with(pg, Settings::default()).await
    }

    /// [`TestServer::on_backend`] with `settings`.
    pub async fn on_backend_with(
        pg: bool,
        settings: Settings,
    ) -> (TestServer, Option<crate::pg::TestDb>) {
        if !pg {
            return (TestServer::start_with(settings).await, None);
        }
        let db = crate::pg::TestDb::create();
        let url = db.url.clone();
        let store = tokio::task::spawn_blocking(move || {
            central_store::PgStore::connect(&url).expect("PostgreSQL store")
        })
        .await
        .expect("join");
        let dir = tempfile::tempdir().expect("tempdir");
        (
            TestServer::start_on(Arc::new(store), settings, dir).await,
            Some(db),
        )
    }

    /// A server on `store` (e.g. a `PgStore`); `dir` holds device files.
    pub async fn start_on(
        store: Arc<dyn CentralStore>,
        settings: Settings,
        dir: tempfile::TempDir,
    ) -> TestServer {
        let state = AppState::new(store, settings).expect("state");
        for (_, json) in survey_model::BUILTIN_FORMS {
            state.install_form(json).expect("form");
        }
        // A store seeded beforehand (the demo) has its admin already.
        let existing = state.store.user_by_login("admin").expect("users");
        let admin = match existing {
            Some((u, _)) => u,
            None => state
                .store
                .create_user(
                    &NewUser {
                        login: "admin".into(),
                        name: "Admin".into(),
                        role: Role::Admin,
                        countries: vec![],
                        password_hash: None,
                    },
                    0,
                )
                .expect("admin"),
        };
        let admin_token = issue_api_token(&state, &admin, "test").expect("token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app =
            sync_server::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let worker = sync_server::webhooks::spawn(state.clone());
        let sweep = sync_server::retention::spawn(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestServer {
            url,
            state,
            admin_token,
            dir,
            task,
            worker,
            sweep,
        }
    }

    /// A user with an enrollment code (employees) — created straight in the store.
    pub fn user_with_code(&self, login: &str, role: Role, country: &str) -> (User, String) {
        create_user_with_code(&self.state, &test_user(login, role, country)).expect("user")
    }

    /// An API token for a new user of `role` in `country`.
    pub fn token_for(&self, login: &str, role: Role, country: &str) -> (User, String) {
        let u = self
            .state
            .store
            .create_user(&test_user(login, role, country), central_store::unix_now())
            .expect("user");
        let t = issue_api_token(&self.state, &u, "test").expect("token");
        (u, t)
    }

    /// POST `body` (`content_type`) to `path` as the admin over HTTP; the
    /// status must be `want`; returns the JSON answer.
    pub async fn admin_post(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        want: u16,
    ) -> serde_json::Value {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.admin_token)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        assert_eq!(status, want, "{path}: {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// `GET path` as `token` over HTTP: a 200 JSON answer.
    pub async fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.expect("JSON answer")
    }

    /// The MCMB campaign from v2 on, over the API: the place list (120
    /// places) imported and MCMB v2 published.
    pub async fn mcmb_v2_campaign(&self) {
        self.admin_post(
            "/api/v1/places",
            "text/csv",
            survey_model::MCMB_PLACES_CSV,
            200,
        )
        .await;
        self.admin_post(
            "/api/v1/forms",
            "application/json",
            survey_model::MCMB_V2_JSON,
            201,
        )
        .await;
    }

    /// A new device store in the server's temp dir, enrolled with `code`.
    /// A second device (`name`) of the employee who enrolled `dev`, with a
    /// new code the admin issues over HTTP.
    pub async fn another_device_of(&self, dev: &Device, name: &str) -> Device {
        let user_id = dev
            .lock()
            .enrollment()
            .expect("enrollment")
            .expect("enrolled")
            .user_id;
        let (st, code) = api(
            &self.url,
            &self.admin_token,
            "POST",
            &format!("/api/v1/users/{user_id}/enrollment-code"),
            None,
        )
        .await;
        assert_eq!(st, 200, "{code}");
        assert!(code["qr_svg"].as_str().is_some_and(|s| s.contains("<svg")));
        self.device(name, code["code"].as_str().expect("a code"))
            .await
    }

    pub async fn device(&self, name: &str, code: &str) -> Device {
        Device::enroll(
            &self.dir.path().join(format!("{name}.sqlite3")),
            &self.url,
            code,
        )
        .await
    }
}

/// A user to create in tests: `User <login>`, one country, no password.
fn test_user(login: &str, role: Role, country: &str) -> NewUser {
    NewUser {
        login: login.into(),
        name: format!("User {login}"),
        role,
        countries: vec![country.into()],
        password_hash: None,
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
        self.worker.abort();
        self.sweep.abort();
    }
}

/// An enrolled device: a real device store plus an HTTP client.
pub struct Device {
    pub store: Arc<Mutex<DeviceStore>>,
    pub http: reqwest::Client,
    pub path: PathBuf,
}

impl Device {
    pub async fn enroll(path: &Path, url: &str, code: &str) -> Device {
        let store = Arc::new(Mutex::new(DeviceStore::open(path).expect("device store")));
        let http = sync_client::http_client().expect("http");
        sync_client::enroll(&http, store.clone(), url, code, "test device")
            .await
            .expect("enroll");
        Device {
            store,
            http,
            path: path.to_owned(),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, DeviceStore> {
        self.store.lock().expect("device store lock")
    }

    /// A new interview of the MCMB form with `answers`, submitted and saved
    /// on the device (not synced); its id.
    pub fn submit(&self, answers: &[(&str, serde_json::Value)]) -> uuid::Uuid {
        let mut s = self.lock();
        let form = s.form("mcmb-interview", None).expect("form on the device");
        let mut iv = s.create_interview(&form).expect("interview");
        for (k, v) in answers {
            iv.set_answer_json(&form, k, v).expect("answer");
        }
        iv.submit(&form).expect("submit");
        s.save(&mut iv, Some(&form)).expect("save");
        iv.id()
    }

    pub async fn sync(&self) -> Result<sync_client::SyncReport, sync_client::SyncError> {
        let opts = sync_client::SyncOptions {
            attempts: 2,
            backoff: std::time::Duration::from_millis(50),
            ..Default::default()
        };
        sync_client::sync(&self.http, self.store.clone(), &opts).await
    }

    pub fn token(&self) -> String {
        self.lock()
            .enrollment()
            .expect("enrollment")
            .expect("enrolled")
            .device_token
    }
}

/// The enrollment code `admin create-user` printed (its `enrollment code …` line).
pub fn enrollment_code(admin_output: &str) -> String {
    admin_output
        .lines()
        .find_map(|l| l.strip_prefix("enrollment code "))
        .expect("`admin create-user` printed an enrollment code")
        .trim()
        .to_owned()
}

/// Path of the `fieldvoice-server` binary built next to the test binaries.
///
/// Under `cargo test` (which sets `CARGO`) the binary is brought up to date
/// once per test process with `cargo build -p fieldvoice-server`, so a plain
/// `cargo test` on a fresh checkout works and never runs a stale server.
/// `FIELDVOICE_SERVER_BIN` overrides the path (and skips the build).
pub fn server_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Ok(p) = std::env::var("FIELDVOICE_SERVER_BIN") {
        return p.into();
    }
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("current exe");
            let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
            let bin = profile_dir.join("fieldvoice-server");
            if let Ok(cargo) = std::env::var("CARGO") {
                let target_dir = profile_dir.parent().expect("target dir root");
                let mut cmd = std::process::Command::new(cargo);
                cmd.args([
                    "build",
                    "--quiet",
                    "-p",
                    "fieldvoice-server",
                    "--target-dir",
                ])
                .arg(target_dir);
                if profile_dir.file_name().is_some_and(|n| n == "release") {
                    cmd.arg("--release");
                }
                let status = cmd
                    .status()
                    .expect("running cargo build -p fieldvoice-server");
                assert!(status.success(), "cargo build -p fieldvoice-server failed");
            }
            assert!(
                bin.exists(),
                "{} is missing: build it first (cargo build -p fieldvoice-server)",
                bin.display()
            );
            bin
        })
        .clone()
}

/// The real server binary as a child process on a SQLite file.
#[derive(Debug)]
pub struct ServerProcess {
    pub child: std::process::Child,
    pub url: String,
}

impl ServerProcess {
    /// Start `fieldvoice-server serve` on `db` and wait until it listens.
    pub fn start(db: &Path, log: &Path) -> ServerProcess {
        Self::start_on(db, log, "127.0.0.1:0")
    }

    /// Start `fieldvoice-server serve` on `db` listening on `listen` (e.g. to
    /// restart on the same port) and wait until it listens.
    pub fn start_on(db: &Path, log: &Path, listen: &str) -> ServerProcess {
        Self::start_with_env(db, log, listen, &[])
    }

    /// [`ServerProcess::start_on`] with extra environment (e.g. `FIELDVOICE_*`
    /// settings).
    pub fn start_with_env(
        db: &Path,
        log: &Path,
        listen: &str,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        use std::io::BufRead;
        let log_file = std::fs::File::create(log).expect("log file");
        let mut child = std::process::Command::new(server_binary())
            .arg("--database")
            .arg(db)
            .args(["serve", "--listen", listen])
            .env("FIELDVOICE_ENROLL_PER_MINUTE", "100000")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().expect("server exited").expect("read");
            if let Some(u) = line.strip_prefix("listening on ") {
                break u.to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        ServerProcess { child, url }
    }

    /// SIGKILL: no graceful shutdown, no flush.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `fieldvoice-server --database DB admin ARGS...` and return stdout.
pub fn admin(db: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(server_binary())
        .arg("--database")
        .arg(db)
        .arg("admin")
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

/// Documents whose changes the server acknowledged, with the acknowledged heads.
pub type Acked = Vec<(uuid::Uuid, Vec<automerge::ChangeHash>)>;

impl Device {
    /// What the server has acknowledged to this device, read from the SQLite
    /// file through its own connection (what is durable, not what is cached).
    pub fn acknowledged(&self) -> Acked {
        let conn = rusqlite::Connection::open(&self.path).expect("open device db");
        let mut st = conn
            .prepare("SELECT doc_id, server_heads FROM sync_state WHERE server_heads != ''")
            .expect("query");
        st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .expect("rows")
            .map(|r| {
                let (id, heads) = r.expect("row");
                (
                    id.parse().expect("uuid"),
                    device_store::decode_heads(&heads).expect("heads"),
                )
            })
            .collect()
    }
}

/// Assert that every acknowledged change of `acked` is in the SQLite store at
/// `db` (`what` names where it was lost); how many changes were checked.
pub fn assert_acknowledged_in(db: &Path, acked: &Acked, what: &str) -> usize {
    let store = SqliteStore::open(db).expect("store");
    let mut checked = 0;
    for (id, heads) in acked {
        let doc = store
            .load_doc(*id)
            .expect("load")
            .unwrap_or_else(|| panic!("acknowledged interview {id} lost {what}"));
        let mut am = automerge::AutoCommit::load(&doc.snapshot).expect("document");
        for h in heads {
            assert!(
                am.get_change_by_hash(h).is_some(),
                "acknowledged change {h} of {id} lost {what}"
            );
            checked += 1;
        }
    }
    checked
}

/// A sync burst: every device syncs in small batches (2 documents a request,
/// no retries), over and over, until `stop` is set or its server goes away.
pub fn burst(
    devices: &std::sync::Arc<Vec<Device>>,
    max_rounds: usize,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..devices.len())
        .map(|i| {
            let (devices, stop) = (devices.clone(), stop.clone());
            tokio::spawn(async move {
                let d = &devices[i];
                let opts = sync_client::SyncOptions {
                    batch_docs: 2,
                    attempts: 1,
                    max_rounds,
                    ..Default::default()
                };
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if sync_client::sync(&d.http, d.store.clone(), &opts)
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            })
        })
        .collect()
}

/// `POST /api/v1/sync` with `body` as `token`.
pub async fn post_sync(url: &str, token: &str, body: Vec<u8>) -> reqwest::Response {
    post_sync_with(url, token, body, &[]).await
}

/// `POST /api/v1/sync` with `body` as `token`, and `headers`.
pub async fn post_sync_with(
    url: &str,
    token: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(token)
        .header("content-type", survey_protocol::CONTENT_TYPE);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(body).send().await.expect("sync request")
}

/// A sync body that pushes nothing and asks for the feed from the start.
pub fn empty_sync_body(compression: survey_protocol::Compression) -> Vec<u8> {
    survey_protocol::encode(
        &survey_protocol::SyncRequest {
            cursor: 0,
            docs: vec![],
        },
        compression,
    )
    .expect("encode")
}

/// `method` (`GET`, else POST) `path` on `url` as `token` (none if empty),
/// with an optional JSON body: the status and the JSON answer (null if none).
pub async fn api(
    url: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let c = reqwest::Client::new();
    let mut rb = match method {
        "GET" => c.get(format!("{url}{path}")),
        _ => c.post(format!("{url}{path}")),
    };
    if !token.is_empty() {
        rb = rb.bearer_auth(token);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.expect("request");
    let status = resp.status().as_u16();
    let v = resp
        .json::<serde_json::Value>()
        .await
        .unwrap_or(serde_json::Value::Null);
    (status, v)
}
