//! The device store on real SQLite files: durability, reload, listing, sync
//! bookkeeping, compaction, crash recovery and corrupt bytes.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use device_store::{DeviceStore, Enrollment, ListFilter, StoreError, SyncStatus};
use fieldvoice_tests::complete_answers;
use serde_json::json;
use survey_model::Form;

fn enrolled(dir: &tempfile::TempDir) -> (DeviceStore, Form) {
    let store = DeviceStore::open(&dir.path().join("device.sqlite3")).unwrap();
    let form = store.put_form(survey_model::BUILTIN_FORMS[0].1).unwrap();
    store
        .set_enrollment(&Enrollment {
            server_url: "http://127.0.0.1:9".into(),
            device_id: "dev-1".into(),
            device_token: "secret".into(),
            user_id: "emp-1".into(),
            user_name: "Employee One".into(),
            country: "CI".into(),
            campaign: "mcmb-2026".into(),
        })
        .unwrap();
    (store, form)
}

#[test]
fn edits_survive_reopen_and_actor_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, form) = enrolled(&dir);
    let actor = store.actor();
    let mut iv = store.create_interview(&form).unwrap();
    for (k, v) in complete_answers(8) {
        iv.set_answer_json(&form, k, &v).unwrap();
        store.save(&mut iv, Some(&form)).unwrap();
    }
    let id = iv.id();
    let want = iv.project(Some(&form));
    drop(store);
    let store = DeviceStore::open(&dir.path().join("device.sqlite3")).unwrap();
    assert_eq!(store.actor(), actor, "actor id is per install and stable");
    let mut back = store.load(id).unwrap();
    assert_eq!(back.project(Some(&form)), want);
    assert_eq!(back.meta().country, "CI");
    assert_eq!(back.meta().created_by, "emp-1");
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn restored_store_gets_a_new_actor() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = enrolled(&dir);
    let old = store.install_id();
    let new = store.reset_actor().unwrap();
    assert_ne!(old, new);
    assert_eq!(store.install_id(), new);
}

#[test]
fn list_filters_drafts_submitted_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, form) = enrolled(&dir);
    for (i, city) in ["Abidjan", "Bouaké", "Korhogo"].iter().enumerate() {
        let mut iv = store.create_interview(&form).unwrap();
        for (k, v) in complete_answers(i as i64) {
            iv.set_answer_json(&form, k, &v).unwrap();
        }
        iv.set_answer_json(&form, "city", &json!(city)).unwrap();
        if i != 1 {
            assert!(iv.submit(&form).unwrap().is_complete());
        }
        store.save(&mut iv, Some(&form)).unwrap();
    }
    assert_eq!(store.count().unwrap(), 3);
    let all = store.list(&ListFilter::default()).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|s| s.sync == SyncStatus::Pending));
    let drafts = store
        .list(&ListFilter {
            status: Some("draft".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].city.as_deref(), Some("Bouaké"));
    let found = store
        .list(&ListFilter {
            text: Some("KORHO".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].nps, Some(2));
    // LIKE wildcards in the query are literal.
    let none = store
        .list(&ListFilter {
            text: Some("%".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn sync_bookkeeping_tracks_acknowledged_heads() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, form) = enrolled(&dir);
    let mut iv = store.create_interview(&form).unwrap();
    iv.set_answer_json(&form, "nps", &json!(9)).unwrap();
    store.save(&mut iv, Some(&form)).unwrap();
    let pending = store.pending(100).unwrap();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].base_heads.is_empty());
    assert_eq!(pending[0].change_count, 2, "creation change + one answer");
    let acked = pending[0].heads.clone();
    store.mark_acknowledged(iv.id(), &acked).unwrap();
    assert!(store.pending(100).unwrap().is_empty());
    // A later edit makes it dirty again, and only the new change is pending.
    iv.set_answer_json(&form, "nps", &json!(10)).unwrap();
    store.save(&mut iv, Some(&form)).unwrap();
    let pending = store.pending(100).unwrap();
    assert_eq!(pending[0].base_heads, acked);
    assert_eq!(pending[0].change_count, 1);
    // Remote changes (a coordinator's review) are applied without making it dirty
    // beyond what is local.
    let mut remote = store.load(iv.id()).unwrap();
    remote.set_actor(survey_model::actor_from_uuid(uuid::Uuid::new_v4()));
    remote
        .set_review(survey_model::ReviewState::HasIssues, "coord")
        .unwrap();
    let server_heads = remote.heads();
    let review_change = remote.changes_since(&[]).into_iter().last().unwrap();
    store
        .apply_remote(iv.id(), vec![review_change], &server_heads)
        .unwrap();
    let s = &store.list(&ListFilter::default()).unwrap()[0];
    assert_eq!(s.review_state.as_deref(), Some("has_issues"));
    assert_eq!(s.sync, SyncStatus::Synced);
}

#[test]
fn compaction_keeps_content_and_bounds_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, form) = enrolled(&dir);
    let mut iv = store.create_interview(&form).unwrap();
    for i in 0..120 {
        iv.set_answer_json(&form, "verbatim", &json!(format!("draft number {i}")))
            .unwrap();
        store.save(&mut iv, Some(&form)).unwrap();
    }
    let mut back = store.load(iv.id()).unwrap();
    // Raw (no form): without consent, the form's projection leaves answers out.
    assert_eq!(
        back.project(None).answers["verbatim"],
        json!("draft number 119")
    );
    let conn = rusqlite::Connection::open(dir.path().join("device.sqlite3")).unwrap();
    let chunks: i64 = conn
        .query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get(0))
        .unwrap();
    assert!(
        chunks < device_store::COMPACT_AFTER_CHUNKS,
        "{chunks} chunks"
    );
}

#[test]
fn corrupt_bytes_in_the_store_are_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, form) = enrolled(&dir);
    let mut iv = store.create_interview(&form).unwrap();
    iv.set_answer_json(&form, "nps", &json!(4)).unwrap();
    store.save(&mut iv, Some(&form)).unwrap();
    let mut other = store.create_interview(&form).unwrap();
    other.set_answer_json(&form, "nps", &json!(6)).unwrap();
    store.save(&mut other, Some(&form)).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("device.sqlite3")).unwrap();
    conn.execute(
        "UPDATE chunks SET bytes = X'856f4a83deadbeef' WHERE doc_id = ?1",
        [iv.id().to_string()],
    )
    .unwrap();
    match store.load(iv.id()) {
        Err(StoreError::Corrupt { doc, .. }) => assert_eq!(doc, iv.id()),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    conn.execute(
        "UPDATE docs SET snapshot = X'00' WHERE doc_id = ?1",
        [iv.id().to_string()],
    )
    .unwrap();
    assert!(matches!(
        store.load(iv.id()),
        Err(StoreError::Corrupt { .. })
    ));
    // The other interview is untouched and the list still works.
    let mut ok = store.load(other.id()).unwrap();
    // Raw (no form): without consent, the form's projection leaves answers out.
    assert_eq!(ok.project(None).answer_i64("nps"), Some(6));
    assert_eq!(store.list(&ListFilter::default()).unwrap().len(), 2);
    assert!(matches!(
        store.load(uuid::Uuid::new_v4()),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn store_reopens_cleanly_after_sigkill_mid_write() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.sqlite3");
        let mut child = Command::new(env!("CARGO_BIN_EXE_store-writer"))
            .arg(&db)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut acks = Vec::new();
        let reader = BufReader::new(child.stdout.take().unwrap());
        for line in reader.lines() {
            let line = line.unwrap();
            acks.push(line);
            if acks.len() == 150 + round * 97 {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL, while it keeps writing
        child.wait().unwrap();
        let store = DeviceStore::open(&db).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        // The last acknowledged value of each interview is present.
        let mut last = std::collections::BTreeMap::new();
        for a in &acks {
            let p: Vec<&str> = a.split(' ').collect();
            last.insert(
                p[1].to_owned(),
                (p[2].parse::<i64>().unwrap(), p[3].to_owned()),
            );
        }
        for (id, (nps, city)) in last {
            let mut iv = store.load(id.parse().unwrap()).unwrap();
            // Raw (no form): the writer answers no consent question, so the
            // form's projection would leave every answer out.
            let rec = iv.project(None);
            // The child may have saved one more edit after the last ack we read;
            // it must then be a later value, never an older or missing one.
            let got_city = rec.answer_str("city").unwrap().to_owned();
            let step = |c: &str| c.rsplit('-').next().unwrap().parse::<u32>().unwrap();
            assert!(
                step(&got_city) >= step(&city),
                "{got_city} older than acked {city}"
            );
            if got_city == city {
                assert_eq!(rec.answer_i64("nps"), Some(nps));
            }
        }
    }
}

#[test]
fn submitting_compacts_the_interview() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, form) = enrolled(&dir);
    let mut iv = store.create_interview(&form).unwrap();
    for (k, v) in complete_answers(9) {
        iv.set_answer_json(&form, k, &v).unwrap();
        store.save(&mut iv, Some(&form)).unwrap();
    }
    let conn = rusqlite::Connection::open(dir.path().join("device.sqlite3")).unwrap();
    let chunks = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get(0))
            .unwrap()
    };
    assert!(
        chunks(&conn) > 10,
        "one chunk per saved answer while drafting"
    );
    assert!(iv.submit(&form).unwrap().is_complete());
    store.save(&mut iv, Some(&form)).unwrap();
    assert_eq!(chunks(&conn), 0, "submitted interviews are one snapshot");
    let mut back = store.load(iv.id()).unwrap();
    assert_eq!(back.project(Some(&form)), iv.project(Some(&form)));
    assert_eq!(back.status(), "submitted");
}

#[test]
fn a_never_synced_submitted_interview_is_pushed_as_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, form) = enrolled(&dir);
    let mut iv = store.create_interview(&form).unwrap();
    for (k, v) in complete_answers(4) {
        iv.set_answer_json(&form, k, &v).unwrap();
        store.save(&mut iv, Some(&form)).unwrap();
    }
    assert!(iv.submit(&form).unwrap().is_complete());
    store.save(&mut iv, Some(&form)).unwrap();
    let every = iv.changes_since(&[]);
    let pending = store.pending(10).unwrap();
    assert_eq!(pending.len(), 1);
    let p = &pending[0];
    // The push is the stored snapshot itself, read without loading.
    let conn = rusqlite::Connection::open(dir.path().join("device.sqlite3")).unwrap();
    let snapshot: Vec<u8> = conn
        .query_row("SELECT snapshot FROM docs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(p.data, snapshot);
    assert_eq!(p.change_count, every.len());
    assert_eq!(p.heads, iv.heads());
    // What a server does with it: load it into an empty document.
    let mut doc = automerge::AutoCommit::new();
    doc.load_incremental(&p.data).unwrap();
    assert_eq!(doc.get_heads(), iv.heads());
    assert_eq!(doc.get_changes(&[]).len(), every.len());
    // Once acknowledged and edited, only the new change goes, as a bundle.
    store.mark_acknowledged(iv.id(), &p.heads).unwrap();
    iv.set_answer_json(&form, "nps", &json!(3)).unwrap();
    store.save(&mut iv, Some(&form)).unwrap();
    let pending = store.pending(10).unwrap();
    assert_eq!(pending[0].change_count, 1);
    assert_eq!(pending[0].base_heads, p.heads);
    assert_ne!(pending[0].data, snapshot);
}

#[test]
fn a_store_from_before_schema_versions_is_migrated_and_still_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    let (mut store, form) = enrolled(&dir);
    let mut iv = store.create_interview(&form).unwrap();
    for (k, v) in complete_answers(5) {
        iv.set_answer_json(&form, k, &v).unwrap();
    }
    assert!(iv.submit(&form).unwrap().is_complete());
    store.save(&mut iv, Some(&form)).unwrap();
    let every = iv.changes_since(&[]).len();
    drop(store);
    // Make it what the app wrote before this version: no change count
    // column, schema version 0.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("ALTER TABLE docs DROP COLUMN snapshot_changes; PRAGMA user_version = 0;")
        .unwrap();
    drop(conn);
    let store = DeviceStore::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
    let unknown: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM docs WHERE snapshot_changes IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unknown, 1, "the old row's count is unknown, not made up");
    // Its push is built from the loaded document, as before.
    let snapshot: Vec<u8> = conn
        .query_row("SELECT snapshot FROM docs", [], |r| r.get(0))
        .unwrap();
    let pending = store.pending(10).unwrap();
    assert_eq!(pending[0].change_count, every);
    assert_eq!(pending[0].heads, iv.heads());
    assert_ne!(pending[0].data, snapshot, "a bundle, not the snapshot");
    assert_eq!(store.load(iv.id()).unwrap().heads(), iv.heads());
}
