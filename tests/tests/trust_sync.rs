//! Regression tests of the trust findings on the sync and identity paths, over
//! real HTTP on loopback, on SQLite and (where the store is involved)
//! PostgreSQL: enrollment codes for non-employees (finding 1), forged reviews
//! and comments (2), write-once metadata (3), the feed skipping others'
//! changes (4), the repair exchange for a restored store (5) and actor clones
//! (6).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use central_store::{CentralStore, PgStore, Role};
use fieldvoice_tests::pg::TestDb;
use fieldvoice_tests::server::{Device, TestServer};
use survey_model::{Interview, ReviewState};
use sync_server::Settings;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

async fn server(b: Backend, settings: Settings) -> (TestServer, Option<TestDb>) {
    match b {
        Backend::Sqlite => (TestServer::start_with(settings).await, None),
        Backend::Postgres => {
            let db = TestDb::create();
            let url = db.url.clone();
            let store = tokio::task::spawn_blocking(move || PgStore::connect(&url).expect("pg"))
                .await
                .expect("join");
            let dir = tempfile::tempdir().expect("tempdir");
            let store: Arc<dyn CentralStore> = Arc::new(store);
            (TestServer::start_on(store, settings, dir).await, Some(db))
        }
    }
}

/// An enrolled employee device with `n` filled interviews, synced.
async fn employee_with_interviews(
    srv: &TestServer,
    login: &str,
    country: &str,
    n: usize,
) -> (central_store::User, Device, Vec<Uuid>) {
    let (user, code) = srv.user_with_code(login, Role::Employee, country);
    let dev = srv.device(login, &code).await;
    let ids = (0..n).map(|_| new_interview(&dev)).collect();
    let r = dev.sync().await.expect("sync");
    assert!(r.docs_rejected.is_empty(), "{:?}", r.docs_rejected);
    (user, dev, ids)
}

fn new_interview(dev: &Device) -> Uuid {
    let mut s = dev.lock();
    let form = s.form("mcmb-interview", None).expect("form");
    let mut iv = s.create_interview(&form).expect("create");
    for (q, v) in fieldvoice_tests::complete_answers(8) {
        iv.set_answer_json(&form, q, &v).expect("answer");
    }
    s.save(&mut iv, Some(&form)).expect("save");
    iv.id()
}

async fn employee_with_interview(
    srv: &TestServer,
    login: &str,
    country: &str,
) -> (central_store::User, Device, Uuid) {
    let (u, d, ids) = employee_with_interviews(srv, login, country, 1).await;
    (u, d, ids[0])
}

/// Edit the device's copy of `id` directly in its Automerge document (what a
/// modified app could do), save it and sync. Returns the rejection reason.
async fn forge(dev: &Device, id: Uuid, f: impl FnOnce(&mut Interview)) -> Option<String> {
    {
        let mut s = dev.lock();
        let mut iv = s.load(id).expect("load");
        f(&mut iv);
        iv.doc_mut().commit();
        s.save(&mut iv, None).expect("save");
    }
    let r = dev.sync().await.expect("sync");
    r.docs_rejected
        .into_iter()
        .find(|(d, _)| *d == id)
        .map(|(_, reason)| reason)
}

fn server_doc(srv: &TestServer, id: Uuid) -> Interview {
    let d = srv.state.store.load_doc(id).expect("load").expect("stored");
    Interview::load(&d.snapshot).expect("interview")
}

async fn post_json(
    srv: &TestServer,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", srv.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request")
}

// --- 1. enrollment codes ------------------------------------------------

#[tokio::test]
async fn enrollment_codes_are_only_for_employees_in_the_callers_countries() {
    let srv = TestServer::start().await;
    let (admin_user, _) = srv
        .state
        .store
        .user_by_login("admin")
        .unwrap()
        .expect("admin");
    let (coord, coord_t) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (analyst, analyst_t) = srv.token_for("ana.ci", Role::Analyst, "CI");
    let (_, emp_dev, _) = employee_with_interview(&srv, "awa", "CI").await;
    let (emp_sn, _) = srv.user_with_code("moussa", Role::Employee, "SN");
    let (emp_ci, _) = srv.user_with_code("kofi", Role::Employee, "CI");
    let callers = [
        ("admin", srv.admin_token.clone()),
        ("coordinator", coord_t.clone()),
        ("analyst", analyst_t.clone()),
        ("device", emp_dev.token()),
    ];
    // Nobody gets a code for an admin, a coordinator or an analyst.
    for target in [&admin_user, &coord, &analyst] {
        for (who, token) in &callers {
            let r = post_json(
                &srv,
                token,
                &format!("/api/v1/users/{}/enrollment-code", target.id),
                serde_json::json!({}),
            )
            .await;
            assert_eq!(
                r.status(),
                403,
                "{who} got a code for a {}",
                target.role.as_str()
            );
            let v: serde_json::Value = r.json().await.unwrap();
            assert!(v["error"].is_string());
        }
    }
    // Employees: admin anywhere, a coordinator in their countries only,
    // never an analyst or a device.
    let code_for = |token: String, target: String| {
        let srv = &srv;
        async move {
            post_json(
                srv,
                &token,
                &format!("/api/v1/users/{target}/enrollment-code"),
                serde_json::json!({}),
            )
            .await
            .status()
        }
    };
    assert_eq!(
        code_for(srv.admin_token.clone(), emp_sn.id.clone()).await,
        200
    );
    assert_eq!(code_for(coord_t.clone(), emp_ci.id.clone()).await, 200);
    assert_eq!(code_for(coord_t.clone(), emp_sn.id.clone()).await, 403);
    assert_eq!(code_for(analyst_t.clone(), emp_ci.id.clone()).await, 403);
    assert_eq!(code_for(emp_dev.token(), emp_ci.id.clone()).await, 403);
}

#[tokio::test]
async fn a_code_stored_for_an_admin_never_yields_a_working_device() {
    let srv = TestServer::start().await;
    let (admin_user, _) = srv.state.store.user_by_login("admin").unwrap().unwrap();
    // A code for the admin written straight into the store (one issued before
    // the rule existed, say).
    let code = sync_server::auth::new_enrollment_code();
    srv.state
        .store
        .add_enrollment_code(
            &admin_user.id,
            &sync_server::auth::hash_secret(&code),
            i64::MAX,
        )
        .unwrap();
    let r = post_json(
        &srv,
        "",
        "/api/v1/enroll",
        serde_json::json!({"code": code, "device_label": "x"}),
    )
    .await;
    assert_eq!(r.status(), 403);
    // The device row it made is revoked: its token (never returned) is dead,
    // and no active device belongs to the admin.
    let devices = srv.state.store.list_devices(None).unwrap();
    assert!(
        devices
            .iter()
            .filter(|d| d.user_id == admin_user.id)
            .all(|d| d.revoked)
    );
    // And a device token of a non-employee (made by hand in the store) cannot
    // sync: authorisation refuses Sync for any role but employee.
    let token = "fvd_handmade-admin-device-token";
    srv.state
        .store
        .add_enrollment_code(&admin_user.id, &[7u8; 32], i64::MAX)
        .unwrap();
    srv.state
        .store
        .redeem_enrollment(
            &[7u8; 32],
            1,
            "dev-admin",
            "x",
            &sync_server::auth::hash_secret(token),
        )
        .unwrap();
    let r = fieldvoice_tests::server::post_sync(
        &srv.url,
        token,
        fieldvoice_tests::server::empty_sync_body(survey_protocol::Compression::Gzip),
    )
    .await;
    assert_eq!(r.status(), 403);
}

// --- 2 and 3. the device write policy --------------------------------------

type Forgery = Box<dyn FnOnce(&mut Interview)>;

fn put_meta(field: &'static str, v: automerge::ScalarValue) -> Forgery {
    Box::new(move |iv: &mut Interview| {
        let meta = match iv.doc().get(ROOT, "meta").unwrap() {
            Some((automerge::Value::Object(_), id)) => id,
            _ => panic!("no meta"),
        };
        iv.doc_mut().put(&meta, field, v).unwrap();
    })
}

async fn forged_writes_are_rejected(b: Backend) {
    let (srv, _db) = server(b, Settings::default()).await;
    let (coord, _) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (user, dev, ids) = employee_with_interviews(&srv, "awa", "CI", 14).await;
    let (cid, cname) = (coord.id.clone(), coord.name.clone());
    let (uid, uname) = (user.id.clone(), user.name.clone());
    use automerge::ScalarValue as S;
    let forgeries: Vec<(&str, Forgery)> = vec![
        (
            "review",
            Box::new({
                let cid = cid.clone();
                move |iv| iv.set_review(ReviewState::Approved, &cid).unwrap()
            }),
        ),
        (
            "tags",
            Box::new(|iv| iv.set_tag("root_cause:network", true).unwrap()),
        ),
        (
            "comments",
            Box::new(move |iv| {
                iv.add_comment(&cid, &cname, "coordinator", "Approved, well done")
                    .map(|_| ())
                    .unwrap()
            }),
        ),
        (
            "comments",
            Box::new({
                let (uid, uname) = (uid.clone(), uname.clone());
                move |iv| {
                    iv.add_comment(&uid, &uname, "coordinator", "I am a coordinator")
                        .map(|_| ())
                        .unwrap()
                }
            }),
        ),
        (
            "meta.form_id",
            put_meta("form_id", S::Str("other-form".into())),
        ),
        ("meta.form_version", put_meta("form_version", S::Uint(2))),
        ("meta.campaign", put_meta("campaign", S::Str("2027".into()))),
        ("meta.country", put_meta("country", S::Str("SN".into()))),
        (
            "meta.created_by",
            put_meta("created_by", S::Str("someone".into())),
        ),
        (
            "meta.device_id",
            put_meta("device_id", S::Str("dev-x".into())),
        ),
        (
            "meta.created_at",
            put_meta("created_at", S::Str("2020-01-01T00:00:00Z".into())),
        ),
        (
            "unknown",
            Box::new(|iv| {
                iv.doc_mut().put(ROOT, "case", "closed").unwrap();
            }),
        ),
    ];
    let mut refused = 0;
    for ((path, f), id) in forgeries.into_iter().zip(&ids) {
        let before = srv.state.store.interview(*id).unwrap().unwrap();
        let heads_before = srv.state.store.doc_heads(*id).unwrap();
        let reason = forge(&dev, *id, f)
            .await
            .unwrap_or_else(|| panic!("{b:?}: forged {path} was accepted"));
        let key = if path == "unknown" { "case" } else { path };
        assert!(reason.contains(key), "{b:?} {path}: {reason}");
        assert!(reason.contains("write policy"), "{reason}");
        // Nothing of it was applied.
        assert_eq!(srv.state.store.doc_heads(*id).unwrap(), heads_before);
        assert_eq!(srv.state.store.interview(*id).unwrap().unwrap(), before);
        refused += 1;
    }
    assert_eq!(refused, 12);
    // The device's own comment, authored as itself, is accepted.
    let id = ids[13];
    assert_eq!(
        forge(&dev, id, |iv| {
            iv.add_comment(&uid, &uname, "employee", "Client rappelé")
                .map(|_| ())
                .unwrap()
        })
        .await,
        None
    );
    let c = server_doc(&srv, id).comments();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].author_id, user.id);
    assert_eq!(c[0].role, "employee");
}

#[tokio::test]
async fn forged_review_tags_comments_and_meta_are_rejected_sqlite() {
    forged_writes_are_rejected(Backend::Sqlite).await;
}

#[tokio::test]
async fn forged_review_tags_comments_and_meta_are_rejected_postgres() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    forged_writes_are_rejected(Backend::Postgres).await;
}

// --- 4. the feed never skips others' changes --------------------------------

async fn review_after_a_large_own_push_reaches_the_device(b: Backend) {
    let settings = Settings {
        feed_max_changes: 5,
        ..Settings::default()
    };
    let (srv, _db) = server(b, settings).await;
    let (_, coord_t) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (_, dev, ids) = employee_with_interviews(&srv, "awa", "CI", 1).await;
    // The device pushes many changes but never sees the response (a dropped
    // answer): its stored cursor stays where it was.
    let pending: Vec<survey_protocol::DocPush> = {
        for _ in 0..4 {
            new_interview(&dev);
        }
        let s = dev.lock();
        s.pending(100)
            .unwrap()
            .into_iter()
            .map(|p| survey_protocol::DocPush {
                doc_id: p.id,
                base_heads: p.base_heads.iter().map(|h| h.0).collect(),
                heads: p.heads.iter().map(|h| h.0).collect(),
                data: p.data,
            })
            .collect()
    };
    let cursor = dev.lock().cursor().unwrap();
    let body = survey_protocol::encode(
        &survey_protocol::SyncRequest {
            cursor,
            docs: pending,
        },
        survey_protocol::Compression::Gzip,
    )
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/sync", srv.url))
        .bearer_auth(dev.token())
        .header("content-type", survey_protocol::CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Then a coordinator reviews the first interview.
    let r = post_json(
        &srv,
        &coord_t,
        &format!("/api/v1/interviews/{}/review", ids[0]),
        serde_json::json!({"state": "approved"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    dev.sync().await.unwrap();
    let mut s = dev.lock();
    let iv = s.load(ids[0]).unwrap();
    assert_eq!(iv.review_state(), Some(ReviewState::Approved), "{b:?}");
    assert_eq!(s.pending(100).unwrap().len(), 0);
    drop(iv);
    let _ = &mut s;
}

#[tokio::test]
async fn review_after_a_large_own_push_reaches_the_device_sqlite() {
    review_after_a_large_own_push_reaches_the_device(Backend::Sqlite).await;
}

#[tokio::test]
async fn review_after_a_large_own_push_reaches_the_device_postgres() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    review_after_a_large_own_push_reaches_the_device(Backend::Postgres).await;
}

// --- 5. the repair exchange ---------------------------------------------------

fn copy_store(dev: &Device, to: &std::path::Path) {
    let s = dev.lock();
    let conn = rusqlite::Connection::open(&dev.path).unwrap();
    conn.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
    drop(s);
}

/// Put `from` back as the device's store file (a restore), reopening it.
fn restore_store(dev: &Device, from: &std::path::Path) {
    let mut s = dev.lock();
    let tmp = dev.path.with_extension("old");
    std::fs::copy(from, &tmp).unwrap();
    for ext in ["sqlite3-wal", "sqlite3-shm"] {
        std::fs::remove_file(dev.path.with_extension(ext)).ok();
    }
    std::fs::rename(&tmp, &dev.path).unwrap();
    *s = device_store::DeviceStore::open(&dev.path).unwrap();
}

fn same_as_server(srv: &TestServer, dev: &Device, id: Uuid) -> bool {
    let mut server = server_doc(srv, id);
    let mut local = dev.lock().load(id).unwrap();
    let (mut a, mut b) = (server.heads(), local.heads());
    a.sort();
    b.sort();
    a == b
}

async fn restored_store_is_repaired(b: Backend) {
    let (srv, _db) = server(b, Settings::default()).await;
    let (_, coord_t) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (_, dev, ids) = employee_with_interviews(&srv, "awa", "CI", 2).await;
    let backup = srv.dir.path().join("backup.sqlite3");
    copy_store(&dev, &backup);
    // After the backup: the device edits both interviews and syncs; a
    // coordinator reviews both (on top of the device's edits).
    for id in &ids {
        let mut s = dev.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        let mut iv = s.load(*id).unwrap();
        iv.set_answer_json(&form, "nps", &serde_json::json!(3))
            .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }
    dev.sync().await.unwrap();
    for id in &ids {
        let r = post_json(
            &srv,
            &coord_t,
            &format!("/api/v1/interviews/{id}/review"),
            serde_json::json!({"state": "has_issues"}),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    // The phone is restored from the old backup.
    restore_store(&dev, &backup);
    // Interview 0 is left alone; interview 1 is edited on the restored copy
    // before it syncs (same actor and sequence numbers as the lost edit).
    {
        let mut s = dev.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        let mut iv = s.load(ids[1]).unwrap();
        iv.set_answer_json(&form, "city", &serde_json::json!("Bouaké"))
            .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }
    let r = dev.sync().await.unwrap();
    assert!(r.docs_rejected.is_empty(), "{:?}", r.docs_rejected);
    dev.sync().await.unwrap();
    for id in &ids {
        assert!(
            same_as_server(&srv, &dev, *id),
            "{b:?}: {id} did not converge"
        );
        let iv = dev.lock().load(*id).unwrap();
        assert_eq!(iv.review_state(), Some(ReviewState::HasIssues));
    }
    let server1 = srv.state.store.interview(ids[1]).unwrap().unwrap();
    assert_eq!(server1.answer_str("city"), Some("Bouaké"));
    assert_eq!(dev.lock().pending(100).unwrap().len(), 0);
}

#[tokio::test]
async fn restored_device_store_is_repaired_sqlite() {
    restored_store_is_repaired(Backend::Sqlite).await;
}

#[tokio::test]
async fn restored_device_store_is_repaired_postgres() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    restored_store_is_repaired(Backend::Postgres).await;
}

// --- 6. actor clones ------------------------------------------------------------

async fn copied_store_gets_a_new_actor(b: Backend) {
    let (srv, _db) = server(b, Settings::default()).await;
    let (user, phone1, ids) = employee_with_interviews(&srv, "awa", "CI", 1).await;
    let id = ids[0];
    // The store is copied to a second phone, which enrolls with a new code.
    let path2 = srv.dir.path().join("phone2.sqlite3");
    copy_store(&phone1, &path2);
    let code2 = post_json(
        &srv,
        &srv.admin_token,
        &format!("/api/v1/users/{}/enrollment-code", user.id),
        serde_json::json!({}),
    )
    .await
    .json::<serde_json::Value>()
    .await
    .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let phone2 = Device::enroll(&path2, &srv.url, &code2).await;
    let actor_before = phone2.lock().install_id();
    assert_eq!(actor_before, phone1.lock().install_id());
    // Both phones edit the same interview; phone 1 syncs first.
    for (dev, nps) in [(&phone1, 9), (&phone2, 2)] {
        let mut s = dev.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        let mut iv = s.load(id).unwrap();
        iv.set_answer_json(&form, "nps", &serde_json::json!(nps))
            .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }
    // Phone 2 also starts a new interview with the cloned actor.
    let new_id = new_interview(&phone2);
    phone1.sync().await.unwrap();
    let r = phone2.sync().await.unwrap();
    assert_eq!(r.actor_resets, 1, "{b:?}: {r:?}");
    assert!(r.docs_rejected.is_empty(), "{:?}", r.docs_rejected);
    assert_ne!(phone2.lock().install_id(), actor_before);
    phone1.sync().await.unwrap();
    phone2.sync().await.unwrap();
    for dev in [&phone1, &phone2] {
        assert!(same_as_server(&srv, dev, id), "{b:?}: not converged");
    }
    assert!(srv.state.store.load_doc(new_id).unwrap().is_some());
    assert!(same_as_server(&srv, &phone2, new_id));
    // Both edits are kept (a visible conflict, or one winner), none lost.
    let server = server_doc(&srv, id);
    let all: Vec<i64> = server
        .doc()
        .get_all(
            match server.doc().get(ROOT, "answers").unwrap() {
                Some((_, a)) => a,
                None => panic!(),
            },
            "nps",
        )
        .unwrap()
        .into_iter()
        .filter_map(|(v, _)| v.as_scalar().and_then(|s| s.as_i64()))
        .collect();
    assert!(all.contains(&2) || all.contains(&9), "{all:?}");
}

#[tokio::test]
async fn copied_device_store_gets_a_new_actor_sqlite() {
    copied_store_gets_a_new_actor(Backend::Sqlite).await;
}

#[tokio::test]
async fn copied_device_store_gets_a_new_actor_postgres() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    copied_store_gets_a_new_actor(Backend::Postgres).await;
}

/// The same, when the copy keeps the first phone's device token (an app-data
/// copy): both phones edit one interview; the server sees the second phone's
/// change reuse an (actor, seq) with other content and reports the clash.
async fn copied_store_with_the_same_token_converges(b: Backend) {
    let (srv, _db) = server(b, Settings::default()).await;
    let (_, phone1, ids) = employee_with_interviews(&srv, "awa", "CI", 1).await;
    let id = ids[0];
    let path2 = srv.dir.path().join("phone2-same-token.sqlite3");
    copy_store(&phone1, &path2);
    let phone2 = Device {
        store: Arc::new(std::sync::Mutex::new(
            device_store::DeviceStore::open(&path2).unwrap(),
        )),
        http: sync_client::http_client().unwrap(),
        path: path2,
    };
    for (dev, q, v) in [
        (&phone1, "city", serde_json::json!("Korhogo")),
        (&phone2, "customer_since_years", serde_json::json!(9)),
    ] {
        let mut s = dev.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        let mut iv = s.load(id).unwrap();
        iv.set_answer_json(&form, q, &v).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }
    phone1.sync().await.unwrap();
    let r = phone2.sync().await.unwrap();
    assert_eq!(r.actor_resets, 1, "{b:?}: {r:?}");
    assert!(r.docs_rejected.is_empty(), "{:?}", r.docs_rejected);
    phone1.sync().await.unwrap();
    phone2.sync().await.unwrap();
    phone1.sync().await.unwrap();
    for dev in [&phone1, &phone2] {
        assert!(same_as_server(&srv, dev, id), "{b:?}: not converged");
    }
    // Both phones' edits are kept, none lost.
    let rec = srv.state.store.interview(id).unwrap().unwrap();
    assert_eq!(rec.answer_str("city"), Some("Korhogo"));
    assert_eq!(rec.answer_i64("customer_since_years"), Some(9));
}

#[tokio::test]
async fn copied_device_store_with_the_same_token_converges_sqlite() {
    copied_store_with_the_same_token_converges(Backend::Sqlite).await;
}

#[tokio::test]
async fn copied_device_store_with_the_same_token_converges_postgres() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    copied_store_with_the_same_token_converges(Backend::Postgres).await;
}

/// The demo campaign (the README's main job) is made through the same paths
/// as real use: device pushes and coordinator edits, all within the write
/// policy; coordinators' reviews and comments carry their own ids.
#[test]
fn demo_campaign_reviews_are_coordinator_edits_within_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn CentralStore> =
        Arc::new(central_store::SqliteStore::open(&dir.path().join("demo.sqlite3")).unwrap());
    let state = sync_server::AppState::new(store, Settings::default()).unwrap();
    for (_, json) in survey_model::BUILTIN_FORMS {
        state.install_form(json).unwrap();
    }
    let countries: Vec<String> = ["CI", "SN", "CM"].map(String::from).to_vec();
    let spec = sync_server::demo::DemoSpec {
        interviews: 40,
        countries: countries.clone(),
        seed: 7,
    };
    let accounts = sync_server::demo::seed(&state, "demo-password-123", &spec)
        .unwrap()
        .expect("a fresh store gets the demo");
    // This year's 40 and a fifth as many from last year's campaign.
    assert_eq!((accounts.interviews, accounts.last_year), (48, 8));
    let all = state
        .store
        .list_interviews(&central_store::InterviewFilter::default())
        .unwrap();
    assert_eq!(all.len(), 48);
    assert_eq!(all.iter().filter(|r| r.campaign == "mcmb-2025").count(), 8);
    assert!(all.iter().all(|r| countries.contains(&r.country)));
    // Each country's hackathon: last year's action and this year's.
    let actions = state.store.list_actions(&[]).unwrap();
    assert_eq!(actions.len(), 6);
    assert_eq!(
        actions.iter().filter(|a| a.campaign == "mcmb-2025").count(),
        3
    );
    // The generator's reviews and codes, all made by the coordinators.
    let generated = fieldgen::generate(&fieldgen::Spec {
        countries: countries.clone(),
        ..fieldgen::Spec::new(7, 40)
    });
    let want_reviewed = generated.iter().filter(|g| g.review.is_some()).count();
    let want_coded = generated
        .iter()
        .filter(|g| g.tags.iter().any(|t| t.starts_with(themes::TAG_PREFIX)))
        .count();
    assert!(want_coded > 0);
    let coded = all
        .iter()
        .filter(|r| r.tags.iter().any(|t| t.starts_with(themes::TAG_PREFIX)))
        .count();
    assert_eq!(coded, want_coded);
    let drafts = all.iter().filter(|r| r.status == "draft").count();
    assert_eq!(
        drafts,
        generated
            .iter()
            .filter(|g| g.outcome == fieldgen::Outcome::Draft)
            .count()
    );
    let reviewed: Vec<_> = all.iter().filter(|r| r.review_state.is_some()).collect();
    assert_eq!(reviewed.len(), want_reviewed);
    let coordinators: std::collections::HashMap<String, String> = state
        .store
        .list_users(None)
        .unwrap()
        .into_iter()
        .filter(|u| u.role == Role::Coordinator)
        .map(|u| (u.id, u.countries[0].clone()))
        .collect();
    for r in &reviewed {
        let id: Uuid = r.interview_id.parse().unwrap();
        let doc = state.store.load_doc(id).unwrap().unwrap();
        let iv = Interview::load(&doc.snapshot).unwrap();
        for c in iv.comments() {
            assert_eq!(coordinators.get(&c.author_id), Some(&r.country));
            assert_eq!(c.role, "coordinator");
        }
        let log = state.store.change_log(id).unwrap();
        let server: Vec<_> = log
            .iter()
            .filter(|m| m.source.starts_with("server:"))
            .collect();
        assert!(!server.is_empty(), "a coordinator edit");
        for m in server {
            let by = m.source.trim_start_matches("server:");
            assert_eq!(coordinators.get(by), Some(&r.country));
        }
    }
}
