//! The interview write policy, every protected path × every kind of writer,
//! generated from the table in ARCHITECTURE.md (the written policy), not from
//! the code: devices write through `POST /api/v1/sync` over real HTTP, the
//! server through `merge::edit` (what the review, comment and tag routes call),
//! and analysts and employees try the server routes over HTTP. Every refused
//! write must leave the stored document unchanged. Also: enrollment codes by
//! target account role × caller kind.
#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue};
use central_store::merge::edit;
use central_store::{Role, User};
use fieldvoice_tests::server::{Device, TestServer};
use survey_model::{Interview, ReviewState, actor_from_uuid};
use uuid::Uuid;

/// The policy rows: (path, device, server), read from ARCHITECTURE.md.
fn written_policy() -> Vec<(String, String, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let text =
        std::fs::read_to_string(format!("{root}/../ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = text
        .find("<!-- write-policy-table -->")
        .expect("policy table start");
    let end = text
        .find("<!-- /write-policy-table -->")
        .expect("policy table end");
    text[start..end]
        .lines()
        .filter(|l| l.starts_with('|') && !l.contains("---") && !l.contains("| path |"))
        .map(|l| {
            let c: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect();
            (c[0].clone(), c[1].clone(), c[2].clone())
        })
        .collect()
}

/// Make the write that `path` names, as `who` (id, name, role).
fn write(iv: &mut Interview, path: &str, who: (&str, &str, &str), other: &User) {
    let d = |iv: &Interview, key: &str| match iv.doc().get(ROOT, key).unwrap() {
        Some((_, id)) => id,
        None => panic!("no {key}"),
    };
    if let Some(field) = path.strip_prefix("meta.") {
        let meta = d(iv, "meta");
        let v = if field == "form_version" {
            ScalarValue::Uint(7)
        } else {
            ScalarValue::Str("forged".into())
        };
        iv.doc_mut().put(&meta, field, v).unwrap();
        return;
    }
    match path {
        "status" => iv.doc_mut().put(ROOT, "status", "submitted").unwrap(),
        "answers" => {
            let a = d(iv, "answers");
            iv.doc_mut().put(&a, "nps", 4i64).unwrap();
        }
        "review" => iv.set_review(ReviewState::Approved, who.0).unwrap(),
        "answers (erased, with review.erased_at)" => {
            assert_eq!(iv.erase_answers(&["customer_phone"]).unwrap(), 1);
        }
        "review.followup (a case's outcome)" => iv
            .set_followup(survey_model::cases::CaseStatus::Resolved, Some("fixed"))
            .unwrap(),
        "tags" => iv.set_tag("root_cause:it", true).unwrap(),
        "comments (new, as itself)" => {
            iv.add_comment(who.0, who.1, who.2, "note").unwrap();
        }
        "comments (as someone else)" => {
            iv.add_comment(&other.id, &other.name, "coordinator", "forged")
                .unwrap();
        }
        "comments (existing)" => {
            let list = d(iv, "comments");
            let first = match iv.doc().get(&list, 0).unwrap() {
                Some((_, id)) => id,
                None => panic!("no comment to change"),
            };
            iv.doc_mut().put(&first, "text", "rewritten").unwrap();
        }
        "other top-level keys" => iv.doc_mut().put(ROOT, "case", "closed").unwrap(),
        p => panic!("the policy table names a path this test cannot write: {p}"),
    }
    iv.doc_mut().commit();
}

/// A fresh interview of `dev`, synced over HTTP, then commented by the
/// server (so that "existing comments" has something to change).
async fn commented_interview(srv: &TestServer, dev: &Device, coord: &User) -> Uuid {
    let id = {
        let mut s = dev.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        let mut iv = s.create_interview(&form).unwrap();
        for (q, v) in fieldvoice_tests::complete_answers(8) {
            iv.set_answer_json(&form, q, &v).unwrap();
        }
        s.save(&mut iv, Some(&form)).unwrap();
        iv.id()
    };
    dev.sync().await.unwrap();
    edit(
        srv.state.store.as_ref(),
        &srv.state.forms(),
        &actor_from_uuid(Uuid::new_v4()),
        coord,
        id,
        |iv| {
            iv.add_comment(&coord.id, &coord.name, "coordinator", "first")
                .map(|_| ())
        },
    )
    .unwrap();
    id
}

#[derive(Default)]
struct Counts {
    cases: u64,
    attempted: u64,
    refused: u64,
    applied: u64,
}

#[tokio::test]
async fn every_protected_path_by_every_writer_follows_the_written_policy() {
    let rows = written_policy();
    assert!(rows.len() >= 12, "policy table too short: {rows:?}");
    let srv = TestServer::start().await;
    let (coord, coord_t) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (admin, _) = srv.state.store.user_by_login("admin").unwrap().unwrap();
    let (_, analyst_t) = srv.token_for("ana.ci", Role::Analyst, "CI");
    let (emp, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let dev = srv.device("awa", &code).await;
    let forms = srv.state.forms();
    let mut n = Counts::default();
    for (i, (path, device_rule, server_rule)) in rows.iter().enumerate() {
        // --- the employee's own device, and another employee's device (a
        // new one for each row: its refused copy stays pending).
        let (_, code2) = srv.user_with_code(&format!("kofi{i}"), Role::Employee, "CI");
        let other_dev = srv.device(&format!("kofi{i}"), &code2).await;
        for (writer_dev, owner_rule) in [(&dev, device_rule.as_str()), (&other_dev, "never")] {
            let id = commented_interview(&srv, &dev, &coord).await;
            dev.sync().await.unwrap();
            dev.sync().await.unwrap();
            if !std::ptr::eq(writer_dev, &dev) {
                // The other employee's device gets a copy by hand (it never
                // receives it from the server).
                let bytes = srv.state.store.load_doc(id).unwrap().unwrap().snapshot;
                let mut s = writer_dev.lock();
                let mut iv = Interview::load(&bytes).unwrap();
                iv.set_actor(s.actor());
                s.save(&mut iv, None).unwrap();
            }
            let before = srv.state.store.doc_heads(id).unwrap();
            {
                let mut s = writer_dev.lock();
                let mut iv = s.load(id).unwrap();
                write(&mut iv, path, (&emp.id, &emp.name, "employee"), &coord);
                s.save(&mut iv, None).unwrap();
            }
            let result = writer_dev.sync().await;
            let refused = match &result {
                Ok(r) => r.docs_rejected.iter().any(|(d, _)| *d == id),
                Err(sync_client::SyncError::Refused { status: 403, .. }) => true,
                Err(e) => panic!("{path}: {e}"),
            };
            let changed = srv.state.store.doc_heads(id).unwrap() != before;
            n.cases += 1;
            if owner_rule == "yes" {
                assert!(
                    !refused && changed,
                    "device {path}: allowed by the policy but refused"
                );
            } else {
                n.attempted += 1;
                assert!(
                    refused,
                    "device {path}: forbidden by the policy but accepted"
                );
                n.refused += u64::from(refused);
                n.applied += u64::from(changed);
            }
        }
        // --- the server for a coordinator and for an admin.
        for editor in [&coord, &admin] {
            let id = commented_interview(&srv, &dev, &coord).await;
            dev.sync().await.unwrap();
            let before = srv.state.store.doc_heads(id).unwrap();
            let p = path.clone();
            let who = (
                editor.id.clone(),
                editor.name.clone(),
                editor.role.as_str().to_owned(),
            );
            let r = edit(
                srv.state.store.as_ref(),
                &forms,
                &actor_from_uuid(Uuid::new_v4()),
                editor,
                id,
                |iv| {
                    write(iv, &p, (&who.0, &who.1, &who.2), &emp);
                    Ok(())
                },
            );
            let changed = srv.state.store.doc_heads(id).unwrap() != before;
            n.cases += 1;
            if server_rule == "yes" {
                assert!(
                    r.is_ok() && changed,
                    "server {path} as {}: {r:?}",
                    editor.role.as_str()
                );
            } else {
                n.attempted += 1;
                let refused = matches!(r, Err(central_store::merge::EditError::Policy(_)));
                assert!(refused, "server {path} as {}: {r:?}", editor.role.as_str());
                n.refused += 1;
                n.applied += u64::from(changed);
            }
        }
    }
    // Analysts and employees (API token) never reach server edits.
    let (_, emp_t) = srv.token_for("emp.api", Role::Employee, "CI");
    let id = commented_interview(&srv, &dev, &coord).await;
    for token in [&analyst_t, &emp_t] {
        for (route, body) in [
            ("review", serde_json::json!({"state": "approved"})),
            ("tags", serde_json::json!({"tag": "x"})),
            ("comments", serde_json::json!({"text": "x"})),
        ] {
            let before = srv.state.store.doc_heads(id).unwrap();
            let r = reqwest::Client::new()
                .post(format!("{}/api/v1/interviews/{id}/{route}", srv.url))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            n.cases += 1;
            n.attempted += 1;
            // Refused either way: 403, or 404 where the caller may not even
            // read the interview.
            assert!(
                matches!(r.status().as_u16(), 403 | 404),
                "{route}: {}",
                r.status()
            );
            n.refused += 1;
            n.applied += u64::from(srv.state.store.doc_heads(id).unwrap() != before);
        }
    }
    let _ = coord_t;
    assert_eq!(n.applied, 0);
    assert_eq!(n.attempted, n.refused);
    println!(
        "write policy: rows={} cases={} forbidden_attempted={} refused={} applied={}",
        rows.len(),
        n.cases,
        n.attempted,
        n.refused,
        n.applied
    );
    fieldvoice_tests::report("policy_cases_checked", n.cases);
    fieldvoice_tests::report("forbidden_writes_attempted", n.attempted);
    fieldvoice_tests::report("forbidden_writes_refused", n.refused);
    fieldvoice_tests::report("forbidden_writes_applied", n.applied);
}

/// Enrollment codes by the target account's role × the caller's kind: only an
/// employee target, and only by an admin or a coordinator of its country
/// (ARCHITECTURE.md, write policy notes).
#[tokio::test]
async fn enrollment_codes_and_accounts_by_target_role_and_caller() {
    let srv = TestServer::start().await;
    let (_, coord_t) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (_, coord_sn_t) = srv.token_for("coord.sn", Role::Coordinator, "SN");
    let (_, analyst_t) = srv.token_for("ana.ci", Role::Analyst, "CI");
    let (_, emp_t) = srv.token_for("emp.ci", Role::Employee, "CI");
    let callers = [
        ("admin", srv.admin_token.clone()),
        ("coordinator", coord_t),
        ("coordinator_other_country", coord_sn_t),
        ("analyst", analyst_t),
        ("employee", emp_t),
    ];
    let mut cases = 0;
    for role in [
        Role::Admin,
        Role::Coordinator,
        Role::Analyst,
        Role::Employee,
    ] {
        let (target, _) = srv.token_for(&format!("target.{}", role.as_str()), role, "CI");
        for (who, token) in &callers {
            let r = reqwest::Client::new()
                .post(format!(
                    "{}/api/v1/users/{}/enrollment-code",
                    srv.url, target.id
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let allowed = role == Role::Employee && matches!(*who, "admin" | "coordinator");
            assert_eq!(
                r.status().as_u16(),
                if allowed { 200 } else { 403 },
                "{who} for a {}",
                role.as_str()
            );
            cases += 1;
        }
    }
    // Creating an account of each role: admins any; coordinators employees
    // of their own countries only; nobody else.
    for (n, role) in [
        Role::Admin,
        Role::Coordinator,
        Role::Analyst,
        Role::Employee,
    ]
    .into_iter()
    .enumerate()
    {
        for (k, (who, token)) in callers.iter().enumerate() {
            let before = srv.state.store.list_users(None).unwrap().len();
            let r = reqwest::Client::new()
                .post(format!("{}/api/v1/users", srv.url))
                .bearer_auth(token)
                .json(&serde_json::json!({
                    "login": format!("new{n}.{k}"),
                    "name": "New",
                    "role": role.as_str(),
                    "countries": ["CI"],
                }))
                .send()
                .await
                .unwrap();
            let allowed = *who == "admin" || (*who == "coordinator" && role == Role::Employee);
            assert_eq!(
                r.status().as_u16(),
                if allowed { 201 } else { 403 },
                "{who} creates a {}",
                role.as_str()
            );
            let after = srv.state.store.list_users(None).unwrap().len();
            assert_eq!(after, before + usize::from(allowed));
            cases += 1;
        }
    }
    fieldvoice_tests::report("auth_cases_checked", cases);
}
