//! Property-driven fuzzing of every decoder of untrusted bytes: sync bodies,
//! Automerge data pushed to the server, form files, enrollment codes and CSV
//! imports. Each must answer with a value or an error — never panic — and bad
//! input must never damage stored data. Failing cases are kept by proptest in
//! `tests/proptest-regressions/` (the regression corpus).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use central_store::merge::{Caller, FormRegistry, push};
use central_store::{CentralStore, NewUser, Role, SqliteStore};
use fieldvoice_tests::form;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use survey_protocol::{DocPush, SyncRequest};

static EXECUTIONS: AtomicU64 = AtomicU64::new(0);

fn count() {
    EXECUTIONS.fetch_add(1, Ordering::Relaxed);
}

/// Apply byte-level mutations: flips, overwrites, truncation, insertion.
fn mutate(mut data: Vec<u8>, ops: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(kind, pos, byte) in ops {
        if data.is_empty() {
            data.push(byte);
            continue;
        }
        let i = pos % data.len();
        match kind % 4 {
            0 => data[i] ^= byte | 1,
            1 => data[i] = byte,
            2 => data.truncate(i),
            _ => data.insert(i, byte),
        }
    }
    data
}

fn mutations() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
    prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6)
}

/// Run `cases` generated inputs through `check`, keeping failures in the
/// regression corpus, and print how many executions ran.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/fuzz.txt",
        ))),
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let runs = AtomicU64::new(0);
    runner
        .run(&strategy, |v| {
            count();
            runs.fetch_add(1, Ordering::Relaxed);
            check(v)
        })
        .unwrap();
    let runs = runs.into_inner();
    fieldvoice_tests::report("fuzz_executions", runs);
    eprintln!("fuzz {name}: {runs} executions, no panic");
}

#[test]
fn sync_bodies() {
    fuzz(
        "sync body",
        3000,
        (prop::collection::vec(any::<u8>(), 0..2048), mutations()),
        |(body, ops)| {
            let _ = survey_protocol::decode::<SyncRequest>(&body, 1 << 20);
            let push = DocPush {
                doc_id: uuid::Uuid::nil(),
                base_heads: vec![[1; 32]],
                heads: vec![],
                data: body,
            };
            let valid = survey_protocol::encode(
                &SyncRequest {
                    cursor: 7,
                    docs: vec![push],
                },
                survey_protocol::Compression::Gzip,
            )
            .unwrap();
            let _ = survey_protocol::decode::<SyncRequest>(&mutate(valid, &ops), 1 << 20);
            Ok(())
        },
    );
}

#[test]
fn enrollment_codes() {
    fuzz("enrollment code", 5000, "\\PC{0,24}", |s: String| {
        if let Some(c) = sync_server::auth::normalize_code(&s) {
            prop_assert_eq!(c.len(), 11);
            prop_assert_eq!(sync_server::auth::normalize_code(&c), Some(c.clone()));
        }
        Ok(())
    });
}

#[test]
fn csv_imports() {
    fuzz(
        "csv import",
        3000,
        "(\\PC{0,30}[,;\\n]){0,20}",
        |s: String| {
            let text = format!("login,name,country\n{s}");
            if let Ok((rows, _)) = sync_server::identity::parse_user_csv(&text) {
                for r in rows {
                    prop_assert!(sync_server::identity::is_country(&r.country));
                    prop_assert!(!r.login.is_empty());
                }
            }
            let _ = sync_server::identity::parse_user_csv(&s);
            Ok(())
        },
    );
}

#[test]
fn form_files() {
    let valid = survey_model::BUILTIN_FORMS[0].1.as_bytes().to_vec();
    fuzz("form file", 500, mutations(), move |ops| {
        let bytes = mutate(valid.clone(), &ops);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = survey_model::Form::from_json(text);
        }
        Ok(())
    });
}

fn store_with_employee() -> (
    tempfile::TempDir,
    Arc<SqliteStore>,
    central_store::User,
    FormRegistry,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("f.sqlite3")).unwrap());
    let user = store
        .create_user(
            &NewUser {
                login: "f".into(),
                name: "F".into(),
                role: Role::Employee,
                countries: vec!["CI".into()],
                password_hash: None,
            },
            0,
        )
        .unwrap();
    let mut forms = FormRegistry::default();
    forms.insert(form());
    (dir, store, user, forms)
}

#[test]
fn automerge_data_pushed_to_the_server() {
    let (_dir, store, user, forms) = store_with_employee();
    let f = form();
    // A document owned by the caller, already stored, to mutate updates against.
    let mut meta = fieldvoice_tests::meta(&f, &user.id, "CI", uuid::Uuid::new_v4());
    meta.created_by = user.id.clone();
    let mut iv = survey_model::Interview::create(
        &f,
        meta,
        survey_model::actor_from_uuid(uuid::Uuid::new_v4()),
    )
    .unwrap();
    for (k, v) in fieldvoice_tests::complete_answers(5) {
        iv.set_answer_json(&f, k, &v).unwrap();
    }
    let id = iv.id();
    let full = iv.save();
    let caller = Caller {
        user: &user,
        source: "fuzz-device",
        clock_skew_s: None,
    };
    let stored = push(
        store.as_ref(),
        &forms,
        caller,
        &[DocPush {
            doc_id: id,
            base_heads: vec![],
            heads: vec![],
            data: full.clone(),
        }],
    )
    .unwrap();
    assert!(matches!(
        stored[0].status,
        survey_protocol::DocStatus::Applied
    ));
    let before = store.stats().unwrap();
    let mut rng_state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    let mut outcomes = std::collections::BTreeMap::<&str, u32>::new();
    for round in 0..300 {
        count();
        let ops: Vec<(u8, usize, u8)> = (0..1 + next() % 5)
            .map(|_| ((next() % 4) as u8, next() as usize, next() as u8))
            .collect();
        let data = mutate(full.clone(), &ops);
        // Alternate between the stored document and fresh ids.
        let doc_id = if round % 2 == 0 {
            id
        } else {
            uuid::Uuid::now_v7()
        };
        let r = push(
            store.as_ref(),
            &forms,
            caller,
            &[DocPush {
                doc_id,
                base_heads: vec![],
                heads: vec![],
                data,
            }],
        );
        let key = match r {
            Ok(res) => match res[0].status {
                survey_protocol::DocStatus::Applied => "applied",
                survey_protocol::DocStatus::MissingDeps { .. } => "missing_deps",
                survey_protocol::DocStatus::Rejected { .. } => "rejected",
                survey_protocol::DocStatus::ActorClash { .. } => "actor_clash",
                survey_protocol::DocStatus::Replaced => "replaced",
            },
            Err(_) => "refused",
        };
        *outcomes.entry(key).or_default() += 1;
    }
    // Whatever was accepted, the stored interview is intact and still loads.
    let doc = store.load_doc(id).unwrap().unwrap();
    let mut back = survey_model::Interview::load(&doc.snapshot).unwrap();
    assert_eq!(back.project(Some(&f)).answer_i64("nps"), Some(5));
    assert!(store.stats().unwrap().changes >= before.changes);
    fieldvoice_tests::report("fuzz_executions", 300);
    eprintln!("fuzz automerge push: 300 executions, no panic, outcomes {outcomes:?}");
    assert!(
        outcomes.get("applied").copied().unwrap_or(0)
            + outcomes.get("rejected").copied().unwrap_or(0)
            > 0
    );
}
