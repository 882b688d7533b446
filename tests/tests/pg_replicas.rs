//! Two real `fieldvoice-server` processes on one PostgreSQL database. Devices
//! alternate between the replicas for their syncs, concurrently and under
//! load, while a coordinator reviews and comments through both replicas. At
//! the end every device and the server agree (equal heads per document) and
//! every change is stored exactly once.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use central_store::{CentralStore, PgStore};
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::pg::{TestDb, admin, start_replica};
use fieldvoice_tests::server::Device;
use serde_json::json;
use uuid::Uuid;

const DEVICES: usize = 8;
const ROUNDS: usize = 6;

fn token_of(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("token "))
        .unwrap()
        .to_owned()
}

/// Point the device at another replica (what a load balancer does).
fn use_replica(d: &Device, url: &str) {
    let s = d.lock();
    let mut e = s.enrollment().unwrap().unwrap();
    e.server_url = url.to_owned();
    s.set_enrollment(&e).unwrap();
}

/// One round of field work on a device: two new interviews and an edit.
fn field_work(d: &Device, round: usize, n: usize) {
    let mut s = d.lock();
    let form = s.form("mcmb-interview", None).unwrap();
    for k in 0..2 {
        let mut iv = s.create_interview(&form).unwrap();
        for (q, v) in complete_answers(((round + k + n) % 11) as i64) {
            iv.set_answer_json(&form, q, &v).unwrap();
        }
        s.save(&mut iv, Some(&form)).unwrap();
    }
    let ids: Vec<Uuid> = s
        .list(&device_store::ListFilter::default())
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    let id = ids[(round * 7 + n) % ids.len()];
    let mut iv = s.load(id).unwrap();
    iv.set_answer_json(&form, "customer_since_years", &json!(round + n))
        .unwrap();
    s.save(&mut iv, Some(&form)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_one_database_devices_and_server_agree() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let (codes, coord_token) = tokio::task::spawn_blocking(move || {
        admin(&url, &["bootstrap"]);
        let codes: Vec<String> = (0..DEVICES)
            .map(|i| {
                fieldvoice_tests::server::enrollment_code(&admin(
                    &url,
                    &[
                        "create-user",
                        "--login",
                        &format!("emp.r{i}"),
                        "--name",
                        "R",
                        "--country",
                        "CI",
                    ],
                ))
            })
            .collect();
        let coord = token_of(&admin(
            &url,
            &[
                "create-user",
                "--login",
                "coord.ci",
                "--name",
                "C",
                "--role",
                "coordinator",
                "--country",
                "CI",
            ],
        ));
        (codes, coord)
    })
    .await
    .unwrap();
    let replicas = [
        start_replica(&db.url, &dir.path().join("replica0.log")),
        start_replica(&db.url, &dir.path().join("replica1.log")),
    ];
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();

    let mut devices = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let path = dir.path().join(format!("dev{i}.sqlite3"));
        devices.push(Device::enroll(&path, &urls[i % 2], code).await);
    }
    let devices = Arc::new(devices);

    // Coordinator: reviews and comments through both replicas while devices sync.
    let stop = Arc::new(AtomicBool::new(false));
    let coord = {
        let (urls, stop, token) = (urls.clone(), stop.clone(), coord_token.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut edits = 0usize;
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) || edits < 10 {
                let base = &urls[i % 2];
                i += 1;
                let page: serde_json::Value = http
                    .get(format!("{base}/api/v1/interviews?limit=50"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let items = page["items"].as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
                let id = items[i % items.len()]["interview_id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let (path, body) = if i.is_multiple_of(2) {
                    (
                        "review",
                        json!({ "state": if (i / 2).is_multiple_of(2) { "approved" } else { "has_issues" } }),
                    )
                } else {
                    ("comments", json!({"text": format!("note {i}")}))
                };
                let r = http
                    .post(format!(
                        "{}/api/v1/interviews/{id}/{path}",
                        urls[(i / 2) % 2]
                    ))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{path}: {}", r.status());
                edits += 1;
            }
            edits
        })
    };

    // Devices: field work and syncs, alternating replicas, all at once.
    let mut tasks = Vec::new();
    for i in 0..DEVICES {
        let (devices, urls) = (devices.clone(), urls.clone());
        tasks.push(tokio::spawn(async move {
            let d = &devices[i];
            for round in 0..ROUNDS {
                field_work(d, round, i);
                use_replica(d, &urls[(round + i) % 2]);
                d.sync().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let edits = coord.await.unwrap();
    assert!(edits >= 10);

    // Quiet period: each device syncs once more through each replica, so it
    // receives every coordinator edit.
    for round in 0..2 {
        for (i, d) in devices.iter().enumerate() {
            use_replica(d, &urls[(round + i) % 2]);
            let r = d.sync().await.unwrap();
            assert!(r.docs_rejected.is_empty());
        }
    }

    // Everyone agrees.
    let url = db.url.clone();
    let devices2 = devices.clone();
    tokio::task::spawn_blocking(move || {
        let store = PgStore::connect(&url).unwrap();
        let mut all_docs = 0usize;
        let mut all_hashes = HashSet::new();
        for d in devices2.iter() {
            let s = d.lock();
            assert!(s.pending(1000).unwrap().is_empty(), "nothing left to send");
            let summaries = s.list(&device_store::ListFilter::default()).unwrap();
            assert_eq!(summaries.len(), ROUNDS * 2);
            for x in summaries {
                let mut iv = s.load(x.id).unwrap();
                let mut local: Vec<[u8; 32]> = iv.heads().iter().map(|h| h.0).collect();
                let mut server = store.doc_heads(x.id).unwrap();
                local.sort();
                server.sort();
                assert_eq!(local, server, "device and server heads differ for {}", x.id);
                // Neither lost nor doubled: the server's log of the document
                // holds exactly the document's changes, each once.
                let log = store.change_log(x.id).unwrap();
                let changes = iv.changes_since(&[]);
                let want: HashSet<String> = changes.iter().map(|c| c.hash().to_string()).collect();
                let got: Vec<String> = log.iter().map(|m| m.hash.clone()).collect();
                assert_eq!(got.len(), want.len(), "log length for {}", x.id);
                assert_eq!(got.iter().cloned().collect::<HashSet<_>>(), want);
                all_hashes.extend(want);
                all_docs += 1;
            }
        }
        let stats = store.stats().unwrap();
        assert_eq!(stats.documents as usize, all_docs);
        assert_eq!(stats.changes as usize, all_hashes.len());
        // Coordinator edits came from both replicas' server actors.
        let mut sources: HashMap<bool, usize> = HashMap::new();
        for d in devices2.iter() {
            let s = d.lock();
            for x in s.list(&device_store::ListFilter::default()).unwrap() {
                for m in store.change_log(x.id).unwrap() {
                    *sources.entry(m.source.starts_with("server:")).or_default() += 1;
                }
            }
        }
        assert!(sources.get(&true).copied().unwrap_or(0) >= 10);
    })
    .await
    .unwrap();
    drop(replicas);
}
