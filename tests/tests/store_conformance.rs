//! The central-store conformance suite: the same test functions run against
//! `SqliteStore` and `PgStore` (a fresh PostgreSQL database per test). Then
//! PostgreSQL-only properties: the feed cursor never passes a change that is
//! not committed yet, concurrent migrations, and `admin migrate-store`.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use automerge::ChangeHash;
use central_store::dashboard::ReviewQuery;
use central_store::merge::{Caller, FormRegistry, push};
use central_store::{
    AuditEntry, CentralStore, DocWrite, Hash, InterviewFilter, NewChange, NewUser, PgStore, Role,
    SqliteStore, StoreError, User,
};
use fieldvoice_tests::pg::TestDb;
use fieldvoice_tests::{complete_answers, form, meta};
use survey_model::{Interview, InterviewRecord, ReviewState, actor_from_uuid};
use survey_protocol::{DocPush, DocStatus};
use uuid::Uuid;

// --- backends ------------------------------------------------------------

/// A store under test and what keeps it alive.
struct Backend {
    store: Arc<dyn CentralStore>,
    _sqlite_dir: Option<tempfile::TempDir>,
    _pg: Option<TestDb>,
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.sqlite3")).unwrap();
    Backend {
        store: Arc::new(store),
        _sqlite_dir: Some(dir),
        _pg: None,
    }
}

fn postgres() -> Backend {
    let db = TestDb::create();
    let store = PgStore::connect(&db.url).unwrap();
    Backend {
        store: Arc::new(store),
        _sqlite_dir: None,
        _pg: Some(db),
    }
}

/// `conformance!(name)` runs `name(&dyn CentralStore)` on both backends.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[test] fn $name() { let b = super::sqlite(); super::$name(b.store.as_ref()); })*
        }
        mod postgres_backend {
            $(#[test] fn $name() { fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres); let b = super::postgres(); super::$name(b.store.as_ref()); })*
        }
    };
}

conformance!(
    identity_users_tokens_devices,
    enrollment_is_one_time_and_expires,
    enrollment_redeemed_once_under_contention,
    push_is_idempotent_and_reports_missing_deps,
    optimistic_version_conflicts_roll_back_the_batch,
    feed_pages_and_cursor,
    feed_window_is_not_used_up_by_the_callers_own_changes,
    actor_registry_tells_which_source_writes_an_actor,
    a_cloned_actor_is_refused_per_document,
    load_docs_returns_each_stored_document_asked_for,
    the_feed_read_with_a_push_is_the_feed_read_after_it,
    interview_filters_and_counts,
    for_each_interview_streams_every_match_in_id_order,
    change_log_and_server_edits,
    an_interview_changed_after_an_increment_is_in_the_next,
    an_export_running_while_interviews_change_hands_on_a_cursor_that_loses_none,
    audit_log_newest_first,
    forms_round_trip,
    places_upsert_by_code_and_revisions_move_only_on_change,
    quota_progress_equals_a_recount_of_the_stored_interviews,
    dashboard_sessions_expire_and_end,
    dashboard_language_is_saved_on_the_account,
    dashboard_sql_matches_streaming_defaults,
    reprojection_rewrites_stale_rows_once,
    follow_up_cases_open_by_rule_once_and_move_by_version,
    webhook_deliveries_are_leased_retried_and_logged,
    actions_round_trip_by_version_with_their_events,
);

// --- helpers -------------------------------------------------------------

fn new_user(s: &dyn CentralStore, login: &str, role: Role, countries: &[&str]) -> User {
    s.create_user(
        &NewUser {
            login: login.into(),
            name: format!("User {login}"),
            role,
            countries: countries.iter().map(|c| (*c).to_owned()).collect(),
            password_hash: None,
        },
        1_700_000_000,
    )
    .unwrap()
}

fn h(n: u8) -> Hash {
    [n; 32]
}

fn rand_hash() -> Hash {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    out
}

fn forms(s: &dyn CentralStore) -> FormRegistry {
    for (_, json) in survey_model::BUILTIN_FORMS {
        let f = survey_model::Form::from_json(json).unwrap();
        s.put_form(f.id(), f.version(), json).unwrap();
    }
    FormRegistry::load(s).unwrap()
}

/// A complete interview by `user` in CI, written by `device`.
fn interview(user: &User, device: Uuid, nps: i64) -> Interview {
    let f = form();
    let mut iv = Interview::create(
        &f,
        meta(&f, &user.id, "CI", device),
        actor_from_uuid(device),
    )
    .unwrap();
    for (k, v) in complete_answers(nps) {
        iv.set_answer_json(&f, k, &v).unwrap();
    }
    iv
}

fn full_push(iv: &mut Interview) -> DocPush {
    DocPush {
        doc_id: iv.id(),
        base_heads: vec![],
        heads: iv.heads().iter().map(|h| h.0).collect(),
        data: iv.save(),
    }
}

/// A synthetic write of one new document with `n` fake changes (the store
/// does not parse snapshots or changes; merge tests use real ones).
fn synthetic(owner: &str, source: &str, n: usize, rec: InterviewRecord) -> DocWrite {
    let id: Uuid = rec.interview_id.parse().unwrap();
    DocWrite {
        doc_id: id,
        owner: owner.into(),
        country: rec.country.clone(),
        expected_version: None,
        changes: (0..n)
            .map(|i| {
                let hash = rand_hash();
                // Distinct bytes per change, of varying length.
                let mut bytes = hash[..8].to_vec();
                bytes.extend(vec![i as u8; i]);
                NewChange {
                    hash,
                    actor: vec![1, 2, 3],
                    bytes,
                }
            })
            .collect(),
        source: source.into(),
        snapshot: vec![0xAA; 16],
        heads: vec![h(7)],
        record: rec,
        replaces_history: false,
        snapshot_holds_changes: false,
        events: vec![],
    }
}

/// Every interview `for_each_interview` streams for `f`, with its seq.
fn streamed(s: &dyn CentralStore, f: &InterviewFilter) -> Vec<(InterviewRecord, u64)> {
    let mut out = Vec::new();
    s.for_each_interview(f, &mut |r, seq| {
        out.push((r, seq));
        Ok(())
    })
    .unwrap();
    out
}

fn record(
    country: &str,
    created_by: &str,
    city: &str,
    segment: &str,
    review: Option<&str>,
) -> InterviewRecord {
    let mut answers = std::collections::BTreeMap::new();
    answers.insert("city".to_owned(), serde_json::json!(city));
    answers.insert("segment".to_owned(), serde_json::json!(segment));
    answers.insert("nps".to_owned(), serde_json::json!(7));
    let id = Uuid::now_v7();
    InterviewRecord {
        interview_id: id.to_string(),
        form_id: "mcmb-interview".into(),
        form_version: 1,
        campaign: "mcmb-2026".into(),
        country: country.into(),
        created_by: created_by.into(),
        device_id: "dev".into(),
        created_at: format!("2026-11-30T09:{:02}:00Z", id.as_bytes()[15] % 60),
        status: "submitted".into(),
        submitted_at: None,
        review_state: review.map(str::to_owned),
        answers,
        repeats: Default::default(),
        quality_flags: vec![],
        paradata: Default::default(),
        checks: vec![],
        tags: vec![],
        comment_count: 0,
        review: Default::default(),
        conflicts: vec![],
        heads: vec![],
    }
}

// --- the suite -------------------------------------------------------------

fn identity_users_tokens_devices(s: &dyn CentralStore) {
    let a = new_user(s, "awa", Role::Employee, &["CI"]);
    let c = new_user(s, "coord", Role::Coordinator, &["CI", "SN"]);
    let _b = new_user(s, "binta", Role::Employee, &["SN"]);
    assert!(matches!(
        s.create_user(
            &NewUser {
                login: "awa".into(),
                name: "Other".into(),
                role: Role::Employee,
                countries: vec!["CI".into()],
                password_hash: None
            },
            0
        ),
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(s.user(&a.id).unwrap().unwrap(), a);
    assert!(s.user("nobody").unwrap().is_none());
    let logins = |c: Option<&str>| -> Vec<String> {
        s.list_users(c)
            .unwrap()
            .into_iter()
            .map(|u| u.login)
            .collect()
    };
    assert_eq!(logins(None), ["awa", "binta", "coord"]);
    assert_eq!(logins(Some("CI")), ["awa", "coord"]);
    assert_eq!(logins(Some("SN")), ["binta", "coord"]);
    assert!(logins(Some("C")).is_empty(), "country match is exact");

    assert_eq!(s.user_by_login("awa").unwrap().unwrap().1, None);
    s.set_password_hash(&a.id, "$argon2id$fake").unwrap();
    assert_eq!(
        s.user_by_login("awa").unwrap().unwrap().1.as_deref(),
        Some("$argon2id$fake")
    );
    assert!(matches!(
        s.set_password_hash("nobody", "x"),
        Err(StoreError::NotFound(_))
    ));

    s.add_api_token(&c.id, &h(1), "laptop", 5).unwrap();
    assert_eq!(s.user_by_api_token(&h(1)).unwrap().unwrap().id, c.id);
    assert!(s.user_by_api_token(&h(2)).unwrap().is_none());
    assert!(matches!(
        s.add_api_token(&c.id, &h(1), "again", 6),
        Err(StoreError::Duplicate(_))
    ));

    s.add_enrollment_code(&a.id, &h(10), i64::MAX).unwrap();
    let u = s
        .redeem_enrollment(&h(10), 100, "dev-a", "phone", &h(20))
        .unwrap();
    assert_eq!(u.id, a.id);
    let auth = s.device_by_token(&h(20)).unwrap().unwrap();
    let (d, u) = (auth.device, auth.user);
    assert_eq!(
        (d.id.as_str(), d.label.as_str(), u.id.as_str()),
        ("dev-a", "phone", a.id.as_str())
    );
    assert_eq!(d.last_sync_at, None);
    assert_eq!(d.feed_cursor, 0);
    assert_eq!(auth.assignment, None, "not assigned yet");
    // The employee's assignment comes with the token (one query a sync).
    let assigned = central_store::Assignment {
        user_id: a.id.clone(),
        place_code: "CI-ABJ-01".into(),
        team: "Équipe 3".into(),
    };
    s.upsert_assignments(std::slice::from_ref(&assigned))
        .unwrap();
    let auth = s.device_by_token(&h(20)).unwrap().unwrap();
    assert_eq!(auth.assignment.as_ref(), Some(&assigned));
    assert_eq!(auth.assignment, s.assignment_of(&a.id).unwrap());
    s.touch_device("dev-a", 200, 17, Some("mcmb-interview@1"))
        .unwrap();
    let d = s.device_by_token(&h(20)).unwrap().unwrap().device;
    assert_eq!((d.last_sync_at, d.feed_cursor), (Some(200), 17));
    assert_eq!(d.forms, "mcmb-interview@1");
    s.touch_device("dev-a", 210, 17, None).unwrap();
    let d = s.device_by_token(&h(20)).unwrap().unwrap().device;
    assert_eq!(
        (d.last_sync_at, d.forms.as_str()),
        (Some(210), "mcmb-interview@1"),
        "a sync without a report keeps the last one"
    );
    assert_eq!(s.list_devices(None).unwrap()[0].feed_cursor, 17);
    assert_eq!(s.list_devices(None).unwrap().len(), 1);
    assert_eq!(
        s.list_devices(Some(std::slice::from_ref(&a.id)))
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.list_devices(Some(std::slice::from_ref(&c.id)))
            .unwrap()
            .is_empty()
    );
    assert!(s.revoke_device("dev-a", 300).unwrap());
    assert!(
        !s.revoke_device("dev-a", 301).unwrap(),
        "second revoke is a no-op"
    );
    assert!(s.device_by_token(&h(20)).unwrap().is_none());
    assert!(s.list_devices(None).unwrap()[0].revoked);

    let st = s.stats().unwrap();
    assert_eq!(
        (st.users, st.devices, st.changes, st.documents),
        (3, 1, 0, 0)
    );
}

fn enrollment_is_one_time_and_expires(s: &dyn CentralStore) {
    let a = new_user(s, "awa", Role::Employee, &["CI"]);
    s.add_enrollment_code(&a.id, &h(1), 1000).unwrap();
    assert!(
        matches!(
            s.redeem_enrollment(&h(1), 1000, "d0", "x", &h(50)),
            Err(StoreError::InvalidCode)
        ),
        "a code is invalid at its expiry time"
    );
    assert!(matches!(
        s.redeem_enrollment(&h(9), 10, "d0", "x", &h(50)),
        Err(StoreError::InvalidCode)
    ));
    // A new code replaces the unused previous one.
    s.add_enrollment_code(&a.id, &h(2), 1000).unwrap();
    assert!(matches!(
        s.redeem_enrollment(&h(1), 10, "d1", "x", &h(51)),
        Err(StoreError::InvalidCode)
    ));
    s.redeem_enrollment(&h(2), 10, "d1", "x", &h(51)).unwrap();
    assert!(matches!(
        s.redeem_enrollment(&h(2), 11, "d2", "x", &h(52)),
        Err(StoreError::InvalidCode)
    ));
    assert_eq!(s.list_devices(None).unwrap().len(), 1);
    assert!(s.device_by_token(&h(52)).unwrap().is_none());
}

fn enrollment_redeemed_once_under_contention(s: &dyn CentralStore) {
    let a = new_user(s, "awa", Role::Employee, &["CI"]);
    s.add_enrollment_code(&a.id, &h(1), i64::MAX).unwrap();
    let wins = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..8u8)
            .map(|i| {
                sc.spawn(move || {
                    s.redeem_enrollment(&h(1), 10, &format!("d{i}"), "x", &h(100 + i))
                        .is_ok()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count()
    });
    assert_eq!(wins, 1);
    assert_eq!(s.list_devices(None).unwrap().len(), 1);
}

fn push_is_idempotent_and_reports_missing_deps(s: &dyn CentralStore) {
    let forms = forms(s);
    let u = new_user(s, "awa", Role::Employee, &["CI"]);
    let other = new_user(s, "binta", Role::Employee, &["CI"]);
    let dev = Uuid::new_v4();
    let caller = Caller {
        user: &u,
        source: "dev-1",
        clock_skew_s: None,
    };
    let mut iv = interview(&u, dev, 9);
    let p = full_push(&mut iv);
    let r = push(s, &forms, caller, std::slice::from_ref(&p)).unwrap();
    assert!(matches!(r[0].status, DocStatus::Applied));
    assert_eq!(r[0].heads, p.heads);
    let n = s.stats().unwrap().changes;
    assert_eq!(n as usize, iv.changes_since(&[]).len());
    // The same push again, and the same changes without claimed heads.
    let r = push(s, &forms, caller, std::slice::from_ref(&p)).unwrap();
    assert!(matches!(r[0].status, DocStatus::Applied));
    let mut p2 = p.clone();
    p2.heads.clear();
    push(s, &forms, caller, &[p2]).unwrap();
    assert_eq!(s.stats().unwrap().changes, n, "no change stored twice");
    assert_eq!(s.stats().unwrap().documents, 1);
    assert_eq!(s.doc_heads(iv.id()).unwrap(), p.heads);

    // An edit on top, sent without its history to a store that lacks it.
    let base = iv.heads();
    let f = form();
    iv.set_answer_json(&f, "nps", &serde_json::json!(3))
        .unwrap();
    let mut fresh = interview(&u, dev, 5);
    let fresh_base = fresh.heads();
    fresh
        .set_answer_json(&f, "nps", &serde_json::json!(2))
        .unwrap();
    let orphan: Vec<u8> = fresh
        .changes_since(&fresh_base)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    let r = push(
        s,
        &forms,
        caller,
        &[DocPush {
            doc_id: fresh.id(),
            base_heads: fresh_base.iter().map(|h| h.0).collect(),
            heads: fresh.heads().iter().map(|h| h.0).collect(),
            data: orphan,
        }],
    )
    .unwrap();
    assert!(matches!(&r[0].status, DocStatus::MissingDeps { hashes } if !hashes.is_empty()));
    assert!(s.load_doc(fresh.id()).unwrap().is_none(), "nothing stored");
    // The incremental edit of the stored document applies.
    let inc: Vec<u8> = iv
        .changes_since(&base)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    let r = push(
        s,
        &forms,
        caller,
        &[DocPush {
            doc_id: iv.id(),
            base_heads: base.iter().map(|h| h.0).collect(),
            heads: iv.heads().iter().map(|h| h.0).collect(),
            data: inc,
        }],
    )
    .unwrap();
    assert!(matches!(r[0].status, DocStatus::Applied));
    assert_eq!(
        s.interview(iv.id()).unwrap().unwrap().answer_i64("nps"),
        Some(3)
    );
    assert_eq!(s.load_doc(iv.id()).unwrap().unwrap().version, 2);

    // Someone else may not write it.
    let r = push(
        s,
        &forms,
        Caller {
            user: &other,
            source: "dev-2",
            clock_skew_s: None,
        },
        &[full_push(&mut iv)],
    );
    assert!(r.is_err());
}

fn optimistic_version_conflicts_roll_back_the_batch(s: &dyn CentralStore) {
    let w1 = synthetic(
        "u1",
        "d1",
        2,
        record("CI", "u1", "Abidjan", "individual", None),
    );
    s.commit_docs(std::slice::from_ref(&w1)).unwrap();
    assert_eq!(s.load_doc(w1.doc_id).unwrap().unwrap().version, 1);
    // Creating it again is a conflict.
    let mut again = w1.clone();
    again.changes = vec![NewChange {
        hash: rand_hash(),
        actor: vec![1],
        bytes: vec![1],
    }];
    assert!(matches!(
        s.commit_docs(std::slice::from_ref(&again)),
        Err(StoreError::Conflict(id)) if id == w1.doc_id
    ));
    // An update from version 1 succeeds once; the second one is stale.
    let mut upd = again.clone();
    upd.expected_version = Some(1);
    upd.snapshot = vec![0xBB; 4];
    s.commit_docs(std::slice::from_ref(&upd)).unwrap();
    let doc = s.load_doc(w1.doc_id).unwrap().unwrap();
    assert_eq!((doc.version, doc.snapshot.clone()), (2, vec![0xBB; 4]));
    let before = s.stats().unwrap();
    // A batch with a fine new document and a stale one: nothing is written.
    let fine = synthetic(
        "u1",
        "d1",
        3,
        record("CI", "u1", "Abidjan", "individual", None),
    );
    let mut stale = upd.clone();
    stale.changes = vec![NewChange {
        hash: rand_hash(),
        actor: vec![1],
        bytes: vec![2],
    }];
    assert!(matches!(
        s.commit_docs(&[fine.clone(), stale]),
        Err(StoreError::Conflict(id)) if id == w1.doc_id
    ));
    assert_eq!(s.stats().unwrap(), before, "the whole batch rolled back");
    assert!(s.load_doc(fine.doc_id).unwrap().is_none());
    assert!(s.interview(fine.doc_id).unwrap().is_none());
    // The log is per document: changes that another document's write also
    // carries are stored with that document too (each document's log can
    // rebuild it alone).
    let mut dup = synthetic(
        "u1",
        "d1",
        0,
        record("CI", "u1", "Abidjan", "individual", None),
    );
    dup.changes = w1.changes.clone();
    s.commit_docs(std::slice::from_ref(&dup)).unwrap();
    assert_eq!(
        s.stats().unwrap().changes,
        before.changes + w1.changes.len() as u64
    );
    let bytes = |d: &DocWrite| {
        d.changes
            .iter()
            .map(|c| c.bytes.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(s.doc_changes(dup.doc_id).unwrap(), bytes(&w1));
}

/// Finding 4: more than a page of the caller's own changes followed by
/// someone else's change. The other change must be handed out (on this page
/// or a later one), never skipped by a cursor jumping to the top.
fn feed_window_is_not_used_up_by_the_callers_own_changes(s: &dyn CentralStore) {
    let own = synthetic(
        "u1",
        "devA",
        12,
        record("CI", "u1", "X", "individual", None),
    );
    let review = synthetic(
        "u1",
        "server:coord",
        1,
        record("CI", "u1", "X", "individual", None),
    );
    s.commit_docs(std::slice::from_ref(&own)).unwrap();
    s.commit_docs(std::slice::from_ref(&review)).unwrap();
    let mut cursor = 0;
    let mut got = Vec::new();
    for _ in 0..20 {
        let p = s.feed("u1", "devA", cursor, 5, usize::MAX).unwrap();
        got.extend(p.items.iter().map(|i| i.bytes.clone()));
        assert!(p.cursor >= cursor);
        cursor = p.cursor;
        if !p.more {
            break;
        }
    }
    assert_eq!(got, vec![review.changes[0].bytes.clone()]);
    assert_eq!(cursor, s.stats().unwrap().max_seq);
}

/// Actor-clone detection reads which sources wrote an actor's changes.
fn actor_registry_tells_which_source_writes_an_actor(s: &dyn CentralStore) {
    let w = synthetic("u1", "devA", 2, record("CI", "u1", "X", "individual", None));
    s.commit_docs(std::slice::from_ref(&w)).unwrap();
    let actor = w.changes[0].actor.clone();
    assert!(!s.actor_used_elsewhere(&actor, "devA").unwrap());
    assert!(s.actor_used_elsewhere(&actor, "devB").unwrap());
    assert!(!s.actor_used_elsewhere(b"never seen", "devB").unwrap());
}

/// The actor-clone check through a push, whichever of the merge (SQLite)
/// or the commit (PostgreSQL) makes it: a second device that writes new
/// documents under the first one's actor gets `ActorClash` for each of them
/// (nothing stored), while its documents under its own actor in the same
/// push are applied.
fn a_cloned_actor_is_refused_per_document(s: &dyn CentralStore) {
    let forms = forms(s);
    let u = new_user(s, "awa", Role::Employee, &["CI"]);
    let (dev1, dev2) = (Uuid::new_v4(), Uuid::new_v4());
    let caller = |source| Caller {
        user: &u,
        source,
        clock_skew_s: None,
    };
    let r = push(
        s,
        &forms,
        caller("dev-1"),
        &[full_push(&mut interview(&u, dev1, 9))],
    )
    .unwrap();
    assert!(matches!(r[0].status, DocStatus::Applied));
    let mut cloned = interview(&u, dev1, 4);
    let mut own = interview(&u, dev2, 7);
    let r = push(
        s,
        &forms,
        caller("dev-2"),
        &[full_push(&mut cloned), full_push(&mut own)],
    )
    .unwrap();
    assert!(
        matches!(r[0].status, DocStatus::ActorClash { .. }),
        "{:?}",
        r[0].status
    );
    assert!(
        matches!(r[1].status, DocStatus::Applied),
        "{:?}",
        r[1].status
    );
    assert!(s.load_doc(cloned.id()).unwrap().is_none(), "nothing stored");
    assert!(s.load_doc(own.id()).unwrap().is_some());
    assert_eq!(s.stats().unwrap().documents, 2);
    // The first device keeps writing under its actor.
    let r = push(
        s,
        &forms,
        caller("dev-1"),
        &[full_push(&mut interview(&u, dev1, 2))],
    )
    .unwrap();
    assert!(matches!(r[0].status, DocStatus::Applied));
}

/// `load_docs` (the merge's one read of a push's documents) returns every
/// stored document asked for, as `load_doc` does, and nothing for the rest.
fn load_docs_returns_each_stored_document_asked_for(s: &dyn CentralStore) {
    let forms = forms(s);
    let u = new_user(s, "ines", Role::Employee, &["CI"]);
    let device = Uuid::new_v4();
    let mut ivs: Vec<Interview> = (0..30).map(|i| interview(&u, device, i % 11)).collect();
    let pushes: Vec<DocPush> = ivs.iter_mut().map(full_push).collect();
    let caller = Caller {
        user: &u,
        source: "dev-1",
        clock_skew_s: None,
    };
    let r = push(s, &forms, caller, &pushes).unwrap();
    assert!(r.iter().all(|d| matches!(d.status, DocStatus::Applied)));
    let mut ids: Vec<Uuid> = ivs.iter().map(|iv| iv.id()).collect();
    let unknown: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    ids.extend(&unknown);
    ids.reverse();
    let got = s.load_docs(&ids).unwrap();
    assert_eq!(got.len(), 30);
    let got_ids: HashSet<Uuid> = got.iter().map(|d| d.doc_id).collect();
    let want: HashSet<Uuid> = ivs.iter().map(|iv| iv.id()).collect();
    assert_eq!(got_ids, want);
    for d in &got {
        let one = s.load_doc(d.doc_id).unwrap().unwrap();
        assert_eq!(
            (&d.owner, &d.country, &d.snapshot, d.version, d.epoch_seq),
            (
                &one.owner,
                &one.country,
                &one.snapshot,
                one.version,
                one.epoch_seq
            )
        );
        assert_eq!(d.owner, u.id);
    }
    assert!(s.load_docs(&unknown).unwrap().is_empty());
    assert!(s.load_docs(&[]).unwrap().is_empty());
}

/// A push that asks for the feed gets it read with its commit (on
/// PostgreSQL in the same round trip): the page a separate read right after
/// gives, with the other device's changes and none of the caller's own; a
/// push that commits nothing leaves the feed to the caller.
fn the_feed_read_with_a_push_is_the_feed_read_after_it(s: &dyn CentralStore) {
    use central_store::merge::push_knowing;
    let forms = forms(s);
    let u = new_user(s, "awa", Role::Employee, &["CI"]);
    let caller = |source| Caller {
        user: &u,
        source,
        clock_skew_s: None,
    };
    let mut first = interview(&u, Uuid::new_v4(), 9);
    push(s, &forms, caller("dev-1"), &[full_push(&mut first)]).unwrap();
    let ask = central_store::FeedRequest {
        owner: &u.id,
        exclude_source: "dev-2",
        after: 0,
        max_changes: 1000,
        max_bytes: 1 << 20,
    };
    let mut second = interview(&u, Uuid::new_v4(), 4);
    let pushed = [full_push(&mut second)];
    let out = push_knowing(s, &forms, caller("dev-2"), &pushed, None, Some(&ask)).unwrap();
    assert!(matches!(out[0].status, DocStatus::Applied));
    let with = out.feed.clone().expect("read with the commit");
    let after = s.feed(&u.id, "dev-2", 0, 1000, 1 << 20).unwrap();
    let seqs = |p: &central_store::FeedPage| -> Vec<(u64, Uuid, Vec<u8>)> {
        p.items
            .iter()
            .map(|i| (i.seq, i.doc_id, i.bytes.clone()))
            .collect()
    };
    assert_eq!(seqs(&with), seqs(&after));
    assert_eq!((with.cursor, with.more), (after.cursor, after.more));
    assert_eq!(
        with.cursor,
        s.stats().unwrap().max_seq,
        "the cursor covers the push"
    );
    let docs: BTreeSet<Uuid> = with.items.iter().map(|i| i.doc_id).collect();
    assert_eq!(
        docs,
        BTreeSet::from([first.id()]),
        "the other device's, not its own"
    );
    // The same push again commits nothing: no feed with it.
    let again = push_knowing(s, &forms, caller("dev-2"), &pushed, None, Some(&ask)).unwrap();
    assert!(matches!(again[0].status, DocStatus::Applied));
    assert!(again.feed.is_none());
}

fn feed_pages_and_cursor(s: &dyn CentralStore) {
    let mine_a = synthetic("u1", "devA", 5, record("CI", "u1", "X", "individual", None));
    let theirs = synthetic("u2", "devC", 4, record("CI", "u2", "X", "individual", None));
    let mine_b = synthetic("u1", "devB", 5, record("CI", "u1", "X", "individual", None));
    s.commit_docs(std::slice::from_ref(&mine_a)).unwrap();
    s.commit_docs(std::slice::from_ref(&theirs)).unwrap();
    s.commit_docs(std::slice::from_ref(&mine_b)).unwrap();
    let top = s.stats().unwrap().max_seq;
    let want: Vec<Vec<u8>> = mine_a
        .changes
        .iter()
        .chain(&mine_b.changes)
        .map(|c| c.bytes.clone())
        .collect();
    // Pages of 3: every change of u1 exactly once, in log order. A page
    // ends between two writes (a cursor names a whole write), so each of
    // these pages holds one write of 5 changes.
    let mut cursor = 0;
    let mut got = Vec::new();
    let mut seqs = Vec::new();
    let mut pages = 0;
    loop {
        let p = s.feed("u1", "devX", cursor, 3, usize::MAX).unwrap();
        pages += 1;
        assert!(p.cursor >= cursor);
        for it in &p.items {
            assert!(it.seq > cursor && it.seq <= p.cursor);
            seqs.push(it.seq);
            got.push(it.bytes.clone());
        }
        cursor = p.cursor;
        if !p.more {
            break;
        }
        assert_eq!(
            p.items.len(),
            5,
            "the page stops after the write that filled it"
        );
    }
    assert_eq!(got, want);
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(pages, 2);
    // A page of 1 holds the first write whole.
    let p = s.feed("u1", "devX", 0, 1, usize::MAX).unwrap();
    assert!(p.more);
    assert_eq!(p.items.len(), 5);
    assert!(p.items.iter().all(|i| i.seq == p.cursor));
    assert_eq!(
        cursor, top,
        "a final page moves the cursor to the store's top"
    );
    // Nothing new: same cursor, no items.
    let p = s.feed("u1", "devX", cursor, 3, usize::MAX).unwrap();
    assert!(p.items.is_empty() && !p.more && p.cursor == top);
    // The sending device does not get its own changes back, but moves past them.
    let p = s.feed("u1", "devA", 0, 100, usize::MAX).unwrap();
    let own: HashSet<Vec<u8>> = mine_a.changes.iter().map(|c| c.bytes.clone()).collect();
    assert_eq!(p.items.len(), 5);
    assert!(p.items.iter().all(|i| !own.contains(&i.bytes)));
    assert_eq!(p.cursor, top);
    assert!(p.items.iter().all(|i| i.doc_id == mine_b.doc_id));
    // A byte budget stops a page early (after the write that crosses it).
    let p = s.feed("u1", "devX", 0, 100, 1).unwrap();
    assert_eq!(p.items.len(), 5);
    assert!(p.more);
    assert!(p.items.iter().all(|i| i.seq == p.cursor));
    // Another owner sees only their own document.
    let p = s.feed("u2", "devX", 0, 100, usize::MAX).unwrap();
    assert_eq!(p.items.len(), 4);
    assert!(p.items.iter().all(|i| i.doc_id == theirs.doc_id));
}

fn interview_filters_and_counts(s: &dyn CentralStore) {
    let mut writes = Vec::new();
    for i in 0..30 {
        let country = ["CI", "SN", "CM"][i % 3];
        let city = ["Abidjan", "Dakar"][i % 2];
        let seg = ["individual", "business"][i % 5 % 2];
        let review = (i % 4 == 0).then_some("approved");
        let user = format!("u{}", i % 2);
        writes.push(synthetic(
            &user,
            "d",
            1,
            record(country, &user, city, seg, review),
        ));
    }
    s.commit_docs(&writes[..15]).unwrap();
    let mid = s.stats().unwrap().max_seq;
    s.commit_docs(&writes[15..]).unwrap();
    let count = |f: InterviewFilter| {
        let n = s.count_interviews(&f).unwrap();
        let listed = s
            .list_interviews(&InterviewFilter {
                limit: Some(1000),
                ..f.clone()
            })
            .unwrap();
        assert_eq!(listed.len() as u64, n, "list and count agree for {f:?}");
        let expect = writes
            .iter()
            .filter(|w| {
                let r = &w.record;
                (f.countries.is_empty() || f.countries.contains(&r.country))
                    && f.created_by.as_ref().is_none_or(|v| *v == r.created_by)
                    && f.city
                        .as_deref()
                        .is_none_or(|v| r.answer_str("city") == Some(v))
                    && f.segment
                        .as_deref()
                        .is_none_or(|v| r.answer_str("segment") == Some(v))
                    && f.review_state
                        .as_ref()
                        .is_none_or(|v| r.review_state.as_ref() == Some(v))
            })
            .count() as u64;
        (n, expect)
    };
    for f in [
        InterviewFilter::default(),
        InterviewFilter {
            countries: vec!["CI".into()],
            ..Default::default()
        },
        InterviewFilter {
            countries: vec!["CI".into(), "SN".into()],
            ..Default::default()
        },
        InterviewFilter {
            city: Some("Dakar".into()),
            ..Default::default()
        },
        InterviewFilter {
            segment: Some("business".into()),
            countries: vec!["CM".into()],
            ..Default::default()
        },
        InterviewFilter {
            review_state: Some("approved".into()),
            ..Default::default()
        },
        InterviewFilter {
            created_by: Some("u1".into()),
            city: Some("Dakar".into()),
            ..Default::default()
        },
        InterviewFilter {
            countries: vec!["ZZ".into()],
            ..Default::default()
        },
    ] {
        let (n, expect) = count(f);
        assert_eq!(n, expect);
    }
    assert_eq!(
        s.count_interviews(&InterviewFilter {
            since_seq: Some(mid),
            ..Default::default()
        })
        .unwrap(),
        15
    );
    // Newest first, then by id; limit and offset page through.
    let all = s
        .list_interviews(&InterviewFilter {
            limit: Some(100),
            ..Default::default()
        })
        .unwrap();
    let keys: Vec<(String, String)> = all
        .iter()
        .map(|r| (r.created_at.clone(), r.interview_id.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(keys, sorted);
    let page2 = s
        .list_interviews(&InterviewFilter {
            limit: Some(7),
            offset: Some(7),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page2.len(), 7);
    assert_eq!(page2[0].interview_id, all[7].interview_id);
}

fn for_each_interview_streams_every_match_in_id_order(s: &dyn CentralStore) {
    // More than one 2,000-row page.
    let writes: Vec<DocWrite> = (0..2300)
        .map(|i| {
            let c = if i % 10 == 0 { "SN" } else { "CI" };
            synthetic("u1", "d", 1, record(c, "u1", "X", "individual", None))
        })
        .collect();
    for chunk in writes.chunks(500) {
        s.commit_docs(chunk).unwrap();
    }
    let mut ids = Vec::new();
    let mut seqs = Vec::new();
    s.for_each_interview(
        &InterviewFilter {
            limit: Some(3),
            ..Default::default()
        },
        &mut |r, seq| {
            ids.push(r.interview_id);
            seqs.push(seq);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(ids.len(), 2300, "limit is ignored");
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    let expect: BTreeSet<String> = writes.iter().map(|w| w.doc_id.to_string()).collect();
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expect);
    assert!(seqs.iter().all(|s| *s > 0));
    let mut sn = 0;
    s.for_each_interview(
        &InterviewFilter {
            countries: vec!["SN".into()],
            ..Default::default()
        },
        &mut |r, _| {
            assert_eq!(r.country, "SN");
            sn += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(sn, 230);
    // A visitor error stops the walk and comes back.
    let mut n = 0;
    let r = s.for_each_interview(&InterviewFilter::default(), &mut |_, _| {
        n += 1;
        if n == 5 {
            Err(StoreError::NotFound("stop".into()))
        } else {
            Ok(())
        }
    });
    assert!(matches!(r, Err(StoreError::NotFound(_))));
    assert_eq!(n, 5);
    // Keyset start: after an id, the rest in order (the OData feed's pages).
    let mut after = Vec::new();
    s.for_each_interview(
        &InterviewFilter {
            after_id: Some(sorted[2199].clone()),
            ..Default::default()
        },
        &mut |r, _| {
            after.push(r.interview_id);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(after, sorted[2200..]);
    // The review tags in the database, distinct, sorted, within the filter.
    let tagged: Vec<DocWrite> = [("CI", vec!["root_cause:it", "b"]), ("SN", vec!["a", "b"])]
        .into_iter()
        .map(|(c, tags)| {
            let mut rec = record(c, "u1", "X", "individual", None);
            rec.tags = tags.into_iter().map(str::to_owned).collect();
            synthetic("u1", "d", 1, rec)
        })
        .collect();
    s.commit_docs(&tagged).unwrap();
    assert_eq!(
        s.review_tags(&InterviewFilter::default()).unwrap(),
        ["a", "b", "root_cause:it"]
    );
    assert_eq!(
        s.review_tags(&InterviewFilter {
            countries: vec!["CI".into()],
            ..Default::default()
        })
        .unwrap(),
        ["b", "root_cause:it"]
    );
}

/// An incremental export (`since_seq`) gets every interview that changed
/// after the last one it took: a device's later push and a reviewer's edit
/// move the interview's seq, and an unchanged interview stays out.
fn an_interview_changed_after_an_increment_is_in_the_next(s: &dyn CentralStore) {
    let forms = forms(s);
    let u = new_user(s, "awa", Role::Employee, &["CI"]);
    let coord = new_user(s, "coord", Role::Coordinator, &["CI"]);
    let device = Caller {
        user: &u,
        source: "dev-1",
        clock_skew_s: None,
    };
    let mut pushed = interview(&u, Uuid::new_v4(), 8);
    let mut reviewed = interview(&u, Uuid::new_v4(), 6);
    let mut unchanged = interview(&u, Uuid::new_v4(), 9);
    let all = [&mut pushed, &mut reviewed, &mut unchanged].map(full_push);
    push(s, &forms, device, &all).unwrap();
    let increment = |since: u64| {
        let f = InterviewFilter {
            since_seq: Some(since),
            ..Default::default()
        };
        let seen: Vec<(String, u64)> = streamed(s, &f)
            .into_iter()
            .map(|(r, seq)| (r.interview_id, seq))
            .collect();
        assert_eq!(s.count_interviews(&f).unwrap(), seen.len() as u64);
        seen
    };
    let first = s.stats().unwrap().max_seq;
    assert_eq!(increment(0).len(), 3);
    assert!(increment(first).is_empty());
    // The device edits an answer and pushes again.
    pushed
        .set_answer_json(&form(), "nps", &serde_json::json!(3))
        .unwrap();
    push(s, &forms, device, &[full_push(&mut pushed)]).unwrap();
    let second = s.stats().unwrap().max_seq;
    assert!(second > first);
    assert_eq!(increment(first), vec![(pushed.id().to_string(), second)]);
    // A coordinator approves another one on the server.
    let actor = actor_from_uuid(Uuid::new_v4());
    central_store::merge::edit(s, &forms, &actor, &coord, reviewed.id(), |iv| {
        iv.set_review(ReviewState::Approved, &coord.id)
    })
    .unwrap();
    let third = s.stats().unwrap().max_seq;
    assert!(third > second);
    assert_eq!(increment(second), vec![(reviewed.id().to_string(), third)]);
    let mut both = increment(first);
    both.sort_by_key(|(_, seq)| *seq);
    assert_eq!(
        both,
        vec![
            (pushed.id().to_string(), second),
            (reviewed.id().to_string(), third)
        ]
    );
}

/// An export reads page by page while devices keep pushing. Two interviews
/// change while it runs: one on a page it has read already, then one on a
/// page it has not. The manifest's `max_seq` (the next `--since`) must not
/// pass the first change, or the analysts' next increment never gets it.
fn an_export_running_while_interviews_change_hands_on_a_cursor_that_loses_none(
    s: &dyn CentralStore,
) {
    let forms = forms(s);
    let writes: Vec<DocWrite> = (0..2500)
        .map(|_| {
            synthetic(
                "u0",
                "d",
                1,
                record("CI", "u0", "Abidjan", "individual", None),
            )
        })
        .collect();
    s.commit_docs(&writes).unwrap();
    let mut ids: Vec<Uuid> = writes.iter().map(|w| w.doc_id).collect();
    ids.sort();
    // Pages of 2,000 in id order: `read` is on the first, `unread` on the second.
    let (read, unread) = (ids[10], ids[2490]);
    let change = |id: Uuid| {
        let w = writes.iter().find(|w| w.doc_id == id).unwrap();
        let mut again = synthetic("u0", "d", 1, w.record.clone());
        again.expected_version = Some(1);
        s.commit_docs(&[again]).unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let opts = export::ExportOptions {
        format: export::Format::Jsonl,
        ..Default::default()
    };
    let mut changed = false;
    let m = export::export_to_dir(s, &forms, &opts, dir.path(), &mut |seen| {
        // Called every 1,000 rows: in the middle of the first page.
        if seen == 1000 {
            change(read);
            change(unread);
            changed = true;
        }
        true
    })
    .unwrap();
    assert!(changed);
    let f = InterviewFilter {
        since_seq: Some(m.max_seq),
        ..Default::default()
    };
    let next: Vec<Uuid> = streamed(s, &f)
        .into_iter()
        .map(|(r, _)| r.interview_id.parse().unwrap())
        .collect();
    assert!(
        next.contains(&read),
        "the change on a page already read is lost"
    );
    assert!(next.contains(&unread));
    assert_eq!(next.len(), 2);
}

fn change_log_and_server_edits(s: &dyn CentralStore) {
    let forms = forms(s);
    let u = new_user(s, "awa", Role::Employee, &["CI"]);
    let coord = new_user(s, "coord", Role::Coordinator, &["CI"]);
    let mut iv = interview(&u, Uuid::new_v4(), 8);
    push(
        s,
        &forms,
        Caller {
            user: &u,
            source: "dev-1",
            clock_skew_s: None,
        },
        &[full_push(&mut iv)],
    )
    .unwrap();
    let actor = actor_from_uuid(Uuid::new_v4());
    let (_, rec) = central_store::merge::edit(s, &forms, &actor, &coord, iv.id(), |iv| {
        iv.set_review(ReviewState::Approved, &coord.id)
    })
    .unwrap();
    assert_eq!(rec.review_state.as_deref(), Some("approved"));
    assert_eq!(
        s.interview(iv.id())
            .unwrap()
            .unwrap()
            .review_state
            .as_deref(),
        Some("approved")
    );
    let log = s.change_log(iv.id()).unwrap();
    let device_changes = iv.changes_since(&[]);
    assert_eq!(log.len(), device_changes.len() + 1);
    for (m, c) in log.iter().zip(&device_changes) {
        assert_eq!(m.hash, c.hash().to_string());
        assert_eq!(m.source, "dev-1");
    }
    assert_eq!(log.last().unwrap().source, format!("server:{}", coord.id));
    // One seq per write: the device's changes share one, the review its own.
    assert!(log.windows(2).all(|w| w[0].seq <= w[1].seq));
    assert!(
        log[..device_changes.len()]
            .iter()
            .all(|m| m.seq == log[0].seq)
    );
    assert!(log.last().unwrap().seq > log[0].seq);
    // doc_changes rebuilds the same document as the snapshot.
    let rebuilt = Interview::from_changes(
        s.doc_changes(iv.id())
            .unwrap()
            .iter()
            .map(|b| automerge::Change::from_bytes(b.clone()).unwrap())
            .collect(),
    )
    .unwrap();
    let mut rebuilt = rebuilt;
    let want: Vec<Hash> = s.doc_heads(iv.id()).unwrap();
    let got: Vec<Hash> = rebuilt.heads().iter().map(|h: &ChangeHash| h.0).collect();
    assert_eq!(got, want);
    // The device gets the coordinator's change in its feed.
    let p = s.feed(&u.id, "dev-1", 0, 100, usize::MAX).unwrap();
    assert_eq!(p.items.len(), 1);
    // Another device of the employee gets the first device's changes (whose
    // write the log keeps as the pushed document itself), byte for byte and
    // in causal order, then the review.
    let p = s.feed(&u.id, "dev-2", 0, 100, usize::MAX).unwrap();
    let got: Vec<&[u8]> = p.items.iter().map(|i| i.bytes.as_slice()).collect();
    let want: Vec<&[u8]> = device_changes.iter().map(|c| c.raw_bytes()).collect();
    assert_eq!(got.len(), want.len() + 1);
    assert_eq!(got[..want.len()], want[..]);
    assert!(s.change_log(Uuid::new_v4()).unwrap().is_empty());
}

fn audit_log_newest_first(s: &dyn CentralStore) {
    for i in 0..5 {
        s.audit(&AuditEntry {
            at: 100 + i,
            actor: "admin".into(),
            action: format!("action{i}"),
            target: "t".into(),
            detail: "d".into(),
        })
        .unwrap();
    }
    let log = s.audit_log(3).unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["action4", "action3", "action2"]);
    assert_eq!(log[0].at, 104);
}

fn forms_round_trip(s: &dyn CentralStore) {
    s.put_form("b-form", 2, "{\"v\":2}").unwrap();
    s.put_form("a-form", 1, "{}").unwrap();
    s.put_form("b-form", 1, "{\"v\":1}").unwrap();
    s.put_form("b-form", 2, "{\"v\":22}").unwrap();
    assert_eq!(
        s.forms().unwrap(),
        vec![
            ("a-form".to_owned(), 1, "{}".to_owned()),
            ("b-form".to_owned(), 1, "{\"v\":1}".to_owned()),
            ("b-form".to_owned(), 2, "{\"v\":22}".to_owned()),
        ]
    );
}

fn places_upsert_by_code_and_revisions_move_only_on_change(s: &dyn CentralStore) {
    let place = |code: &str, country: &str, name: &str| survey_model::Place {
        code: code.into(),
        country: country.into(),
        name: name.into(),
        region: "Sud".into(),
        kind: "city".into(),
        setting: "urban".into(),
        lat: Some(5.32),
        lon: Some(-4.02),
    };
    assert_eq!(s.places_revision("CI").unwrap(), "0.0");
    let first = [
        place("CI-ABJ", "CI", "Abidjan"),
        place("CI-BKE", "CI", "Bouaké"),
        place("SN-DKR", "SN", "Dakar"),
    ];
    assert_eq!(s.upsert_places(&first).unwrap(), 3);
    let (ci, sn) = (
        s.places_revision("CI").unwrap(),
        s.places_revision("SN").unwrap(),
    );
    assert_eq!((ci.as_str(), sn.as_str()), ("2.1", "1.1"));
    assert_eq!(s.places_revision("").unwrap(), "3.1");
    // The same file again changes nothing.
    assert_eq!(s.upsert_places(&first).unwrap(), 0);
    assert_eq!(s.places_revision("CI").unwrap(), ci);
    // A renamed CI place moves CI's revision, not SN's.
    let mut renamed = place("CI-BKE", "CI", "Bouaké Commerce");
    renamed.lat = None;
    renamed.lon = None;
    assert_eq!(s.upsert_places(&[renamed.clone()]).unwrap(), 1);
    assert_eq!(s.places_revision("CI").unwrap(), "2.2");
    assert_eq!(s.places_revision("SN").unwrap(), sn);
    assert_eq!(s.place("CI-BKE").unwrap(), Some(renamed.clone()));
    assert_eq!(s.place("CI-NONE").unwrap(), None);
    let all = s.list_places().unwrap();
    assert_eq!(all, vec![first[0].clone(), renamed, first[2].clone()]);
}

/// Quota progress (the store's counts through `fieldops::progress`) equals an
/// independent recount over the stored interview records: MCMB v2 interviews
/// at three places, four segments, three employees, drafts and submitted.
fn quota_progress_equals_a_recount_of_the_stored_interviews(s: &dyn CentralStore) {
    use central_store::{Assignment, Quota};
    use survey_model::mcmb::SEGMENTS;
    forms(s);
    s.put_form("mcmb-interview", 2, survey_model::MCMB_V2_JSON)
        .unwrap();
    let forms = FormRegistry::load(s).unwrap();
    let v2 = forms.get("mcmb-interview", 2).unwrap().clone();
    let emps: Vec<User> = (0..3)
        .map(|i| new_user(s, &format!("emp{i}"), Role::Employee, &["CI"]))
        .collect();
    let places = ["CI-BOUAKE", "CI-KORHOGO", "CI-MAN"];
    let assignments: Vec<Assignment> = emps
        .iter()
        .enumerate()
        .map(|(i, u)| Assignment {
            user_id: u.id.clone(),
            place_code: places[i].into(),
            team: format!("team {}", i % 2),
        })
        .collect();
    assert_eq!(s.upsert_assignments(&assignments).unwrap(), 3);
    assert_eq!(s.upsert_assignments(&assignments).unwrap(), 0, "unchanged");
    assert_eq!(s.list_assignments().unwrap().len(), 3);
    let mut quotas = Vec::new();
    for p in places {
        for (k, seg) in SEGMENTS.iter().enumerate() {
            quotas.push(Quota {
                place_code: p.into(),
                segment: (*seg).into(),
                user_id: String::new(),
                target: 3 + k as u32,
            });
        }
    }
    for u in &emps {
        quotas.push(Quota {
            place_code: places[0].into(),
            segment: "individual".into(),
            user_id: u.id.clone(),
            target: 2,
        });
    }
    assert_eq!(s.upsert_quotas(&quotas).unwrap(), quotas.len());
    quotas[0].target = 10;
    assert_eq!(s.upsert_quotas(&quotas).unwrap(), 1, "one target changed");
    assert_eq!(s.list_quotas().unwrap().len(), quotas.len());

    // 40 interviews: employees work anywhere, some stay drafts.
    for n in 0..40usize {
        let u = &emps[n % 3];
        let device = Uuid::new_v4();
        let mut iv =
            Interview::create(&v2, meta(&v2, &u.id, "CI", device), actor_from_uuid(device))
                .unwrap();
        let answers = survey_model::sample::with(
            survey_model::sample::on_place(complete_answers(7), places[n * 7 % 3]),
            &[("segment", serde_json::json!(SEGMENTS[n % 4]))],
        );
        for (k, v) in answers {
            iv.set_answer_json(&v2, k, &v).unwrap();
        }
        if n % 5 != 0 {
            assert!(iv.submit(&v2).unwrap().is_complete());
        }
        let caller = Caller {
            user: u,
            source: "dev",
            clock_skew_s: None,
        };
        let r = push(s, &forms, caller, &[full_push(&mut iv)]).unwrap();
        assert!(
            matches!(r[0].status, survey_protocol::DocStatus::Applied),
            "{r:?}"
        );
    }

    let got =
        central_store::fieldops::progress(&s.list_quotas().unwrap(), &s.done_counts().unwrap());
    let records = s.list_interviews(&InterviewFilter::default()).unwrap();
    assert_eq!(records.len(), 40);
    for q in &got {
        let recount = records
            .iter()
            .filter(|r| r.status == "submitted")
            .filter(|r| r.answer_str("place") == Some(q.place_code.as_str()))
            .filter(|r| r.answer_str("segment") == Some(q.segment.as_str()))
            .filter(|r| q.user_id.is_empty() || r.created_by == q.user_id)
            .count() as u64;
        assert_eq!(q.done, recount, "{q:?}");
    }
    assert_eq!(got.len(), quotas.len());
    assert!(got.iter().map(|q| q.done).sum::<u64>() > 0);
    let bouake_individual = got
        .iter()
        .find(|q| q.place_code == "CI-BOUAKE" && q.segment == "individual" && q.user_id.is_empty())
        .unwrap();
    assert_eq!(bouake_individual.target, 10, "the changed target");
}

fn dashboard_sessions_expire_and_end(s: &dyn CentralStore) {
    use central_store::dashboard::Session;
    let c = new_user(s, "coord", Role::Coordinator, &["CI"]);
    let sess = |created_at, expires_at| Session {
        user_id: c.id.clone(),
        csrf: "csrf-token".into(),
        created_at,
        expires_at,
    };
    s.create_session(&h(1), &sess(100, 200)).unwrap();
    let (got, user) = s.session(&h(1), 150).unwrap().unwrap();
    assert_eq!(
        (got.csrf.as_str(), got.expires_at, user.id.as_str()),
        ("csrf-token", 200, c.id.as_str())
    );
    assert!(
        s.session(&h(1), 200).unwrap().is_none(),
        "expired at its expiry time"
    );
    assert!(s.session(&h(2), 150).unwrap().is_none());
    // A new session sweeps expired ones.
    s.create_session(&h(2), &sess(300, 400)).unwrap();
    assert!(
        !s.delete_session(&h(1)).unwrap(),
        "the expired session was swept"
    );
    assert!(s.delete_session(&h(2)).unwrap());
    assert!(s.session(&h(2), 350).unwrap().is_none());
}

fn dashboard_language_is_saved_on_the_account(s: &dyn CentralStore) {
    use central_store::dashboard::Session;
    let c = new_user(s, "coord", Role::Coordinator, &["CI"]);
    assert_eq!(c.language, None, "a new user has no saved language");
    assert_eq!(s.user_language(&c.id).unwrap(), None);
    s.set_user_language(&c.id, Some("ar")).unwrap();
    assert_eq!(s.user_language(&c.id).unwrap().as_deref(), Some("ar"));
    // Every read of the user carries it, the dashboard session's included.
    assert_eq!(
        s.user(&c.id).unwrap().unwrap().language.as_deref(),
        Some("ar")
    );
    let (by_login, _) = s.user_by_login("coord").unwrap().unwrap();
    assert_eq!(by_login.language.as_deref(), Some("ar"));
    s.create_session(
        &h(1),
        &Session {
            user_id: c.id.clone(),
            csrf: "csrf".into(),
            created_at: 1,
            expires_at: 100,
        },
    )
    .unwrap();
    let (_, user) = s.session(&h(1), 2).unwrap().unwrap();
    assert_eq!(user.language.as_deref(), Some("ar"));
    s.set_user_language(&c.id, Some("pt")).unwrap();
    assert_eq!(
        s.list_users(Some("CI")).unwrap()[0].language.as_deref(),
        Some("pt")
    );
    s.set_user_language(&c.id, None).unwrap();
    assert_eq!(s.user_language(&c.id).unwrap(), None);
    assert!(matches!(
        s.set_user_language("nobody", Some("fr")),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.user_language("nobody").unwrap(), None);
}

// --- dashboard: SQL versus the streaming defaults, SQLite versus PostgreSQL --

/// Varied interviews as the pushes that store them: a full push of each, then
/// an incremental edit of some (so the projection's update path runs too).
struct DashSeed {
    /// (caller, push), in the order to apply them.
    pushes: Vec<(User, DocPush)>,
    /// Review changes a coordinator makes afterwards (server edits: devices
    /// may not write reviews), made once so every store gets the same bytes.
    reviews: Vec<(Uuid, Vec<u8>)>,
}

const DASH_COUNTRIES: [&str; 3] = ["CI", "SN", "ML"];
const DASH_CITIES: [[&str; 3]; 3] = [
    ["Abidjan", "Bouaké", "Yamoussoukro"],
    ["Dakar", "Thiès", "Saint-Louis"],
    ["Bamako", "Sikasso", "Mopti"],
];
const DASH_SEGMENTS: [&str; 4] = survey_model::mcmb::SEGMENTS;
/// The first six complaint categories of the form.
const DASH_CATEGORIES: &[&str] = survey_model::mcmb::COMPLAINT_CATEGORIES.split_at(6).0;

fn dash_user(country_ix: usize, n: usize) -> User {
    User {
        id: format!("emp-{}-{n}", DASH_COUNTRIES[country_ix]),
        login: format!("emp-{}-{n}", DASH_COUNTRIES[country_ix]),
        name: "Employee".into(),
        role: Role::Employee,
        countries: vec![DASH_COUNTRIES[country_ix].to_owned()],
        active: true,
        created_at: 0,
        language: None,
    }
}

fn dash_seed() -> DashSeed {
    use serde_json::json;
    let f = form();
    let mut pushes = Vec::new();
    let mut edits = Vec::new();
    let mut reviews = Vec::new();
    for i in 0..60usize {
        let c = i % 3;
        let user = dash_user(c, (i / 3) % 2);
        let device = Uuid::new_v4();
        let mut m = meta(&f, &user.id, DASH_COUNTRIES[c], device);
        // Several interviews share a timestamp (the queue breaks ties by id).
        m.created_at = if i % 5 == 0 {
            "2026-11-05T10:00:00Z".into()
        } else {
            format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i % 9, i % 24, i % 60)
        };
        let mut iv = Interview::create(&f, m, actor_from_uuid(device)).unwrap();
        let complaint = i % 3 != 0;
        let cats: Vec<&str> = (0..DASH_CATEGORIES.len())
            .filter(|k| (i >> k) & 1 == 1 || (i + k) % 5 == 0)
            .map(|k| DASH_CATEGORIES[k])
            .collect();
        for (k, v) in complete_answers(0) {
            let v = match k {
                "city" if i % 7 == 0 => continue,
                "city" => json!(DASH_CITIES[c][(i / 3) % 3]),
                "segment" if i % 11 == 0 => continue,
                "segment" => json!(DASH_SEGMENTS[i % 4]),
                "nps" if i % 13 == 5 => continue,
                "nps" => json!(i % 11),
                "sat_network" | "sat_shop" | "sat_call_centre" | "sat_billing"
                | "sat_mobile_money" => {
                    let j = k.len();
                    if (i + j) % 6 == 0 {
                        continue;
                    }
                    json!((i * 7 + j) % 5 + 1)
                }
                "has_complaint" => json!(if complaint { "yes" } else { "no" }),
                "complaint_categories" if !complaint || cats.is_empty() => continue,
                "complaint_categories" => json!(cats),
                "complaint_root_cause"
                | "complaint_detail"
                | "complaint_since"
                | "complaint_resolved"
                    if !complaint =>
                {
                    continue;
                }
                _ => v,
            };
            iv.set_answer_json(&f, k, &v).unwrap();
        }
        if i % 2 == 0 {
            iv.submit(&f).unwrap();
        }
        if let Some(state) = [
            None,
            Some(ReviewState::Received),
            Some(ReviewState::HasIssues),
            None,
            Some(ReviewState::Approved),
            Some(ReviewState::Rejected),
        ][i % 6]
        {
            let mut server = iv.clone();
            server.set_actor(actor_from_uuid(Uuid::from_u128(7)));
            let before = server.heads();
            server.set_review(state, "coord").unwrap();
            let change = server.changes_since(&before).remove(0);
            reviews.push((iv.id(), change.raw_bytes().to_vec()));
        }
        pushes.push((user.clone(), full_push(&mut iv)));
        if i % 4 == 1 {
            edits.push((user, iv));
        }
    }
    // Later edits move NPS, a rating and the complaint categories.
    for (n, (user, mut iv)) in edits.into_iter().enumerate() {
        let base = iv.heads();
        iv.set_answer_json(&f, "nps", &json!((n * 3) % 11)).unwrap();
        iv.set_answer_json(&f, "sat_billing", &json!(n % 5 + 1))
            .unwrap();
        iv.set_answer_json(&f, "has_complaint", &json!("yes"))
            .unwrap();
        iv.set_answer_json(
            &f,
            "complaint_categories",
            &json!(["sim_device", "billing"]),
        )
        .unwrap();
        let data: Vec<u8> = iv
            .changes_since(&base)
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        pushes.push((
            user,
            DocPush {
                doc_id: iv.id(),
                base_heads: base.iter().map(|h| h.0).collect(),
                heads: iv.heads().iter().map(|h| h.0).collect(),
                data,
            },
        ));
    }
    DashSeed { pushes, reviews }
}

/// Store the seed through the normal push path.
fn dash_apply(s: &dyn CentralStore, seed: &DashSeed) {
    let forms = forms(s);
    for (user, p) in &seed.pushes {
        let r = push(
            s,
            &forms,
            Caller {
                user,
                source: "dev-dash",
                clock_skew_s: None,
            },
            std::slice::from_ref(p),
        )
        .unwrap();
        assert!(matches!(r[0].status, DocStatus::Applied), "{:?}", r[0]);
    }
    let coord = User {
        id: "coord".into(),
        login: "coord".into(),
        name: "Coord".into(),
        role: Role::Coordinator,
        countries: DASH_COUNTRIES.iter().map(|c| (*c).to_owned()).collect(),
        active: true,
        created_at: 0,
        language: None,
    };
    let actor = actor_from_uuid(Uuid::from_u128(7));
    for (id, change) in &seed.reviews {
        central_store::merge::edit(s, &forms, &actor, &coord, *id, |iv| {
            iv.apply_changes(vec![automerge::Change::from_bytes(change.clone()).unwrap()])
        })
        .unwrap();
    }
}

fn dash_stats_filters() -> Vec<InterviewFilter> {
    let mut out = vec![InterviewFilter::default()];
    for c in [vec!["CI"], vec!["CI", "ML"], vec!["XX"]] {
        out.push(InterviewFilter {
            countries: c.into_iter().map(str::to_owned).collect(),
            ..Default::default()
        });
    }
    out.push(InterviewFilter {
        countries: vec!["SN".into()],
        city: Some("Dakar".into()),
        ..Default::default()
    });
    for seg in ["business", "partner"] {
        out.push(InterviewFilter {
            segment: Some(seg.into()),
            ..Default::default()
        });
    }
    out.push(InterviewFilter {
        created_by: Some(dash_user(1, 0).id),
        ..Default::default()
    });
    for rs in ["approved", "has_issues"] {
        out.push(InterviewFilter {
            review_state: Some(rs.into()),
            ..Default::default()
        });
    }
    out.push(InterviewFilter {
        status: Some("submitted".into()),
        // Paging is ignored by the aggregates.
        limit: Some(3),
        offset: Some(2),
        ..Default::default()
    });
    out
}

fn dash_queries() -> Vec<(&'static str, ReviewQuery)> {
    use central_store::dashboard::NpsBand;
    let q = |base: InterviewFilter| ReviewQuery {
        base,
        ..Default::default()
    };
    let page = |limit, offset| InterviewFilter {
        limit: Some(limit),
        offset: Some(offset),
        ..Default::default()
    };
    let mut out: Vec<(&'static str, ReviewQuery)> = vec![
        ("all", q(page(1000, 0))),
        ("default page", q(InterviewFilter::default())),
        (
            "country",
            q(InterviewFilter {
                countries: vec!["ML".into()],
                limit: Some(1000),
                ..Default::default()
            }),
        ),
        (
            "city",
            q(InterviewFilter {
                city: Some("Bouaké".into()),
                limit: Some(1000),
                ..Default::default()
            }),
        ),
        (
            "segment",
            q(InterviewFilter {
                segment: Some("mobile_money_user".into()),
                limit: Some(1000),
                ..Default::default()
            }),
        ),
        (
            "employee",
            q(InterviewFilter {
                created_by: Some(dash_user(2, 1).id),
                limit: Some(1000),
                ..Default::default()
            }),
        ),
        (
            "date from",
            ReviewQuery {
                date_from: Some("2026-11-05".into()),
                ..q(page(1000, 0))
            },
        ),
        (
            "date to",
            ReviewQuery {
                date_to: Some("2026-11-05".into()),
                ..q(page(1000, 0))
            },
        ),
        (
            "one day",
            ReviewQuery {
                date_from: Some("2026-11-05".into()),
                date_to: Some("2026-11-05".into()),
                ..q(page(1000, 0))
            },
        ),
        (
            "base review_state is ignored",
            q(InterviewFilter {
                review_state: Some("approved".into()),
                limit: Some(1000),
                ..Default::default()
            }),
        ),
    ];
    for band in [NpsBand::Promoter, NpsBand::Passive, NpsBand::Detractor] {
        out.push((
            band.as_str(),
            ReviewQuery {
                nps_band: Some(band),
                ..q(page(1000, 0))
            },
        ));
    }
    for rs in [
        "unreviewed",
        "received",
        "has_issues",
        "approved",
        "rejected",
    ] {
        out.push((
            rs,
            ReviewQuery {
                review_state: Some(rs.into()),
                ..q(page(1000, 0))
            },
        ));
    }
    for cat in ["network_coverage", "billing", "sim_device", "mobile_money"] {
        out.push((
            cat,
            ReviewQuery {
                complaint_category: Some(cat.into()),
                ..q(page(1000, 0))
            },
        ));
    }
    out.push((
        "combined",
        ReviewQuery {
            base: InterviewFilter {
                countries: vec!["CI".into(), "SN".into()],
                limit: Some(1000),
                ..Default::default()
            },
            nps_band: Some(NpsBand::Detractor),
            complaint_category: Some("billing".into()),
            date_to: Some("2026-11-08".into()),
            ..Default::default()
        },
    ));
    for (name, offset) in [
        ("page 1", 0),
        ("page 2", 7),
        ("page 5", 28),
        ("last page", 56),
        ("past the end", 1000),
    ] {
        out.push((name, q(page(7, offset))));
    }
    out
}

/// The SQL dashboard methods give exactly what the streaming defaults give.
fn dashboard_sql_matches_streaming_defaults(s: &dyn CentralStore) {
    use central_store::dashboard::{default_campaign_stats, default_review_queue};
    dash_apply(s, &dash_seed());
    for f in dash_stats_filters() {
        assert_eq!(
            s.campaign_stats(&f).unwrap(),
            default_campaign_stats(s, &f).unwrap(),
            "{f:?}"
        );
    }
    let all = s.count_interviews(&InterviewFilter::default()).unwrap();
    assert_eq!(all, 60);
    for (name, q) in dash_queries() {
        let (sql, def) = (
            s.review_queue(&q).unwrap(),
            default_review_queue(s, &q).unwrap(),
        );
        assert_eq!((sql.total, &sql.items), (def.total, &def.items), "{name}");
        if !name.starts_with("page") && !name.contains("page") && name != "past the end" {
            // Every filter selects something, and not everything.
            assert!(sql.total > 0, "{name} selects nothing");
            assert!(
                sql.total < all || name == "all" || name.contains("ignored"),
                "{name} selects everything"
            );
        }
    }
}

/// A projection row written by the rules before answers were checked (every
/// answer raw, no flags) is rebuilt by `reproject_all`: the stale NPS of 11
/// and the withdrawn complaint's categories leave the row and its SQL
/// columns, the flags appear, the document is untouched, and a second run
/// rewrites nothing.
fn reprojection_rewrites_stale_rows_once(s: &dyn CentralStore) {
    use automerge::ReadDoc;
    use automerge::transaction::Transactable;
    use central_store::reproject::reproject_all;
    use serde_json::json;
    let forms = forms(s);
    let emp = new_user(s, "emp.re", Role::Employee, &["CI"]);
    let f = form();
    let mut stale = interview(&emp, Uuid::new_v4(), 5);
    stale
        .set_answer_json(&f, "complaint_categories", &json!(["billing"]))
        .unwrap();
    stale
        .set_answer_json(&f, "has_complaint", &json!("no"))
        .unwrap();
    let answers = match stale.doc_mut().get(automerge::ROOT, "answers").unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("{other:?}"),
    };
    stale.doc_mut().put(&answers, "nps", 11).unwrap();
    stale.doc_mut().commit();
    let mut fine = interview(&emp, Uuid::new_v4(), 9);
    fine.set_answer_json(&f, "complaint_categories", &json!(["billing"]))
        .unwrap();
    for iv in [&mut stale, &mut fine] {
        let caller = Caller {
            user: &emp,
            source: "dev-re",
            clock_skew_s: None,
        };
        let r = push(s, &forms, caller, &[full_push(iv)]).unwrap();
        assert!(matches!(r[0].status, DocStatus::Applied), "{:?}", r[0]);
    }
    // Overwrite the row as the old projection had it.
    let doc = s.load_doc(stale.id()).unwrap().unwrap();
    let old = stale.project(None);
    assert_eq!(old.answer_i64("nps"), Some(11));
    s.commit_docs(&[DocWrite {
        doc_id: stale.id(),
        owner: doc.owner.clone(),
        country: doc.country.clone(),
        expected_version: Some(doc.version),
        changes: vec![],
        source: "old-release".into(),
        snapshot: doc.snapshot.clone(),
        heads: stale.heads().iter().map(|h| h.0).collect(),
        record: old,
        events: vec![],
        replaces_history: false,
        snapshot_holds_changes: false,
    }])
    .unwrap();
    let billing = ReviewQuery {
        complaint_category: Some("billing".into()),
        ..Default::default()
    };
    assert_eq!(
        s.review_queue(&billing).unwrap().total,
        2,
        "stale row counted"
    );

    let mut seen = 0;
    let r = reproject_all(s, &forms, &mut |n| seen = n).unwrap();
    assert_eq!((r.seen, r.rewritten, r.failed, seen), (2, 1, 0, 2));
    let rec = s.interview(stale.id()).unwrap().unwrap();
    let mut want = central_store::merge::stored_record(s, &forms, &mut stale, None).unwrap();
    // Both interviews have the sample's phone number: the store adds the
    // cross-interview check on read.
    want.checks.push(survey_model::Check::DuplicatePhone);
    assert_eq!(rec, want);
    assert_eq!(rec.answers, stale.project(Some(&f)).answers);
    assert_eq!(rec.answer_i64("nps"), None);
    let flags: Vec<String> = rec.quality_flags.iter().map(ToString::to_string).collect();
    assert!(flags.contains(&"nps:out_of_range".to_owned()), "{flags:?}");
    assert!(flags.contains(&"complaint_categories:not_relevant".to_owned()));
    // The SQL columns follow the row.
    assert_eq!(s.review_queue(&billing).unwrap().total, 1);
    let t = s.campaign_stats(&InterviewFilter::default()).unwrap().total;
    assert_eq!((t.with_nps, t.promoters, t.complaints), (1, 1, 1));
    // The document and the log are untouched.
    let after = s.load_doc(stale.id()).unwrap().unwrap();
    assert_eq!(after.snapshot, doc.snapshot);
    assert_eq!(
        s.doc_changes(stale.id()).unwrap().len(),
        stale.changes_since(&[]).len()
    );

    let again = reproject_all(s, &forms, &mut |_| {}).unwrap();
    assert_eq!((again.seen, again.rewritten, again.failed), (2, 0, 0));
}

// --- PostgreSQL only ---------------------------------------------------------

/// A raw transaction on its own connection, driven step by step from the test.
struct RawTx {
    cmd: mpsc::Sender<Option<String>>,
    res: mpsc::Receiver<Result<Vec<i64>, String>>,
}

impl RawTx {
    fn open(url: &str) -> RawTx {
        let (cmd, cmd_rx) = mpsc::channel::<Option<String>>();
        let (res_tx, res) = mpsc::channel();
        let url = url.to_owned();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                let tx = client.transaction().await.unwrap();
                while let Ok(Some(sql)) = cmd_rx.recv() {
                    let r = tx
                        .query(&sql, &[])
                        .await
                        .map(|rows| {
                            rows.iter()
                                .filter_map(|r| r.try_get::<_, i64>(0).ok())
                                .collect()
                        })
                        .map_err(|e| e.to_string());
                    res_tx.send(r).unwrap();
                }
                tx.commit().await.unwrap();
                res_tx.send(Ok(vec![])).unwrap();
            });
        });
        RawTx { cmd, res }
    }
    fn query(&self, sql: &str) -> Vec<i64> {
        self.cmd.send(Some(sql.to_owned())).unwrap();
        self.res.recv().unwrap().unwrap()
    }
    fn commit(self) {
        self.cmd.send(None).unwrap();
        self.res.recv().unwrap().unwrap();
    }
}

/// A writer that got a lower seq commits after one with a higher seq would,
/// if nothing prevented it: the feed must never return a cursor past the
/// uncommitted change, and a device resuming from any cursor gets both.
#[test]
fn pg_feed_cursor_never_skips_a_change_committed_late() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    let store = Arc::new(PgStore::connect(&db.url).unwrap());
    let first = synthetic("u1", "devA", 1, record("CI", "u1", "X", "individual", None));
    store.commit_docs(std::slice::from_ref(&first)).unwrap();
    let c0 = store.feed("u1", "devX", 0, 100, usize::MAX).unwrap().cursor;

    // Slow writer: follows the store's protocol (the seq lock, then insert),
    // gets seq N, and stays uncommitted.
    let slow = RawTx::open(&db.url);
    slow.query(&format!(
        "SELECT pg_advisory_xact_lock({})",
        central_store::postgres::SEQ_LOCK
    ));
    let slow_doc = Uuid::now_v7();
    let slow_seq = slow.query(&format!(
        "INSERT INTO change_batches(doc_id, owner, source, hashes, sizes, bytes, received_at)
         VALUES ('{slow_doc}', 'u1', 'devS', '\\x{}', '2', '\\x0102', 0) RETURNING seq",
        hex(&rand_hash())
    ))[0];
    assert!(slow_seq as u64 > c0);

    // Fast writer: a normal commit through the store, started after the slow one.
    let fast = synthetic("u1", "devB", 1, record("CI", "u1", "X", "individual", None));
    let (done_tx, done_rx) = mpsc::channel();
    let st = store.clone();
    let fw = fast.clone();
    let handle = std::thread::spawn(move || {
        st.commit_docs(std::slice::from_ref(&fw)).unwrap();
        done_tx.send(()).unwrap();
    });
    // While the slow change is in flight, the cursor stays below it.
    for _ in 0..10 {
        let p = store.feed("u1", "devX", c0, 100, usize::MAX).unwrap();
        assert!(
            p.cursor < slow_seq as u64,
            "cursor {} passed uncommitted seq {slow_seq}",
            p.cursor
        );
        assert!(p.items.is_empty());
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(
        done_rx.try_recv().is_err(),
        "the fast writer must wait for the seq lock, so it cannot commit a higher seq first"
    );
    slow.commit();
    handle.join().unwrap();
    let p = store.feed("u1", "devX", c0, 100, usize::MAX).unwrap();
    let seqs: Vec<u64> = p.items.iter().map(|i| i.seq).collect();
    assert_eq!(seqs.len(), 2);
    assert_eq!(seqs[0], slow_seq as u64, "the late commit is delivered");
    assert!(seqs[1] > seqs[0], "seq order is commit order");
    assert_eq!(p.items[1].doc_id, fast.doc_id);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Many writers commit concurrently while a reader follows the feed from its
/// cursor: the reader ends with every change exactly once.
#[test]
fn pg_feed_follower_sees_every_change_under_concurrent_writers() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    let store = Arc::new(PgStore::connect(&db.url).unwrap());
    const WRITERS: usize = 4;
    const BATCHES: usize = 60;
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut expected = HashSet::new();
    let mut handles = Vec::new();
    for w in 0..WRITERS {
        let writes: Vec<DocWrite> = (0..BATCHES)
            .map(|_| {
                synthetic(
                    "u1",
                    &format!("w{w}"),
                    3,
                    record("CI", "u1", "X", "individual", None),
                )
            })
            .collect();
        expected.extend(
            writes
                .iter()
                .flat_map(|wr| wr.changes.iter().map(|c| c.hash)),
        );
        let (st, done) = (store.clone(), done.clone());
        handles.push(std::thread::spawn(move || {
            for wr in writes {
                st.commit_docs(std::slice::from_ref(&wr)).unwrap();
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
    }
    let mut seen: Vec<(u64, Uuid)> = Vec::new();
    let mut cursor = 0;
    loop {
        let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
        let p = store.feed("u1", "reader", cursor, 50, usize::MAX).unwrap();
        seen.extend(p.items.iter().map(|i| (i.seq, i.doc_id)));
        cursor = p.cursor;
        if finished && !p.more {
            break;
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    let all = store.feed("u1", "reader", 0, 100_000, usize::MAX).unwrap();
    let all_seqs: Vec<(u64, Uuid)> = all.items.iter().map(|i| (i.seq, i.doc_id)).collect();
    assert_eq!(all_seqs.len(), WRITERS * BATCHES * 3);
    assert_eq!(
        seen, all_seqs,
        "the follower saw every change once, in order"
    );
    assert_eq!(expected.len(), WRITERS * BATCHES * 3);
    assert_eq!(store.stats().unwrap().changes as usize, expected.len());
}

#[test]
fn pg_replicas_migrate_once_when_starting_together() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    let versions: Vec<i64> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                sc.spawn(|| {
                    PgStore::connect_with(&db.url, 2)
                        .unwrap()
                        .schema_version()
                        .unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(versions.iter().all(|v| *v == versions[0] && *v >= 1));
    let again = PgStore::connect(&db.url).unwrap();
    assert_eq!(again.schema_version().unwrap(), versions[0]);
}

#[test]
fn pg_bad_url_and_unreachable_server_are_errors() {
    assert!(matches!(
        PgStore::connect("postgres://x:notaport/db"),
        Err(StoreError::Db(_))
    ));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = PgStore::connect(&format!("postgres://postgres@127.0.0.1:{port}/none")).unwrap_err();
    assert!(matches!(e, StoreError::Db(_)), "{e}");
}

/// `admin migrate-store`: a SQLite store with every kind of row is copied into
/// an empty PostgreSQL database by the real binary; the copy behaves the same.
#[test]
fn migrate_store_copies_sqlite_into_postgres_without_loss() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.sqlite3");
    let src = SqliteStore::open(&path).unwrap();
    let s: &dyn CentralStore = &src;
    let forms = forms(s);
    let emp = new_user(s, "awa", Role::Employee, &["CI"]);
    let coord = new_user(s, "coord", Role::Coordinator, &["CI"]);
    s.set_password_hash(&coord.id, "$argon2id$v=19$fake")
        .unwrap();
    s.set_user_language(&coord.id, Some("fr")).unwrap();
    s.add_api_token(&coord.id, &h(1), "laptop", 10).unwrap();
    s.add_enrollment_code(&emp.id, &h(2), i64::MAX).unwrap();
    s.redeem_enrollment(&h(2), 20, "dev-1", "phone", &h(3))
        .unwrap();
    s.add_enrollment_code(&emp.id, &h(4), i64::MAX).unwrap();
    s.redeem_enrollment(&h(4), 21, "dev-2", "old phone", &h(5))
        .unwrap();
    s.revoke_device("dev-2", 30).unwrap();
    s.add_enrollment_code(&emp.id, &h(6), i64::MAX).unwrap();
    let places = vec![
        survey_model::Place {
            code: "CI-BKE".into(),
            country: "CI".into(),
            name: "Bouaké".into(),
            region: "Gbêkê".into(),
            kind: "city".into(),
            setting: "urban".into(),
            lat: Some(7.6899),
            lon: Some(-5.0318),
        },
        survey_model::Place {
            code: "CI-KANI".into(),
            country: "CI".into(),
            name: "Kani".into(),
            region: String::new(),
            kind: "village".into(),
            setting: "rural".into(),
            lat: None,
            lon: None,
        },
    ];
    s.upsert_places(&places).unwrap();
    let assignment = central_store::Assignment {
        user_id: emp.id.clone(),
        place_code: "CI-BKE".into(),
        team: "Équipe 1".into(),
    };
    s.upsert_assignments(std::slice::from_ref(&assignment))
        .unwrap();
    let quota = central_store::Quota {
        place_code: "CI-BKE".into(),
        segment: "business".into(),
        user_id: String::new(),
        target: 12,
    };
    s.upsert_quotas(std::slice::from_ref(&quota)).unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut iv = interview(&emp, Uuid::new_v4(), n);
        push(
            s,
            &forms,
            Caller {
                user: &emp,
                source: "dev-1",
                clock_skew_s: None,
            },
            &[full_push(&mut iv)],
        )
        .unwrap();
        ids.push(iv.id());
    }
    let actor = actor_from_uuid(Uuid::new_v4());
    central_store::merge::edit(s, &forms, &actor, &coord, ids[1], |iv| {
        iv.add_comment(&coord.id, &coord.name, "coordinator", "Rappeler le client")
            .map(|_| ())
    })
    .unwrap();
    for i in 0..3 {
        s.audit(&AuditEntry {
            at: 40 + i,
            actor: coord.id.clone(),
            action: "review".into(),
            target: ids[0].to_string(),
            detail: String::new(),
        })
        .unwrap();
    }
    s.create_session(
        &h(9),
        &central_store::dashboard::Session {
            user_id: coord.id.clone(),
            csrf: "csrf".into(),
            created_at: 10,
            expires_at: i64::MAX,
        },
    )
    .unwrap();
    let dash_before = s.campaign_stats(&InterviewFilter::default()).unwrap();
    let queue_q = ReviewQuery {
        complaint_category: Some("data_speed".into()),
        ..Default::default()
    };
    let queue_before = s.review_queue(&queue_q).unwrap();
    assert_eq!(queue_before.total, 3);
    let before = s.stats().unwrap();
    let feed_before = s.feed(&emp.id, "x", 0, 1000, usize::MAX).unwrap();
    let audit_before = s.audit_log(10).unwrap();
    drop(src);

    let db = TestDb::create();
    let out =
        fieldvoice_tests::pg::admin(path.to_str().unwrap(), &["migrate-store", "--to", &db.url]);
    assert!(
        out.contains("document heads compared: 3, mismatches: 0"),
        "{out}"
    );
    assert!(out.contains("migrate-store: identical"), "{out}");
    assert!(out.contains("dash: ratings"), "{out}");
    assert!(!out.contains("DIFFERENT"), "{out}");

    let pg = PgStore::connect(&db.url).unwrap();
    let p: &dyn CentralStore = &pg;
    assert_eq!(p.stats().unwrap(), before);
    // Secrets work as before (still hashes only).
    assert_eq!(p.user_by_api_token(&h(1)).unwrap().unwrap().id, coord.id);
    assert_eq!(
        p.user_by_login("coord").unwrap().unwrap().1.as_deref(),
        Some("$argon2id$v=19$fake")
    );
    assert_eq!(
        p.device_by_token(&h(3)).unwrap().unwrap().device.id,
        "dev-1"
    );
    assert!(
        p.device_by_token(&h(5)).unwrap().is_none(),
        "revoked stays revoked"
    );
    assert!(matches!(
        p.redeem_enrollment(&h(2), 50, "dev-x", "x", &h(7)),
        Err(StoreError::InvalidCode)
    ));
    p.redeem_enrollment(&h(6), 50, "dev-3", "new phone", &h(8))
        .unwrap();
    // Documents, log and feed are identical.
    let feed_after = p.feed(&emp.id, "x", 0, 1000, usize::MAX).unwrap();
    assert_eq!(feed_after.cursor, feed_before.cursor);
    let a: Vec<(u64, Vec<u8>)> = feed_before
        .items
        .iter()
        .map(|i| (i.seq, i.bytes.clone()))
        .collect();
    let b: Vec<(u64, Vec<u8>)> = feed_after
        .items
        .iter()
        .map(|i| (i.seq, i.bytes.clone()))
        .collect();
    assert_eq!(a, b);
    for id in &ids {
        let r = p.interview(*id).unwrap().unwrap();
        assert_eq!(r.heads.len(), p.doc_heads(*id).unwrap().len());
        assert_eq!(
            p.change_log(*id).unwrap().len(),
            p.doc_changes(*id).unwrap().len()
        );
    }
    assert_eq!(p.interview(ids[1]).unwrap().unwrap().comment_count, 1);
    // The dashboard reads the copied columns; sessions survive the move.
    assert_eq!(
        p.campaign_stats(&InterviewFilter::default()).unwrap(),
        dash_before
    );
    assert_eq!(p.review_queue(&queue_q).unwrap().items, queue_before.items);
    assert_eq!(p.session(&h(9), 20).unwrap().unwrap().1.id, coord.id);
    assert_eq!(
        p.user_language(&coord.id).unwrap().as_deref(),
        Some("fr"),
        "the dashboard language moves with the account"
    );
    assert_eq!(
        p.list_places().unwrap(),
        places,
        "places, coordinates included"
    );
    assert_eq!(p.places_revision("CI").unwrap(), "2.1");
    assert_eq!(p.list_assignments().unwrap(), vec![assignment]);
    assert_eq!(p.list_quotas().unwrap(), vec![quota]);
    let audit_after = p.audit_log(10).unwrap();
    assert_eq!(
        audit_after
            .iter()
            .map(|e| (e.at, e.action.clone()))
            .collect::<Vec<_>>(),
        audit_before
            .iter()
            .map(|e| (e.at, e.action.clone()))
            .collect::<Vec<_>>()
    );
    // The sequences continue after the copied rows.
    let w = synthetic(
        &emp.id,
        "dev-1",
        1,
        record("CI", &emp.id, "X", "individual", None),
    );
    p.commit_docs(std::slice::from_ref(&w)).unwrap();
    assert_eq!(p.stats().unwrap().max_seq, before.max_seq + 1);
    p.audit(&AuditEntry {
        at: 99,
        actor: "a".into(),
        action: "after".into(),
        target: String::new(),
        detail: String::new(),
    })
    .unwrap();
    assert_eq!(p.audit_log(1).unwrap()[0].action, "after");

    // A second copy into the now non-empty database is refused.
    let again = std::process::Command::new(fieldvoice_tests::server::server_binary())
        .arg("--database")
        .arg(&path)
        .args(["admin", "migrate-store", "--to", &db.url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

/// The same interviews pushed into SQLite and PostgreSQL give the same
/// dashboard: equal aggregates and equal review-queue pages under every filter.
#[test]
fn dashboard_sqlite_and_postgres_agree() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let (sq, pg) = (sqlite(), postgres());
    let seed = dash_seed();
    let (a, b) = (sq.store.as_ref(), pg.store.as_ref());
    dash_apply(a, &seed);
    dash_apply(b, &seed);
    for f in dash_stats_filters() {
        let x = a.campaign_stats(&f).unwrap();
        assert_eq!(x, b.campaign_stats(&f).unwrap(), "{f:?}");
        // The averages shown are computed from equal sums: equal to the bit.
        for i in 0..5 {
            assert_eq!(
                x.total.sat_avg(i).map(f64::to_bits),
                b.campaign_stats(&f)
                    .unwrap()
                    .total
                    .sat_avg(i)
                    .map(f64::to_bits)
            );
        }
    }
    for (name, q) in dash_queries() {
        let (x, y) = (a.review_queue(&q).unwrap(), b.review_queue(&q).unwrap());
        assert_eq!(x.total, y.total, "{name}");
        assert_eq!(x.items, y.items, "{name}");
    }
    // What exports and OData stream: the same records with the same seqs
    // (incremental exports select by them), reviewed ones included.
    let stream = |s: &dyn CentralStore| -> Vec<(serde_json::Value, u64)> {
        streamed(s, &InterviewFilter::default())
            .into_iter()
            .map(|(r, seq)| (serde_json::to_value(&r).unwrap(), seq))
            .collect()
    };
    let (x, y) = (stream(a), stream(b));
    assert_eq!(x.len(), y.len());
    assert!(!x.is_empty() && !seed.reviews.is_empty());
    for (r, p) in x.iter().zip(&y) {
        assert_eq!(r, p);
    }
    // The change log, the cases the pushes opened, quotas' counts, tags.
    assert_eq!(a.stats().unwrap(), b.stats().unwrap());
    for (r, _) in &x {
        let id: Uuid = r["interview_id"].as_str().unwrap().parse().unwrap();
        let log = |s: &dyn CentralStore| -> Vec<(u64, String, String)> {
            let l = s.change_log(id).unwrap();
            l.into_iter().map(|m| (m.seq, m.hash, m.source)).collect()
        };
        assert_eq!(log(a), log(b), "{id}");
    }
    let cases = |s: &dyn CentralStore| {
        let mut c: Vec<_> = (s.list_cases(&central_store::CaseFilter::default()).unwrap())
            .into_iter()
            .map(|c| {
                let due = c.due_at - c.opened_at;
                (
                    c.interview_id,
                    c.reason,
                    c.status,
                    c.root_cause,
                    c.opened_by,
                    due,
                    c.version,
                )
            })
            .collect();
        c.sort();
        c
    };
    assert!(!cases(a).is_empty());
    assert_eq!(cases(a), cases(b));
    assert_eq!(a.done_counts().unwrap(), b.done_counts().unwrap());
    let f = InterviewFilter::default();
    assert_eq!(a.review_tags(&f).unwrap(), b.review_tags(&f).unwrap());
}

/// Migration 3 back-fills the dashboard columns of interviews stored before
/// it: drop them (and their indexes), the later migrations' records and what
/// they made, reconnect.
#[test]
fn pg_dashboard_columns_are_backfilled_by_the_migration() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    let pg = PgStore::connect(&db.url).unwrap();
    dash_apply(&pg, &dash_seed());
    let f = InterviewFilter::default();
    let stats = pg.campaign_stats(&f).unwrap();
    let queries = dash_queries();
    let pages: Vec<_> = queries
        .iter()
        .map(|(_, q)| pg.review_queue(q).unwrap().items)
        .collect();
    let version = pg.schema_version().unwrap();
    assert!(version >= 3);
    pg.batch_execute(
        "ALTER TABLE interviews DROP COLUMN sat_network, DROP COLUMN sat_shop,
           DROP COLUMN sat_call_centre, DROP COLUMN sat_billing,
           DROP COLUMN sat_mobile_money, DROP COLUMN complaint_categories;
         DELETE FROM schema_migrations WHERE version >= 3;
         -- Schema 2's change log (migration 16 moved it; its rows do not
         -- matter here).
         DROP TABLE change_batches, actors;
         CREATE TABLE changes (
           seq BIGSERIAL PRIMARY KEY, doc_id UUID NOT NULL, owner TEXT NOT NULL,
           hash BYTEA NOT NULL UNIQUE, actor BYTEA NOT NULL, source TEXT NOT NULL,
           bytes BYTEA NOT NULL, received_at BIGINT NOT NULL);",
    )
    .unwrap();
    drop(pg);
    let pg = PgStore::connect(&db.url).unwrap();
    assert_eq!(pg.schema_version().unwrap(), version);
    assert_eq!(pg.campaign_stats(&f).unwrap(), stats);
    for ((name, q), items) in queries.iter().zip(&pages) {
        assert_eq!(&pg.review_queue(q).unwrap().items, items, "{name}");
    }
}

/// Migration 18 brings the interviews whose seq the old upsert left at
/// their first push to their document's seq, so the next incremental export
/// takes them.
#[test]
fn pg_stale_interview_seqs_are_brought_forward_by_the_migration() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    let pg = PgStore::connect(&db.url).unwrap();
    an_interview_changed_after_an_increment_is_in_the_next(&pg);
    let seqs = |pg: &PgStore| -> Vec<(String, u64)> {
        streamed(pg, &InterviewFilter::default())
            .into_iter()
            .map(|(r, seq)| (r.interview_id, seq))
            .collect()
    };
    let want = seqs(&pg);
    assert!(pg.schema_version().unwrap() >= 18);
    pg.batch_execute(
        "UPDATE interviews SET updated_seq = 1;
         DELETE FROM schema_migrations WHERE version >= 18;",
    )
    .unwrap();
    assert_ne!(seqs(&pg), want);
    drop(pg);
    let pg = PgStore::connect(&db.url).unwrap();
    assert_eq!(seqs(&pg), want);
}

/// The projection's column table (what the upserts write and the dashboards
/// read) agrees with the columns the migrations actually created, on both
/// backends.
#[test]
fn projection_column_table_matches_both_migrated_schemas() {
    let want = |sqlite: bool| -> Vec<(String, String)> {
        central_store::columns::interview_schema(sqlite)
            .into_iter()
            .map(|(n, t)| (n.to_owned(), t.to_owned()))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open(&dir.path().join("c.sqlite3")).unwrap();
    let mut have = lite.table_columns("interviews").unwrap();
    have.sort();
    assert_eq!(have, want(true));
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    let pg = PgStore::connect(&db.url).unwrap();
    let mut have = pg.table_columns("interviews").unwrap();
    have.sort();
    assert_eq!(have, want(false));
}

/// Cases open by rule once per interview (a promoter asking to be called
/// back, a detractor whose complaint is not resolved; not a satisfied
/// customer, not a draft), due by the country's service level; an update
/// wins only on the version it read; notes keep their order.
fn follow_up_cases_open_by_rule_once_and_move_by_version(s: &dyn CentralStore) {
    use central_store::{CaseFilter, CaseNote, ServiceLevel};
    use serde_json::json;
    let forms = forms(s);
    let f = form();
    let emp = new_user(s, "emp.case", Role::Employee, &["CI"]);
    let sl = ServiceLevel {
        country: "CI".into(),
        first_contact_hours: 24,
        resolution_hours: 72,
    };
    assert_eq!(
        s.upsert_service_levels(std::slice::from_ref(&sl)).unwrap(),
        1
    );
    assert_eq!(
        s.upsert_service_levels(std::slice::from_ref(&sl)).unwrap(),
        0
    );
    assert_eq!(s.list_service_levels().unwrap(), vec![sl]);
    let make = |nps: i64, extra: &[(&str, serde_json::Value)], submit: bool| {
        let mut iv = interview(&emp, Uuid::new_v4(), nps);
        for (k, v) in extra {
            iv.set_answer_json(&f, k, v).unwrap();
        }
        if submit {
            iv.submit(&f).unwrap();
        }
        iv
    };
    let call_me = [
        ("follow_up_requested", json!("yes")),
        ("follow_up_contact", json!("+225 01 02 03 04 05")),
    ];
    let mut a = make(9, &call_me, true);
    let mut b = make(3, &[], true);
    let mut c = make(10, &[("complaint_resolved", json!("yes"))], true);
    let mut d = make(9, &call_me, false);
    for iv in [&mut a, &mut b, &mut c, &mut d] {
        let caller = Caller {
            user: &emp,
            source: "dev-case",
            clock_skew_s: None,
        };
        let r = push(s, &forms, caller, &[full_push(iv)]).unwrap();
        assert!(matches!(r[0].status, DocStatus::Applied), "{:?}", r[0]);
    }
    let all = CaseFilter {
        countries: vec!["CI".into()],
        ..CaseFilter::default()
    };
    let cases = s.list_cases(&all).unwrap();
    let reason_of = |iv: &Interview| {
        cases
            .iter()
            .find(|k| k.interview_id == iv.id().to_string())
            .map(|k| k.reason.clone())
    };
    assert_eq!(reason_of(&a).as_deref(), Some("follow_up_requested"));
    assert_eq!(reason_of(&b).as_deref(), Some("unresolved_detractor"));
    assert_eq!(reason_of(&c), None, "a satisfied customer");
    assert_eq!(reason_of(&d), None, "a draft");
    let case_a = s.case_of_interview(&a.id().to_string()).unwrap().unwrap();
    assert_eq!(case_a.due_at, case_a.opened_at + 24 * 3600);
    assert_eq!((case_a.status.as_str(), case_a.version), ("open", 1));
    let case_b = s.case_of_interview(&b.id().to_string()).unwrap().unwrap();
    assert_eq!(case_b.root_cause.as_deref(), Some("network"));
    // A later change to the interview opens no second case.
    a.set_answer_json(&f, "nps", &json!(10)).unwrap();
    let caller = Caller {
        user: &emp,
        source: "dev-case",
        clock_skew_s: None,
    };
    push(s, &forms, caller, &[full_push(&mut a)]).unwrap();
    assert_eq!(s.list_cases(&all).unwrap().len(), 2);
    // Updates by version.
    let mut contacted = case_a.clone();
    contacted.status = "contacted".into();
    contacted.owner = Some(emp.id.clone());
    contacted.first_contact_at = Some(case_a.opened_at + 3600);
    assert!(s.update_case(&contacted).unwrap());
    let stale = contacted.clone();
    assert!(!s.update_case(&stale).unwrap(), "version 1 was used");
    let now = s.case(&case_a.id).unwrap().unwrap();
    assert_eq!((now.status.as_str(), now.version), ("contacted", 2));
    assert_eq!(now.owner.as_deref(), Some(emp.id.as_str()));
    let mine = CaseFilter {
        owner: Some(emp.id.clone()),
        ..CaseFilter::default()
    };
    assert_eq!(s.list_cases(&mine).unwrap(), vec![now.clone()]);
    let open = CaseFilter {
        status: Some("open".into()),
        ..CaseFilter::default()
    };
    assert_eq!(s.list_cases(&open).unwrap(), vec![case_b]);
    for (i, t) in ["Appel, pas de réponse", "Rappelée, réseau rétabli"]
        .iter()
        .enumerate()
    {
        s.add_case_note(&CaseNote {
            case_id: now.id.clone(),
            at: now.opened_at + i as i64,
            author: emp.id.clone(),
            text: (*t).into(),
        })
        .unwrap();
    }
    let notes = s.case_notes(&now.id).unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[1].text, "Rappelée, réseau rétabli");
}

/// The delivery queue: events fan out to every hook of their kind (paused
/// ones too), a claim leases what is due so a second claim gets the rest,
/// an expired lease gives a delivery back, each attempt is logged, a retry
/// waits for its time, a failed one comes back only when queued again.
fn webhook_deliveries_are_leased_retried_and_logged(s: &dyn CentralStore) {
    use central_store::webhooks::{Attempt, Event, Next, Webhook};
    let hook = |kinds: &[&str], active: bool| Webhook {
        id: Uuid::new_v4().to_string(),
        url: "http://127.0.0.1:9/x".into(),
        events: kinds.iter().map(|k| (*k).to_owned()).collect(),
        allow_pii: false,
        active,
        description: String::new(),
        created_by: "t".into(),
        created_at: 1,
    };
    let cases = hook(&["case.opened", "case.closed"], true);
    let interviews = hook(&["interview.submitted"], true);
    let paused = hook(&["case.opened"], false);
    for h in [&cases, &interviews, &paused] {
        s.create_webhook(h, "whsec_test").unwrap();
    }
    assert_eq!(s.list_webhooks().unwrap().len(), 3);
    assert_eq!(s.webhook(&paused.id).unwrap().unwrap(), paused);
    let events: Vec<Event> = (0..3)
        .map(|i| {
            Event::new(
                "case.opened",
                "c",
                "CI",
                &format!("case-{i}"),
                i,
                &serde_json::json!({"n": i}),
            )
        })
        .collect();
    s.emit(&events).unwrap();
    // Nothing for the interview hook; the paused hook holds its three.
    assert!(s.deliveries(&interviews.id, None, 10).unwrap().is_empty());
    assert_eq!(
        s.deliveries(&paused.id, Some("pending"), 10).unwrap().len(),
        3
    );
    let now = central_store::unix_now_ms() + 10;
    let first = s.claim_deliveries(now, now + 1000, 2).unwrap();
    let second = s.claim_deliveries(now, now + 1000, 2).unwrap();
    assert_eq!(
        (first.len(), second.len()),
        (2, 1),
        "only the active hook's, each once"
    );
    assert!(s.claim_deliveries(now, now + 1000, 2).unwrap().is_empty());
    let mut ids: Vec<i64> = first.iter().chain(&second).map(|j| j.delivery_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert!(
        first
            .iter()
            .all(|j| j.hook_id == cases.id && j.secret == "whsec_test")
    );
    let job = &first[0];
    assert_eq!(job.event.kind, "case.opened");
    assert_eq!(job.attempts, 0);
    // The lease runs out: the unfinished ones come back.
    let later = now + 1001;
    assert_eq!(
        s.claim_deliveries(later, later + 1000, 10).unwrap().len(),
        3
    );
    let attempt = |id: i64, status: Option<i64>| Attempt {
        delivery_id: id,
        at_ms: later,
        status,
        error: status.filter(|s| *s >= 300).map(|s| format!("HTTP {s}")),
        duration_ms: 5,
    };
    s.finish_delivery(&attempt(ids[0], Some(200)), Next::Delivered)
        .unwrap();
    s.finish_delivery(&attempt(ids[1], Some(503)), Next::Retry(later + 5000))
        .unwrap();
    s.finish_delivery(&attempt(ids[2], None), Next::Failed)
        .unwrap();
    assert!(
        s.claim_deliveries(later + 10, later + 2000, 10)
            .unwrap()
            .is_empty()
    );
    let due = s.claim_deliveries(later + 5000, later + 6000, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].delivery_id, due[0].attempts), (ids[1], 1));
    let log = s.deliveries(&cases.id, None, 10).unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].id, ids[2], "newest first");
    let by_id = |id: i64| log.iter().find(|d| d.id == id).unwrap().clone();
    assert_eq!(by_id(ids[0]).state, "delivered");
    assert_eq!(by_id(ids[0]).delivered_ms, Some(later));
    assert_eq!(
        (by_id(ids[1]).state.as_str(), by_id(ids[1]).last_status),
        ("pending", Some(503))
    );
    assert_eq!(by_id(ids[2]).state, "failed");
    assert_eq!(
        s.deliveries(&cases.id, Some("failed"), 10).unwrap().len(),
        1
    );
    let logged = s.delivery_attempts(ids[0]).unwrap();
    assert_eq!(
        logged.len(),
        1,
        "one attempt per finish; an expired lease logs none"
    );
    assert_eq!((logged[0].status, logged[0].duration_ms), (Some(200), 5));
    // A failed one, queued again.
    assert!(
        !s.retry_delivery(ids[0], later).unwrap(),
        "only failed ones"
    );
    assert!(s.retry_delivery(ids[2], later + 7000).unwrap());
    let again = s.claim_deliveries(later + 7000, later + 8000, 10).unwrap();
    assert!(again.iter().any(|j| j.delivery_id == ids[2]));
    // Resuming the paused hook releases its deliveries.
    assert!(s.set_webhook_active(&paused.id, true).unwrap());
    let held = s
        .claim_deliveries(later + 9000, later + 10_000, 10)
        .unwrap();
    assert_eq!(held.iter().filter(|j| j.hook_id == paused.id).count(), 3);
}

/// Actions: inserted, listed by country, updated only at the version read,
/// with notes; each write an `action.updated` event in its transaction.
fn actions_round_trip_by_version_with_their_events(s: &dyn CentralStore) {
    use central_store::{ActionItem, ActionNote};
    let hook = central_store::webhooks::Webhook {
        id: Uuid::new_v4().to_string(),
        url: "http://127.0.0.1:9/x".into(),
        events: vec!["action.updated".into()],
        allow_pii: false,
        active: true,
        description: String::new(),
        created_by: "t".into(),
        created_at: 1,
    };
    s.create_webhook(&hook, "k").unwrap();
    let a = ActionItem {
        id: Uuid::new_v4().to_string(),
        campaign: "mcmb-2026".into(),
        country: "CI".into(),
        title: "Réseau".into(),
        description: "d".into(),
        root_causes: vec!["network".into(), "it".into()],
        themes: vec!["couverture".into()],
        evidence: vec![Uuid::new_v4().to_string()],
        owner: "Direction réseau".into(),
        due_date: Some("2027-01-31".into()),
        status: "planned".into(),
        expected_effect: "e".into(),
        created_by: "u".into(),
        created_at: 10,
        updated_at: 10,
        version: 1,
    };
    let b = ActionItem {
        id: Uuid::new_v4().to_string(),
        country: "SN".into(),
        due_date: None,
        ..a.clone()
    };
    s.insert_action(&a).unwrap();
    s.insert_action(&b).unwrap();
    assert_eq!(s.action(&a.id).unwrap().unwrap(), a);
    assert_eq!(s.list_actions(&["CI".into()]).unwrap(), vec![a.clone()]);
    assert_eq!(s.list_actions(&[]).unwrap().len(), 2);
    let moved = ActionItem {
        status: "in_progress".into(),
        updated_at: 20,
        ..a.clone()
    };
    assert!(s.update_action(&moved).unwrap());
    assert!(!s.update_action(&moved).unwrap(), "version 1 is stale now");
    let stored = s.action(&a.id).unwrap().unwrap();
    assert_eq!((stored.status.as_str(), stored.version), ("in_progress", 2));
    s.add_action_note(&ActionNote {
        action_id: a.id.clone(),
        at: 20,
        author: "u".into(),
        text: "Atelier".into(),
    })
    .unwrap();
    assert_eq!(s.action_notes(&a.id).unwrap()[0].text, "Atelier");
    let log = s.deliveries(&hook.id, None, 10).unwrap();
    assert_eq!(log.len(), 3, "two inserts and one update");
    assert!(log.iter().all(|d| d.kind == "action.updated"));
}

/// A push's commit keeps reading by key after PostgreSQL took statistics of
/// the campaign's tables while they were nearly empty, as autovacuum does in
/// the first minutes of a field day. The commit's plans are made once per
/// connection (generic plans); made from such statistics they scanned whole
/// tables on every later commit, inside the seq lock, as the tables grew (a
/// burst of 15,000 interviews took 59–66 s instead of 20 s, PostgreSQL's CPU
/// four to five times as much).
#[test]
fn pg_commits_read_by_key_after_statistics_of_nearly_empty_tables() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    // The tables a commit reads by key and nothing else in a push reads.
    let scans = |db: &TestDb| -> Vec<(String, u64)> {
        fieldvoice_tests::pg::sql_rows(
            &db.url,
            "SELECT relname, seq_scan FROM pg_stat_user_tables
             WHERE relname IN ('actors', 'change_batches', 'interviews') ORDER BY relname",
        )
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect()
    };
    // Statistics are flushed when a connection ends: close the store's and
    // wait until they are gone (unflushed counters would hide any scan).
    let close = |pg: PgStore, db: &TestDb| {
        drop(pg);
        let gone = (0..100).any(|_| {
            let left = fieldvoice_tests::pg::sql_rows(
                &db.url,
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            );
            left[0][0] == "0" || {
                std::thread::sleep(Duration::from_millis(50));
                false
            }
        });
        assert!(gone, "the store's connections never ended");
        std::thread::sleep(Duration::from_millis(300));
    };
    let pg = PgStore::connect(&db.url).unwrap();
    let forms = forms(&pg);
    let users: Vec<(User, Uuid)> = (0..4)
        .map(|i| {
            let u = new_user(&pg, &format!("emp.scan{i}"), Role::Employee, &["CI"]);
            (u, Uuid::new_v4())
        })
        .collect();
    let source = |dev: &Uuid| format!("dev-{dev}");
    let mut first: Vec<Interview> = Vec::new();
    for (u, dev) in &users {
        let mut iv = interview(u, *dev, 9);
        let caller = Caller {
            user: u,
            source: &source(dev),
            clock_skew_s: None,
        };
        push(&pg, &forms, caller, &[full_push(&mut iv)]).unwrap();
        first.push(iv);
    }
    close(pg, &db);
    fieldvoice_tests::pg::sql_rows(&db.url, "ANALYZE");
    let before = scans(&db);
    // One connection, whose plans are made now, under those statistics.
    let pg = PgStore::connect_with(&db.url, 1).unwrap();
    let f = form();
    for round in 0..10 {
        for ((u, dev), iv) in users.iter().zip(&mut first) {
            let caller = Caller {
                user: u,
                source: &source(dev),
                clock_skew_s: None,
            };
            // A new interview and an edit of a stored one.
            let mut new = interview(u, *dev, round % 11);
            iv.set_answer_json(&f, "nps", &serde_json::json!(round % 11))
                .unwrap();
            let r = push(&pg, &forms, caller, &[full_push(&mut new), full_push(iv)]).unwrap();
            assert!(r.iter().all(|d| matches!(d.status, DocStatus::Applied)));
        }
    }
    close(pg, &db);
    let after = scans(&db);
    let stored = fieldvoice_tests::pg::sql_rows(&db.url, "SELECT COUNT(*) FROM documents");
    assert_eq!(stored[0][0], "44");
    assert_eq!(after.len(), 3);
    assert_eq!(
        after, before,
        "40 commits after statistics of nearly empty tables scanned whole tables"
    );
}
