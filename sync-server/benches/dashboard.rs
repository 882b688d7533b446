//! Dashboard render times with 100,000 interviews: seeds a SQLite store (the
//! MCMB place list of 120 places in 17 countries, 2,000 employees assigned to
//! them with devices, quota targets per place and segment, bulk insert of
//! projection rows at those places, plus one interview through the real merge
//! path), then times each dashboard page (the command centre included) and the
//! stats API through the router, and prints p50/p99 and the page bytes.
//! Target (DESIGN.md): < 200 ms per page.
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

/// The field day of the seeded interviews (the command centre's `day`).
const DAY: &str = "2026-11-30";

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
        (
            "command centre, 17 countries (admin)",
            format!("/dashboard/command?day={DAY}"),
            &admin_cookie,
        ),
        (
            "command centre, one country",
            format!("/dashboard/command?day={DAY}"),
            &coord_cookie,
        ),
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

/// Answers of generated interview `i` (a campaign of 4,000, cycled).
fn answers(i: usize) -> Vec<survey_model::sample::SampleAnswer> {
    static CAMPAIGN: std::sync::LazyLock<Vec<fieldgen::GenInterview>> =
        std::sync::LazyLock::new(|| fieldgen::generate(&fieldgen::Spec::submitted(7, 4000)));
    CAMPAIGN[i % CAMPAIGN.len()].answers.clone()
}

/// Insert the place list, 2,000 employees (employee `e` works at place
/// `e % 120`) with 3,000 devices, their assignments and the quota targets,
/// then `n` synthetic projection rows at those places.
fn seed_bulk(path: &std::path::Path, store: &SqliteStore, n: usize) {
    let places = sync_server::places::parse_places_csv(survey_model::MCMB_PLACES_CSV).unwrap();
    store.upsert_places(&places).unwrap();
    let np = places.len();
    let mut c = rusqlite::Connection::open(path).unwrap();
    let tx = c.transaction().unwrap();
    for e in 0..2000 {
        let country = places[e % np].country.as_str();
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
    let assignments: Vec<central_store::Assignment> = (0..2000)
        .map(|e| central_store::Assignment {
            user_id: format!("emp-{e}"),
            place_code: places[e % np].code.clone(),
            team: format!("T{}", e % 4),
        })
        .collect();
    store.upsert_assignments(&assignments).unwrap();
    let per = (n / np / 4 + 1) as u32 * 11 / 10;
    let quotas: Vec<central_store::Quota> = places
        .iter()
        .flat_map(|p| {
            survey_model::mcmb::SEGMENTS
                .iter()
                .map(move |s| central_store::Quota {
                    place_code: p.code.clone(),
                    segment: (*s).to_owned(),
                    user_id: String::new(),
                    target: per,
                })
        })
        .collect();
    store.upsert_quotas(&quotas).unwrap();
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let id = uuid::Uuid::now_v7().to_string();
        let place = &places[i % np];
        let country = place.country.as_str();
        // One of the 15 first employees of the place (some stay idle).
        let emp = format!("emp-{}", i % np + np * (i / np % 15));
        let created = format!(
            "{}T{:02}:{:02}:00Z",
            if i % 5 == 0 {
                DAY.to_owned()
            } else {
                format!("2026-11-{:02}", 26 + i % 4)
            },
            8 + i % 9,
            i % 60
        );
        let review = ["received", "has_issues", "approved", "rejected"]
            .get(i % 9)
            .copied();
        // MCMB v2: the place code instead of the free-text city.
        let mut a = answers(i);
        a.retain(|(k, _)| *k != "city");
        a.push(("place", serde_json::json!(place.code)));
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
            repeats: Default::default(),
            quality_flags: vec![],
            paradata: survey_model::Paradata {
                duration_s: Some(if i % 23 == 0 {
                    120
                } else {
                    600 + (i % 400) as i64
                }),
                ..Default::default()
            },
            checks: if i % 23 == 0 {
                vec![survey_model::Check::TooFast]
            } else {
                vec![]
            },
            tags: vec![],
            comment_count: 0,
            review: Default::default(),
            conflicts: vec![],
            heads: vec!["00".repeat(32)],
        };
        rows.push((record, i as i64));
    }
    store.insert_synthetic_rows(&rows).unwrap();
    c.execute_batch("ANALYZE").unwrap();
}
