#![allow(clippy::unwrap_used)]
//! Form versions over real HTTP: an admin previews what a new version of the
//! MCMB form changes, publishes it, retries it; published versions cannot
//! change or go backwards; coordinators may neither preview nor publish; bad
//! forms are 400 JSON. The published version is in the form list and stored
//! (it survives a restart of the registry).

use central_store::merge::FormRegistry;
use fieldvoice_tests::dashboard::client;
use fieldvoice_tests::server::{TestServer, empty_sync_body, post_sync};
use serde_json::{Value, json};

async fn post(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let r = client()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// The built-in form as version 2 with one option added, one removed, a
/// question added and a label reworded.
fn v2() -> Value {
    let mut def: Value = serde_json::from_str(survey_model::BUILTIN_FORMS[0].1).unwrap();
    def["version"] = json!(2);
    let questions = def["questions"].as_array_mut().unwrap();
    let seg = questions
        .iter_mut()
        .find(|q| q["name"] == "segment")
        .unwrap();
    let opts = seg["options"].as_array_mut().unwrap();
    opts.retain(|o| o["value"] != "partner");
    let mut wholesale = opts[0].clone();
    wholesale["value"] = json!("wholesale");
    opts.push(wholesale);
    let city = questions.iter_mut().find(|q| q["name"] == "city").unwrap();
    city["label"]["en"] = json!("Town or village");
    let mut shop = questions
        .iter()
        .find(|q| q["name"] == "verbatim")
        .unwrap()
        .clone();
    shop["name"] = json!("favourite_shop");
    shop["required"] = json!(false);
    questions.push(shop);
    def
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_previewed_published_once_and_never_rewritten() {
    let srv = TestServer::start().await;
    let admin = srv.admin_token.clone();
    let forms = format!("{}/api/v1/forms", srv.url);
    let preview = format!("{forms}/preview");

    // Preview: the differences, nothing published.
    let (st, p) = post(&preview, &admin, &v2()).await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["published_version"], 1);
    assert_eq!(p["changes"]["added"], json!(["favourite_shop"]));
    assert_eq!(
        p["changes"]["options_removed"],
        json!([{"question": "segment", "options": ["partner"]}])
    );
    assert_eq!(
        p["changes"]["options_added"],
        json!([{"question": "segment", "options": ["wholesale"]}])
    );
    assert_eq!(p["changes"]["reworded"], json!(["city"]));
    assert_eq!(p["affects_collected_answers"], true);
    assert!(srv.state.forms().get("mcmb-interview", 2).is_none());

    // Publish: 201, then the same content again is an idempotent 200.
    let (st, p) = post(&forms, &admin, &v2()).await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["version"], 2);
    let (st, p) = post(&forms, &admin, &v2()).await;
    assert_eq!((st, &p["already_published"]), (200, &json!(true)), "{p}");

    // A published version never changes, and versions never go backwards.
    let mut changed = v2();
    changed["title"]["en"] = json!("My Customer, My Boss (fixed)");
    let (st, e) = post(&forms, &admin, &changed).await;
    assert_eq!(st, 409, "{e}");
    assert!(e["error"].as_str().unwrap().contains("version 3"), "{e}");
    let (st, e) = post(&preview, &admin, &changed).await;
    assert_eq!(st, 409, "{e}");
    let v1: Value = serde_json::from_str(survey_model::BUILTIN_FORMS[0].1).unwrap();
    let mut older = v1.clone();
    older["title"]["en"] = json!("Old title");
    let (st, e) = post(&forms, &admin, &older).await;
    assert_eq!(st, 409, "{e}");
    assert!(e["error"].as_str().unwrap().contains("version 1"), "{e}");
    // v1 itself, unchanged, is still just a retry.
    let (st, _) = post(&forms, &admin, &v1).await;
    assert_eq!(st, 200);

    // Bad forms: 400 JSON with the problem, on both routes.
    let mut broken = v2();
    broken["version"] = json!(3);
    broken["questions"][1]["relevant"] = json!({"q": "no_such_question", "op": "eq", "value": 1});
    for url in [&forms, &preview] {
        let (st, e) = post(url, &admin, &broken).await;
        assert_eq!(st, 400, "{url}: {e}");
        assert!(
            e["error"].as_str().unwrap().contains("no_such_question"),
            "{e}"
        );
        let r = client()
            .post(url.as_str())
            .bearer_auth(&admin)
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    }

    // Coordinators may not preview or publish.
    let coord = srv.state.store.create_user(
        &central_store::NewUser {
            login: "coord.ci".into(),
            name: "Coord".into(),
            role: central_store::Role::Coordinator,
            countries: vec!["CI".into()],
            password_hash: None,
        },
        0,
    );
    let token =
        sync_server::service::users::issue_api_token(&srv.state, &coord.unwrap(), "t").unwrap();
    for url in [&forms, &preview] {
        let mut v3 = v2();
        v3["version"] = json!(3);
        let (st, e) = post(url, &token, &v3).await;
        assert_eq!(st, 403, "{url}: {e}");
    }

    // Listed, and stored: a registry loaded from the store has both versions.
    let list: Vec<Value> = get(&forms, &admin).await.json().await.unwrap();
    let versions: Vec<(String, u64)> = list
        .iter()
        .map(|f| {
            (
                f["form_id"].as_str().unwrap().to_owned(),
                f["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(versions.contains(&("mcmb-interview".into(), 1)));
    assert!(versions.contains(&("mcmb-interview".into(), 2)));
    let reloaded = FormRegistry::load(srv.state.store.as_ref()).unwrap();
    assert_eq!(reloaded.latest_of("mcmb-interview").unwrap().version(), 2);
    assert!(
        reloaded
            .get("mcmb-interview", 2)
            .unwrap()
            .question("favourite_shop")
            .is_some()
    );
}

/// A device with a half-filled v1 draft syncs, v2 is published, the next sync
/// brings v2 (once); the draft is finished on v1, a new interview starts on
/// v2 with an option and a question only v2 has, and the server keeps both,
/// each under its own version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_published_mid_campaign_reaches_devices_and_both_versions_merge() {
    let srv = TestServer::start().await;
    let (_, code) = srv.user_with_code("emp.ci", central_store::Role::Employee, "CI");
    let dev = srv.device("phone", &code).await;
    let all = fieldvoice_tests::complete_answers(3);
    let draft = {
        let mut s = dev.lock();
        let f1 = s.form("mcmb-interview", None).unwrap();
        assert_eq!(f1.version(), 1);
        let mut iv = s.create_interview(&f1).unwrap();
        for (k, v) in all.iter().take(5) {
            iv.set_answer_json(&f1, k, v).unwrap();
        }
        s.save(&mut iv, Some(&f1)).unwrap();
        iv.id()
    };
    let r = dev.sync().await.unwrap();
    assert!(r.forms_received.is_empty(), "{r:?}");

    let (st, p) = post(
        &format!("{}/api/v1/forms", srv.url),
        &srv.admin_token,
        &v2(),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let r = dev.sync().await.unwrap();
    assert_eq!(r.forms_received, [("mcmb-interview".to_owned(), 2)]);
    assert!(
        dev.lock()
            .forms()
            .unwrap()
            .contains(&("mcmb-interview".to_owned(), 2))
    );
    let r = dev.sync().await.unwrap();
    assert!(r.forms_received.is_empty(), "fetched once: {r:?}");

    let fresh = {
        let mut s = dev.lock();
        // The draft keeps v1 to the end.
        let mut iv = s.load(draft).unwrap();
        assert_eq!(iv.meta().form_version, 1);
        let f1 = s.form("mcmb-interview", Some(1)).unwrap();
        for (k, v) in all.iter().skip(5) {
            iv.set_answer_json(&f1, k, v).unwrap();
        }
        assert!(iv.submit(&f1).unwrap().is_complete());
        s.save(&mut iv, Some(&f1)).unwrap();
        // New interviews start on the newest version.
        let f2 = s.form("mcmb-interview", None).unwrap();
        assert_eq!(f2.version(), 2);
        let mut iv2 = s.create_interview(&f2).unwrap();
        let answers = survey_model::sample::with(
            fieldvoice_tests::complete_answers(9),
            &[
                ("segment", json!("wholesale")),
                ("favourite_shop", json!("Boutique du marché")),
            ],
        );
        for (k, v) in &answers {
            iv2.set_answer_json(&f2, k, v).unwrap();
        }
        assert!(iv2.submit(&f2).unwrap().is_complete());
        s.save(&mut iv2, Some(&f2)).unwrap();
        iv2.id()
    };
    let r = dev.sync().await.unwrap();
    assert!(r.docs_rejected.is_empty(), "{r:?}");

    let page: Value = get(
        &format!("{}/api/v1/interviews?country=CI", srv.url),
        &srv.admin_token,
    )
    .await
    .json()
    .await
    .unwrap();
    let item = |id: uuid::Uuid| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["interview_id"] == id.to_string())
            .unwrap_or_else(|| panic!("{id} missing from {page}"))
            .clone()
    };
    let old = item(draft);
    assert_eq!(
        (&old["form_version"], &old["status"]),
        (&json!(1), &json!("submitted"))
    );
    assert_eq!(old["answers"]["segment"], "individual");
    assert_eq!(old["quality_flags"], json!([]));
    let new = item(fresh);
    assert_eq!(
        (&new["form_version"], &new["status"]),
        (&json!(2), &json!("submitted"))
    );
    assert_eq!(new["answers"]["segment"], "wholesale");
    assert_eq!(new["answers"]["favourite_shop"], "Boutique du marché");
    assert_eq!(new["quality_flags"], json!([]), "valid under v2: {new}");
}

/// `GET url` as `token`.
async fn get(url: &str, token: &str) -> reqwest::Response {
    client().get(url).bearer_auth(token).send().await.unwrap()
}

/// Serve `state` on a free loopback port; returns its URL.
async fn serve(state: sync_server::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app =
        sync_server::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The forms a sync response through `url` names.
async fn forms_named_by_sync(url: &str, device_token: &str) -> String {
    let r = post_sync(
        url,
        device_token,
        empty_sync_body(survey_protocol::Compression::Gzip),
    )
    .await;
    assert_eq!(r.status(), 200);
    r.headers()[survey_protocol::FORMS_HEADER]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Two more server processes (replicas) over the same store: a version
/// published through the first reaches the sync header of a replica once its
/// copy is older than `forms_refresh`, and any replica serves the version
/// itself at once (it reloads on a miss).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_published_on_one_replica_reaches_the_others() {
    let srv = TestServer::start().await;
    let (_, code) = srv.user_with_code("emp.ci", central_store::Role::Employee, "CI");
    let token = srv.device("phone", &code).await.token();
    let replica = |refresh: u64| {
        sync_server::AppState::new(
            srv.state.store.clone(),
            sync_server::Settings {
                forms_refresh: std::time::Duration::from_secs(refresh),
                ..sync_server::Settings::default()
            },
        )
        .unwrap()
    };
    let eager = serve(replica(0)).await;
    let lazy = serve(replica(3600)).await;
    for url in [&srv.url, &eager, &lazy] {
        assert_eq!(forms_named_by_sync(url, &token).await, "mcmb-interview@1");
    }
    let (st, p) = post(
        &format!("{}/api/v1/forms", srv.url),
        &srv.admin_token,
        &v2(),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(
        forms_named_by_sync(&srv.url, &token).await,
        "mcmb-interview@2"
    );
    assert_eq!(
        forms_named_by_sync(&eager, &token).await,
        "mcmb-interview@2"
    );
    // Within its refresh delay a replica still names v1 ...
    assert_eq!(forms_named_by_sync(&lazy, &token).await, "mcmb-interview@1");
    // ... but serves v2 to a device that heard of it elsewhere.
    let r = get(&format!("{lazy}/api/v1/forms/mcmb-interview/2"), &token).await;
    assert_eq!(r.status(), 200);
    let def: Value = r.json().await.unwrap();
    assert_eq!(def["version"], 2);
    assert_eq!(forms_named_by_sync(&lazy, &token).await, "mcmb-interview@2");
    let r = get(&format!("{lazy}/api/v1/forms/mcmb-interview/9"), &token).await;
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
}

/// The field day with a version published at 9 a.m.: four phones (three
/// employees, two countries) hold v1 drafts; three of them are offline when
/// v2 is published (one even finishes a v1 draft offline), the fourth synced
/// before and then stays away. The three sync, get v2, finish their v1 drafts
/// and start v2 interviews that use what only v2 has. Everything merges; the
/// dashboard shows the phone still on v1; the exports, read back by pandas
/// and DuckDB, hold both versions: `form_version`, the union of columns, a
/// v1-only option's flag empty for v2 rows and a v2-only question empty for
/// v1 rows, and a dictionary that says in which versions each column exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_v1_drafts_and_v2_interviews_merge_and_export_together() {
    use fieldvoice_tests::dashboard::{login, user_with_password};
    let srv = TestServer::start().await;
    let (_, ci1) = srv.user_with_code("emp.ci1", central_store::Role::Employee, "CI");
    let (_, ci2) = srv.user_with_code("emp.ci2", central_store::Role::Employee, "CI");
    let (_, sn) = srv.user_with_code("emp.sn", central_store::Role::Employee, "SN");
    let (_, late) = srv.user_with_code("emp.late", central_store::Role::Employee, "CI");
    let phones = [
        srv.device("phone-ci1", &ci1).await,
        srv.device("phone-ci2", &ci2).await,
        srv.device("phone-sn", &sn).await,
    ];
    let stays_away = srv.device("phone-late", &late).await;
    let all = fieldvoice_tests::complete_answers(8);
    let v1_services = json!(["mobile_money", "enterprise_solutions"]);
    // Two v1 drafts per phone, five answers each.
    let mut drafts: Vec<Vec<uuid::Uuid>> = Vec::new();
    for dev in &phones {
        let mut s = dev.lock();
        let f1 = s.form("mcmb-interview", None).unwrap();
        assert_eq!(f1.version(), 1);
        let mut ids = Vec::new();
        for _ in 0..2 {
            let mut iv = s.create_interview(&f1).unwrap();
            for (k, v) in all.iter().take(5) {
                iv.set_answer_json(&f1, k, v).unwrap();
            }
            s.save(&mut iv, Some(&f1)).unwrap();
            ids.push(iv.id());
        }
        drafts.push(ids);
    }
    // The SN phone syncs its drafts before going offline; the others never did.
    assert!(phones[2].sync().await.unwrap().docs_rejected.is_empty());
    stays_away.sync().await.unwrap();

    // 9 a.m.: v2 drops an option of a multi-choice question, adds a segment and a question.
    let mut def = v2();
    let services = def["questions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|q| q["name"] == "services_used")
        .unwrap();
    services["options"]
        .as_array_mut()
        .unwrap()
        .retain(|o| o["value"] != "enterprise_solutions");
    let (st, p) = post(&format!("{}/api/v1/forms", srv.url), &srv.admin_token, &def).await;
    assert_eq!(st, 201, "{p}");

    let finish_v1 = |dev: &fieldvoice_tests::server::Device, id: uuid::Uuid| {
        let mut s = dev.lock();
        let mut iv = s.load(id).unwrap();
        assert_eq!(iv.meta().form_version, 1, "a draft keeps its version");
        let f1 = s.form("mcmb-interview", Some(1)).unwrap();
        for (k, v) in all.iter().skip(5) {
            let v = if *k == "services_used" {
                &v1_services
            } else {
                v
            };
            iv.set_answer_json(&f1, k, v).unwrap();
        }
        assert!(iv.submit(&f1).unwrap().is_complete());
        s.save(&mut iv, Some(&f1)).unwrap();
    };
    // Still offline, the first phone finishes a v1 draft.
    finish_v1(&phones[0], drafts[0][0]);

    let mut v2_ids = Vec::new();
    for (i, dev) in phones.iter().enumerate() {
        let r = dev.sync().await.unwrap();
        assert!(r.docs_rejected.is_empty(), "{r:?}");
        assert_eq!(r.forms_received, [("mcmb-interview".to_owned(), 2)]);
        for &id in &drafts[i] {
            if !(i == 0 && id == drafts[0][0]) {
                finish_v1(dev, id);
            }
        }
        let mut s = dev.lock();
        let f2 = s.form("mcmb-interview", None).unwrap();
        assert_eq!(f2.version(), 2);
        let mut iv = s.create_interview(&f2).unwrap();
        let answers = survey_model::sample::with(
            fieldvoice_tests::complete_answers(9),
            &[
                ("segment", json!("wholesale")),
                ("services_used", json!(["mobile_data", "mobile_money"])),
                ("favourite_shop", json!(format!("Boutique {i}"))),
            ],
        );
        for (k, v) in &answers {
            iv.set_answer_json(&f2, k, v).unwrap();
        }
        assert!(iv.submit(&f2).unwrap().is_complete());
        s.save(&mut iv, Some(&f2)).unwrap();
        v2_ids.push(iv.id());
    }
    for dev in &phones {
        let r = dev.sync().await.unwrap();
        assert!(r.docs_rejected.is_empty(), "{r:?}");
        assert_eq!(
            dev.lock().pending(100).unwrap().len(),
            0,
            "all acknowledged"
        );
    }
    let v1_ids: Vec<uuid::Uuid> = drafts.concat();

    // Every interview is on the server under its own version, with no flag.
    let page: Value = get(&format!("{}/api/v1/interviews", srv.url), &srv.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 9, "{page}");
    for i in items {
        let id: uuid::Uuid = i["interview_id"].as_str().unwrap().parse().unwrap();
        let want = if v1_ids.contains(&id) { 1 } else { 2 };
        assert_eq!(i["form_version"], want, "{i}");
        assert_eq!(i["status"], "submitted", "{i}");
        assert_eq!(i["quality_flags"], json!([]), "{i}");
    }

    // The dashboard: the phone that stayed away still runs v1.
    user_with_password(
        &srv,
        "boss",
        central_store::Role::Admin,
        "",
        "a long passphrase 1",
    );
    let http = client();
    let s = login(&http, &srv.url, "boss", "a long passphrase 1").await;
    let html = s.page(&http, &format!("{}/dashboard/", srv.url)).await;
    assert!(
        html.contains(r#"<b id="old-forms">1</b>"#),
        "one phone on an old version"
    );
    let table = &html[html.find(r#"id="form-versions""#).unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let row = |v: u32| {
        let at = table
            .find(&format!(r#"<td class="n">{v}</td>"#))
            .unwrap_or_else(|| panic!("no v{v} row in {table}"));
        table[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert!(
        row(1).contains(r#"<td class="n">1</td>"#) && row(1).contains("old (newest is v2)"),
        "{}",
        row(1)
    );
    assert!(
        row(2).contains(r#"<td class="n">3</td>"#) && row(2).contains("current"),
        "{}",
        row(2)
    );
    assert!(html.contains(r#"<b id="total">9</b>"#));

    // The exports, as an analyst reads them.
    let dir = tempfile::tempdir().unwrap();
    for (q, file) in [
        ("parquet", "interviews.parquet"),
        ("csv", "interviews.csv"),
        ("csv?part=dictionary", "dictionary.csv"),
    ] {
        let r = get(&format!("{}/api/v1/export/{q}", srv.url), &srv.admin_token).await;
        assert_eq!(r.status(), 200, "{q}");
        std::fs::write(dir.path().join(file), r.bytes().await.unwrap()).unwrap();
    }
    let Some(seen) = read_export(
        dir.path(),
        &[
            "form_version",
            "segment",
            "favourite_shop",
            "services_used__enterprise_solutions",
            "services_used__mobile_data",
        ],
    ) else {
        return;
    };
    let expected: Vec<Value> =
        {
            let mut v: Vec<(String, Value)> = v1_ids
            .iter()
            .map(|id| {
                (id.to_string(), json!({
                    "interview_id": id.to_string(), "form_version": 1, "segment": "individual",
                    "favourite_shop": null, "services_used__enterprise_solutions": true,
                    "services_used__mobile_data": false,
                }))
            })
            .chain(v2_ids.iter().enumerate().map(|(i, id)| {
                (id.to_string(), json!({
                    "interview_id": id.to_string(), "form_version": 2, "segment": "wholesale",
                    "favourite_shop": format!("Boutique {i}"),
                    "services_used__enterprise_solutions": null,
                    "services_used__mobile_data": true,
                }))
            }))
            .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v.into_iter().map(|(_, r)| r).collect()
        };
    // Booleans are booleans in every format (CSV `true`/`false`, which
    // pandas reads as bool), so CSV and Parquet read back the same.
    assert_eq!(seen["pandas_parquet"], json!(expected), "pandas, Parquet");
    assert_eq!(seen["duckdb_parquet"], json!(expected), "DuckDB, Parquet");
    assert_eq!(seen["pandas_csv"], json!(expected), "pandas, CSV");
    assert_eq!(seen["duckdb_versions"], json!({"1": 6, "2": 3}));
    let dict = &seen["dictionary"];
    assert_eq!(dict["nps"], "mcmb-interview@1 mcmb-interview@2");
    assert_eq!(dict["favourite_shop"], "mcmb-interview@2");
    assert_eq!(
        dict["services_used__enterprise_solutions"],
        "mcmb-interview@1"
    );
    assert_eq!(dict["segment"], "mcmb-interview@1 mcmb-interview@2");
}

/// What pandas and DuckDB read from an export directory
/// (`tests/python/read_export.py`); `None` where the readers are missing.
fn read_export(dir: &std::path::Path, columns: &[&str]) -> Option<Value> {
    let mut args: Vec<std::ffi::OsString> = vec![dir.into()];
    args.extend(columns.iter().map(Into::into));
    fieldvoice_tests::needs::run_python_json("read_export.py", &args)
}

/// A form for one country that lets its coordinators publish: the CI
/// coordinator publishes v2 (not the SN one, not widened to SN, not the
/// admins-only MCMB form); only CI phones are told about it and may fetch it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinators_publish_the_forms_of_their_countries_that_allow_it() {
    let srv = TestServer::start().await;
    let forms = format!("{}/api/v1/forms", srv.url);
    let mut def: Value = serde_json::from_str(survey_model::BUILTIN_FORMS[0].1).unwrap();
    def["form_id"] = json!("ci-shops");
    def["countries"] = json!(["CI"]);
    def["coordinators_publish"] = json!(true);
    let (st, p) = post(&forms, &srv.admin_token, &def).await;
    assert_eq!(st, 201, "{p}");
    let (_, coord_ci) = srv.token_for("coord.ci", central_store::Role::Coordinator, "CI");
    let (_, coord_sn) = srv.token_for("coord.sn", central_store::Role::Coordinator, "SN");
    let (_, analyst_ci) = srv.token_for("ana.ci", central_store::Role::Analyst, "CI");
    let mut v2 = def.clone();
    v2["version"] = json!(2);
    v2["title"]["en"] = json!("Shops of Côte d'Ivoire");

    for (who, token) in [("SN coordinator", &coord_sn), ("analyst", &analyst_ci)] {
        let (st, e) = post(&forms, token, &v2).await;
        assert_eq!(st, 403, "{who}: {e}");
    }
    let mut wider = v2.clone();
    wider["countries"] = json!(["CI", "SN"]);
    let (st, e) = post(&forms, &coord_ci, &wider).await;
    assert_eq!(st, 403, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("keeps countries"),
        "{e}"
    );
    let mut mcmb: Value = serde_json::from_str(survey_model::BUILTIN_FORMS[0].1).unwrap();
    mcmb["version"] = json!(5);
    let (st, e) = post(&forms, &coord_ci, &mcmb).await;
    assert_eq!(st, 403, "{e}");
    assert!(e["error"].as_str().unwrap().contains("admins only"), "{e}");
    let (st, p) = post(&format!("{forms}/preview"), &coord_ci, &v2).await;
    assert_eq!(st, 200, "{p}");
    let (st, p) = post(&forms, &coord_ci, &v2).await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["published_version"], 1);

    // Only CI phones are told about it, and only they may fetch it.
    let (_, code_ci) = srv.user_with_code("emp.ci", central_store::Role::Employee, "CI");
    let (_, code_sn) = srv.user_with_code("emp.sn", central_store::Role::Employee, "SN");
    let ci = srv.device("ci", &code_ci).await;
    let sn = srv.device("sn", &code_sn).await;
    assert!(
        ci.lock()
            .forms()
            .unwrap()
            .contains(&("ci-shops".to_owned(), 2))
    );
    assert!(
        !sn.lock()
            .forms()
            .unwrap()
            .iter()
            .any(|(f, _)| f == "ci-shops")
    );
    assert!(
        forms_named_by_sync(&srv.url, &ci.token())
            .await
            .contains("ci-shops@2")
    );
    assert!(
        !forms_named_by_sync(&srv.url, &sn.token())
            .await
            .contains("ci-shops")
    );
    assert_eq!(
        get(&format!("{forms}/ci-shops/2"), &ci.token())
            .await
            .status(),
        200
    );
    assert_eq!(
        get(&format!("{forms}/ci-shops/2"), &sn.token())
            .await
            .status(),
        404
    );
}

/// The dashboard's forms page: an admin uploads MCMB v2 (JSON), sees what
/// changes before anything is published, publishes, and the page lists v2 as
/// the newest; a damaged workbook shows its problems and publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_previews_an_upload_before_publishing_it() {
    use fieldvoice_tests::dashboard::{csrf_in, login, user_with_password};
    let srv = TestServer::start().await;
    user_with_password(
        &srv,
        "boss",
        central_store::Role::Admin,
        "",
        "a long passphrase 3",
    );
    let http = client();
    let s = login(&http, &srv.url, "boss", "a long passphrase 3").await;
    let page = |path: &str| {
        http.get(format!("{}{path}", srv.url))
            .header("cookie", &s.cookie)
            .send()
    };
    let html = page("/dashboard/forms")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"id="form-file""#), "{html}");
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", s.csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        http.post(format!("{}/dashboard/forms/preview", srv.url))
            .header("cookie", &s.cookie)
            .multipart(form)
            .send()
    };
    let r = upload(
        "mcmb-v2.json",
        survey_model::MCMB_V2_JSON.as_bytes().to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let changes = &html[html.find(r#"id="changes""#).unwrap()..];
    let row = |th: &str| {
        let at = changes.find(&format!("<th>{th}</th>")).unwrap();
        changes[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert!(
        row("Questions added").contains("place, place_other"),
        "{}",
        row("Questions added")
    );
    assert!(row("Questions removed").contains("city"));
    assert!(
        html.contains(r#"id="affects""#),
        "v1's city column is not in v2"
    );
    assert!(
        srv.state.forms().get("mcmb-interview", 2).is_none(),
        "nothing published yet"
    );

    let csrf = csrf_in(&html).unwrap();
    let json_at = html.find("<textarea name=\"json\" hidden>").unwrap()
        + "<textarea name=\"json\" hidden>".len();
    let json = html[json_at..html[json_at..].find("</textarea>").unwrap() + json_at].to_owned();
    let json = json
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let r = http
        .post(format!("{}/dashboard/forms/publish", srv.url))
        .header("cookie", &s.cookie)
        .form(&[("csrf", csrf.as_str()), ("json", json.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/dashboard/forms?published=mcmb-interview@2"
    );
    assert!(srv.state.forms().get("mcmb-interview", 2).is_some());
    let html = page("/dashboard/forms?published=mcmb-interview@2")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Published mcmb-interview@2."));
    assert!(html.contains(r#"<td class="n">2 (newest)</td>"#), "{html}");

    // A damaged workbook: its problems, nothing published.
    let r = upload("broken.xlsx", b"PK\x03\x04 not really a workbook".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("Nothing was published"), "{html}");
    // A wrong CSRF token is refused before anything is read.
    let form = reqwest::multipart::Form::new().text("csrf", "forged").part(
        "file",
        reqwest::multipart::Part::bytes(survey_model::MCMB_V2_JSON.as_bytes().to_vec())
            .file_name("x.json"),
    );
    let r = http
        .post(format!("{}/dashboard/forms/preview", srv.url))
        .header("cookie", &s.cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
