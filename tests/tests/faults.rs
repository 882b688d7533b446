//! Fault injection over real processes on loopback: connections cut in the
//! middle of a sync body (request or response) by a TCP proxy, a server whose
//! database fills its (tmpfs) disk, a corrupted page in a device store, and
//! repeated SIGKILLs of the server during a burst. Afterwards every change the
//! server acknowledged is present, the server restarts cleanly, and devices
//! resync without duplicates (stored changes == unique change hashes).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use automerge::AutoCommit;
use central_store::{CentralStore, SqliteStore};
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::server::{Acked, Device, ServerProcess, admin, burst};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Employees created through the admin CLI; returns their enrollment codes.
fn employees(db: &Path, prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let out = admin(
                db,
                &[
                    "create-user",
                    "--login",
                    &format!("{prefix}.{i}"),
                    "--name",
                    "F",
                    "--country",
                    "CI",
                ],
            );
            fieldvoice_tests::server::enrollment_code(&out)
        })
        .collect()
}

/// `n` completed interviews on the device; returns their change count.
fn fill(d: &Device, n: usize, salt: usize) -> usize {
    let mut s = d.lock();
    let form = s.form("mcmb-interview", None).unwrap();
    let mut changes = 0;
    for i in 0..n {
        let mut iv = s.create_interview(&form).unwrap();
        for (k, v) in complete_answers((i % 11) as i64) {
            iv.set_answer_json(&form, k, &v).unwrap();
        }
        iv.set_answer_json(&form, "customer_since_years", &json!((salt + i) % 60))
            .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        changes += iv.changes_since(&[]).len();
    }
    changes
}

/// Check every acknowledged head is in the store at `db`; reports the counts
/// and returns how many were lost.
fn check_acked(db: &Path, acked: &Acked) -> u64 {
    let store = SqliteStore::open(db).unwrap();
    let mut lost = 0u64;
    let mut checked = 0u64;
    for (id, heads) in acked {
        let doc = store.load_doc(*id).unwrap();
        let mut am = doc.map(|d| AutoCommit::load(&d.snapshot).unwrap());
        for h in heads {
            checked += 1;
            if am.as_mut().and_then(|a| a.get_change_by_hash(h)).is_none() {
                eprintln!("acknowledged change {h} of {id} lost");
                lost += 1;
            }
        }
    }
    fieldvoice_tests::report("acked_changes_checked", checked);
    fieldvoice_tests::report("losses", lost);
    lost
}

fn point_at(d: &Device, url: &str) {
    let s = d.lock();
    let mut e = s.enrollment().unwrap().unwrap();
    e.server_url = url.to_owned();
    s.set_enrollment(&e).unwrap();
}

/// Sync until nothing is pending (a few runs at most).
async fn sync_all(d: &Device) {
    for _ in 0..5 {
        if d.sync().await.is_ok() && d.lock().pending(10_000).unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("device did not finish syncing");
}

/// The store holds exactly the devices' interviews, each change once, with the
/// devices' heads.
fn assert_exactly_once(db: &Path, devices: &[&Device], docs: usize, changes: usize) {
    let store = SqliteStore::open(db).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(
        stats.documents as usize, docs,
        "every interview on the server"
    );
    assert_eq!(
        stats.changes as usize, changes,
        "every change stored exactly once"
    );
    for d in devices {
        let s = d.lock();
        for summary in s.list(&Default::default()).unwrap() {
            let mut local = s.load(summary.id).unwrap();
            let mut mine: Vec<[u8; 32]> = local.heads().iter().map(|h| h.0).collect();
            let mut theirs = store.doc_heads(summary.id).unwrap();
            mine.sort();
            theirs.sort();
            assert_eq!(mine, theirs, "device and server agree on {}", summary.id);
        }
    }
}

// ---------------------------------------------------------------------------
// (a) connections cut mid-body

/// Which direction the next proxied connections cut.
#[derive(Clone, Copy)]
enum Cut {
    Request,
    Response,
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

/// Forward `from` to `to` until the message head and half its body went
/// through, then stop (the caller drops both sockets).
async fn forward_half(from: &mut TcpStream, to: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = from.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, len)) = head_and_len(&buf)
            && buf.len() >= head + len / 2
        {
            let _ = to.write_all(&buf[..head + len / 2]).await;
            let _ = to.flush().await;
            return;
        }
    }
}

/// A loopback proxy: while `cuts` > 0, each new connection forwards only half
/// of a sync body (request or response, alternating) and then closes both
/// sides; otherwise it relays faithfully.
async fn proxy(upstream: String, cuts: Arc<AtomicU32>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        let mut n = 0u32;
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let cut = cuts
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                .is_ok();
            n += 1;
            let mode = if n.is_multiple_of(2) {
                Cut::Request
            } else {
                Cut::Response
            };
            tokio::spawn(async move {
                if !cut {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                match mode {
                    Cut::Request => forward_half(&mut client, &mut server).await,
                    Cut::Response => {
                        // The whole request goes through (the server commits),
                        // half of the response comes back.
                        let (mut cr, mut cw) = client.split();
                        let (mut sr, mut sw) = server.split();
                        let up = tokio::io::copy(&mut cr, &mut sw);
                        let down = async {
                            let mut buf = Vec::new();
                            let mut chunk = [0u8; 8192];
                            loop {
                                let n = sr.read(&mut chunk).await.unwrap_or(0);
                                if n == 0 {
                                    return;
                                }
                                buf.extend_from_slice(&chunk[..n]);
                                if let Some((head, len)) = head_and_len(&buf)
                                    && buf.len() >= head + len / 2
                                {
                                    let _ = cw.write_all(&buf[..head + len / 2]).await;
                                    return;
                                }
                            }
                        };
                        tokio::select! {
                            _ = up => {}
                            () = down => {}
                        }
                    }
                }
                // Both sockets drop here: the connection is cut.
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_mid_body_then_resync_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let codes = employees(&db, "cut", 3);
    let server = ServerProcess::start(&db, &dir.path().join("server.log"));
    let cuts = Arc::new(AtomicU32::new(0));
    let via = proxy(server.url.clone(), cuts.clone()).await;
    let mut devices = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        devices.push(Device::enroll(&dir.path().join(format!("d{i}.sqlite3")), &via, code).await);
    }
    let one_try = sync_client::SyncOptions {
        attempts: 1,
        batch_docs: 4,
        max_rounds: 2,
        ..Default::default()
    };
    let mut changes = 0;
    let mut injected = 0u64;
    for round in 0..4 {
        for d in &devices {
            changes += fill(d, 3, round * 10);
            // A fresh connection per attempt, cut half-way through a body.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap();
            cuts.store(1, Ordering::SeqCst);
            let r = sync_client::sync(&http, d.store.clone(), &one_try).await;
            assert!(r.is_err(), "a cut connection fails the sync");
            assert_eq!(cuts.load(Ordering::SeqCst), 0, "the cut happened");
            injected += 1;
        }
    }
    fieldvoice_tests::report("faults_injected", injected);
    // Retry later over a healthy path: everything is acknowledged exactly once.
    let mut acked = Vec::new();
    for d in &devices {
        sync_all(d).await;
        acked.extend(d.acknowledged());
    }
    assert_eq!(acked.len(), 4 * 3 * devices.len());
    assert_eq!(check_acked(&db, &acked), 0);
    assert_exactly_once(
        &db,
        &devices.iter().collect::<Vec<_>>(),
        acked.len(),
        changes,
    );
    server.kill();
}

// ---------------------------------------------------------------------------
// (b) disk full

fn run(cmd: &str, args: &[&str]) -> bool {
    std::process::Command::new(cmd)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_answers_errors_keeps_acked_and_resyncs_after_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let d = disk.to_str().unwrap();
    // A small size-limited file system (tmpfs needs root; CI runs as root).
    if !run("mount", &["-t", "tmpfs", "-o", "size=1m", "tmpfs", d]) {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?)");
        return;
    }
    let _mount = Mount(disk.clone());
    let db = disk.join("server.sqlite3");
    let codes = employees(&db, "full", 2);
    let server = ServerProcess::start(&db, &dir.path().join("server.log"));
    let mut devices = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        devices.push(
            Device::enroll(&dir.path().join(format!("d{i}.sqlite3")), &server.url, code).await,
        );
    }
    let http = reqwest::Client::new();
    let opts = sync_client::SyncOptions {
        attempts: 1,
        batch_docs: 10,
        max_rounds: 50,
        ..Default::default()
    };
    // Sync until the disk is full and a write fails.
    let mut changes = 0;
    let mut failed = None;
    'fill: for round in 0..60 {
        for dev in &devices {
            changes += fill(dev, 10, round * 10);
            if let Err(e) = sync_client::sync(&http, dev.store.clone(), &opts).await {
                failed = Some(e.to_string());
                break 'fill;
            }
        }
    }
    let failed = failed.expect("the disk never filled up");
    eprintln!("sync on a full disk: {failed}");
    assert!(
        failed.contains("500") || failed.contains("503") || failed.contains("507"),
        "a full disk is a server error (5xx): {failed}"
    );
    fieldvoice_tests::report("faults_injected", 1);
    // The server is still up and answers.
    let mut server = server;
    assert!(server.child.try_wait().unwrap().is_none(), "server alive");
    let h = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert!(h.status().is_success() || h.status().is_server_error());
    server.kill();
    // Everything acknowledged before is still there after restart.
    let acked: Acked = devices.iter().flat_map(Device::acknowledged).collect();
    assert!(
        !acked.is_empty(),
        "some syncs succeeded before the disk filled"
    );
    // Free space: grow the file system, restart, resync.
    assert!(run("mount", &["-o", "remount,size=64m", d]));
    assert_eq!(check_acked(&db, &acked), 0);
    let server = ServerProcess::start(&db, &dir.path().join("server2.log"));
    let mut docs = 0;
    for dev in &devices {
        point_at(dev, &server.url);
        sync_all(dev).await;
        docs += dev.lock().list(&Default::default()).unwrap().len();
    }
    assert_exactly_once(&db, &devices.iter().collect::<Vec<_>>(), docs, changes);
    server.kill();
}

// ---------------------------------------------------------------------------
// (c) a corrupted device store page

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_device_page_errors_and_a_fresh_device_recovers_from_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let codes = employees(&db, "corrupt", 1);
    let server = ServerProcess::start(&db, &dir.path().join("server.log"));
    let path = dir.path().join("phone.sqlite3");
    let dev = Device::enroll(&path, &server.url, &codes[0]).await;
    let user_id = dev.lock().enrollment().unwrap().unwrap().user_id;
    fill(&dev, 12, 0);
    sync_all(&dev).await;
    let acked = dev.acknowledged();
    assert_eq!(acked.len(), 12);
    drop(dev);

    // Overwrite the middle of the docs table's root page and a chunks page.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let page: u64 = c
            .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
            .unwrap() as u64;
        let roots: Vec<u64> = ["docs", "chunks"]
            .iter()
            .map(|t| {
                c.query_row(
                    "SELECT rootpage FROM sqlite_master WHERE name = ?1",
                    [t],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap() as u64
            })
            .collect();
        drop(c);
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for root in roots {
            f.seek(SeekFrom::Start((root - 1) * page + 8)).unwrap();
            f.write_all(&vec![0xA5; (page / 2) as usize]).unwrap();
        }
        f.sync_all().unwrap();
    }
    fieldvoice_tests::report("faults_injected", 1);

    // Opening and reading give errors, never panics.
    let outcome = std::panic::catch_unwind(|| {
        let s = device_store::DeviceStore::open(&path)?;
        let list = s.list(&Default::default())?;
        for summary in &list {
            s.load(summary.id)?;
        }
        for (id, _) in &acked {
            s.load(*id)?;
        }
        Ok::<usize, device_store::StoreError>(list.len())
    });
    let err = match outcome {
        Err(_) => panic!("the device store panicked on a corrupt page"),
        Ok(Ok(n)) => panic!("a corrupt page went unnoticed ({n} interviews listed)"),
        Ok(Err(e)) => e,
    };
    eprintln!("corrupt device store: {err}");

    // A fresh store enrolled for the same employee gets everything back.
    let code = sync_server::auth::new_enrollment_code();
    SqliteStore::open(&db)
        .unwrap()
        .add_enrollment_code(
            &user_id,
            &sync_server::auth::hash_secret(&code),
            central_store::unix_now() + 3600,
        )
        .unwrap();
    let fresh = Device::enroll(&dir.path().join("new-phone.sqlite3"), &server.url, &code).await;
    assert_eq!(
        fresh.lock().cursor().unwrap(),
        0,
        "a fresh store reads the feed from 0"
    );
    sync_all(&fresh).await;
    let store = SqliteStore::open(&db).unwrap();
    let s = fresh.lock();
    let mut recovered = 0u64;
    for (id, heads) in &acked {
        let mut iv = s.load(*id).unwrap();
        for h in heads {
            assert!(
                iv.has_all(&[*h]),
                "acknowledged change {h} of {id} recovered"
            );
        }
        let mut mine: Vec<[u8; 32]> = iv.heads().iter().map(|h| h.0).collect();
        let mut theirs = store.doc_heads(*id).unwrap();
        mine.sort();
        theirs.sort();
        assert_eq!(mine, theirs);
        recovered += heads.len() as u64;
    }
    fieldvoice_tests::report("acked_changes_checked", recovered);
    fieldvoice_tests::report("losses", 0);
    drop(s);
    server.kill();
}

// ---------------------------------------------------------------------------
// (d) SIGKILL during a burst, several times in a row

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_sigkill_during_bursts_loses_nothing() {
    const DEVICES: usize = 4;
    const KILLS: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let codes = employees(&db, "kill", DEVICES);
    let server = ServerProcess::start(&db, &dir.path().join("s0.log"));
    let mut devices = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        devices.push(
            Device::enroll(&dir.path().join(format!("d{i}.sqlite3")), &server.url, code).await,
        );
    }
    let devices = Arc::new(devices);
    let mut server = Some(server);
    let mut changes = 0;
    for kill in 0..KILLS {
        let srv = server.take().unwrap();
        for d in devices.iter() {
            point_at(d, &srv.url);
            changes += fill(d, 8, kill * 100);
        }
        let before: usize = devices.iter().map(|d| d.acknowledged().len()).sum();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = burst(&devices, 2, &stop);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let acked: usize = devices.iter().map(|d| d.acknowledged().len()).sum();
            if acked >= before + 4 || std::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        srv.kill();
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        fieldvoice_tests::report("faults_injected", 1);
        let acked: Acked = devices.iter().flat_map(Device::acknowledged).collect();
        assert!(
            acked.len() > before,
            "kill {kill}: new acknowledgements before the kill"
        );
        assert_eq!(
            check_acked(&db, &acked),
            0,
            "kill {kill}: acknowledged changes lost"
        );
        server = Some(ServerProcess::start(
            &db,
            &dir.path().join(format!("s{}.log", kill + 1)),
        ));
    }
    let srv = server.take().unwrap();
    let mut docs = 0;
    for d in devices.iter() {
        point_at(d, &srv.url);
        sync_all(d).await;
        docs += d.lock().list(&Default::default()).unwrap().len();
    }
    assert_eq!(docs, DEVICES * 8 * KILLS);
    assert_exactly_once(&db, &devices.iter().collect::<Vec<_>>(), docs, changes);
    srv.kill();
}

// ---------------------------------------------------------------------------
// A slow client that trickles its body gets 408 within the request timeout.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_gets_408_within_the_request_timeout() {
    let timeout = Duration::from_secs(1);
    let server = fieldvoice_tests::server::TestServer::start_with(sync_server::Settings {
        request_timeout: timeout,
        ..Default::default()
    })
    .await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let body = br#"{"code": "ABCDE-FGHJK", "device_label": "slow phone"}"#;
    let head = format!(
        "POST /api/v1/enroll HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    // One byte every 200 ms: the whole body would take about 11 s.
    let (mut r, mut w) = s.into_split();
    let trickle = tokio::spawn(async move {
        for b in body.iter() {
            if w.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut resp = Vec::new();
    let mut chunk = [0u8; 1024];
    while !resp.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), r.read(&mut chunk))
            .await
            .expect("an answer before the body is complete")
            .unwrap();
        assert!(n > 0, "connection closed without an answer");
        resp.extend_from_slice(&chunk[..n]);
    }
    let elapsed = started.elapsed();
    trickle.abort();
    let status = String::from_utf8_lossy(&resp);
    assert!(
        status.starts_with("HTTP/1.1 408"),
        "slow body answered: {status}"
    );
    assert!(
        elapsed < timeout + Duration::from_secs(2),
        "408 within the timeout: {elapsed:?}"
    );
    fieldvoice_tests::report("faults_injected", 1);
}
