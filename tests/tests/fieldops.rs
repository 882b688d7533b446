#![allow(clippy::unwrap_used)]
//! Field operations over real HTTP: assignments and quota targets imported
//! from CSV (admins; coordinators for their countries only; a file with a
//! problem refused whole, row and column named), and the quota progress
//! counting the submitted MCMB v2 interviews phones sync.

use central_store::Role;
use fieldvoice_tests::dashboard::client;
use fieldvoice_tests::server::TestServer;
use serde_json::{Value, json};

async fn post_csv(srv: &TestServer, token: &str, path: &str, csv: &str) -> (u16, Value) {
    let r = client()
        .post(format!("{}{path}", srv.url))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_and_quotas_are_imported_scoped_and_counted() {
    let srv = TestServer::start().await;
    let admin = srv.admin_token.clone();
    assert_eq!(
        post_csv(
            &srv,
            &admin,
            "/api/v1/places",
            survey_model::MCMB_PLACES_CSV
        )
        .await
        .0,
        200
    );
    let (st, p) = client()
        .post(format!("{}/api/v1/forms", srv.url))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(survey_model::MCMB_V2_JSON)
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(st, 201, "{:?}", p.text().await);
    let (awa, code_awa) = srv.user_with_code("awa", Role::Employee, "CI");
    let (_, code_kone) = srv.user_with_code("kone", Role::Employee, "CI");
    srv.user_with_code("diop", Role::Employee, "SN");
    let (_, coord_ci) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (_, coord_sn) = srv.token_for("coord.sn", Role::Coordinator, "SN");

    // A file with problems is refused whole, each named.
    let bad = "login;place_code;team\n\
               awa;CI-BOUAKE;Équipe 1\n\
               nobody;CI-BOUAKE;\n\
               kone;CI-NOWHERE;\n\
               diop;CI-MAN;\n\
               awa;CI-MAN;\n";
    let (st, e) = post_csv(&srv, &admin, "/api/v1/assignments", bad).await;
    assert_eq!(st, 400, "{e}");
    let msg = e["error"].as_str().unwrap();
    for want in [
        "row 3, column login: no user with login `nobody`",
        "row 4, column place_code: `CI-NOWHERE` is not in the place list",
        "row 5, column login: `diop` does not work in CI",
        "row 6: the same as row 2",
    ] {
        assert!(msg.contains(want), "{want} missing from {msg}");
    }
    let good = "login,place_code,team\nawa,CI-BOUAKE,Équipe 1\nkone,CI-KORHOGO,Équipe 2\n";
    assert_eq!(
        post_csv(&srv, &coord_sn, "/api/v1/assignments", good)
            .await
            .0,
        403
    );
    let (st, r) = post_csv(&srv, &coord_ci, "/api/v1/assignments", good).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["rows"].clone(), r["changed"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(
        post_csv(&srv, &coord_ci, "/api/v1/assignments", good)
            .await
            .1["changed"],
        0
    );

    // Quotas: the place's targets and one personal target.
    let bad = "place_code,segment,target,login\nCI-BOUAKE,tourist,3,\nCI-BOUAKE,business,lots,\n";
    let (st, e) = post_csv(&srv, &admin, "/api/v1/quotas", bad).await;
    assert_eq!(st, 400);
    let msg = e["error"].as_str().unwrap();
    assert!(
        msg.contains("row 2, column segment: `tourist` is not one of"),
        "{msg}"
    );
    assert!(
        msg.contains("row 3, column target: `lots` is not a whole number"),
        "{msg}"
    );
    let quotas = "place_code,segment,target,login\n\
                  CI-BOUAKE,individual,4,\n\
                  CI-BOUAKE,business,2,\n\
                  CI-KORHOGO,individual,3,\n\
                  CI-BOUAKE,individual,2,awa\n";
    assert_eq!(
        post_csv(&srv, &coord_sn, "/api/v1/quotas", quotas).await.0,
        403
    );
    let (st, r) = post_csv(&srv, &coord_ci, "/api/v1/quotas", quotas).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["rows"], 4);

    // Phones sync v2 interviews: awa 3 individual at Bouaké (one a draft),
    // 1 business; kone 1 individual at Bouaké, 2 at Korhogo.
    let plan = [
        (
            &code_awa,
            vec![
                ("CI-BOUAKE", "individual", true),
                ("CI-BOUAKE", "individual", true),
                ("CI-BOUAKE", "individual", false),
                ("CI-BOUAKE", "business", true),
            ],
        ),
        (
            &code_kone,
            vec![
                ("CI-BOUAKE", "individual", true),
                ("CI-KORHOGO", "individual", true),
                ("CI-KORHOGO", "individual", true),
            ],
        ),
    ];
    for (i, (code, items)) in plan.iter().enumerate() {
        let dev = srv.device(&format!("phone{i}"), code).await;
        {
            let mut s = dev.lock();
            let f2 = s.form("mcmb-interview", None).unwrap();
            assert_eq!(f2.version(), 2);
            for (place, segment, submit) in items {
                let mut iv = s.create_interview(&f2).unwrap();
                let answers = survey_model::sample::with(
                    survey_model::sample::on_place(fieldvoice_tests::complete_answers(8), place),
                    &[("segment", json!(segment))],
                );
                for (k, v) in &answers {
                    iv.set_answer_json(&f2, k, v).unwrap();
                }
                if *submit {
                    assert!(iv.submit(&f2).unwrap().is_complete());
                }
                s.save(&mut iv, Some(&f2)).unwrap();
            }
        }
        let r = dev.sync().await.unwrap();
        assert!(r.docs_rejected.is_empty(), "{r:?}");
    }
    let progress = |token: String, q: &'static str| {
        let url = format!("{}/api/v1/quotas{q}", srv.url);
        async move {
            let r = client().get(url).bearer_auth(token).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (st, rows) = progress(coord_ci.clone(), "").await;
    assert_eq!(st, 200);
    let got: Vec<(String, String, String, u64, u64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["place_code"].as_str().unwrap().to_owned(),
                r["segment"].as_str().unwrap().to_owned(),
                r["user_name"].as_str().unwrap().to_owned(),
                r["target"].as_u64().unwrap(),
                r["done"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |p: &str, s: &str, who: &str, t: u64, d: u64| {
        (p.to_owned(), s.to_owned(), who.to_owned(), t, d)
    };
    assert_eq!(
        got,
        vec![
            row("CI-BOUAKE", "business", "", 2, 1),
            row("CI-BOUAKE", "individual", "", 4, 3),
            row("CI-BOUAKE", "individual", &awa.name, 2, 2),
            row("CI-KORHOGO", "individual", "", 3, 2),
        ],
        "drafts do not count; a place's target counts every employee there"
    );
    assert_eq!(rows[0]["place_name"], "Bouaké");
    // Scoped: SN sees nothing of CI, and may not ask for it.
    assert_eq!(progress(coord_sn.clone(), "").await.1, json!([]));
    assert_eq!(progress(coord_sn, "?country=CI").await.0, 403);
}

/// An assignment made on the server while a phone is offline reaches it on
/// its next sync (and only then), with the place's and the employee's own
/// targets; a changed target comes with the sync after the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_reaches_an_offline_phone_on_its_next_sync() {
    use survey_model::places::SegmentTarget;
    let srv = TestServer::start().await;
    let admin = srv.admin_token.clone();
    post_csv(
        &srv,
        &admin,
        "/api/v1/places",
        survey_model::MCMB_PLACES_CSV,
    )
    .await;
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let dev = srv.device("phone", &code).await;
    assert_eq!(dev.lock().assignment().unwrap(), None, "not assigned yet");

    // The phone is offline while the coordinator plans the day.
    let (st, _) = post_csv(
        &srv,
        &admin,
        "/api/v1/assignments",
        "login,place_code,team\nawa,CI-BOUAKE,Équipe 1\n",
    )
    .await;
    assert_eq!(st, 200);
    let quotas = "place_code,segment,target,login\n\
                  CI-BOUAKE,individual,4,\n\
                  CI-BOUAKE,individual,2,awa\n\
                  CI-BOUAKE,business,3,\n\
                  CI-KORHOGO,business,9,\n";
    assert_eq!(
        post_csv(&srv, &admin, "/api/v1/quotas", quotas).await.0,
        200
    );
    assert_eq!(
        dev.lock().assignment().unwrap(),
        None,
        "offline: nothing yet"
    );

    let r = dev.sync().await.unwrap();
    assert!(r.assignment_received, "{r:?}");
    let a = dev.lock().assignment().unwrap().unwrap();
    assert_eq!(
        (
            a.place_code.as_str(),
            a.place_name.as_str(),
            a.team.as_str()
        ),
        ("CI-BOUAKE", "Bouaké", "Équipe 1")
    );
    assert_eq!(
        a.targets,
        vec![
            SegmentTarget {
                segment: "business".into(),
                place: Some(3),
                mine: None
            },
            SegmentTarget {
                segment: "individual".into(),
                place: Some(4),
                mine: Some(2)
            },
        ],
        "Korhogo's targets are not Awa's"
    );
    assert!(!dev.sync().await.unwrap().assignment_received, "once");
    post_csv(
        &srv,
        &admin,
        "/api/v1/quotas",
        "place_code,segment,target\nCI-BOUAKE,business,5\n",
    )
    .await;
    assert!(dev.sync().await.unwrap().assignment_received);
    assert_eq!(
        dev.lock().assignment().unwrap().unwrap().targets[0].place,
        Some(5)
    );
}
