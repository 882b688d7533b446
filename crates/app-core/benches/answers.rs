//! App-core benchmark: milliseconds per answer through `App::set_answer`
//! (parsed form and open interview kept in memory, one durable save each)
//! against the path without them (parse the form and load the document from
//! SQLite for every answer, then save), on the MCMB form; then the same
//! through `App::set_answer` / `set_instance_answer` on a form with 40
//! calculations and a 10-instance repeat (what a converted XLSForm brings:
//! every answer recomputes every calculation). Run with
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

/// 30 integer questions, 40 calculations over them (each reading two
/// answers and an earlier calculation), and a repeat of a name, an age and a
/// calculation per member.
fn calculated_form() -> String {
    let mut qs = Vec::new();
    for i in 0..30 {
        qs.push(
            json!({"name": format!("q{i}"), "type": "integer", "label": {"en": format!("Q{i}")}}),
        );
    }
    for i in 0..40 {
        let prev = if i == 0 {
            "0".to_owned()
        } else {
            format!("${{c{}}}", i - 1)
        };
        qs.push(json!({"name": format!("c{i}"), "type": "calculate",
            "calculation": format!("if(${{q{}}} > 5, ${{q{}}} * 2, {prev}) + 1", i % 30, (i + 7) % 30)}));
    }
    qs.push(json!({"name": "n", "type": "text", "label": {"en": "Name"}, "repeat": "members"}));
    qs.push(json!({"name": "age", "type": "integer", "label": {"en": "Age of ${n}"}, "repeat": "members"}));
    qs.push(
        json!({"name": "adult", "type": "calculate", "repeat": "members",
        "calculation": "if(${age} >= 18, 'yes', 'no')"}),
    );
    json!({"form_id": "calc-bench", "version": 1, "title": {"en": "Calculations"},
        "languages": ["en"], "default_language": "en",
        "repeats": [{"id": "members", "label": {"en": "Member"}}],
        "questions": qs})
    .to_string()
}

fn enrolled_store(dir: &Path) -> DeviceStore {
    std::fs::create_dir_all(dir).unwrap();
    let s = DeviceStore::open(&dir.join(STORE_FILE)).unwrap();
    s.put_form(survey_model::BUILTIN_FORMS[0].1).unwrap();
    s.put_form(&calculated_form()).unwrap();
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

/// Open the app on a fresh store in `dir`, start an interview on `form_id`
/// and run `f` on them.
fn on_app<T>(dir: &Path, form_id: &str, f: impl AsyncFnOnce(&App, Uuid) -> T) -> T {
    drop(enrolled_store(dir));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let app = App::open(dir, "bench").unwrap();
        let v = app
            .new_interview(Some(form_id.into()), "en".into())
            .await
            .unwrap();
        let id: Uuid = v.interview_id.parse().unwrap();
        f(&app, id).await
    })
}

/// Through the app's commands.
fn with_session(dir: &Path) -> Duration {
    on_app(dir, "mcmb-interview", async |app, id| {
        let t = Instant::now();
        for i in 0..ANSWERS {
            let (q, v) = answer(i);
            app.set_answer(id, q.into(), v, "en".into()).await.unwrap();
        }
        t.elapsed()
    })
}

/// Answers on the calculated form: top-level answers, then answers in 10
/// repeat instances.
fn calculated(dir: &Path) -> (Duration, Duration) {
    on_app(dir, "calc-bench", async |app, id| {
        let t = Instant::now();
        for i in 0..ANSWERS {
            let q = format!("q{}", i % 30);
            app.set_answer(id, q, json!((i % 11) as i64), "en".into())
                .await
                .unwrap();
        }
        let top = t.elapsed();
        for _ in 0..10 {
            app.add_instance(id, "members".into(), "en".into())
                .await
                .unwrap();
        }
        let t = Instant::now();
        for i in 0..ANSWERS {
            let (q, v) = if i % 2 == 0 {
                ("n", json!(format!("Member {i}")))
            } else {
                ("age", json!((i % 80) as i64))
            };
            app.set_instance_answer(id, i % 10, q.into(), v, "en".into())
                .await
                .unwrap();
        }
        (top, t.elapsed())
    })
}

fn main() {
    let root = std::env::temp_dir().join(format!("app-core-bench-{}", Uuid::new_v4()));
    let before = without_session(&root.join("before"));
    let after = with_session(&root.join("after"));
    let (calc_top, calc_repeat) = calculated(&root.join("calculated"));
    let _ = std::fs::remove_dir_all(&root);
    println!(
        "{ANSWERS} answers on a form with 40 calculations and a repeat, App commands: top-level answers {:.2} ms/answer; answers in 10 repeat instances {:.2} ms/answer",
        per_answer(calc_top),
        per_answer(calc_repeat)
    );
    println!(
        "{ANSWERS} answers on the MCMB form, durable save each: reload form + document per answer {:.2} ms/answer; App::set_answer (form and open interview kept) {:.2} ms/answer",
        per_answer(before),
        per_answer(after)
    );
}
