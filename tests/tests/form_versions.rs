#![allow(clippy::unwrap_used)]
//! Form versions over real HTTP: an admin previews what a new version of the
//! MCMB form changes, publishes it, retries it; published versions cannot
//! change or go backwards; coordinators may neither preview nor publish; bad
//! forms are 400 JSON. The published version is in the form list and stored
//! (it survives a restart of the registry).

use central_store::merge::FormRegistry;
use fieldvoice_tests::dashboard::client;
use fieldvoice_tests::server::TestServer;
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
    let list: Vec<Value> = client()
        .get(forms.as_str())
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
