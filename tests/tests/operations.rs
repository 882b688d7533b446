//! Operations: a backup taken while devices sync holds every change the
//! server had acknowledged when it started, restores into an empty place,
//! and `admin verify` finds it identical to its backup; a server refuses a
//! store whose schema is newer than it knows, on SQLite and PostgreSQL;
//! backups never overwrite and restores never write over a store.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use central_store::{CentralStore, SqliteStore};
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::server::{
    Device, ServerProcess, admin, assert_acknowledged_in, burst, server_binary,
};

const DEVICES: usize = 5;
const PER_DEVICE: usize = 12;

/// `fieldvoice-server --database DB admin ARGS`: (success, stdout + stderr).
fn admin_any(db: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(server_binary())
        .arg("--database")
        .arg(db)
        .arg("admin")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `DEVICES` employees of CI, created with the admin command, their phones
/// enrolled against a server process started on `db` (with `env`), each
/// holding `PER_DEVICE` finished interviews not synced yet.
async fn fleet(
    dir: &Path,
    db: &Path,
    prefix: &str,
    env: &[(&str, &str)],
) -> (ServerProcess, Vec<Device>) {
    let mut codes = Vec::new();
    for i in 0..DEVICES {
        let out = admin(
            db,
            &[
                "create-user",
                "--login",
                &format!("emp.{prefix}{i}"),
                "--name",
                "E",
                "--country",
                "CI",
            ],
        );
        codes.push(fieldvoice_tests::server::enrollment_code(&out));
    }
    let server =
        ServerProcess::start_with_env(db, &dir.join(format!("{prefix}.log")), "127.0.0.1:0", env);
    let mut devices = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        devices.push(
            Device::enroll(&dir.join(format!("{prefix}{i}.sqlite3")), &server.url, code).await,
        );
    }
    for d in &devices {
        let mut s = d.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        for n in 0..PER_DEVICE {
            let mut iv = s.create_interview(&form).unwrap();
            for (k, v) in complete_answers(n as i64 % 11) {
                iv.set_answer_json(&form, k, &v).unwrap();
            }
            s.save(&mut iv, Some(&form)).unwrap();
        }
    }
    (server, devices)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_during_a_sync_burst_restores_every_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let (server, devices) = fleet(dir.path(), &db, "b", &[]).await;
    let devices = Arc::new(devices);
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = burst(&devices, 3, &stop);
    loop {
        let acked: usize = devices.iter().map(|d| d.acknowledged().len()).sum();
        if acked >= 8 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // What the server had acknowledged before the backup started.
    let before: Vec<_> = devices.iter().flat_map(Device::acknowledged).collect();
    let backup = dir.path().join("backup.sqlite3");
    let db2 = db.clone();
    let b2 = backup.clone();
    let out = tokio::task::spawn_blocking(move || {
        admin(&db2, &["backup", "--out", b2.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert!(out.contains("integrity ok"), "{out}");
    let during = devices
        .iter()
        .map(|d| d.acknowledged().len())
        .sum::<usize>();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    drop(server);
    assert!(
        before.len() < DEVICES * PER_DEVICE,
        "the backup ran mid-burst"
    );
    eprintln!(
        "backup taken with {} of {} interviews acknowledged ({during} when it ended)",
        before.len(),
        DEVICES * PER_DEVICE
    );

    // A backup never overwrites.
    let (ok, msg) = admin_any(&db, &["backup", "--out", backup.to_str().unwrap()]);
    assert!(!ok && msg.contains("never overwrites"), "{msg}");
    // Restore into an empty place: checked equal to the backup.
    let restored = dir.path().join("restored.sqlite3");
    let (ok, msg) = admin_any(&restored, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(
        ok && msg.contains("identical") && msg.contains("mismatches: 0"),
        "{msg}"
    );
    // Never over an existing store.
    let (ok, msg) = admin_any(&restored, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(!ok && msg.contains("already exists"), "{msg}");
    // Every change acknowledged before the backup is in the restored store.
    let checked = assert_acknowledged_in(&restored, &before, "from the backup");
    fieldvoice_tests::report("backup_acked_changes_checked", checked as u64);
    // verify: the restored store equals its backup, and tells a different one apart.
    let out = admin(&restored, &["verify", "--other", backup.to_str().unwrap()]);
    assert!(out.contains("verify: identical"), "{out}");
    let empty = dir.path().join("empty.sqlite3");
    drop(SqliteStore::open(&empty).unwrap());
    let (ok, msg) = admin_any(&restored, &["verify", "--other", empty.to_str().unwrap()]);
    assert!(
        !ok && msg.contains("DIFFERENT") && msg.contains("the stores differ"),
        "{msg}"
    );
}

#[test]
fn a_server_refuses_a_store_with_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let version = SqliteStore::open(&db).unwrap().schema_version().unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute(
        "INSERT INTO schema_migrations(version, applied_at) VALUES (?1, 0)",
        [version + 1],
    )
    .unwrap();
    drop(c);
    let err = SqliteStore::open(&db).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "schema version {} is newer than this server knows ({version})",
            version + 1
        )),
        "{err}"
    );
    // The binary says so and stops, without touching the store.
    let out = Command::new(server_binary())
        .arg("--database")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("newer than this server knows"), "{stderr}");
    let c = rusqlite::Connection::open(&db).unwrap();
    let max: i64 = c
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(max, version + 1);
}

#[test]
fn postgres_refuses_a_newer_schema_too() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = fieldvoice_tests::pg::TestDb::create();
    let store = central_store::PgStore::connect(&db.url).unwrap();
    drop(store);
    pg_sql(
        &db.url,
        "INSERT INTO schema_migrations(version, applied_at)
           SELECT MAX(version) + 1, 0 FROM schema_migrations",
    );
    let err = central_store::PgStore::connect(&db.url)
        .unwrap_err()
        .to_string();
    assert!(err.contains("newer than this server knows"), "{err}");
}

/// When a sync started, and its error if it failed.
type Attempt = (std::time::Instant, Option<String>);

/// SIGTERM in the middle of a sync burst: `/readyz` turns 503 at once while
/// `/healthz` stays 200; the server keeps serving through the drain delay,
/// then exits 0. No sync a device started before the signal fails (no reset
/// connection, no error), and every acknowledged change is in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_burst_drains_without_losing_or_cutting_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let (mut server, devices) = fleet(
        dir.path(),
        &db,
        "d",
        &[
            ("FIELDVOICE_DRAIN_DELAY_SECS", "2"),
            ("FIELDVOICE_DRAIN_TIMEOUT_SECS", "10"),
        ],
    )
    .await;
    let url = server.url.clone();
    // Each device syncs in small batches over and over, recording when each
    // attempt started and how it ended.
    let devices = Arc::new(devices);
    let stop = Arc::new(AtomicBool::new(false));
    let attempts: Arc<std::sync::Mutex<Vec<Attempt>>> = Arc::default();
    let tasks: Vec<_> = (0..devices.len())
        .map(|i| {
            let (devices, stop, attempts) = (devices.clone(), stop.clone(), attempts.clone());
            tokio::spawn(async move {
                let d = &devices[i];
                let opts = sync_client::SyncOptions {
                    batch_docs: 2,
                    attempts: 1,
                    max_rounds: 2,
                    ..Default::default()
                };
                while !stop.load(Ordering::Relaxed) {
                    let started = std::time::Instant::now();
                    let r = sync_client::sync(&d.http, d.store.clone(), &opts).await;
                    let failed = r.as_ref().err().map(ToString::to_string);
                    attempts.lock().unwrap().push((started, failed.clone()));
                    if failed.is_some() {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect();
    loop {
        let acked: usize = devices.iter().map(|d| d.acknowledged().len()).sum();
        if acked >= 8 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let signal_at = std::time::Instant::now();
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Draining: not ready, still alive and serving.
    let http = reqwest::Client::new();
    let mut saw_draining = false;
    for _ in 0..40 {
        let r = http.get(format!("{url}/readyz")).send().await.unwrap();
        if r.status() == 503 {
            assert_eq!(
                r.json::<serde_json::Value>().await.unwrap()["status"],
                "draining"
            );
            saw_draining = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(saw_draining, "/readyz turns 503 on SIGTERM");
    assert_eq!(
        http.get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "server did not stop");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let attempts = attempts.lock().unwrap().clone();
    let before: Vec<_> = attempts.iter().filter(|(t, _)| *t < signal_at).collect();
    let failed: Vec<_> = before.iter().filter_map(|(_, e)| e.clone()).collect();
    assert!(!before.is_empty());
    assert!(
        failed.is_empty(),
        "syncs started before SIGTERM failed: {failed:?}"
    );
    let during = attempts
        .iter()
        .filter(|(t, e)| {
            *t >= signal_at && *t < signal_at + std::time::Duration::from_secs(1) && e.is_none()
        })
        .count();
    eprintln!(
        "{} syncs before the signal, all fine; {during} served in the drain's first second",
        before.len()
    );
    // Every acknowledged change is in the store.
    let acked: Vec<_> = devices.iter().flat_map(Device::acknowledged).collect();
    let checked = assert_acknowledged_in(&db, &acked, "in the drain");
    fieldvoice_tests::report("drain_acked_changes_checked", checked as u64);
}

/// What the first release's phones sent (`tests/fixtures/v1`, recorded by
/// `record-fixtures`) still works on this server: the store of that release
/// opens (migrated forward when the schema moved on), the enrollment is
/// answered with the fields that app reads, and the recorded sync is applied
/// and answered in the protocol version it speaks, twice (a retry is safe).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_v1_exchanges_still_work() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/v1");
    let read = |f: &str| {
        std::fs::read_to_string(fixtures.join(f))
            .unwrap()
            .trim()
            .to_owned()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    std::fs::copy(fixtures.join("server.sqlite3"), &db).unwrap();
    let server = ServerProcess::start(&db, &dir.path().join("server.log"));
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/enroll", server.url))
        .header("content-type", "application/json")
        .body(read("enroll-request.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    for k in [
        "device_id",
        "device_token",
        "user_id",
        "user_name",
        "country",
        "campaign",
        "forms",
    ] {
        assert!(v.get(k).is_some(), "the v1 app reads {k}: {v}");
    }
    let e: survey_protocol::EnrollResponse = serde_json::from_value(v).unwrap();
    assert!(!e.forms.is_empty() && e.country == "CI");
    let body = std::fs::read(fixtures.join("sync-request.bin")).unwrap();
    for attempt in 0..2 {
        let r = fieldvoice_tests::server::post_sync(
            &server.url,
            &read("device-token.txt"),
            body.clone(),
        )
        .await;
        assert_eq!(r.status(), 200, "attempt {attempt}");
        let bytes = r.bytes().await.unwrap();
        assert_eq!(
            bytes[4],
            survey_protocol::PROTOCOL_VERSION,
            "answered in protocol 1"
        );
        let resp: survey_protocol::SyncResponse = survey_protocol::decode(&bytes, 1 << 24).unwrap();
        assert_eq!(resp.results.len(), 2);
        for d in &resp.results {
            assert!(
                !matches!(d.status, survey_protocol::DocStatus::Rejected { .. }),
                "attempt {attempt}: {:?}",
                d.status
            );
        }
    }
    // A newer app (protocol 2) against this server: a clear refusal, nothing stored.
    let mut newer = body.clone();
    newer[4] = survey_protocol::PROTOCOL_VERSION + 1;
    let r =
        fieldvoice_tests::server::post_sync(&server.url, &read("device-token.txt"), newer).await;
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    let msg = e["error"].as_str().unwrap();
    assert!(
        msg.contains("unsupported protocol version 2: this server speaks sync protocol 1")
            && msg.contains("upgrade the server"),
        "{msg}"
    );
    let r = http
        .get(format!("{}/api/v1/interviews?limit=10", server.url))
        .bearer_auth(read("admin-token.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["total"], 3, "two recorded interviews and the pushed one");
    let years: Vec<&serde_json::Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["answers"]["customer_since_years"])
        .collect();
    assert!(
        years.contains(&&serde_json::json!(11)),
        "the recorded edit is in: {years:?}"
    );
}

/// A store left at any earlier schema (built from that release's migration
/// files, applied in order as that server did) opens on this server and is
/// migrated forward to the latest schema, on SQLite; and it then works.
#[test]
fn stores_of_every_earlier_schema_migrate_forward() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/central-store/src/sqlite/migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let tmp = tempfile::tempdir().unwrap();
    let latest = SqliteStore::open(&tmp.path().join("latest.sqlite3"))
        .unwrap()
        .schema_version()
        .unwrap();
    assert_eq!(latest as usize, files.len(), "one file per schema version");
    for k in 1..files.len() {
        let db = tmp.path().join(format!("schema-{k}.sqlite3"));
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .unwrap();
        for (i, f) in files.iter().take(k).enumerate() {
            c.execute_batch(&std::fs::read_to_string(f).unwrap())
                .unwrap();
            c.execute(
                "INSERT INTO schema_migrations(version, applied_at) VALUES (?1, 0)",
                [i as i64 + 1],
            )
            .unwrap();
        }
        drop(c);
        let store = SqliteStore::open(&db).unwrap_or_else(|e| panic!("schema {k}: {e}"));
        assert_eq!(
            store.schema_version().unwrap(),
            latest,
            "schema {k} migrated"
        );
        store
            .create_user(
                &central_store::NewUser {
                    login: format!("after.{k}"),
                    name: "After".into(),
                    role: central_store::Role::Coordinator,
                    countries: vec!["CI".into()],
                    password_hash: None,
                },
                0,
            )
            .unwrap();
        assert_eq!(store.list_users(None).unwrap().len(), 1);
    }
}

/// Schema 16 moved the change log from one row per change to one row per
/// document write. A store written by an earlier release (the recorded v1
/// store, one of its changes erased at the top of the log as an erasure
/// would) keeps every change under its seq and hash, hands the same bytes out
/// in the feed and in the document's log, and never reuses a seq it handed
/// out before (a device cursor beyond the deleted row stays valid).
#[test]
fn the_change_log_migration_keeps_seqs_hashes_and_bytes() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/v1");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    std::fs::copy(fixtures.join("server.sqlite3"), &db).unwrap();
    type Row = (i64, String, String, Vec<u8>, Vec<u8>);
    let (old, top): (Vec<Row>, i64) = {
        let c = rusqlite::Connection::open(&db).unwrap();
        let top: i64 = c
            .query_row("SELECT MAX(seq) FROM changes", [], |r| r.get(0))
            .unwrap();
        c.execute("DELETE FROM changes WHERE seq = ?1", [top])
            .unwrap();
        let mut st = c
            .prepare("SELECT seq, doc_id, owner, hash, bytes FROM changes ORDER BY seq")
            .unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<Vec<Row>, _>>()
            .unwrap();
        (rows, top)
    };
    assert!(old.len() >= 3, "the fixture holds a history: {}", old.len());
    let store = SqliteStore::open(&db).unwrap();
    let st = store.stats().unwrap();
    assert_eq!(st.changes as usize, old.len());
    assert_eq!(st.max_seq as i64, old.last().unwrap().0);
    let mut docs: Vec<&str> = old.iter().map(|r| r.1.as_str()).collect();
    docs.dedup();
    for doc in docs {
        let id: uuid::Uuid = doc.parse().unwrap();
        let want: Vec<&Row> = old.iter().filter(|r| r.1 == doc).collect();
        let log = store.change_log(id).unwrap();
        let got: Vec<(u64, String)> = log.iter().map(|m| (m.seq, m.hash.clone())).collect();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let expect: Vec<(u64, String)> = want.iter().map(|r| (r.0 as u64, hex(&r.3))).collect();
        assert_eq!(got, expect, "document {doc}");
        let bytes: Vec<Vec<u8>> = want.iter().map(|r| r.4.clone()).collect();
        assert_eq!(store.doc_changes(id).unwrap(), bytes);
    }
    let owner = old[0].2.clone();
    let feed = store.feed(&owner, "", 0, 10_000, usize::MAX).unwrap();
    let want: Vec<(u64, Vec<u8>)> = old
        .iter()
        .filter(|r| r.2 == owner)
        .map(|r| (r.0 as u64, r.4.clone()))
        .collect();
    let got: Vec<(u64, Vec<u8>)> = feed
        .items
        .iter()
        .map(|i| (i.seq, i.bytes.clone()))
        .collect();
    assert_eq!(got, want);
    drop(store);
    let c = rusqlite::Connection::open(&db).unwrap();
    let next: i64 = c
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'change_batches'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(next, top, "the erased top seq is never handed out again");
}

/// The field-day Grafana dashboard shipped in `sync-server/deploy/` reads
/// metrics the server exports: after a sync, every series it names is in
/// `/metrics`; `/readyz` answers 200 on a serving replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_reads_metrics_the_server_exports() {
    let srv = fieldvoice_tests::server::TestServer::start().await;
    let (_, code) = srv.user_with_code("emp.g", central_store::Role::Employee, "CI");
    let device = srv.device("g", &code).await;
    device.submit(&complete_answers(8));
    device.sync().await.unwrap();
    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{}/readyz", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = http
        .get(format!("{}/metrics", srv.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dash = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync-server/deploy/grafana-dashboard.json"),
    )
    .unwrap();
    let dash: serde_json::Value = serde_json::from_str(&dash).unwrap();
    let re = regex::Regex::new(r"fieldvoice_[a-z_]+").unwrap();
    let mut names = std::collections::BTreeSet::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            for m in re.find_iter(t["expr"].as_str().unwrap()) {
                names.insert(m.as_str().to_owned());
            }
        }
    }
    assert!(names.len() >= 7, "{names:?}");
    for n in &names {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(&format!("{n}{{")) || l.starts_with(&format!("{n} "))),
            "the dashboard reads {n}, which /metrics does not have"
        );
    }
}

/// The first column of every row `sql` returns on the database at `url`.
fn pg_sql(url: &str, sql: &str) -> Vec<String> {
    fieldvoice_tests::pg::sql_rows(url, sql)
        .into_iter()
        .filter_map(|r| r.into_iter().next())
        .collect()
}

/// A rolling upgrade on PostgreSQL, the next release simulated by its
/// migration: while a replica of this release serves, the next release's
/// (additive) migration lands on the shared database; the running replica
/// keeps taking syncs on the newer schema, and a replica of this release
/// started after it is refused with a clear message instead of running old
/// code against tables it does not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_on_postgres_keeps_the_old_replica_serving() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = fieldvoice_tests::pg::TestDb::create();
    let url = Path::new(&db.url);
    let dir = tempfile::tempdir().unwrap();
    let out = admin(
        url,
        &[
            "create-user",
            "--login",
            "emp.r",
            "--name",
            "R",
            "--country",
            "CI",
        ],
    );
    let code = fieldvoice_tests::server::enrollment_code(&out);
    let old = ServerProcess::start(url, &dir.path().join("old.log"));
    let device = Device::enroll(&dir.path().join("r.sqlite3"), &old.url, &code).await;
    device.submit(&complete_answers(3));
    device.sync().await.unwrap();
    // The next release migrates the shared database (expand: new column, new table).
    pg_sql(
        &db.url,
        "ALTER TABLE interviews ADD COLUMN next_release_note TEXT;
         CREATE TABLE next_release_things (id TEXT PRIMARY KEY);
         INSERT INTO schema_migrations(version, applied_at)
           SELECT MAX(version) + 1, 0 FROM schema_migrations;",
    );
    // The old replica goes on serving on the newer schema.
    device.submit(&complete_answers(9));
    let report = device.sync().await.unwrap();
    assert!(
        report.docs_acknowledged >= 1 && report.docs_rejected.is_empty(),
        "{report:?}"
    );
    let out = Command::new(server_binary())
        .arg("--database")
        .arg(&db.url)
        .args(["admin", "stats"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an old build does not start on the newer schema"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer than this server knows"), "{err}");
    // Read through the raw database: the old code may not open it any more.
    let store_count = pg_sql(&db.url, "SELECT COUNT(*) FROM interviews");
    assert_eq!(
        store_count,
        ["2"],
        "both interviews stored, before and after the migration"
    );
    drop(old);
}
