//! Device-store benchmark: the size of a completed interview, the time to
//! save one answer durably (p50/p99), and the time to open a store of 5,000
//! interviews — for a plaintext store and, when built with SQLCipher, for an
//! encrypted one, printed side by side. Run with
//! `cargo bench -p device-store --features encryption`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use device_store::{DeviceStore, Enrollment, ListFilter, StoreKey};
use serde_json::json;
use survey_model::{Form, Interview};

fn answers(i: usize) -> Vec<survey_model::sample::SampleAnswer> {
    survey_model::sample::varied(i, (i % 11) as i64, &format!("Bouaké {}", i % 120))
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

/// What one mode measured.
struct Numbers {
    interview_bytes: usize,
    saves: usize,
    save_p50: Duration,
    save_p99: Duration,
    save_max: Duration,
    store_mb: f64,
    per_interview_bytes: f64,
    open_median: Duration,
    list_median: Duration,
}

fn open(path: &Path, key: Option<&StoreKey>) -> DeviceStore {
    match key {
        Some(k) => DeviceStore::open_encrypted(path, k).unwrap(),
        None => DeviceStore::open(path).unwrap(),
    }
}

fn run(dir: &Path, key: Option<&StoreKey>) -> Numbers {
    let tag = if key.is_some() { "enc" } else { "plain" };
    let path = dir.join(format!("bench-{tag}.sqlite3"));
    let mut store = open(&path, key);
    let form = enroll(&store);

    // 1. Size of a completed interview (one change per answer, as the app does).
    let mut iv: Interview = store.create_interview(&form).unwrap();
    for (k, v) in answers(0) {
        iv.set_answer_json(&form, k, &v).unwrap();
        store.save(&mut iv, Some(&form)).unwrap();
    }
    iv.submit(&form).unwrap();
    store.save(&mut iv, Some(&form)).unwrap();
    // What the store keeps (and a first sync sends): the uncompressed snapshot.
    let interview_bytes = iv.save_uncompressed().len();

    // 2. A store of 5,000 submitted interviews.
    let big = dir.join(format!("big-{tag}.sqlite3"));
    let mut s = open(&big, key);
    let form = enroll(&s);
    for i in 0..5000 {
        let mut iv = s.create_interview(&form).unwrap();
        for (k, v) in answers(i) {
            iv.set_answer_json(&form, k, &v).unwrap();
        }
        iv.submit(&form).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }

    // 3. Durable save of one answer in that store (its 5,001st interview),
    // p50/p99 over many edits
    // (fsync per commit; the form parsed and the document loaded once).
    let mut iv: Interview = s.create_interview(&form).unwrap();
    let mut save_times = Vec::new();
    for i in 0..1000 {
        iv.set_answer_json(&form, "nps", &json!((i % 11) as i64))
            .unwrap();
        let t = Instant::now();
        s.save(&mut iv, Some(&form)).unwrap();
        save_times.push(t.elapsed());
    }
    save_times.sort();
    drop(s);

    // 4. Open it.
    let file_size = std::fs::metadata(&big).unwrap().len();
    let mut opens = Vec::new();
    let mut lists = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = open(&big, key);
        let n = s.count().unwrap();
        let first = s
            .list(&ListFilter {
                limit: Some(50),
                ..Default::default()
            })
            .unwrap();
        opens.push(t.elapsed());
        assert_eq!((n, first.len()), (5001, 50));
        let t = Instant::now();
        let all = s.list(&ListFilter::default()).unwrap();
        lists.push(t.elapsed());
        assert_eq!(all.len(), 5001);
    }
    opens.sort();
    lists.sort();
    Numbers {
        interview_bytes,
        saves: save_times.len(),
        save_p50: pct(&save_times, 0.5),
        save_p99: pct(&save_times, 0.99),
        save_max: *save_times.last().unwrap(),
        store_mb: file_size as f64 / 1e6,
        per_interview_bytes: file_size as f64 / 5000.0,
        open_median: opens[2],
        list_median: lists[2],
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let plain = run(dir.path(), None);
    let enc =
        device_store::cipher_available().then(|| run(dir.path(), Some(&StoreKey::generate())));
    let col = |f: &dyn Fn(&Numbers) -> String| {
        format!(
            "{:>14} {:>14}",
            f(&plain),
            enc.as_ref().map_or("(no SQLCipher)".to_owned(), f)
        )
    };
    println!(
        "{:<58} {:>14} {:>14}",
        "device store", "plaintext", "encrypted"
    );
    println!(
        "{:<58} {}",
        "completed interview, saved size (target < 2048 B)",
        col(&|n| format!("{} B", n.interview_bytes))
    );
    println!(
        "{:<58} {}",
        format!(
            "durable save of one answer, 5,000 in store, n={}: p50",
            plain.saves
        ),
        col(&|n| format!("{:.2?}", n.save_p50))
    );
    println!(
        "{:<58} {}",
        "  p99 (target < 2 ms, issue 18)",
        col(&|n| format!("{:.2?}", n.save_p99))
    );
    println!(
        "{:<58} {}",
        "  max",
        col(&|n| format!("{:.2?}", n.save_max))
    );
    println!(
        "{:<58} {}",
        "5,000 interviews: file size",
        col(&|n| format!("{:.1} MB", n.store_mb))
    );
    println!(
        "{:<58} {}",
        "  per interview",
        col(&|n| format!("{:.0} B", n.per_interview_bytes))
    );
    println!(
        "{:<58} {}",
        "  open + count + first page, median (target < 300 ms)",
        col(&|n| format!("{:.1?}", n.open_median))
    );
    println!(
        "{:<58} {}",
        "  full list of 5,000, median",
        col(&|n| format!("{:.1?}", n.list_median))
    );
}
