//! Dashboard render times with 100,000 interviews: seeds a SQLite store (bulk
//! insert of projection rows, plus one interview through the real merge path),
//! then times each dashboard page and the stats API through the router, and
//! prints p50/p99. Target (DESIGN.md): < 200 ms per page.
//!
//! `cargo bench -p sync-server --bench dashboard [-- INTERVIEWS]`
//!
//! With `FIELDVOICE_BENCH_PG_URL` set to an empty PostgreSQL database, the
//! seeded SQLite store is copied there (the `migrate-store` copy) and the
//! pages are timed on `PgStore` instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use central_store::dashboard::Session;
use central_store::merge::{Caller, push};
use central_store::{CentralStore, NewUser, Role, SqliteStore};
use rusqlite::params;
use survey_model::{Interview, InterviewRecord, actor_from_uuid};
use survey_protocol::DocPush;
use sync_server::{AppState, Settings};
use tower::ServiceExt;

const COUNTRIES: [&str; 5] = ["CI", "SN", "CM", "ML", "BF"];

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sqlite3");
    let sqlite = Arc::new(SqliteStore::open(&path).unwrap());
    let store = sqlite.clone();
    let t0 = Instant::now();
    let admin = store
        .create_user(
            &NewUser {
                login: "admin".into(),
                name: "Admin".into(),
                role: Role::Admin,
                countries: vec![],
                password_hash: None,
            },
            0,
        )
        .unwrap();
    let coord = store
        .create_user(
            &NewUser {
                login: "coord.ci".into(),
                name: "Coordinator CI".into(),
                role: Role::Coordinator,
                countries: vec!["CI".into()],
                password_hash: None,
            },
            0,
        )
        .unwrap();
    let emp = store
        .create_user(
            &NewUser {
                login: "emp.ci".into(),
                name: "Employee CI".into(),
                role: Role::Employee,
                countries: vec!["CI".into()],
                password_hash: None,
            },
            0,
        )
        .unwrap();
    seed_bulk(&path, &store, n);
    let seeded = t0.elapsed();
    let store: Arc<dyn CentralStore> = store;
    let state = AppState::new(store.clone(), Settings::default()).unwrap();
    for (_, json) in survey_model::BUILTIN_FORMS {
        state.install_form(json).unwrap();
    }
    // One real interview (Automerge document) for the interview page.
    let form = survey_model::mcmb_form().unwrap();
    let device = uuid::Uuid::new_v4();
    let meta = survey_model::sample::meta(
        &form,
        "CI",
        &emp.id,
        &device.to_string(),
        "2026-11-30T09:00:00Z",
    );
    let mut iv = Interview::create(&form, meta, actor_from_uuid(device)).unwrap();
    for (k, v) in answers(7) {
        iv.set_answer_json(&form, k, &v).unwrap();
    }
    let real_id = iv.id();
    push(
        store.as_ref(),
        &state.forms(),
        Caller {
            user: &emp,
            source: "bench-device",
            clock_skew_s: None,
        },
        &[DocPush {
            doc_id: real_id,
            base_heads: vec![],
            heads: vec![],
            data: iv.save(),
        }],
    )
    .unwrap();
    let cookie = |user: &str, token: &str| {
        store
            .create_session(
                &sync_server::auth::hash_secret(token),
                &Session {
                    user_id: user.into(),
                    csrf: "bench".into(),
                    created_at: central_store::unix_now(),
                    expires_at: central_store::unix_now() + 3600,
                },
            )
            .unwrap();
        format!("fv_session={token}")
    };
    let admin_cookie = cookie(&admin.id, "bench-admin");
    let coord_cookie = cookie(&coord.id, "bench-coord");
    println!("seeded {n} interviews in {:.1} s", seeded.as_secs_f64());
    let state = match std::env::var("FIELDVOICE_BENCH_PG_URL") {
        Ok(url) => {
            let t = Instant::now();
            let pg = central_store::PgStore::connect(&url).unwrap();
            central_store::transfer::copy_sqlite_to_pg(&sqlite, &pg, &mut |_, _, _| {}).unwrap();
            // Fresh statistics and visibility map (index-only scans).
            pg.batch_execute("VACUUM ANALYZE").unwrap();
            println!(
                "copied into PostgreSQL in {:.1} s; timing PgStore",
                t.elapsed().as_secs_f64()
            );
            let state = AppState::new(Arc::new(pg), Settings::default()).unwrap();
            for (_, json) in survey_model::BUILTIN_FORMS {
                state.install_form(json).unwrap();
            }
            state
        }
        Err(_) => state,
    };

    let app = sync_server::router(state);
    let pages: Vec<(&str, String, &str)> = vec![
        ("progress, all countries (admin)", "/dashboard/".into(), &admin_cookie),
        ("progress, one country (coordinator)", "/dashboard/".into(), &coord_cookie),
        ("review queue, all (admin)", "/dashboard/reviews".into(), &admin_cookie),
        ("review queue, one country", "/dashboard/reviews".into(), &coord_cookie),
        (
            "review queue, 4 filters",
            "/dashboard/reviews?nps_band=detractor&complaint=billing&review_state=unreviewed&from=2026-11-29".into(),
            &admin_cookie,
        ),
        ("review queue, page 1000", "/dashboard/reviews?page=1000".into(), &admin_cookie),
        ("interview page", format!("/dashboard/interviews/{real_id}"), &coord_cookie),
        ("GET /api/v1/stats (admin)", "/api/v1/stats".into(), &admin_cookie),
    ];
    println!(
        "{:<40} {:>9} {:>9} {:>9}",
        "page", "p50 ms", "p99 ms", "bytes"
    );
    for (name, uri, cookie) in pages {
        let mut times = Vec::new();
        let mut bytes = 0;
        for i in 0..32 {
            let req = Request::get(&uri)
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap();
            let t = Instant::now();
            let resp = rt.block_on(app.clone().oneshot(req)).unwrap();
            assert!(resp.status().is_success(), "{uri}: {}", resp.status());
            let body = rt
                .block_on(axum::body::to_bytes(resp.into_body(), usize::MAX))
                .unwrap();
            let dt = t.elapsed().as_secs_f64() * 1000.0;
            bytes = body.len();
            if i >= 2 {
                times.push(dt);
            }
        }
        times.sort_by(f64::total_cmp);
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!("{name:<40} {:>9.1} {:>9.1} {bytes:>9}", p(0.5), p(0.99));
    }
}

fn answers(i: usize) -> Vec<survey_model::sample::SampleAnswer> {
    survey_model::sample::varied(i, (i * 7 % 11) as i64, &format!("Ville {}", i % 97))
}

/// Insert 2,000 employees and 2,500 devices, then `n` synthetic projection rows.
fn seed_bulk(path: &std::path::Path, store: &SqliteStore, n: usize) {
    let mut c = rusqlite::Connection::open(path).unwrap();
    let tx = c.transaction().unwrap();
    for e in 0..2000 {
        let country = COUNTRIES[e % 5];
        tx.execute(
            "INSERT INTO users(id, login, name, role, countries, active, created_at)
             VALUES (?1, ?2, ?3, 'employee', ?4, 1, 0)",
            params![
                format!("emp-{e}"),
                format!("emp{e}"),
                format!("Employee {e}"),
                country
            ],
        )
        .unwrap();
        for d in 0..(1 + e % 2) {
            let last: Option<i64> = (e % 7 != 0).then_some(1_764_500_000 + e as i64);
            tx.execute(
                "INSERT INTO devices(id, user_id, label, token_hash, created_at, last_sync_at)
                 VALUES (?1, ?2, 'phone', ?3, 0, ?4)",
                params![
                    format!("dev-{e}-{d}"),
                    format!("emp-{e}"),
                    format!("tok-{e}-{d}").into_bytes(),
                    last
                ],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let id = uuid::Uuid::now_v7().to_string();
        let country = COUNTRIES[i % 5];
        let emp = format!("emp-{}", (i * 13) % 2000 / 5 * 5 + i % 5);
        let created = format!("2026-11-{:02}T{:02}:{:02}:00Z", 26 + i % 5, i % 24, i % 60);
        let review = ["received", "has_issues", "approved", "rejected"]
            .get(i % 9)
            .copied();
        let a = answers(i);
        let record = InterviewRecord {
            interview_id: id.clone(),
            form_id: "mcmb-interview".into(),
            form_version: 1,
            campaign: "mcmb-2026".into(),
            country: country.into(),
            created_by: emp.clone(),
            device_id: format!("dev-{i}"),
            created_at: created.clone(),
            status: "submitted".into(),
            submitted_at: Some(created.clone()),
            review_state: review.map(str::to_owned),
            answers: a
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            quality_flags: vec![],
            paradata: Default::default(),
            checks: vec![],
            tags: vec![],
            comment_count: 0,
            conflicts: vec![],
            heads: vec!["00".repeat(32)],
        };
        rows.push((record, i as i64));
    }
    store.insert_synthetic_rows(&rows).unwrap();
    c.execute_batch("ANALYZE").unwrap();
}
