//! Answers checked against the form, end to end over real HTTP, on SQLite and
//! on PostgreSQL: a device pushes an NPS of 11, an NPS of -1 and complaint
//! categories left over after `has_complaint` went back to `no` (written
//! straight into the Automerge document, as a buggy or hostile client could).
//! The dashboard aggregate (`/api/v1/stats`), the export and the report must
//! agree on NPS and complaint counts, none may count those answers, the
//! interview's record must name them in `quality_flags`, and the document must
//! still hold them.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use automerge::ReadDoc;
use automerge::transaction::Transactable;
use central_store::{CentralStore, PgStore, Role, SqliteStore};
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::pg::TestDb;
use fieldvoice_tests::server::{Device, TestServer};
use serde_json::{Value, json};
use survey_model::Interview;
use sync_server::Settings;
use uuid::Uuid;

/// Put a raw scalar answer into the document, bypassing the typed API.
fn put_raw(iv: &mut Interview, key: &str, v: i64) {
    let doc = iv.doc_mut();
    let answers = match doc.get(automerge::ROOT, "answers").unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("answers: {other:?}"),
    };
    doc.put(&answers, key, v).unwrap();
    doc.commit();
}

/// One interview on the device: [`complete_answers`] with `overrides` applied
/// in order (a key may come twice: the later value wins, as when an
/// interviewer goes back), submitted, then `raw` NPS written into the document.
fn create(dev: &Device, overrides: &[(&str, Value)], raw_nps: Option<i64>) -> Uuid {
    let mut s = dev.lock();
    let form = s.form("mcmb-interview", None).unwrap();
    let mut iv = s.create_interview(&form).unwrap();
    let mut answers: Vec<(&str, Value)> = complete_answers(5);
    answers.extend(overrides.iter().cloned());
    for (k, v) in &answers {
        iv.set_answer_json(&form, k, v).unwrap();
    }
    iv.submit(&form).unwrap();
    if let Some(n) = raw_nps {
        put_raw(&mut iv, "nps", n);
    }
    s.save(&mut iv, Some(&form)).unwrap();
    iv.id()
}

async fn get(http: &reqwest::Client, srv: &TestServer, path: &str) -> reqwest::Response {
    let r = http
        .get(format!("{}{path}", srv.url))
        .bearer_auth(&srv.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r
}

/// NPS bands and complaint counts as one source reports them.
#[derive(Debug, PartialEq)]
struct Counts {
    with_nps: u64,
    promoters: u64,
    passives: u64,
    detractors: u64,
    complaints: u64,
    billing: u64,
}

fn as_u64(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

async fn run(store: Arc<dyn CentralStore>) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start_on(store, Settings::default(), dir).await;
    let (_, code) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let dev = srv.device("phone", &code).await;

    // A promoter (10) with a billing complaint.
    let valid = create(
        &dev,
        &[
            ("nps", json!(10)),
            ("complaint_categories", json!(["billing"])),
        ],
        None,
    );
    // A passive (8) whose complaint was withdrawn: the categories (billing),
    // root cause, detail... stay in the document but are hidden.
    let leftover = create(
        &dev,
        &[
            ("nps", json!(8)),
            ("complaint_categories", json!(["billing", "pricing"])),
            ("has_complaint", json!("no")),
        ],
        None,
    );
    // NPS 11 and -1, with a billing complaint each.
    let eleven = create(
        &dev,
        &[("complaint_categories", json!(["billing"]))],
        Some(11),
    );
    let minus_one = create(&dev, &[], Some(-1));
    // A detractor (3), no complaint at all.
    create(
        &dev,
        &[("nps", json!(3)), ("has_complaint", json!("no"))],
        None,
    );
    let report = dev.sync().await.unwrap();
    assert_eq!(dev.acknowledged().len(), 5, "{report:?}");

    // What a correct count gives: NPS only from 10, 8 and 3; complaints from
    // the three interviews whose has_complaint is yes; billing from two of
    // them (the withdrawn complaint's billing does not count).
    let want = Counts {
        with_nps: 3,
        promoters: 1,
        passives: 1,
        detractors: 1,
        complaints: 3,
        billing: 2,
    };

    let http = reqwest::Client::new();

    // 1. Dashboard aggregate (SQL over the projection columns).
    let stats: Value = get(&http, &srv, "/api/v1/stats")
        .await
        .json()
        .await
        .unwrap();
    let t = &stats["total"];
    assert_eq!(as_u64(&t["interviews"]), 5);
    // The review queue's filters are SQL over the same columns.
    let mut queue = Vec::new();
    for q in [
        "complaint=billing",
        "nps_band=promoter",
        "nps_band=passive",
        "nps_band=detractor",
    ] {
        let page: Value = get(&http, &srv, &format!("/api/v1/review-queue?{q}"))
            .await
            .json()
            .await
            .unwrap();
        queue.push(as_u64(&page["total"]));
    }
    let dashboard = Counts {
        with_nps: as_u64(&t["with_nps"]),
        promoters: as_u64(&t["promoters"]),
        passives: as_u64(&t["passives"]),
        detractors: as_u64(&t["detractors"]),
        complaints: as_u64(&t["complaints"]),
        billing: queue[0],
    };
    assert_eq!(dashboard, want, "dashboard");
    assert_eq!(
        queue[1..],
        [want.promoters, want.passives, want.detractors],
        "review queue by NPS band"
    );
    let score = stats["nps_score"].as_f64().unwrap();
    assert!(score.abs() < 1e-9, "NPS (1 - 1) / 3 = 0, got {score}");

    // 2. Export (JSON Lines rows, one per consented interview).
    let body = get(&http, &srv, "/api/v1/export/jsonl")
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    let band =
        |r: &Value, lo: i64, hi: i64| r["nps"].as_i64().is_some_and(|n| (lo..=hi).contains(&n));
    let count = |f: &dyn Fn(&Value) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
    let export = Counts {
        with_nps: count(&|r| !r["nps"].is_null()),
        promoters: count(&|r| band(r, 9, 10)),
        passives: count(&|r| band(r, 7, 8)),
        detractors: count(&|r| band(r, 0, 6)),
        complaints: count(&|r| r["has_complaint"] == "yes"),
        billing: count(&|r| r["complaint_categories__billing"] == json!(true)),
    };
    assert_eq!(export, want, "export");
    let row = |id: Uuid| {
        rows.iter()
            .find(|r| r["interview_id"] == id.to_string())
            .unwrap()
    };
    assert!(row(eleven)["nps"].is_null(), "NPS 11 exported");
    assert!(row(minus_one)["nps"].is_null(), "NPS -1 exported");
    assert!(row(leftover)["complaint_categories__billing"].is_null());
    assert_eq!(row(valid)["quality_flags"], "");
    assert_eq!(row(eleven)["quality_flags"], "nps:out_of_range");
    let flags = row(leftover)["quality_flags"].as_str().unwrap();
    assert!(
        flags.contains("complaint_categories:not_relevant")
            && flags.contains("complaint_detail:not_relevant"),
        "{flags}"
    );
    let csv = get(&http, &srv, "/api/v1/export/csv")
        .await
        .text()
        .await
        .unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.split(',').any(|c| c == "quality_flags"), "{header}");
    let dict = get(&http, &srv, "/api/v1/export/csv?part=dictionary")
        .await
        .text()
        .await
        .unwrap();
    assert!(dict.lines().any(|l| l.starts_with("quality_flags,")));

    // 3. Report (the analysis summary).
    let sum: Value = get(&http, &srv, "/api/v1/report?format=json")
        .await
        .json()
        .await
        .unwrap();
    let nps = &sum["nps_overall"];
    let billing = sum["complaint_categories"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["value"] == "billing")
        .map_or(0, |o| as_u64(&o["count"]));
    let from_report = Counts {
        with_nps: as_u64(&nps["n"]),
        promoters: as_u64(&nps["promoters"]),
        passives: as_u64(&nps["passives"]),
        detractors: as_u64(&nps["detractors"]),
        complaints: as_u64(&sum["with_complaint"]),
        billing,
    };
    assert_eq!(from_report, want, "report");
    assert_eq!(
        as_u64(&sum["with_quality_flags"]),
        4,
        "11, -1 and two withdrawn complaints"
    );
    // `pricing` was only ever in the withdrawn complaint.
    let options = sum["complaint_categories"]["options"].as_array().unwrap();
    assert!(
        !options.iter().any(|o| o["value"] == "pricing"),
        "{options:?}"
    );

    // 4. The records name what they leave out; the documents keep it.
    for (id, flag) in [
        (eleven, "nps:out_of_range"),
        (minus_one, "nps:out_of_range"),
        (leftover, "complaint_categories:not_relevant"),
    ] {
        let rec: Value = get(&http, &srv, &format!("/api/v1/interviews/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let flags = rec["quality_flags"].as_array().unwrap();
        assert!(flags.contains(&json!(flag)), "{id}: {flags:?}");
        assert!(
            !rec["answers"]
                .as_object()
                .unwrap()
                .contains_key(flag.split(':').next().unwrap())
        );
    }
    let doc = srv.state.store.load_doc(eleven).unwrap().unwrap();
    let mut iv = Interview::load(&doc.snapshot).unwrap();
    assert_eq!(
        iv.project(None).answer_i64("nps"),
        Some(11),
        "document lost it"
    );
    let doc = srv.state.store.load_doc(leftover).unwrap().unwrap();
    let mut iv = Interview::load(&doc.snapshot).unwrap();
    assert_eq!(
        iv.project(None).answers["complaint_categories"],
        json!(["billing", "pricing"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_irrelevant_answers_count_nowhere_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.sqlite3")).unwrap();
    run(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_irrelevant_answers_count_nowhere_on_postgres() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Postgres);
    let db = TestDb::create();
    let url = db.url.clone();
    let store = tokio::task::spawn_blocking(move || PgStore::connect(&url).unwrap())
        .await
        .unwrap();
    run(Arc::new(store)).await;
    drop(db);
}
