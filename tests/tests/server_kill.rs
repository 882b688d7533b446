//! The real server binary is SIGKILLed in the middle of a sync burst. Every
//! change it acknowledged must survive the restart, and the devices must then
//! resync to an identical state without duplicates.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use central_store::{CentralStore, SqliteStore};
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::server::{Device, ServerProcess, admin, assert_acknowledged_in, burst};
use serde_json::json;

const DEVICES: usize = 6;
const PER_DEVICE: usize = 15;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let mut codes = Vec::new();
    for i in 0..DEVICES {
        let out = admin(
            &db,
            &[
                "create-user",
                "--login",
                &format!("emp.k{i}"),
                "--name",
                "K",
                "--country",
                "CI",
            ],
        );
        let code = fieldvoice_tests::server::enrollment_code(&out);
        codes.push(code);
    }
    let server = ServerProcess::start(&db, &dir.path().join("server1.log"));
    let mut devices = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        devices.push(
            Device::enroll(
                &dir.path().join(format!("dev{i}.sqlite3")),
                &server.url,
                code,
            )
            .await,
        );
    }
    let mut total_changes = 0usize;
    for d in &devices {
        let mut s = d.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        for n in 0..PER_DEVICE {
            let mut iv = s.create_interview(&form).unwrap();
            for (k, v) in complete_answers(n as i64 % 11) {
                iv.set_answer_json(&form, k, &v).unwrap();
            }
            iv.set_answer_json(&form, "customer_since_years", &json!(n))
                .unwrap();
            s.save(&mut iv, Some(&form)).unwrap();
            total_changes += iv.changes_since(&[]).len();
        }
    }

    // Burst: every device syncs in small batches until the server dies.
    let devices = Arc::new(devices);
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = burst(&devices, 3, &stop);
    // Kill as soon as some acknowledgements exist, while syncs are in flight.
    loop {
        let acked: usize = devices.iter().map(|d| d.acknowledged().len()).sum();
        if acked >= 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let acked: Vec<_> = devices.iter().flat_map(Device::acknowledged).collect();
    let all = DEVICES * PER_DEVICE;
    assert!(
        !acked.is_empty() && acked.len() < all,
        "killed mid-burst: {} of {all} acknowledged",
        acked.len()
    );

    // Every acknowledged head is in the store after the crash.
    let checked = assert_acknowledged_in(&db, &acked, "in the crash");
    fieldvoice_tests::report("faults_injected", 1);
    fieldvoice_tests::report("acked_changes_checked", checked as u64);

    // Restart; devices resync to completion.
    let server = ServerProcess::start(&db, &dir.path().join("server2.log"));
    for d in devices.iter() {
        let mut e = d.lock().enrollment().unwrap().unwrap();
        e.server_url = server.url.clone();
        d.lock().set_enrollment(&e).unwrap();
        d.sync().await.unwrap();
        assert!(d.lock().pending(1000).unwrap().is_empty());
    }
    let store = SqliteStore::open(&db).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(
        stats.documents as usize, all,
        "every interview on the server"
    );
    assert_eq!(
        stats.changes as usize, total_changes,
        "every change exactly once"
    );
    for d in devices.iter() {
        let s = d.lock();
        for summary in s.list(&Default::default()).unwrap() {
            let mut local = s.load(summary.id).unwrap();
            let mut server_heads = store.doc_heads(summary.id).unwrap();
            let mut local_heads: Vec<[u8; 32]> = local.heads().iter().map(|h| h.0).collect();
            server_heads.sort();
            local_heads.sort();
            assert_eq!(server_heads, local_heads);
        }
    }
    server.kill();
}

#[test]
fn sigterm_shuts_the_server_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("s.sqlite3"), &dir.path().join("s.log"));
    let mut server = server;
    let pid = server.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    let log = std::fs::read_to_string(dir.path().join("s.log")).unwrap();
    assert!(log.contains("shutdown requested"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_with_environment_overrides() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.sqlite3");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("fieldvoice.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:{port}\"\ncampaign = \"from-file\"\ndatabase = \"{}\"\n",
            db.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(fieldvoice_tests::server::server_binary())
        .arg("--config")
        .arg(&cfg)
        .args([
            "admin",
            "create-user",
            "--login",
            "cfg.emp",
            "--name",
            "C",
            "--country",
            "GA",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = fieldvoice_tests::server::enrollment_code(&String::from_utf8_lossy(&out.stdout));
    let mut child = std::process::Command::new(fieldvoice_tests::server::server_binary())
        .arg("--config")
        .arg(&cfg)
        .arg("serve")
        .env("FIELDVOICE_CAMPAIGN", "from-env")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let line = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        line,
        format!("listening on http://127.0.0.1:{port}"),
        "listen comes from the file"
    );
    let dev = Device::enroll(
        &dir.path().join("d.sqlite3"),
        &format!("http://127.0.0.1:{port}"),
        &code,
    )
    .await;
    let e = dev.lock().enrollment().unwrap().unwrap();
    assert_eq!(e.campaign, "from-env", "the environment overrides the file");
    assert_eq!(e.country, "GA");
    let _ = child.kill();
    let _ = child.wait();
    // A config file with an unknown key is refused with a clear message.
    std::fs::write(&cfg, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let out = std::process::Command::new(fieldvoice_tests::server::server_binary())
        .arg("--config")
        .arg(&cfg)
        .args(["admin", "stats"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lisen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
