//! The interview quality checks, from the written rules (survey_model::checks
//! and ARCHITECTURE.md), over real HTTP on loopback, on SQLite and
//! PostgreSQL: one employee assigned to Abidjan Plateau syncs, from a real
//! device store, a normal interview and one crafted interview per check;
//! each check fires on its crafted interview and on no normal one. Then the
//! review queue filters and sorts by flags, and the CSV export carries them.
#![allow(clippy::unwrap_used)]

use central_store::Role;
use fieldvoice_tests::server::{Device, TestServer, post_sync_with};
use serde_json::{Value, json};
use survey_model::checks::CHECKS;
use survey_model::sample::{SampleAnswer, fill_timed, on_place, varied, with};
use survey_model::{Form, Interview};
use uuid::Uuid;

const PW: &str = "a long coordinator passphrase";

/// Abidjan Plateau, as in the demo place list.
const PLATEAU: (f64, f64) = (5.3230, -4.0196);

/// A normal MCMB v2 interview `n` at the Plateau: a distinct phone, ratings
/// that vary, the customer's words at length, the GPS point 300 m away.
fn normal(n: usize) -> Vec<SampleAnswer> {
    with(
        on_place(varied(n, 8, ""), "CI-ABJ-PLATEAU"),
        &[(
            "location",
            json!({"lat": PLATEAU.0 + 0.002, "lon": PLATEAU.1 + 0.002, "accuracy": 10.0}),
        )],
    )
}

/// Interview answered on the device store: `answers` one every `step` s from
/// `start`, submitted, saved.
fn on_device(dev: &Device, form: &Form, answers: &[SampleAnswer], start: i64, step: i64) -> Uuid {
    let mut s = dev.lock();
    let mut iv = s.create_interview(form).unwrap();
    fill_timed(&mut iv, form, answers, start, step).unwrap();
    s.save(&mut iv, Some(form)).unwrap();
    iv.id()
}

async fn checks_of(srv: &TestServer, token: &str, id: Uuid) -> Vec<String> {
    let r = srv
        .get_json(token, &format!("/api/v1/interviews/{id}"))
        .await;
    let rec = r.get("record").unwrap_or(&r);
    rec["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {r}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

async fn queue(srv: &TestServer, token: &str, query: &str) -> Value {
    srv.get_json(token, &format!("/api/v1/review-queue?{query}"))
        .await
}

async fn run(pg: bool) {
    let (srv, _db) = TestServer::on_backend(pg).await;
    srv.mcmb_v2_campaign().await;
    let (_, code) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    srv.admin_post(
        "/api/v1/assignments",
        "text/csv",
        "login,place_code,team\nemp.ci,CI-ABJ-PLATEAU,A\n",
        200,
    )
    .await;
    let (_, coord) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    fieldvoice_tests::dashboard::user_with_password(&srv, "chief.ci", Role::Coordinator, "CI", PW);
    let dev = srv.device("phone", &code).await;
    dev.sync().await.unwrap();
    let form = dev.lock().form("mcmb-interview", Some(2)).unwrap();

    // One interview an hour (never close together), 30 s per answer
    // (about ten minutes each): normal unless crafted.
    let day = survey_model::now().1 - 20 * 3600;
    let hour = |h: i64| day + h * 3600;
    let mut expect: Vec<(Uuid, &str)> = Vec::new();
    let mut normals = Vec::new();
    for n in 0..3 {
        normals.push(on_device(&dev, &form, &normal(n), hour(n as i64), 30));
    }
    // too_fast: 3 s per answer (about a minute for the whole interview).
    expect.push((on_device(&dev, &form, &normal(10), hour(4), 3), "too_fast"));
    // many_edits: eleven times back to an earlier answer after moving on.
    let id = {
        let mut s = dev.lock();
        let mut iv = s.create_interview(&form).unwrap();
        let mut t = hour(5);
        for (k, v) in normal(11) {
            iv.pin_clock(Some(t));
            iv.set_answer_json(&form, k, &v).unwrap();
            t += 30;
        }
        for i in 0..11 {
            iv.pin_clock(Some(t));
            iv.set_answer_json(&form, "nps", &json!(i % 10)).unwrap();
            iv.set_answer_json(&form, "customer_since_years", &json!(i))
                .unwrap();
            t += 10;
        }
        iv.pin_clock(Some(t));
        iv.submit(&form).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        iv.id()
    };
    expect.push((id, "many_edits"));
    // close_together: two interviews submitted 60 s apart.
    let a = on_device(&dev, &form, &normal(12), hour(6), 30);
    let b = on_device(&dev, &form, &normal(13), hour(6) + 60, 30);
    expect.push((a, "close_together"));
    expect.push((b, "close_together"));
    // far_from_place: the GPS point is in Dakar.
    let far = with(
        normal(14),
        &[(
            "location",
            json!({"lat": 14.6928, "lon": -17.4467, "accuracy": 8.0}),
        )],
    );
    expect.push((on_device(&dev, &form, &far, hour(7), 30), "far_from_place"));
    // duplicate_phone: one number written two ways.
    let p1 = with(
        normal(15),
        &[("customer_phone", json!("+225 07 99 88 77 66"))],
    );
    let p2 = with(normal(16), &[("customer_phone", json!("0799887766"))]);
    expect.push((on_device(&dev, &form, &p1, hour(8), 30), "duplicate_phone"));
    expect.push((on_device(&dev, &form, &p2, hour(9), 30), "duplicate_phone"));
    // straight_lined: every touchpoint rated 3.
    let flat: Vec<SampleAnswer> = survey_model::mcmb::TOUCHPOINTS
        .iter()
        .map(|t| (*t, json!(3)))
        .collect();
    let flat = with(normal(17), &flat);
    expect.push((
        on_device(&dev, &form, &flat, hour(10), 30),
        "straight_lined",
    ));
    // short_verbatim: "ok".
    let short = with(normal(18), &[("verbatim", json!("ok"))]);
    expect.push((
        on_device(&dev, &form, &short, hour(11), 30),
        "short_verbatim",
    ));
    let r = dev.sync().await.unwrap();
    assert!(r.docs_rejected.is_empty(), "{:?}", r.docs_rejected);

    // clock_skew: a phone whose clock is two hours ahead pushes a normal
    // interview (raw protocol, its own actor, the device's token).
    let skewed = {
        let (emp, _) = srv.state.store.user_by_login("emp.ci").unwrap().unwrap();
        let device = Uuid::new_v4();
        let meta = survey_model::sample::meta(
            &form,
            "CI",
            &emp.id,
            &device.to_string(),
            "2026-11-30T09:00:00Z",
        );
        let mut iv = Interview::create(&form, meta, survey_model::actor_from_uuid(device)).unwrap();
        fill_timed(&mut iv, &form, &normal(19), hour(12), 30).unwrap();
        let body = survey_protocol::encode(
            &survey_protocol::SyncRequest {
                cursor: 0,
                docs: vec![survey_protocol::DocPush {
                    doc_id: iv.id(),
                    base_heads: vec![],
                    heads: iv.heads().iter().map(|h| h.0).collect(),
                    data: iv.save(),
                }],
            },
            survey_protocol::Compression::None,
        )
        .unwrap();
        let ahead = survey_model::now().1 + 7200;
        let resp = post_sync_with(
            &srv.url,
            &dev.token(),
            body,
            &[(survey_protocol::DEVICE_TIME_HEADER, &ahead.to_string())],
        )
        .await;
        assert_eq!(resp.status(), 200);
        iv.id()
    };
    expect.push((skewed, "clock_skew"));

    // Each crafted interview carries its check and only it; normals none.
    for id in &normals {
        assert_eq!(
            checks_of(&srv, &coord, *id).await,
            Vec::<String>::new(),
            "normal {id}"
        );
    }
    for (id, check) in &expect {
        assert_eq!(
            checks_of(&srv, &coord, *id).await,
            vec![check.to_string()],
            "{check}"
        );
    }
    // Every check was tried.
    for c in CHECKS {
        assert!(
            expect.iter().any(|(_, e)| *e == c.as_str()),
            "{c} not crafted"
        );
    }

    // The queue filters by each check and by any flag, and sorts by flags.
    for c in CHECKS {
        let q = queue(&srv, &coord, &format!("check={}", c.as_str())).await;
        let mut got: Vec<String> = q["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["interview_id"].as_str().unwrap().to_owned())
            .collect();
        got.sort();
        let mut want: Vec<String> = expect
            .iter()
            .filter(|(_, e)| *e == c.as_str())
            .map(|(id, _)| id.to_string())
            .collect();
        want.sort();
        assert_eq!(got, want, "check={c}");
    }
    let any = queue(&srv, &coord, "check=any").await;
    assert_eq!(any["total"].as_u64(), Some(expect.len() as u64));
    // A second flag on one interview: it sorts first.
    let both = with(
        normal(20),
        &[
            ("verbatim", json!("bof")),
            ("customer_phone", json!("+225 01 02 03 04 05")),
        ],
    );
    let both = with(both, &flat_ratings());
    let two = on_device(&dev, &form, &both, hour(13), 30);
    dev.sync().await.unwrap();
    let sorted = queue(&srv, &coord, "sort=flags").await;
    assert_eq!(
        sorted["items"][0]["interview_id"].as_str(),
        Some(two.to_string().as_str()),
        "most flagged first"
    );
    assert_eq!(
        sorted["total"].as_u64(),
        Some((normals.len() + expect.len() + 1) as u64)
    );
    let bad = reqwest::Client::new()
        .get(format!("{}/api/v1/review-queue?check=nope", srv.url))
        .bearer_auth(&coord)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("\"error\""));

    // The interview page shows the flags and the paradata.
    let http = fieldvoice_tests::dashboard::client();
    let session = fieldvoice_tests::dashboard::login(&http, &srv.url, "chief.ci", PW).await;
    let (rushed, _) = expect[0];
    let page = session
        .page(&http, &format!("{}/dashboard/interviews/{rushed}", srv.url))
        .await;
    assert!(page.contains(r#"id="paradata""#), "paradata panel");
    assert!(page.contains(r#"title="too_fast""#), "the flag");
    let answered = normal(10).len() as i64 * 3;
    assert!(
        page.contains(&format!(
            r#"<td id="duration">{} min {:02} s</td>"#,
            answered / 60,
            answered % 60
        )),
        "duration of {answered} s"
    );
    assert!(page.contains(r#"id="sections""#), "time per section");
    // The queue page filters by the flag too.
    let queue_page = session
        .page(
            &http,
            &format!("{}/dashboard/reviews?check=too_fast", srv.url),
        )
        .await;
    assert!(queue_page.contains(&rushed.to_string()));
    assert!(!queue_page.contains(&normals[0].to_string()));

    // The export carries the checks and the paradata (read back as CSV).
    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/export/csv", srv.url))
        .bearer_auth(&coord)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let head = rd.headers().unwrap().clone();
    let col = |n: &str| {
        head.iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let (id_col, checks_col, dur_col) = (col("interview_id"), col("checks"), col("duration_s"));
    let mut seen = 0;
    for row in rd.records() {
        let row = row.unwrap();
        if let Some((_, c)) = expect.iter().find(|(id, _)| id.to_string() == row[id_col]) {
            assert_eq!(&row[checks_col], *c);
            seen += 1;
        }
        if row[id_col] == normals[0].to_string() {
            let answered = normal(0).len() as i64;
            assert_eq!(row[dur_col], (answered * 30).to_string());
            assert_eq!(&row[checks_col], "");
        }
    }
    assert_eq!(seen, expect.len());
}

fn flat_ratings() -> Vec<SampleAnswer> {
    survey_model::mcmb::TOUCHPOINTS
        .iter()
        .map(|t| (*t, json!(5)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_check_fires_on_its_crafted_interview_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_check_fires_on_its_crafted_interview_postgres() {
    run(true).await;
}
