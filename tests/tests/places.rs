#![allow(clippy::unwrap_used)]
//! The campaign's place list over real HTTP: the MCMB file (120 places, 17
//! countries) is imported by an admin (coordinators only for their
//! countries, a bad file refused whole with its rows and columns), reaches a
//! phone at enrollment and on the next sync after a change, narrows the MCMB
//! v2 `place` question to the phone's country offline, and the server groups
//! the dashboard and fills the exports by place code.

use central_store::Role;
use fieldvoice_tests::dashboard::{client, login, user_with_password};
use fieldvoice_tests::server::TestServer;
use serde_json::{Value, json};

async fn send(
    method: reqwest::Method,
    url: &str,
    token: &str,
    content_type: &str,
    body: String,
) -> (u16, Value) {
    let r = client()
        .request(method, url)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn import(srv: &TestServer, token: &str, csv: &str) -> (u16, Value) {
    send(
        reqwest::Method::POST,
        &format!("{}/api/v1/places", srv.url),
        token,
        "text/csv",
        csv.to_owned(),
    )
    .await
}

async fn places(srv: &TestServer, token: &str, query: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{}/api/v1/places{query}", srv.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_place_list_is_imported_scoped_and_refused_whole_when_wrong() {
    let srv = TestServer::start().await;
    let admin = srv.admin_token.clone();
    let (st, r) = import(&srv, &admin, survey_model::MCMB_PLACES_CSV).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["places"], 120);
    assert_eq!(r["changed"], 120);
    assert_eq!(r["countries"].as_array().unwrap().len(), 17);
    let (_, again) = import(&srv, &admin, survey_model::MCMB_PLACES_CSV).await;
    assert_eq!(again["changed"], 0, "the same file changes nothing");

    // A file with problems: nothing is imported, every problem is named.
    let bad = "code,country,name,kind,setting,lat,lon\n\
               CI-NEW,CI,Nouveau,city,urban,5.1,-4.1\n\
               CI-BAD,CI,Bad,town,urban,95,-4\n";
    let (st, e) = import(&srv, &admin, bad).await;
    assert_eq!(st, 400);
    let msg = e["error"].as_str().unwrap();
    assert!(
        msg.contains("row 3, column kind: `town` is not one of city, village, district"),
        "{msg}"
    );
    assert!(
        msg.contains("row 3, column lat: 95 is outside -90..90"),
        "{msg}"
    );
    let (_, ci) = places(&srv, &admin, "?country=CI").await;
    assert!(
        !ci["places"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["code"] == "CI-NEW"),
        "refused whole"
    );

    // Coordinators: their countries only; analysts read theirs.
    let (_, coord_ci) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let one = |code: &str, country: &str| {
        format!("code,country,name,kind,setting\n{code},{country},Test {code},village,rural\n")
    };
    assert_eq!(import(&srv, &coord_ci, &one("SN-X", "SN")).await.0, 403);
    assert_eq!(import(&srv, &coord_ci, &one("CI-X", "CI")).await.0, 200);
    let (_, analyst_sn) = srv.token_for("ana.sn", Role::Analyst, "SN");
    let (st, sn) = places(&srv, &analyst_sn, "").await;
    assert_eq!(st, 200);
    let sn = sn["places"].as_array().unwrap();
    assert_eq!(sn.len(), 7);
    assert!(sn.iter().all(|p| p["country"] == "SN"));
    assert_eq!(places(&srv, &analyst_sn, "?country=CI").await.0, 403);
    assert_eq!(import(&srv, &analyst_sn, &one("SN-Y", "SN")).await.0, 403);

    // A device reads its employee's country, no other.
    let (_, code) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let dev = srv.device("phone", &code).await;
    let (st, mine) = places(&srv, &dev.token(), "").await;
    assert_eq!(st, 200);
    assert_eq!(mine["places"].as_array().unwrap().len(), 9, "8 + CI-X");
    assert_eq!(places(&srv, &dev.token(), "?country=SN").await.0, 403);
    assert_eq!(import(&srv, &dev.token(), &one("CI-Z", "CI")).await.0, 403);
    let anonymous = client()
        .get(format!("{}/api/v1/places", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// A phone enrolled before the list exists gets it on its next sync, then a
/// changed list on the sync after the change, and picks places of its own
/// country offline; the server groups and exports by code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_pick_places_of_their_country_offline_and_figures_group_by_code() {
    let srv = TestServer::start().await;
    let admin = srv.admin_token.clone();
    let (_, code) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let dev = srv.device("phone", &code).await;
    assert!(dev.lock().places().unwrap().is_empty());

    assert_eq!(
        import(&srv, &admin, survey_model::MCMB_PLACES_CSV).await.0,
        200
    );
    let (st, p) = send(
        reqwest::Method::POST,
        &format!("{}/api/v1/forms", srv.url),
        &admin,
        "application/json",
        survey_model::MCMB_V2_JSON.to_owned(),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let r = dev.sync().await.unwrap();
    assert_eq!(r.places_received, Some(8), "{r:?}");
    assert_eq!(r.forms_received, [("mcmb-interview".to_owned(), 2)]);
    assert_eq!(
        dev.sync().await.unwrap().places_received,
        None,
        "fetched once"
    );

    // Offline from here: the v2 form offers the CI places and "other".
    let (ids, offered) =
        {
            let mut s = dev.lock();
            let f2 = s.form("mcmb-interview", None).unwrap();
            assert_eq!(f2.version(), 2);
            let mut made = Vec::new();
            let mut offered = Vec::new();
            for (i, place) in ["CI-BOUAKE", "CI-BOUAKE", "CI-KORHOGO", "other"]
                .iter()
                .enumerate()
            {
                let mut iv = s.create_interview(&f2).unwrap();
                let mut answers = survey_model::sample::on_place(
                    fieldvoice_tests::complete_answers(9 - i as i64),
                    place,
                );
                if *place == "other" {
                    answers.push(("place_other", json!("Kossou village")));
                }
                for (k, v) in &answers {
                    iv.set_answer_json(&f2, k, v).unwrap();
                }
                if i == 0 {
                    let view = app_core::view::form_view(&f2, &iv, "fr");
                    let q = view
                        .sections
                        .iter()
                        .flat_map(|s| &s.questions)
                        .find(|q| q.name == "place")
                        .unwrap();
                    assert!(q.searchable);
                    offered = q.options.iter().map(|o| o.value.clone()).collect();
                    // A place of another country is refused on the phone.
                    iv.set_answer_json(&f2, "place", &json!("SN-THIES"))
                        .unwrap();
                    let eval = f2.evaluate(&iv.answers(&f2));
                    assert!(
                        eval.diagnostics.iter().any(|d| d.question == "place"
                            && d.code == survey_model::Code::UnknownOption),
                        "{eval:?}"
                    );
                    iv.set_answer_json(&f2, "place", &json!(place)).unwrap();
                }
                assert!(iv.submit(&f2).unwrap().is_complete(), "{place}");
                s.save(&mut iv, Some(&f2)).unwrap();
                made.push(iv.id());
            }
            (made, offered)
        };
    assert_eq!(offered.len(), 9, "8 CI places and other: {offered:?}");
    assert_eq!(offered[0], "other");
    assert!(offered.iter().skip(1).all(|c| c.starts_with("CI-")));
    let r = dev.sync().await.unwrap();
    assert!(r.docs_rejected.is_empty(), "{r:?}");
    assert_eq!(r.docs_acknowledged, 4);

    // The list changes: the next sync brings it.
    let renamed = "code,country,name,region,kind,setting,lat,lon\n\
                   CI-BOUAKE,CI,Bouaké Centre,Gbêkê,city,urban,7.6899,-5.0318\n";
    assert_eq!(import(&srv, &admin, renamed).await.1["changed"], 1);
    assert_eq!(dev.sync().await.unwrap().places_received, Some(8));
    assert!(
        dev.lock()
            .places()
            .unwrap()
            .iter()
            .any(|p| p.name == "Bouaké Centre")
    );

    // The API filters by code; the dashboard groups by it, with names.
    let list = srv
        .get_json(&admin, "/api/v1/interviews?place_code=CI-BOUAKE")
        .await;
    assert_eq!(list["total"], 2, "{list}");
    user_with_password(&srv, "boss", Role::Admin, "", "a long passphrase 2");
    let http = client();
    let s = login(&http, &srv.url, "boss", "a long passphrase 2").await;
    let html = s.page(&http, &format!("{}/dashboard/", srv.url)).await;
    let table = &html[html.find(r#"id="by-place""#).unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let row = |needle: &str| {
        let at = table
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not in {table}"));
        table[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert!(
        row("Bouaké Centre").contains(r#"<td class="n">2</td>"#),
        "{}",
        row("Bouaké Centre")
    );
    assert!(row("place_code=CI-KORHOGO").contains(r#"<td class="n">1</td>"#));
    assert!(row("Other (typed by hand, to review)").contains(r#"<td class="n">1</td>"#));

    // The report's NPS by place: by code, named from the list.
    let sum = srv.get_json(&admin, "/api/v1/report?format=json").await;
    let by_place = sum["nps_by"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["dimension"] == "place")
        .unwrap_or_else(|| panic!("no place breakdown: {sum}"));
    let groups: Vec<(String, String, u64)> = by_place["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap().to_owned(),
                g["label"].as_str().unwrap().to_owned(),
                g["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        groups.contains(&("CI-BOUAKE".into(), "Bouaké Centre (CI-BOUAKE)".into(), 2)),
        "{groups:?}"
    );
    assert!(
        groups.contains(&("other".into(), "Other (type it)".into(), 1)),
        "{groups:?}"
    );

    // Exports carry the code and the place's fields from the list.
    let r = client()
        .get(format!("{}/api/v1/export/jsonl", srv.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_id = |id: uuid::Uuid| {
        rows.iter()
            .find(|r| r["interview_id"] == id.to_string())
            .unwrap()
            .clone()
    };
    let first = by_id(ids[0]);
    assert_eq!(
        (
            &first["place"],
            &first["place_name"],
            &first["place_kind"],
            &first["place_setting"]
        ),
        (
            &json!("CI-BOUAKE"),
            &json!("Bouaké Centre"),
            &json!("city"),
            &json!("urban")
        )
    );
    let other = by_id(ids[3]);
    assert_eq!(other["place"], "other");
    assert_eq!(other["place_name"], Value::Null);
    assert_eq!(other["place_other"], "Kossou village");
}

/// What a phone downloads on 2G: a form version and its country's place
/// list come gzipped when asked (sync bodies are gzipped inside and are not
/// compressed again). Prints the sizes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_and_place_lists_travel_gzipped() {
    let srv = TestServer::start().await;
    assert_eq!(
        import(&srv, &srv.admin_token, survey_model::MCMB_PLACES_CSV)
            .await
            .0,
        200
    );
    let (st, _) = send(
        reqwest::Method::POST,
        &format!("{}/api/v1/forms", srv.url),
        &srv.admin_token,
        "application/json",
        survey_model::MCMB_V2_JSON.to_owned(),
    )
    .await;
    assert_eq!(st, 201);
    let (_, code) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let dev = srv.device("phone", &code).await;
    // A client that does not decompress, to see the bytes on the wire.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let fetch = |path: &'static str, gzip: bool| {
        let mut rb = raw
            .get(format!("{}{path}", srv.url))
            .bearer_auth(dev.token());
        if gzip {
            rb = rb.header("accept-encoding", "gzip");
        }
        async move {
            let r = rb.send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let enc = r
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            (enc, r.bytes().await.unwrap().to_vec())
        }
    };
    for path in ["/api/v1/forms/mcmb-interview/2", "/api/v1/places"] {
        let (enc, plain) = fetch(path, false).await;
        assert_eq!(enc, None);
        let (enc, zipped) = fetch(path, true).await;
        assert_eq!(enc.as_deref(), Some("gzip"), "{path}");
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(zipped.as_slice()),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, plain, "{path}: the same content");
        assert!(zipped.len() * 2 < plain.len(), "{path}");
        println!("{path}: {} bytes, {} gzipped", plain.len(), zipped.len());
    }
    // The sync body is gzip inside: never wrapped again.
    let r = raw
        .post(format!("{}/api/v1/sync", srv.url))
        .bearer_auth(dev.token())
        .header("content-type", survey_protocol::CONTENT_TYPE)
        .header("accept-encoding", "gzip")
        .body(fieldvoice_tests::server::empty_sync_body(
            survey_protocol::Compression::Gzip,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none());
    assert!(
        r.headers().get("content-length").is_some(),
        "sync replies keep their length"
    );
}
