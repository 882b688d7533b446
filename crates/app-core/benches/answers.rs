//! App-core benchmark: milliseconds per answer through `App::set_answer`
//! (parsed form and open interview kept in memory, one durable save each)
//! against the path without them (parse the form and load the document from
//! SQLite for every answer, then save), on the MCMB form. Run with
//! `cargo bench -p app-core --bench answers`; `cargo test -p app-core --bench
//! answers` runs it unoptimised.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use app_core::{App, STORE_FILE, form_view};
use device_store::{DeviceStore, Enrollment};
use serde_json::{Value, json};
use uuid::Uuid;

const ANSWERS: usize = 200;

fn answer(i: usize) -> (&'static str, Value) {
    match i % 5 {
        0 => ("consent", json!(true)),
        1 => ("nps", json!((i % 11) as i64)),
        2 => ("city", json!(format!("Bouaké {i}"))),
        3 => ("segment", json!(survey_model::mcmb::SEGMENTS[i % 2])),
        _ => ("verbatim", json!(format!("Le réseau coupe le soir ({i})."))),
    }
}

fn enrolled_store(dir: &Path) -> DeviceStore {
    std::fs::create_dir_all(dir).unwrap();
    let s = DeviceStore::open(&dir.join(STORE_FILE)).unwrap();
    s.put_form(survey_model::BUILTIN_FORMS[0].1).unwrap();
    s.set_enrollment(&Enrollment {
        server_url: "http://127.0.0.1:9".into(),
        device_id: "dev-bench".into(),
        device_token: "t".into(),
        user_id: "emp-bench".into(),
        user_name: "Bench".into(),
        country: "CI".into(),
        campaign: "mcmb-2026".into(),
    })
    .unwrap();
    s
}

fn per_answer(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0 / ANSWERS as f64
}

/// Every answer re-parses the form and reloads the document.
fn without_session(dir: &Path) -> Duration {
    let mut s = enrolled_store(dir);
    let form = s.form("mcmb-interview", None).unwrap();
    let id = s.create_interview(&form).unwrap().id();
    let t = Instant::now();
    for i in 0..ANSWERS {
        let (q, v) = answer(i);
        let mut iv = s.load(id).unwrap();
        let m = iv.meta().clone();
        let form = s.form(&m.form_id, Some(m.form_version)).unwrap();
        iv.set_answer_json(&form, q, &v).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        std::hint::black_box(form_view(&form, &iv, "en"));
    }
    t.elapsed()
}

/// Through the app's commands.
fn with_session(dir: &Path) -> Duration {
    drop(enrolled_store(dir));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let app = App::open(dir, "bench").unwrap();
        let v = app.new_interview(None, "en".into()).await.unwrap();
        let id: Uuid = v.interview_id.parse().unwrap();
        let t = Instant::now();
        for i in 0..ANSWERS {
            let (q, v) = answer(i);
            app.set_answer(id, q.into(), v, "en".into()).await.unwrap();
        }
        t.elapsed()
    })
}

fn main() {
    let root = std::env::temp_dir().join(format!("app-core-bench-{}", Uuid::new_v4()));
    let before = without_session(&root.join("before"));
    let after = with_session(&root.join("after"));
    let _ = std::fs::remove_dir_all(&root);
    println!(
        "{ANSWERS} answers on the MCMB form, durable save each: reload form + document per answer {:.2} ms/answer; App::set_answer (form and open interview kept) {:.2} ms/answer",
        per_answer(before),
        per_answer(after)
    );
}
