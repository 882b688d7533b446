//! Follow-up cases end to end over real HTTP on loopback, on SQLite and
//! PostgreSQL: an employee's phone syncs an interview whose customer asked
//! to be called back → a case opens, due by the country's service level → an
//! agent takes it, sees the contact details (audited; refused before owning
//! it), records the contact and resolves it with the customer's satisfaction
//! → the employee's phone learns the outcome on its next sync. Then the
//! service-level figures against an independent recomputation.
#![allow(clippy::unwrap_used)]

use central_store::{Case, Role};
use fieldvoice_tests::server::TestServer;
use serde_json::{Value, json};

async fn post(srv: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", srv.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(srv: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", srv.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn run(pg: bool) {
    let (srv, _db) = TestServer::on_backend(pg).await;
    let (_, coord) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (agent, agent_token) = srv.token_for("agent.ci", Role::Agent, "CI");
    let (_, other_agent) = srv.token_for("agent2.ci", Role::Agent, "CI");
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let (st, _) = post(
        &srv,
        &coord,
        "/api/v1/service-levels",
        json!([{"country": "CI", "first_contact_hours": 24, "resolution_hours": 72}]),
    )
    .await;
    assert_eq!(st, 200);

    // The phone: a satisfied customer who asks to be called back.
    let phone = srv.device("awa", &code).await;
    let iv_id = phone.submit(&survey_model::sample::with(
        fieldvoice_tests::complete_answers(9),
        &[
            ("follow_up_requested", json!("yes")),
            ("follow_up_contact", json!("+225 07 11 22 33 44")),
        ],
    ));
    phone.sync().await.unwrap();

    let (st, cases) = get(&srv, &coord, "/api/v1/cases").await;
    assert_eq!(st, 200);
    let cases: Vec<Case> = serde_json::from_value(cases).unwrap();
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case.interview_id, iv_id.to_string());
    assert_eq!(case.reason, "follow_up_requested");
    assert_eq!(case.due_at, case.opened_at + 24 * 3600);
    let path = format!("/api/v1/cases/{}", case.id);

    // Contact details: not before owning the case; the case's view holds none.
    let (st, view) = get(&srv, &agent_token, &path).await;
    assert_eq!(st, 200);
    assert!(!view.to_string().contains("11 22 33 44"), "{view}");
    assert_eq!(
        get(&srv, &agent_token, &format!("{path}/contact")).await.0,
        403
    );
    let audit_before = srv.state.store.audit_log(1000).unwrap().len();
    let (st, taken) = post(
        &srv,
        &agent_token,
        &path,
        json!({"version": 1, "owner": "me"}),
    )
    .await;
    assert_eq!(st, 200, "{taken}");
    assert_eq!(taken["owner"], json!(agent.id));
    // Another agent may not take it over.
    let (st, _) = post(
        &srv,
        &other_agent,
        &path,
        json!({"version": 2, "owner": "me"}),
    )
    .await;
    assert_eq!(st, 403);
    let (st, contact) = get(&srv, &agent_token, &format!("{path}/contact")).await;
    assert_eq!(st, 200);
    assert_eq!(contact["follow_up_contact"], "+225 07 11 22 33 44");
    let audit = srv.state.store.audit_log(1000).unwrap();
    assert!(audit.len() > audit_before);
    assert!(
        audit
            .iter()
            .any(|e| e.action == "case.contact_view" && e.actor == agent.id),
        "the view is audited"
    );

    // Contact, then resolution with the customer's satisfaction.
    let (st, c) = post(
        &srv,
        &agent_token,
        &path,
        json!({"version": 2, "status": "contacted", "note": "Rappel, client joint"}),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert!(c["first_contact_at"].is_i64());
    let (st, e) = post(
        &srv,
        &agent_token,
        &path,
        json!({"version": 3, "status": "resolved"}),
    )
    .await;
    assert_eq!(st, 400, "a resolution is required: {e}");
    let (st, e) = post(
        &srv,
        &agent_token,
        &path,
        json!({"version": 3, "status": "open"}),
    )
    .await;
    assert_eq!(st, 409, "no way back to open: {e}");
    let (st, r) = post(
        &srv,
        &agent_token,
        &path,
        json!({"version": 3, "status": "resolved", "resolution": "fixed", "satisfaction": 4}),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["status"].as_str(), r["satisfaction"].as_i64()),
        (Some("resolved"), Some(4))
    );
    let (st, _) = post(
        &srv,
        &agent_token,
        &path,
        json!({"version": 3, "note": "late"}),
    )
    .await;
    assert_eq!(st, 409, "a stale version");
    let (_, view) = get(&srv, &coord, &path).await;
    assert_eq!(view["notes"][0]["text"], "Rappel, client joint");

    // The interviewer's phone learns the outcome (and no contact detail).
    phone.sync().await.unwrap();
    let iv = phone.lock().load(iv_id).unwrap();
    assert_eq!(
        iv.followup(),
        Some(("resolved".to_owned(), Some("fixed".to_owned())))
    );

    // Service-level figures against a recomputation: five more cases with
    // known times (opened 3 days ago; SLA 24 h to contact, 72 h to resolve).
    let now = central_store::unix_now();
    let t0 = now - 3 * 24 * 3600;
    let store = srv.state.store.clone();
    let r0 = store.interview(iv_id).unwrap().unwrap();
    // (first contact after, resolved after, satisfaction, status, root cause)
    type Shape = (
        Option<i64>,
        Option<i64>,
        Option<i64>,
        &'static str,
        &'static str,
    );
    let shapes: [Shape; 5] = [
        (
            Some(2 * 3600),
            Some(30 * 3600),
            Some(5),
            "resolved",
            "network",
        ),
        (
            Some(30 * 3600),
            Some(80 * 3600),
            Some(2),
            "resolved",
            "network",
        ),
        (Some(10 * 3600), None, None, "contacted", "it"),
        (None, None, None, "open", "it"),
        (None, None, None, "not_reachable", "network"),
    ];
    let mut made: Vec<Case> = Vec::new();
    for (i, (fc, rs, sat, status, cause)) in shapes.iter().enumerate() {
        let mut r = r0.clone();
        r.interview_id = uuid::Uuid::now_v7().to_string();
        let mut c = central_store::cases::new_case(
            store.as_ref(),
            &r,
            survey_model::cases::CaseReason::Manual,
            "test",
            t0 + i as i64,
        )
        .unwrap();
        c.root_cause = Some((*cause).to_owned());
        c.status = (*status).to_owned();
        c.first_contact_at = fc.map(|h| c.opened_at + h);
        c.resolved_at = rs.map(|h| c.opened_at + h);
        c.satisfaction = *sat;
        assert!(store.open_case(&c).unwrap());
        made.push(c);
    }
    let all: Vec<Case> = {
        let (_, v) = get(&srv, &coord, "/api/v1/cases").await;
        serde_json::from_value(v).unwrap()
    };
    assert_eq!(all.len(), 6);
    let (st, figures) = get(&srv, &coord, "/api/v1/case-stats?country=CI").await;
    assert_eq!(st, 200);
    let figures = figures.as_array().unwrap();
    // The recomputation, written plainly.
    for cause in [None, Some("network"), Some("it")] {
        let group: Vec<&Case> = all
            .iter()
            .filter(|c| cause.is_none() || c.root_cause.as_deref() == cause)
            .collect();
        let contacted = group
            .iter()
            .filter(|c| c.first_contact_at.is_some())
            .count();
        let in_time = group
            .iter()
            .filter(|c| {
                c.first_contact_at
                    .is_some_and(|t| t - c.opened_at <= 24 * 3600)
            })
            .count();
        let overdue = group
            .iter()
            .filter(|c| {
                c.first_contact_at.is_none()
                    && c.status != "closed"
                    && c.status != "resolved"
                    && now > c.opened_at + 24 * 3600
            })
            .count();
        let resolved_in_time = group
            .iter()
            .filter(|c| c.resolved_at.is_some_and(|t| t - c.opened_at <= 72 * 3600))
            .count();
        let rated: Vec<i64> = group.iter().filter_map(|c| c.satisfaction).collect();
        let f = figures
            .iter()
            .find(|f| f["root_cause"].as_str() == cause)
            .unwrap_or_else(|| panic!("no figures for {cause:?}"));
        assert_eq!(f["cases"].as_u64(), Some(group.len() as u64), "{cause:?}");
        assert_eq!(f["contacted"].as_u64(), Some(contacted as u64), "{cause:?}");
        assert_eq!(
            f["contacted_in_time"].as_u64(),
            Some(in_time as u64),
            "{cause:?}"
        );
        assert_eq!(f["overdue"].as_u64(), Some(overdue as u64), "{cause:?}");
        assert_eq!(
            f["resolved_in_time"].as_u64(),
            Some(resolved_in_time as u64),
            "{cause:?}"
        );
        let share = in_time as f64 / (contacted + overdue) as f64;
        assert!(
            (f["first_contact_share"].as_f64().unwrap() - share).abs() < 1e-9,
            "{cause:?}"
        );
        if rated.is_empty() {
            assert!(f["mean_satisfaction"].is_null(), "{cause:?}");
        } else {
            let mean_sat = rated.iter().sum::<i64>() as f64 / rated.len() as f64;
            assert!(
                (f["mean_satisfaction"].as_f64().unwrap() - mean_sat).abs() < 1e-9,
                "{cause:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_back_request_becomes_a_resolved_case_the_phone_sees_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_back_request_becomes_a_resolved_case_the_phone_sees_postgres() {
    run(true).await;
}

/// A closed case's contact details leave the interview once the retention
/// period is over (zero here): the server erases the form's PII answers by
/// a server edit the write policy allows, the case records when, the
/// contact route answers 410, no export carries them any more, and the
/// interviewer's phone loses them from its copy at the next sync.
async fn erasure(pg: bool) {
    let settings = sync_server::Settings {
        contact_retention: std::time::Duration::ZERO,
        retention_every: std::time::Duration::from_millis(100),
        ..sync_server::Settings::default()
    };
    let (srv, _db) = TestServer::on_backend_with(pg, settings).await;
    let (_, coord) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (_, agent) = srv.token_for("agent.ci", Role::Agent, "CI");
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let phone = srv.device("awa", &code).await;
    let iv_id = phone.submit(&survey_model::sample::with(
        fieldvoice_tests::complete_answers(4),
        &[
            ("follow_up_requested", json!("yes")),
            ("follow_up_contact", json!("+225 07 99 88 77 66")),
        ],
    ));
    phone.sync().await.unwrap();
    let (_, cases) = get(&srv, &coord, "/api/v1/cases").await;
    let case = cases[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{case}");
    for (token, body) in [
        (&agent, json!({"version": 1, "owner": "me"})),
        (&agent, json!({"version": 2, "status": "contacted"})),
        (
            &agent,
            json!({"version": 3, "status": "resolved", "resolution": "fixed", "satisfaction": 4}),
        ),
    ] {
        assert_eq!(post(&srv, token, &path, body).await.0, 200);
    }
    // Resolved but not closed: the details stay.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (st, contact) = get(&srv, &agent, &format!("{path}/contact")).await;
    assert_eq!(st, 200);
    assert_eq!(contact["follow_up_contact"], "+225 07 99 88 77 66");
    assert_eq!(
        post(
            &srv,
            &coord,
            &path,
            json!({"version": 4, "status": "closed"})
        )
        .await
        .0,
        200
    );
    let start = std::time::Instant::now();
    loop {
        let (_, c) = get(&srv, &coord, &path).await;
        if c["contact_erased_at"].is_i64() {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "the sweep did not erase: {c}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (st, gone) = get(&srv, &coord, &format!("{path}/contact")).await;
    assert_eq!(st, 410, "{gone}");
    assert!(gone["error"].as_str().unwrap().contains("erased"));
    let r = srv.state.store.interview(iv_id).unwrap().unwrap();
    for pii in ["customer_name", "customer_phone", "follow_up_contact"] {
        assert!(!r.answers.contains_key(pii), "{pii} erased on the server");
    }
    assert_eq!(
        r.answer_i64("nps"),
        Some(4),
        "the rest of the interview stays"
    );
    let audit = srv.state.store.audit_log(1000).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "case.contact_erased" && e.target == case)
    );
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/export/csv?country=CI&pii=include",
            srv.url
        ))
        .bearer_auth(&srv.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    assert!(
        !csv.contains("99 88 77 66") && !csv.contains("Awa Traor"),
        "{csv}"
    );
    // The phone's copy loses them too.
    phone.sync().await.unwrap();
    let mut iv = phone.lock().load(iv_id).unwrap();
    assert!(iv.erased_at().is_some());
    let on_phone = iv.project(None);
    assert!(!on_phone.answers.contains_key("follow_up_contact"));
    assert!(!on_phone.answers.contains_key("customer_phone"));
    assert_eq!(
        iv.followup(),
        Some(("closed".to_owned(), Some("fixed".to_owned())))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_cases_lose_their_contact_details_after_retention_sqlite() {
    erasure(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_cases_lose_their_contact_details_after_retention_postgres() {
    erasure(true).await;
}
