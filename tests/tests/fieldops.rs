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

/// The command centre against an independent recomputation from what was
/// sent: targets (a place's own, else its employees' personal ones), done per
/// place and segment, expected by now, flags, employees without an
/// interview, silent devices, interviews per hour; a coordinator sees only
/// their country; bad parameters get a JSON 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_centre_counts_what_the_phones_sent() {
    use survey_model::sample::{fill_timed, on_place, varied, with};
    let srv = TestServer::start().await;
    srv.mcmb_v2_campaign().await;
    let admin = srv.admin_token.clone();
    let (_, code_awa) = srv.user_with_code("awa", Role::Employee, "CI");
    let (_, code_kone) = srv.user_with_code("kone", Role::Employee, "CI");
    srv.user_with_code("yao", Role::Employee, "CI");
    srv.user_with_code("diop", Role::Employee, "SN");
    let (_, coord_ci) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (st, _) = post_csv(
        &srv,
        &admin,
        "/api/v1/assignments",
        "login,place_code,team\nawa,CI-ABJ-PLATEAU,A\nkone,CI-ABJ-PLATEAU,A\nyao,CI-BOUAKE,B\ndiop,SN-THIES,C\n",
    )
    .await;
    assert_eq!(st, 200);
    // Plateau: its own targets; Bouaké: only yao's personal one (2 business).
    let (st, _) = post_csv(
        &srv,
        &admin,
        "/api/v1/quotas",
        "place_code,segment,target,login\n\
         CI-ABJ-PLATEAU,individual,4,\nCI-ABJ-PLATEAU,business,2,\n\
         CI-BOUAKE,business,2,yao\nSN-THIES,partner,3,\n",
    )
    .await;
    assert_eq!(st, 200);
    let awa = srv.device("awa", &code_awa).await;
    let kone = srv.device("kone", &code_kone).await;
    awa.sync().await.unwrap();
    kone.sync().await.unwrap();
    let form = awa.lock().form("mcmb-interview", Some(2)).unwrap();
    let day = survey_model::now().0[..10].to_owned();
    // awa: 3 individual + 1 business at the Plateau, one of them rushed;
    // kone: 1 individual there, and one draft (not counted).
    let start = survey_model::now().1 - 3 * 3600;
    let mut sent = Vec::new();
    for (dev, n, segment, step) in [
        (&awa, 1, "individual", 30),
        (&awa, 2, "individual", 30),
        (&awa, 3, "individual", 3),
        (&awa, 4, "business", 30),
        (&kone, 5, "individual", 30),
    ] {
        let answers = with(
            on_place(varied(n, 8, ""), "CI-ABJ-PLATEAU"),
            &[
                ("segment", json!(segment)),
                (
                    "location",
                    json!({"lat": 5.3235, "lon": -4.0190, "accuracy": 9.0}),
                ),
            ],
        );
        let mut s = dev.lock();
        let mut iv = s.create_interview(&form).unwrap();
        fill_timed(&mut iv, &form, &answers, start + n as i64 * 1800, step).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
        sent.push(segment);
    }
    {
        let mut s = kone.lock();
        let mut iv = s.create_interview(&form).unwrap();
        iv.set_answer_json(&form, "consent", &json!(true)).unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }
    awa.sync().await.unwrap();
    kone.sync().await.unwrap();

    let cc = srv
        .get_json(&coord_ci, &format!("/api/v1/command-centre?day={day}"))
        .await;
    let elapsed = cc["elapsed"].as_f64().unwrap();
    let places = cc["places"].as_array().unwrap();
    let place = |code: &str| {
        places
            .iter()
            .find(|p| p["code"] == code)
            .unwrap_or_else(|| panic!("{code}"))
    };
    // Only CI for the CI coordinator.
    assert!(places.iter().all(|p| p["country"] == "CI"));
    assert_eq!(cc["countries"].as_array().unwrap().len(), 1);
    let plateau = place("CI-ABJ-PLATEAU");
    assert_eq!(plateau["target"], 6);
    assert_eq!(plateau["done"], sent.len() as u64);
    let seg = |p: &Value, s: &str| {
        p["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x[0] == s)
            .map(|x| (x[1].as_u64().unwrap(), x[2].as_u64().unwrap()))
            .unwrap()
    };
    let individual = sent.iter().filter(|s| **s == "individual").count() as u64;
    assert_eq!(seg(plateau, "individual"), (individual, 4));
    assert_eq!(seg(plateau, "business"), (1, 2));
    assert_eq!(seg(plateau, "partner"), (0, 0));
    assert!((plateau["expected"].as_f64().unwrap() - 6.0 * elapsed).abs() < 1e-9);
    assert_eq!(plateau["flagged"], 1, "the rushed interview");
    assert_eq!(
        (plateau["assigned"].as_u64(), plateau["idle"].as_u64()),
        (Some(2), Some(0))
    );
    let bouake = place("CI-BOUAKE");
    assert_eq!(
        (bouake["target"].as_u64(), bouake["done"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(seg(bouake, "business"), (0, 2));
    // yao has no interview (and no device); awa and kone synced just now.
    let idle: Vec<&str> = cc["idle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["login"].as_str().unwrap())
        .collect();
    assert_eq!(idle, ["yao"]);
    assert_eq!(cc["silent"].as_array().unwrap().len(), 0);
    let hours: u64 = cc["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_u64().unwrap())
        .sum();
    // Created today: every interview made on the phones (drafts too).
    assert_eq!(hours, sent.len() as u64 + 1);
    let ci = &cc["countries"][0];
    assert_eq!(
        (
            ci["target"].as_u64(),
            ci["done"].as_u64(),
            ci["idle"].as_u64()
        ),
        (Some(8), Some(5), Some(1))
    );

    // The admin sees Senegal's place too; another country is refused.
    let all = srv
        .get_json(&admin, &format!("/api/v1/command-centre?day={day}"))
        .await;
    assert_eq!(all["countries"].as_array().unwrap().len(), 2);
    for (q, want) in [
        ("country=SN", 403),
        ("day=tomorrow", 400),
        ("silent_h=0", 400),
    ] {
        let r = client()
            .get(format!("{}/api/v1/command-centre?{q}", srv.url))
            .bearer_auth(&coord_ci)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{q}");
        assert!(r.text().await.unwrap().contains("\"error\""), "{q}");
    }
    // Silent: with a 1 h threshold and a device last seen 2 h ago.
    let dev_id = awa.lock().enrollment().unwrap().unwrap().device_id;
    srv.state
        .store
        .touch_device(&dev_id, central_store::unix_now() - 7200, 0, None)
        .unwrap();
    let cc = srv
        .get_json(
            &coord_ci,
            &format!("/api/v1/command-centre?day={day}&silent_h=1"),
        )
        .await;
    let silent: Vec<&str> = cc["silent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["employee"].as_str().unwrap())
        .collect();
    assert_eq!(silent, ["User awa"]);
}

/// The command centre over a field day of 3,000 interviews in 17 countries:
/// every interview counted once, every country and place with a target
/// present, the idle employees and silent devices the seed made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_centre_over_a_field_day_in_17_countries() {
    let srv = TestServer::start().await;
    let day = survey_model::now().0[..10].to_owned();
    let seeded = fieldvoice_tests::fieldday::seed(&srv, 3000, &day).await;
    let cc = srv
        .get_json(
            &srv.admin_token,
            &format!("/api/v1/command-centre?day={day}"),
        )
        .await;
    let countries = cc["countries"].as_array().unwrap();
    assert_eq!(countries.len(), 17);
    let done: u64 = countries.iter().map(|c| c["done"].as_u64().unwrap()).sum();
    assert_eq!(done, seeded.interviews as u64);
    assert_eq!(cc["places"].as_array().unwrap().len(), seeded.places);
    let hours: u64 = cc["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_u64().unwrap())
        .sum();
    assert_eq!(hours, seeded.interviews as u64);
    let flagged: u64 = countries
        .iter()
        .map(|c| c["flagged"].as_u64().unwrap())
        .sum();
    assert_eq!(flagged, seeded.interviews.div_ceil(15) as u64);
    assert_eq!(
        cc["idle"].as_array().unwrap().len(),
        seeded.places * 2,
        "two employees per place never interview"
    );
    let silent = cc["silent"].as_array().unwrap().len();
    assert!(silent > 0 && silent < seeded.employees / 5, "{silent}");
}
