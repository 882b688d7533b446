//! Device-store benchmark: prints the size of a completed interview, the time
//! to save one answer durably (p50/p99), and the time to open a store of 5,000
//! interviews. Run with `cargo bench -p device-store`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use device_store::{DeviceStore, Enrollment, ListFilter};
use serde_json::json;
use survey_model::{Form, Interview};

fn answers(i: usize) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("consent", json!(true)),
        ("segment", json!(survey_model::mcmb::SEGMENTS[i % 4])),
        ("customer_name", json!("Awa Traoré")),
        ("customer_phone", json!("+225 07 12 34 56 78")),
        ("city", json!(format!("Bouaké {}", i % 120))),
        ("area_type", json!("urban")),
        (
            "location",
            json!({"lat": 7.6899, "lon": -5.0318, "accuracy": 12.0}),
        ),
        ("customer_since_years", json!(6)),
        ("services_used", json!(["mobile_voice", "mobile_money"])),
        ("nps", json!((i % 11) as i64)),
        (
            "nps_reason",
            json!("Le réseau coupe souvent le soir, mais le service client est aimable."),
        ),
        ("sat_network", json!(2)),
        ("sat_shop", json!(4)),
        ("sat_call_centre", json!(3)),
        ("sat_billing", json!(4)),
        ("sat_mobile_money", json!(5)),
        ("has_complaint", json!("yes")),
        (
            "complaint_categories",
            json!(["network_coverage", "data_speed"]),
        ),
        ("complaint_root_cause", json!(["network"])),
        (
            "complaint_detail",
            json!("Pas de 4G dans le quartier depuis trois mois."),
        ),
        ("complaint_since", json!("2026-08-01")),
        ("complaint_resolved", json!("no")),
        (
            "verbatim",
            json!("Améliorez la couverture réseau dans les quartiers nord, s'il vous plaît."),
        ),
        ("verbatim_language", json!("fr")),
        ("follow_up_requested", json!("no")),
        ("interview_date", json!("2026-11-30")),
    ]
}

fn enroll(store: &DeviceStore) -> Form {
    let form = store.put_form(survey_model::BUILTIN_FORMS[0].1).unwrap();
    store
        .set_enrollment(&Enrollment {
            server_url: "http://127.0.0.1:9".into(),
            device_id: "dev-bench".into(),
            device_token: "t".into(),
            user_id: "emp-bench".into(),
            user_name: "Bench".into(),
            country: "CI".into(),
            campaign: "mcmb-2026".into(),
        })
        .unwrap();
    form
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sqlite3");
    let mut store = DeviceStore::open(&path).unwrap();
    let form = enroll(&store);

    // 1. Size of a completed interview (one change per answer, as the app does).
    let mut iv: Interview = store.create_interview(&form).unwrap();
    let mut save_times = Vec::new();
    for (k, v) in answers(0) {
        iv.set_answer_json(&form, k, &v).unwrap();
        let t = Instant::now();
        store.save(&mut iv, Some(&form)).unwrap();
        save_times.push(t.elapsed());
    }
    iv.submit(&form).unwrap();
    store.save(&mut iv, Some(&form)).unwrap();
    let size = iv.save().len();
    println!(
        "completed interview ({} answers), saved size: {size} B (target < 2048 B)",
        answers(0).len()
    );

    // 2. Durable save of one answer, p50/p99 over many edits (fsync per commit).
    for i in 0..1000 {
        iv.set_answer_json(&form, "nps", &json!((i % 11) as i64))
            .unwrap();
        let t = Instant::now();
        store.save(&mut iv, Some(&form)).unwrap();
        save_times.push(t.elapsed());
    }
    save_times.sort();
    println!(
        "durable save of one answer: n={} p50={:?} p99={:?} max={:?} (target p99 < 5 ms)",
        save_times.len(),
        pct(&save_times, 0.5),
        pct(&save_times, 0.99),
        save_times.last().unwrap()
    );

    // 3. Open a store of 5,000 interviews.
    let big = dir.path().join("big.sqlite3");
    {
        let mut s = DeviceStore::open(&big).unwrap();
        let form = enroll(&s);
        for i in 0..5000 {
            let mut iv = s.create_interview(&form).unwrap();
            for (k, v) in answers(i) {
                iv.set_answer_json(&form, k, &v).unwrap();
            }
            iv.submit(&form).unwrap();
            s.save(&mut iv, Some(&form)).unwrap();
        }
    }
    let file_size = std::fs::metadata(&big).unwrap().len();
    let mut opens = Vec::new();
    let mut lists = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = DeviceStore::open(&big).unwrap();
        let n = s.count().unwrap();
        let first = s
            .list(&ListFilter {
                limit: Some(50),
                ..Default::default()
            })
            .unwrap();
        opens.push(t.elapsed());
        assert_eq!((n, first.len()), (5000, 50));
        let t = Instant::now();
        let all = s.list(&ListFilter::default()).unwrap();
        lists.push(t.elapsed());
        assert_eq!(all.len(), 5000);
    }
    opens.sort();
    lists.sort();
    println!(
        "open store of 5000 interviews ({:.1} MB) + count + first page: median {:?} (target < 300 ms); full list of 5000: median {:?}",
        file_size as f64 / 1e6,
        opens[2],
        lists[2]
    );
}
