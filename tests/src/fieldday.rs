//! A realistic field day at scale for the command-centre tests: the MCMB
//! place list (120 places in 17 countries) and form v2, eight employees per
//! place with a device each (some silent), their assignments and quota
//! targets per place and segment, all through the real HTTP imports; then
//! `n` submitted interviews of the campaign generator ([`fieldgen`]) as projection rows written straight into the
//! server's SQLite store (`SqliteStore::insert_synthetic_rows`, the bench's
//! path: thousands of Automerge merges would only slow the test down, and
//! the command centre reads the projection). Two employees per place stay
//! without an interview; about one interview in fifteen is flagged.

use central_store::SqliteStore;
use survey_model::{Check, InterviewRecord, Paradata};

use crate::server::TestServer;

/// Employees per place (the last two never interview).
pub const PER_PLACE: usize = 8;

/// What was seeded.
pub struct FieldDay {
    pub interviews: usize,
    pub places: usize,
    pub employees: usize,
}

/// Seed a field day of `n` interviews on `day` (`YYYY-MM-DD`) into `srv`.
pub async fn seed(srv: &TestServer, n: usize, day: &str) -> FieldDay {
    srv.mcmb_v2_campaign().await;
    let places =
        sync_server::places::parse_places_csv(survey_model::MCMB_PLACES_CSV).expect("place list");
    let login = |p: usize, k: usize| format!("emp.{}.{k}", places[p].code.to_lowercase());
    let mut users = String::from("login,name,country,role\n");
    let mut assignments = String::from("login,place_code,team\n");
    let mut quotas = String::from("place_code,segment,target\n");
    for (i, p) in places.iter().enumerate() {
        for k in 0..PER_PLACE {
            users.push_str(&format!(
                "{},Agent {} {},{},employee\n",
                login(i, k),
                p.name,
                k + 1,
                p.country
            ));
            assignments.push_str(&format!("{},{},Team {}\n", login(i, k), p.code, k % 2 + 1));
        }
        // Urban places aim higher than villages.
        let per_segment = n / places.len() / 4 + if p.setting == "rural" { 1 } else { 4 };
        for s in survey_model::mcmb::SEGMENTS {
            quotas.push_str(&format!("{},{s},{per_segment}\n", p.code));
        }
    }
    srv.admin_post("/api/v1/users/import", "text/csv", &users, 200)
        .await;
    srv.admin_post("/api/v1/assignments", "text/csv", &assignments, 200)
        .await;
    srv.admin_post("/api/v1/quotas", "text/csv", &quotas, 200)
        .await;
    let path = srv.dir.path().join("server.sqlite3");
    let ids: std::collections::HashMap<String, String> = srv
        .state
        .store
        .list_users(None)
        .expect("users")
        .into_iter()
        .map(|u| (u.login, u.id))
        .collect();
    // Devices: one per employee; one in nine silent since the morning.
    let c = rusqlite::Connection::open(&path).expect("server store");
    let now = central_store::unix_now();
    for i in 0..places.len() {
        for k in 0..PER_PLACE {
            let l = login(i, k);
            let last = if (i + k) % 9 == 0 {
                now - 6 * 3600
            } else {
                now - 600
            };
            c.execute(
                "INSERT INTO devices(id, user_id, label, token_hash, created_at, last_sync_at)
                 VALUES (?1, ?2, 'Android phone', ?3, 0, ?4)",
                rusqlite::params![
                    format!("dev-{l}"),
                    ids[&l],
                    format!("tok-{l}").into_bytes(),
                    last
                ],
            )
            .expect("device");
        }
    }
    // The generator rounds the places in the place list's order, as here.
    let generated = fieldgen::generate(&fieldgen::Spec::submitted(42, n));
    let mut rows = Vec::with_capacity(n);
    for (j, g) in generated.iter().enumerate() {
        // Round the places, then the employees of each; 08:00-16:59.
        let i = j % places.len();
        let p = &places[i];
        let k = j / places.len() % (PER_PLACE - 2);
        debug_assert_eq!(g.place.code, p.code);
        let answers = g.answers_v2();
        let created = format!("{day}T{:02}:{:02}:00Z", 8 + j % 9, j % 60);
        let flagged = j % 15 == 0;
        rows.push((
            InterviewRecord {
                interview_id: uuid::Uuid::now_v7().to_string(),
                form_id: "mcmb-interview".into(),
                form_version: 2,
                campaign: "mcmb-2026".into(),
                country: p.country.clone(),
                created_by: ids[&login(i, k)].clone(),
                device_id: format!("dev-{}", login(i, k)),
                created_at: created.clone(),
                status: "submitted".into(),
                submitted_at: Some(created),
                review_state: None,
                answers: answers
                    .into_iter()
                    .map(|(q, v)| (q.to_owned(), v))
                    .collect(),
                repeats: Default::default(),
                quality_flags: vec![],
                paradata: Paradata {
                    duration_s: Some(if flagged { 150 } else { 540 + (j % 600) as i64 }),
                    ..Paradata::default()
                },
                checks: if flagged {
                    vec![Check::TooFast]
                } else {
                    vec![]
                },
                tags: vec![],
                comment_count: 0,
                review: Default::default(),
                conflicts: vec![],
                heads: vec!["00".repeat(32)],
            },
            j as i64,
        ));
    }
    let store = SqliteStore::open(&path).expect("second handle on the server store");
    store.insert_synthetic_rows(&rows).expect("interviews");
    FieldDay {
        interviews: n,
        places: places.len(),
        employees: places.len() * PER_PLACE,
    }
}
