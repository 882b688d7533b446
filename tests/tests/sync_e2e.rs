//! End-to-end sync over real HTTP on loopback: convergence of concurrent
//! offline edits, idempotent retries, malformed input, and authorisation.
#![allow(clippy::unwrap_used)]

use central_store::Role;
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::server::{TestServer, api, empty_sync_body, post_sync};
use serde_json::{Value, json};
use survey_protocol::{Compression, DocPush, DocStatus, SyncRequest, SyncResponse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_and_a_coordinator_converge_in_any_order() {
    let srv = TestServer::start().await;
    let (_emp, code_a) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let (_, coord) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let a = srv.device("a", &code_a).await;
    // The same employee enrolls a second device (a tablet) with a new code.
    let b = srv.another_device_of(&a, "b").await;

    // Device A creates and fills an interview, then syncs; B receives it.
    let form = a.lock().form("mcmb-interview", None).unwrap();
    let id = {
        let mut s = a.lock();
        let mut iv = s.create_interview(&form).unwrap();
        for (k, v) in complete_answers(6) {
            iv.set_answer_json(&form, k, &v).unwrap();
        }
        iv.submit(&form).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        iv.id()
    };
    let r = a.sync().await.unwrap();
    assert_eq!(r.docs_acknowledged, 1);
    let r = b.sync().await.unwrap();
    assert!(r.feed_changes > 0, "B gets A's interview through the feed");
    assert!(b.lock().load(id).is_ok());

    // Offline, concurrently: A fixes the NPS, B extends the verbatim, the
    // coordinator reviews and comments on the server.
    {
        let mut s = a.lock();
        let mut iv = s.load(id).unwrap();
        iv.set_answer_json(&form, "nps", &json!(4)).unwrap();
        iv.set_answer_json(
            &form,
            "verbatim",
            &json!("Améliorez la couverture réseau dans les quartiers nord."),
        )
        .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }
    {
        let mut s = b.lock();
        let mut iv = s.load(id).unwrap();
        iv.set_answer_json(
            &form,
            "verbatim",
            &json!(
                "Améliorez la couverture réseau dans les quartiers nord, s'il vous plaît. Merci."
            ),
        )
        .unwrap();
        iv.set_answer_json(&form, "city", &json!("Bouaké Nord"))
            .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }
    let (st, _) = api(
        &srv.url,
        &coord,
        "POST",
        &format!("/api/v1/interviews/{id}/review"),
        Some(json!({"state": "has_issues"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = api(
        &srv.url,
        &coord,
        "POST",
        &format!("/api/v1/interviews/{id}/comments"),
        Some(json!({"text": "Please check the district name"})),
    )
    .await;
    assert_eq!(st, 200);

    // Sync in an awkward order: B, A, B, A.
    for d in [&b, &a, &b, &a] {
        d.sync().await.unwrap();
    }
    let mut ia = a.lock().load(id).unwrap();
    let mut ib = b.lock().load(id).unwrap();
    let (ra, rb) = (ia.project(Some(&form)), ib.project(Some(&form)));
    let (st, server) = api(
        &srv.url,
        &coord,
        "GET",
        &format!("/api/v1/interviews/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(ra, rb, "both devices hold the same merged document");
    assert_eq!(
        json!(ra.heads),
        server["heads"],
        "the server has the same heads"
    );
    assert_eq!(ra.answer_i64("nps"), Some(4));
    assert_eq!(ra.answer_str("city"), Some("Bouaké Nord"));
    assert_eq!(ra.review_state.as_deref(), Some("has_issues"));
    assert_eq!(ra.comment_count, 1);
    assert_eq!(
        server["comments"][0]["text"],
        "Please check the district name"
    );
    // Character-level merge kept both edits of the verbatim.
    let v = ra.answer_str("verbatim").unwrap();
    assert!(v.contains("Merci"), "{v}");
    // Both devices report the interview synced.
    for d in [&a, &b] {
        assert!(d.lock().pending(10).unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_reordered_and_truncated_requests() {
    let srv = TestServer::start().await;
    let (_, code) = srv.user_with_code("emp.sn", Role::Employee, "SN");
    let dev = srv.device("d", &code).await;
    let token = dev.token();
    let form = dev.lock().form("mcmb-interview", None).unwrap();
    let (id, first_heads, first, second) = {
        let mut s = dev.lock();
        let mut iv = s.create_interview(&form).unwrap();
        iv.set_answer_json(&form, "consent", &json!(true)).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        let p1 = s.pending(10).unwrap().remove(0);
        iv.set_answer_json(&form, "nps", &json!(9)).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        let heads = p1.heads.clone();
        // The second push carries only the changes after the first.
        let mut later = iv.clone();
        let hashes: Vec<_> = later
            .changes_since(&heads)
            .iter()
            .map(|c| c.hash())
            .collect();
        let data = later.doc_mut().bundle(hashes).unwrap().bytes().to_vec();
        (iv.id(), heads, p1, data)
    };
    let to_h = |h: &[automerge::ChangeHash]| h.iter().map(|h| h.0).collect::<Vec<_>>();
    let req1 = SyncRequest {
        cursor: 0,
        docs: vec![DocPush {
            doc_id: id,
            base_heads: vec![],
            heads: to_h(&first.heads),
            data: first.data.clone(),
        }],
    };
    let req2 = SyncRequest {
        cursor: 0,
        docs: vec![DocPush {
            doc_id: id,
            base_heads: to_h(&first_heads),
            heads: vec![],
            data: second,
        }],
    };
    let body1 = survey_protocol::encode(&req1, Compression::Gzip).unwrap();
    let body2 = survey_protocol::encode(&req2, Compression::Gzip).unwrap();

    // Reordered: the later changes first. The server lacks their dependencies.
    let resp = post_sync(&srv.url, &token, body2.clone()).await;
    assert_eq!(resp.status(), 200);
    let r: SyncResponse = survey_protocol::decode(&resp.bytes().await.unwrap(), 1 << 24).unwrap();
    assert!(
        matches!(r.results[0].status, DocStatus::MissingDeps { .. }),
        "{:?}",
        r.results[0]
    );
    assert_eq!(
        srv.state.store.stats().unwrap().changes,
        0,
        "nothing half-applied"
    );

    // Then in order, each twice: duplicates change nothing.
    for body in [&body1, &body1, &body2, &body2] {
        let resp = post_sync(&srv.url, &token, body.clone()).await;
        assert_eq!(resp.status(), 200);
        let r: SyncResponse =
            survey_protocol::decode(&resp.bytes().await.unwrap(), 1 << 24).unwrap();
        assert_eq!(r.results[0].status, DocStatus::Applied);
    }
    let stats = srv.state.store.stats().unwrap();
    assert_eq!(stats.documents, 1);
    assert_eq!(
        stats.changes, 3,
        "creation + consent + nps, each stored once"
    );
    let rec = srv.state.store.interview(id).unwrap().unwrap();
    assert_eq!(rec.answer_i64("nps"), Some(9));

    // Truncated bodies are refused with a clear 400 and change nothing.
    for cut in [0, 3, 6, body1.len() / 2, body1.len() - 1] {
        let resp = post_sync(&srv.url, &token, body1[..cut].to_vec()).await;
        assert_eq!(resp.status(), 400, "cut at {cut}");
        let v: Value = resp.json().await.unwrap();
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .starts_with("malformed sync body"),
            "{v}"
        );
    }
    assert_eq!(srv.state.store.stats().unwrap().changes, 3);
    // The device's own sync then finds everything acknowledged.
    dev.sync().await.unwrap();
    assert!(dev.lock().pending(10).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_automerge_bytes_are_rejected_per_document() {
    let srv = TestServer::start().await;
    let (_, code) = srv.user_with_code("emp.cm", Role::Employee, "CM");
    let dev = srv.device("d", &code).await;
    let token = dev.token();
    let form = dev.lock().form("mcmb-interview", None).unwrap();
    let good = {
        let mut s = dev.lock();
        let mut iv = s.create_interview(&form).unwrap();
        iv.set_answer_json(&form, "nps", &json!(2)).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        s.pending(1).unwrap().remove(0)
    };
    let bad_id = uuid::Uuid::now_v7();
    let mut corrupted = good.data.clone();
    let mid = corrupted.len() / 2;
    corrupted[mid] ^= 0x5a;
    let req = SyncRequest {
        cursor: 0,
        docs: vec![
            DocPush {
                doc_id: bad_id,
                base_heads: vec![],
                heads: vec![[1; 32]],
                data: vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3],
            },
            DocPush {
                doc_id: uuid::Uuid::now_v7(),
                base_heads: vec![],
                heads: good.heads.iter().map(|h| h.0).collect(),
                data: corrupted,
            },
            DocPush {
                doc_id: uuid::Uuid::now_v7(),
                base_heads: vec![],
                heads: vec![],
                data: b"not automerge at all".to_vec(),
            },
        ],
    };
    let resp = post_sync(
        &srv.url,
        &token,
        survey_protocol::encode(&req, Compression::None).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let r: SyncResponse = survey_protocol::decode(&resp.bytes().await.unwrap(), 1 << 24).unwrap();
    for res in &r.results {
        match &res.status {
            DocStatus::Rejected { reason } => assert!(!reason.is_empty()),
            other => panic!("expected rejection, got {other:?}"),
        }
    }
    assert_eq!(srv.state.store.stats().unwrap().documents, 0);
    // Garbage that is not even a sync body.
    for body in [
        b"{\"cursor\":0}".to_vec(),
        vec![0xff; 64],
        b"FVSY\x01\x00\xff\xff\xff\xff\xff".to_vec(),
    ] {
        let resp = post_sync(&srv.url, &token, body).await;
        assert_eq!(resp.status(), 400);
    }
    // A future protocol version is named in the error.
    let mut v2 = empty_sync_body(Compression::None);
    v2[4] = 9;
    let resp = post_sync(&srv.url, &token, v2).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("unsupported protocol version 9"),
        "{v}"
    );
    // Too many documents in one request.
    let many = SyncRequest {
        cursor: 0,
        docs: (0..501)
            .map(|_| DocPush {
                doc_id: uuid::Uuid::now_v7(),
                base_heads: vec![],
                heads: vec![],
                data: vec![],
            })
            .collect(),
    };
    let resp = post_sync(
        &srv.url,
        &token,
        survey_protocol::encode(&many, Compression::Gzip).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), 413);
    // Server still healthy; the good interview syncs normally.
    dev.sync().await.unwrap();
    assert_eq!(srv.state.store.stats().unwrap().documents, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorised_pushes_and_reads_are_refused() {
    let srv = TestServer::start().await;
    let (_, code1) = srv.user_with_code("emp.one", Role::Employee, "CI");
    let (_, code2) = srv.user_with_code("emp.two", Role::Employee, "CI");
    let (_, coord_sn) = srv.token_for("coord.sn", Role::Coordinator, "SN");
    let (_, coord_ci) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let d1 = srv.device("one", &code1).await;
    let d2 = srv.device("two", &code2).await;
    let form = d1.lock().form("mcmb-interview", None).unwrap();
    let id = {
        let mut s = d1.lock();
        let mut iv = s.create_interview(&form).unwrap();
        iv.set_answer_json(&form, "nps", &json!(10)).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        iv.id()
    };
    d1.sync().await.unwrap();

    // No token, a made-up token, a token of the wrong kind: 401.
    let body = empty_sync_body(Compression::None);
    assert_eq!(post_sync(&srv.url, "", body.clone()).await.status(), 401);
    assert_eq!(
        post_sync(&srv.url, "fvd_made-up", body.clone())
            .await
            .status(),
        401
    );
    assert_eq!(
        post_sync(&srv.url, "garbage", body.clone()).await.status(),
        401
    );
    // An API token is not a device: 403 on sync.
    assert_eq!(
        post_sync(&srv.url, &coord_ci, body.clone()).await.status(),
        403
    );

    // Employee two pushes a change to employee one's interview: 403, nothing stored.
    let before = srv.state.store.stats().unwrap();
    let stolen = {
        let s = d1.lock();
        let mut iv = s.load(id).unwrap();
        iv.set_actor(d2.lock().actor());
        iv.set_answer_json(&form, "nps", &json!(0)).unwrap();
        iv.save()
    };
    let req = SyncRequest {
        cursor: 0,
        docs: vec![DocPush {
            doc_id: id,
            base_heads: vec![],
            heads: vec![],
            data: stolen,
        }],
    };
    let resp = post_sync(
        &srv.url,
        &d2.token(),
        survey_protocol::encode(&req, Compression::Gzip).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(srv.state.store.stats().unwrap().changes, before.changes);
    // ...and a new interview claiming to be created by someone else: 403.
    let forged = {
        let mut s = d2.lock();
        let mut iv = s.create_interview(&form).unwrap();
        iv.set_answer_json(&form, "nps", &json!(3)).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        let mut meta = iv.meta().clone();
        meta.created_by = "someone-else".into();
        meta.interview_id = uuid::Uuid::now_v7().to_string();
        let mut f = survey_model::Interview::create(&form, meta, s.actor()).unwrap();
        (f.id(), f.save())
    };
    let req = SyncRequest {
        cursor: 0,
        docs: vec![DocPush {
            doc_id: forged.0,
            base_heads: vec![],
            heads: vec![],
            data: forged.1,
        }],
    };
    let resp = post_sync(
        &srv.url,
        &d2.token(),
        survey_protocol::encode(&req, Compression::Gzip).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), 403);

    // A device token cannot use the review API.
    let (st, _) = api(&srv.url, &d1.token(), "GET", "/api/v1/interviews", None).await;
    assert_eq!(st, 403);
    // The SN coordinator cannot see or review the CI interview (404 hides it).
    let (st, _) = api(
        &srv.url,
        &coord_sn,
        "GET",
        &format!("/api/v1/interviews/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = api(
        &srv.url,
        &coord_sn,
        "POST",
        &format!("/api/v1/interviews/{id}/review"),
        Some(json!({"state": "approved"})),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = api(
        &srv.url,
        &coord_sn,
        "GET",
        "/api/v1/interviews?country=CI",
        None,
    )
    .await;
    assert_eq!(st, 403);
    let (st, list) = api(&srv.url, &coord_sn, "GET", "/api/v1/interviews", None).await;
    assert_eq!((st, list["total"].as_u64()), (200, Some(0)));
    let (st, list) = api(&srv.url, &coord_ci, "GET", "/api/v1/interviews", None).await;
    assert_eq!((st, list["total"].as_u64()), (200, Some(1)));
    // Coordinators create employees only in their own country, never admins.
    let (st, _) = api(
        &srv.url,
        &coord_sn,
        "POST",
        "/api/v1/users",
        Some(json!({"login": "x", "name": "X", "countries": ["CI"]})),
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = api(
        &srv.url,
        &coord_sn,
        "POST",
        "/api/v1/users",
        Some(json!({"login": "y", "name": "Y", "role": "admin", "countries": ["SN"]})),
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = api(
        &srv.url,
        &coord_sn,
        "POST",
        "/api/v1/users",
        Some(json!({"login": "z", "name": "Z", "countries": ["SN"]})),
    )
    .await;
    assert_eq!(st, 201);

    // A revoked device is locked out at once.
    let dev_id = d1.lock().enrollment().unwrap().unwrap().device_id;
    let (st, _) = api(
        &srv.url,
        &coord_sn,
        "POST",
        &format!("/api/v1/devices/{dev_id}/revoke"),
        None,
    )
    .await;
    assert_eq!(st, 403, "a coordinator of another country cannot revoke it");
    let (st, _) = api(
        &srv.url,
        &coord_ci,
        "POST",
        &format!("/api/v1/devices/{dev_id}/revoke"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    assert_eq!(
        post_sync(&srv.url, &d1.token(), body.clone())
            .await
            .status(),
        401
    );
    assert!(matches!(
        d1.sync().await,
        Err(sync_client::SyncError::Unauthorized)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_codes_are_one_time_and_rate_limited() {
    let settings = sync_server::Settings {
        enroll_per_minute: 5,
        ..Default::default()
    };
    let srv = TestServer::start_with(settings).await;
    let (_, code) = srv.user_with_code("emp.ml", Role::Employee, "ML");
    let _dev = srv.device("d", &code).await;
    // Reusing the code fails.
    let (st, v) = api(
        &srv.url,
        "",
        "POST",
        "/api/v1/enroll",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = api(
        &srv.url,
        "",
        "POST",
        "/api/v1/enroll",
        Some(json!({"code": "nonsense!"})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    // Guessing is throttled.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (st, _) = api(
            &srv.url,
            "",
            "POST",
            "/api/v1/enroll",
            Some(json!({"code": "AAAAA-BBBBB"})),
        )
        .await;
        statuses.push(st);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_csv_import_creates_employees_with_codes() {
    let srv = TestServer::start().await;
    let mut csv = String::from("login;name;country\n");
    for i in 0..2000 {
        csv.push_str(&format!("bulk.{i};Employé {i};{}\n", ["CI", "SN"][i % 2]));
    }
    csv.push_str("bad login;X;CI\nbulk.1;Again;CI\n");
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/users/import", srv.url))
        .bearer_auth(&srv.admin_token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["created"].as_array().unwrap().len(), 2000);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0]["line"], 2002);
    // A code from the import enrolls a device.
    let code = v["created"][7]["enrollment_code"].as_str().unwrap();
    let dev = srv.device("bulk", code).await;
    assert_eq!(dev.lock().enrollment().unwrap().unwrap().country, "SN");
    // Metrics and health answer.
    let m = reqwest::get(format!("{}/metrics", srv.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("fieldvoice_http_requests_total"), "{m}");
    let (st, h) = api(&srv.url, "", "GET", "/healthz", None).await;
    assert_eq!((st, h["status"].as_str()), (200, Some("ok")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_with_413() {
    let settings = sync_server::Settings {
        max_body_bytes: 64 * 1024,
        max_decoded_bytes: 256 * 1024,
        ..Default::default()
    };
    let srv = TestServer::start_with(settings).await;
    let (_, code) = srv.user_with_code("emp.big", Role::Employee, "TD");
    let dev = srv.device("d", &code).await;
    let token = dev.token();
    // Compressed body above the transport limit.
    let noise: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let resp = post_sync(&srv.url, &token, noise).await;
    assert_eq!(resp.status(), 413);
    // A small gzip body that expands beyond the decoded limit (a zip bomb).
    let bomb = SyncRequest {
        cursor: 0,
        docs: vec![DocPush {
            doc_id: uuid::Uuid::now_v7(),
            base_heads: vec![],
            heads: vec![],
            data: vec![0; 1_000_000],
        }],
    };
    let body = survey_protocol::encode(&bomb, Compression::Gzip).unwrap();
    assert!(body.len() < 64 * 1024);
    let resp = post_sync(&srv.url, &token, body).await;
    assert_eq!(resp.status(), 413);
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("expands beyond"),
        "{v}"
    );
    // The server still works.
    assert!(dev.sync().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_retries_until_the_server_is_back() {
    // Reserve a port, enroll against a server there, stop it, and sync while
    // it is down: the client retries with backoff and succeeds once it is up.
    let srv = TestServer::start().await;
    let (_, code) = srv.user_with_code("emp.retry", Role::Employee, "NE");
    let dev = srv.device("d", &code).await;
    let form = dev.lock().form("mcmb-interview", None).unwrap();
    {
        let mut s = dev.lock();
        let mut iv = s.create_interview(&form).unwrap();
        iv.set_answer_json(&form, "nps", &json!(8)).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }
    // Point the device at a port where nothing listens yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut e = dev.lock().enrollment().unwrap().unwrap();
    e.server_url = format!("http://127.0.0.1:{port}");
    dev.lock().set_enrollment(&e).unwrap();
    let opts = sync_client::SyncOptions {
        attempts: 8,
        backoff: std::time::Duration::from_millis(100),
        ..Default::default()
    };
    let (http, store) = (dev.http.clone(), dev.store.clone());
    let syncing = tokio::spawn(async move { sync_client::sync(&http, store, &opts).await });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // Bring a proxy up on that port that forwards to the real server.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let target = srv.url.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    let report = syncing.await.unwrap().unwrap();
    assert!(report.retries >= 1, "{report:?}");
    assert_eq!(report.docs_acknowledged, 1);
    assert_eq!(srv.state.store.stats().unwrap().documents, 1);
}
