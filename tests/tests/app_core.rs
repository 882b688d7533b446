#![allow(clippy::unwrap_used)]
//! The field app's command layer (app-core) against a real device store on
//! disk and a real sync server on loopback: enrollment input, consent-first
//! skip logic, durable answers across a restart, validation, submit, offline
//! sync errors, coordinator comments coming back, reopen and resubmit.

use std::time::Duration;

use app_core::{App, AppError, AutoSync, ListQuery, UiState, parse_enroll_input};
use central_store::Role;
use fieldvoice_tests::server::TestServer;
use serde_json::{Value, json};

fn open(dir: &std::path::Path) -> App {
    let mut app = App::open(dir, "test device").unwrap();
    app.set_sync_options(sync_client::SyncOptions {
        attempts: 1,
        backoff: Duration::from_millis(10),
        ..Default::default()
    });
    app
}

fn relevant(v: &app_core::FormView) -> Vec<String> {
    v.sections
        .iter()
        .flat_map(|s| s.questions.iter())
        .filter(|q| q.relevant)
        .map(|q| q.name.clone())
        .collect()
}

fn question<'a>(v: &'a app_core::FormView, name: &str) -> &'a app_core::view::QuestionView {
    v.sections
        .iter()
        .flat_map(|s| s.questions.iter())
        .find(|q| q.name == name)
        .unwrap()
}

async fn api(url: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let st = resp.status().as_u16();
    (st, resp.json().await.unwrap_or(Value::Null))
}

/// The answers of a complete interview without a complaint.
fn answers() -> Vec<(&'static str, Value)> {
    vec![
        ("consent", json!(true)),
        ("segment", json!("individual")),
        ("city", json!("Bouaké")),
        ("area_type", json!("urban")),
        (
            "location",
            json!({"lat": 7.69, "lon": -5.03, "accuracy": null}),
        ),
        ("nps", json!(8)),
        ("has_complaint", json!("no")),
        ("verbatim", json!("Plus d'agences le samedi.")),
        ("follow_up_requested", json!("no")),
        ("interview_date", json!("2026-11-30")),
    ]
}

#[test]
fn enroll_input_accepts_urls_codes_and_qr_links() {
    let t = parse_enroll_input("127.0.0.1:8080/", " abcde-fghij ").unwrap();
    assert_eq!(t.server_url, "http://127.0.0.1:8080");
    assert_eq!(t.code, "ABCDE-FGHIJ");
    let link = "fieldvoice://enroll?server=https%3A%2F%2Ffv.example.org&code=KXQ2P-7M4RA";
    for (server, code) in [("", link), (link, ""), (link, "ignored")] {
        let t = parse_enroll_input(server, code).unwrap();
        assert_eq!(t.server_url, "https://fv.example.org");
        assert_eq!(t.code, "KXQ2P-7M4RA");
    }
    for (server, code, needle) in [
        ("", "ABCDE", "server address is missing"),
        ("http://x", "", "code is missing"),
        ("ftp://x", "ABCDE", "not an http(s) server"),
        ("http://x", "AB CD; DROP", "letters, digits and dashes"),
        ("fieldvoice://enroll?server=http://x", "", "needs both"),
    ] {
        let e = parse_enroll_input(server, code).unwrap_err();
        assert!(e.to_string().contains(needle), "{server:?} {code:?}: {e}");
        assert_eq!(e.code(), "input");
    }
}

#[test]
fn automatic_sync_backs_off_and_recovers() {
    let mut p = AutoSync::default();
    let delays: Vec<u64> = (0..8).map(|_| p.next_delay(false).as_secs()).collect();
    assert_eq!(delays, vec![10, 20, 40, 80, 160, 320, 600, 600]);
    assert_eq!(p.failures(), 8);
    assert_eq!(p.next_delay(true), p.idle);
    assert_eq!(
        p.next_delay(false).as_secs(),
        10,
        "a success resets the backoff"
    );
}

#[tokio::test]
async fn interview_lifecycle_through_the_app_commands() {
    let srv = TestServer::start().await;
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let (_, coord) = srv.token_for("coord", Role::Coordinator, "CI");
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path());

    // Not enrolled yet: starting an interview is refused with a clear error.
    let e = app.new_interview(None, "en".into()).await.unwrap_err();
    assert!(matches!(e, AppError::NotEnrolled), "{e}");
    assert!(!app.status().await.unwrap().enrolled);
    // A wrong code is refused by the server, and nothing is stored.
    let e = app.enroll(&srv.url, "AAAAA-BBBBB").await.unwrap_err();
    assert_eq!(e.code(), "refused", "{e}");
    assert!(!app.status().await.unwrap().enrolled);
    // The QR link text in the code field enrolls.
    let link = format!("fieldvoice://enroll?server={}&code={code}", srv.url);
    let st = app.enroll("", &link).await.unwrap();
    assert!(st.enrolled);
    assert_eq!(st.server_url.as_deref(), Some(srv.url.as_str()));
    assert_eq!(st.user_name.as_deref(), Some("User awa"));

    // Consent first: only the introduction and consent are shown.
    let v = app.new_interview(None, "ar".into()).await.unwrap();
    assert_eq!(v.dir, "rtl");
    assert!(!v.consent_given);
    assert_eq!(relevant(&v), vec!["intro_note", "consent"]);
    assert_ne!(question(&v, "consent").label, "", "labels in Arabic");
    assert!(
        question(&v, "consent")
            .label
            .chars()
            .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
    );
    let id: uuid::Uuid = v.interview_id.parse().unwrap();

    // Skip logic: a complaint reveals the complaint questions.
    let v = app
        .set_answer(id, "consent".into(), json!(true), "en".into())
        .await
        .unwrap();
    assert!(v.consent_given);
    assert!(relevant(&v).contains(&"segment".to_owned()));
    assert!(!relevant(&v).contains(&"complaint_detail".to_owned()));
    let v = app
        .set_answer(id, "has_complaint".into(), json!("yes"), "en".into())
        .await
        .unwrap();
    assert!(relevant(&v).contains(&"complaint_detail".to_owned()));
    let v = app
        .set_answer(
            id,
            "complaint_detail".into(),
            json!("Pas de 4G"),
            "en".into(),
        )
        .await
        .unwrap();
    assert_eq!(question(&v, "complaint_detail").value, json!("Pas de 4G"));
    let v = app
        .set_answer(id, "has_complaint".into(), json!("no"), "en".into())
        .await
        .unwrap();
    assert!(!question(&v, "complaint_detail").relevant);
    assert!(
        question(&v, "complaint_detail")
            .diagnostics
            .iter()
            .any(|d| format!("{:?}", d.code) == "NotRelevant"),
        "a hidden answer is flagged, not silently dropped"
    );
    app.set_answer(id, "complaint_detail".into(), Value::Null, "en".into())
        .await
        .unwrap();

    // Validation: out of range is saved and flagged; wrong types are refused.
    let v = app
        .set_answer(id, "nps".into(), json!(11), "en".into())
        .await
        .unwrap();
    assert_eq!(question(&v, "nps").value, json!(11));
    assert!(
        question(&v, "nps")
            .diagnostics
            .iter()
            .any(|d| d.message.contains("outside"))
    );
    let e = app
        .set_answer(id, "nps".into(), json!("ten"), "en".into())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_answer", "{e}");
    let e = app
        .set_answer(id, "no_such".into(), json!(1), "en".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no_such"), "{e}");
    let e = app
        .set_answer(
            id,
            "location".into(),
            json!({"lat": 123, "lon": 0}),
            "en".into(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_answer");
    let v = app
        .set_answer(id, "customer_phone".into(), json!("call me"), "fr".into())
        .await
        .unwrap();
    let d = &question(&v, "customer_phone").diagnostics;
    assert_eq!(format!("{:?}", d[0].code), "Pattern");

    // Incomplete: submit returns the problems and leaves a draft.
    let out = app.submit(id, "en".into()).await.unwrap();
    assert!(!out.submitted);
    assert!(out.view.errors >= 3, "{}", out.view.errors);
    assert_eq!(out.view.status, "draft");

    // Every answer is on disk when the command returns: reopen the store.
    for (k, v) in answers() {
        app.set_answer(id, k.into(), v, "en".into()).await.unwrap();
    }
    app.set_answer(id, "customer_phone".into(), Value::Null, "en".into())
        .await
        .unwrap();
    drop(app);
    let app = open(dir.path());
    let v = app.form_view(id, "fr".into()).await.unwrap();
    for (k, want) in answers() {
        assert_eq!(question(&v, k).value, want, "{k} survived the restart");
    }
    assert_eq!(v.errors, 0);
    let listed = app.list(ListQuery::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, UiState::Draft);

    let out = app.submit(id, "en".into()).await.unwrap();
    assert!(out.submitted);
    let e = app
        .set_answer(id, "nps".into(), json!(9), "en".into())
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Submitted));
    let listed = app.list(ListQuery::default()).await.unwrap();
    assert_eq!(listed[0].state, UiState::Waiting);
    assert_eq!(app.status().await.unwrap().pending, 1);

    // Online: sync sends it, the server has it.
    let st = app.sync_now().await.unwrap();
    assert_eq!(st.pending, 0);
    assert!(st.last_sync_ms.is_some());
    assert_eq!(st.last_report.as_ref().unwrap().acknowledged, 1);
    let rec = srv.state.store.interview(id).unwrap().unwrap();
    assert_eq!(rec.status, "submitted");
    assert_eq!(rec.answers["city"], json!("Bouaké"));
    let listed = app
        .list(ListQuery {
            state: Some(UiState::Synced),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        app.list(ListQuery {
            text: Some("bouak".into()),
            lang: Some("fr".into()),
            ..Default::default()
        })
        .await
        .unwrap()[0]
            .segment_label
            .as_deref(),
        Some("Particulier"),
        "search by city; option labels in the chosen language"
    );
    assert_eq!(
        app.list(ListQuery {
            text: Some("dakar".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        0
    );

    // The coordinator flags it and comments; the next sync brings it back.
    let path = format!("/api/v1/interviews/{id}/review");
    assert_eq!(
        api(&srv.url, &coord, &path, json!({"state": "has_issues"}))
            .await
            .0,
        200
    );
    let path = format!("/api/v1/interviews/{id}/comments");
    let text = "Merci de préciser le quartier";
    assert_eq!(
        api(&srv.url, &coord, &path, json!({"text": text})).await.0,
        200
    );
    app.sync_now().await.unwrap();
    let listed = app
        .list(ListQuery {
            state: Some(UiState::Issues),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "flagged by the coordinator");
    let v = app.form_view(id, "en".into()).await.unwrap();
    assert_eq!(v.review_state.as_deref(), Some("has_issues"));
    assert_eq!(v.comments[0].text, text);

    // Fix and resubmit, with a reply.
    app.reopen(id, "en".into()).await.unwrap();
    app.set_answer(id, "city".into(), json!("Bouaké, Koko"), "en".into())
        .await
        .unwrap();
    let v = app
        .add_comment(id, "Quartier Koko".into(), "en".into())
        .await
        .unwrap();
    assert_eq!(v.comments.len(), 2);
    assert!(
        app.add_comment(id, "   ".into(), "en".into())
            .await
            .is_err()
    );
    assert!(app.submit(id, "en".into()).await.unwrap().submitted);
    app.sync_now().await.unwrap();
    let rec = srv.state.store.interview(id).unwrap().unwrap();
    assert_eq!(rec.answers["city"], json!("Bouaké, Koko"));
    assert_eq!(rec.comment_count, 2);
    assert_eq!(rec.status, "submitted");

    // Offline: the server address points nowhere; sync fails clearly, the
    // new interview stays waiting and nothing is lost.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    app.set_server_url(&dead).await.unwrap();
    let v = app
        .new_interview(Some("mcmb-interview".into()), "pt".into())
        .await
        .unwrap();
    let id2: uuid::Uuid = v.interview_id.parse().unwrap();
    for (k, v) in answers() {
        app.set_answer(id2, k.into(), v, "pt".into()).await.unwrap();
    }
    assert!(app.submit(id2, "pt".into()).await.unwrap().submitted);
    let e = app.sync_now().await.unwrap_err();
    assert_eq!(e.code(), "offline", "{e}");
    let st = app.status().await.unwrap();
    assert_eq!(st.last_error_code.as_deref(), Some("offline"));
    assert_eq!(st.pending, 1);
    assert!(!st.syncing);
    assert!(app.set_server_url("not a url at all").await.is_err());
    app.set_server_url(&srv.url).await.unwrap();
    let st = app.sync_now().await.unwrap();
    assert_eq!(st.pending, 0);
    assert!(st.last_error_code.is_none());
    assert!(srv.state.store.interview(id2).unwrap().is_some());
    assert_eq!(app.status().await.unwrap().total, 2);
}

/// The app keeps the open interview in memory between answers; a sync that
/// merges the coordinator's comment into it between two answers is not lost:
/// the next answer builds on the merged document, and both reach the server.
#[tokio::test]
async fn a_comment_synced_between_two_answers_is_kept() {
    let srv = TestServer::start().await;
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let (_, coord) = srv.token_for("coord", Role::Coordinator, "CI");
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path());
    app.enroll(&srv.url, &code).await.unwrap();
    let v = app.new_interview(None, "en".into()).await.unwrap();
    let id: uuid::Uuid = v.interview_id.parse().unwrap();
    app.set_answer(id, "consent".into(), json!(true), "en".into())
        .await
        .unwrap();
    app.sync_now().await.unwrap();

    let path = format!("/api/v1/interviews/{id}/comments");
    let text = "Quel quartier ?";
    assert_eq!(
        api(&srv.url, &coord, &path, json!({"text": text})).await.0,
        200
    );
    app.sync_now().await.unwrap();

    let v = app
        .set_answer(id, "city".into(), json!("Bouaké"), "en".into())
        .await
        .unwrap();
    assert_eq!(v.comments.len(), 1, "the merged comment is in the view");
    assert_eq!(v.comments[0].text, text);
    assert_eq!(question(&v, "consent").value, json!(true));
    app.sync_now().await.unwrap();
    let rec = srv.state.store.interview(id).unwrap().unwrap();
    assert_eq!(rec.comment_count, 1);
    assert_eq!(rec.answers["city"], json!("Bouaké"));
    assert_eq!(rec.answers["consent"], json!(true));

    drop(app);
    let app = open(dir.path());
    let v = app.form_view(id, "en".into()).await.unwrap();
    assert_eq!(v.comments.len(), 1);
    assert_eq!(question(&v, "city").value, json!("Bouaké"));
}

/// Cascading selects through the app's commands: a form published with a
/// region → district cascade (XLSForm `choice_filter`) reaches the phone; the
/// districts offered follow the region answered, and change with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascading_selects_follow_the_earlier_answer() {
    let srv = TestServer::start().await;
    let opt = |v: &str, region: Option<&str>| {
        let mut o = json!({"value": v, "label": {"en": v, "fr": v}});
        if let Some(r) = region {
            o["attributes"] = json!({ "region": r });
        }
        o
    };
    let form = json!({
        "form_id": "cascade", "version": 1, "title": {"en": "Cascade", "fr": "Cascade"},
        "languages": ["en", "fr"], "default_language": "en",
        "questions": [
            {"name": "region", "type": "single_choice", "label": {"en": "Region", "fr": "Région"},
             "options": [opt("north", None), opt("south", None)]},
            {"name": "district", "type": "single_choice", "label": {"en": "District", "fr": "District"},
             "choice_filter": [{"attribute": "region", "question": "region"}],
             "options": [opt("korhogo", Some("north")), opt("ferke", Some("north")),
                         opt("abidjan", Some("south")), opt("other", None)]}
        ]
    });
    let (st, p) = api(&srv.url, &srv.admin_token, "/api/v1/forms", form).await;
    assert_eq!(st, 201, "{p}");
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path());
    app.enroll(&srv.url, &code).await.unwrap();
    let v = app
        .new_interview(Some("cascade".into()), "fr".into())
        .await
        .unwrap();
    let id: uuid::Uuid = v.interview_id.parse().unwrap();
    let offered = |v: &app_core::FormView| -> Vec<String> {
        question(v, "district")
            .options
            .iter()
            .map(|o| o.value.clone())
            .collect()
    };
    assert_eq!(
        offered(&v),
        ["other"],
        "nothing of a region before one is chosen"
    );
    let v = app
        .set_answer(id, "region".into(), json!("north"), "fr".into())
        .await
        .unwrap();
    assert_eq!(offered(&v), ["korhogo", "ferke", "other"]);
    let v = app
        .set_answer(id, "district".into(), json!("ferke"), "fr".into())
        .await
        .unwrap();
    assert!(question(&v, "district").diagnostics.is_empty());
    let v = app
        .set_answer(id, "region".into(), json!("south"), "fr".into())
        .await
        .unwrap();
    assert_eq!(offered(&v), ["abidjan", "other"]);
    assert_eq!(
        question(&v, "district").diagnostics[0].code,
        survey_model::Code::UnknownOption,
        "a district of the former region is flagged"
    );
}

/// "My place, my targets, done so far" through the app's commands: the
/// assignment synced to the phone, the place pre-filled once consent is
/// given, and the count of submitted interviews made offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_day_shows_the_assigned_place_targets_and_what_is_done() {
    let srv = TestServer::start().await;
    srv.mcmb_v2_campaign().await;
    let csv = |path: &'static str, body: &'static str| srv.admin_post(path, "text/csv", body, 200);
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    csv(
        "/api/v1/assignments",
        "login,place_code,team\nawa,CI-KORHOGO,Équipe 2\n",
    )
    .await;
    csv(
        "/api/v1/quotas",
        "place_code,segment,target,login\nCI-KORHOGO,individual,6,\nCI-KORHOGO,individual,2,awa\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path());
    app.enroll(&srv.url, &code).await.unwrap();
    let day = app.status().await.unwrap().my_day.expect("assigned");
    assert_eq!(
        (day.place_name.as_str(), day.team.as_str()),
        ("Korhogo", "Équipe 2")
    );
    assert_eq!(
        (
            day.targets[0].segment.as_str(),
            day.targets[0].place,
            day.targets[0].mine,
            day.targets[0].done
        ),
        ("individual", Some(6), Some(2), 0)
    );

    // Offline from here: the place is pre-filled after consent.
    drop(srv);
    let v = app.new_interview(None, "fr".into()).await.unwrap();
    assert_eq!(v.form_version, 2);
    let id: uuid::Uuid = v.interview_id.parse().unwrap();
    assert_eq!(
        question(&v, "place").value,
        Value::Null,
        "nothing before consent"
    );
    let v = app
        .set_answer(id, "consent".into(), json!(true), "fr".into())
        .await
        .unwrap();
    assert_eq!(question(&v, "place").value, json!("CI-KORHOGO"));
    let answers =
        survey_model::sample::on_place(fieldvoice_tests::complete_answers(9), "CI-KORHOGO");
    for (k, val) in answers {
        app.set_answer(id, k.into(), val, "fr".into())
            .await
            .unwrap();
    }
    assert!(app.submit(id, "fr".into()).await.unwrap().submitted);
    let day = app.status().await.unwrap().my_day.unwrap();
    assert_eq!(day.targets[0].done, 1, "counted offline");
}

/// The keys of one language's dictionary in `app-ui/src/i18n.ts`, with their
/// texts: the `name: "text"` pairs of its `const <lang>: Dict = { ... };`.
fn dictionary(src: &str, lang: &str) -> std::collections::BTreeMap<String, String> {
    let start = src
        .find(&format!("const {lang}: Dict = {{"))
        .unwrap_or_else(|| panic!("no {lang} dictionary"));
    let body = &src[start..];
    let body = &body[..body.find("\n};").unwrap()];
    let mut out = std::collections::BTreeMap::new();
    let mut rest = body;
    while let Some(at) = rest.find(": \"") {
        let key: String = rest[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let text_start = at + 3;
        let mut end = text_start;
        let bytes = rest.as_bytes();
        while bytes[end] != b'"' || bytes[end - 1] == b'\\' {
            end += 1;
        }
        if !key.is_empty() {
            out.insert(key, rest[text_start..end].to_owned());
        }
        rest = &rest[end + 1..];
    }
    out
}

/// The field app's translation discipline: French, Arabic and Portuguese
/// have exactly the English keys, none empty; every key the page and the
/// script use exists, the follow-up outcome for every case status and
/// resolution category included.
#[test]
fn the_field_app_speaks_four_languages_with_the_same_keys() {
    let src = include_str!("../../app-ui/src/i18n.ts");
    let en = dictionary(src, "en");
    assert!(en.len() > 80, "{} keys", en.len());
    for lang in ["fr", "ar", "pt"] {
        let d = dictionary(src, lang);
        let missing: Vec<_> = en.keys().filter(|k| !d.contains_key(*k)).collect();
        let extra: Vec<_> = d.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{lang}: missing {missing:?}, extra {extra:?}"
        );
        let empty: Vec<_> = d.iter().filter(|(_, v)| v.trim().is_empty()).collect();
        assert!(empty.is_empty(), "{lang}: empty {empty:?}");
    }
    let html = include_str!("../../app-ui/static/index.html");
    let script = include_str!("../../app-ui/src/main.ts");
    let mut used = Vec::new();
    for (src, pat) in [
        (html, "data-i18n=\""),
        (html, "data-i18n-placeholder=\""),
        (script, "tr(\""),
    ] {
        let mut rest = src;
        while let Some(at) = rest.find(pat) {
            rest = &rest[at + pat.len()..];
            used.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    for s in survey_model::cases::CASE_STATUSES {
        used.push(format!("followup_{}", s.as_str()));
    }
    for r in survey_model::cases::RESOLUTIONS {
        used.push(format!("resolution_{r}"));
    }
    let unknown: Vec<_> = used.iter().filter(|k| !en.contains_key(*k)).collect();
    assert!(
        used.len() > 40 && unknown.is_empty(),
        "unknown keys {unknown:?}"
    );
}

/// A converted XLSForm through the app's commands, as the field app drives
/// them: the form list offers it; the form's metadata is recorded without
/// asking (start, device, user at creation; where the interview started
/// once the device gives a position, never replaced; end at submit);
/// calculations follow the answers and cannot be typed over; the household
/// size sets the member instances, which cannot be added by hand; the
/// interviewer's own repeat grows and shrinks; answers go per instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converted_form_metadata_calculations_and_repeats_through_the_app() {
    let srv = TestServer::start().await;
    let mut def = xlsform::import(&fieldvoice_tests::xlsforms::roster())
        .unwrap()
        .form;
    // The metadata rows KoboToolbox puts at the top of a form.
    let meta = |name: &str, pii: bool| {
        serde_json::from_value::<survey_model::Question>(json!({
            "name": name, "type": "metadata", "metadata": name, "pii": pii
        }))
        .unwrap()
    };
    def.questions.splice(
        0..0,
        [
            meta("start", false),
            meta("end", false),
            meta("deviceid", true),
            meta("start_geopoint", true),
        ],
    );
    let (st, p) = api(
        &srv.url,
        &srv.admin_token,
        "/api/v1/forms",
        serde_json::to_value(&def).unwrap(),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let (_, code) = srv.user_with_code("awa", Role::Employee, "CI");
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path());
    app.enroll(&srv.url, &code).await.unwrap();
    let forms: Vec<String> = app
        .forms("en".into())
        .await
        .unwrap()
        .into_iter()
        .map(|f| format!("{}@{}:{}", f.form_id, f.version, f.title))
        .collect();
    assert_eq!(
        forms,
        [
            "household-roster@1:Household roster",
            "mcmb-interview@1:My Customer, My Boss — customer interview"
        ]
    );
    let v = app
        .new_interview(Some("household-roster".into()), "en".into())
        .await
        .unwrap();
    let id: uuid::Uuid = v.interview_id.parse().unwrap();
    assert!(v.wants_start_geopoint);
    // Pages in the sheet's order: loose questions, the members' page, loose
    // questions again, the visits' page, the last note.
    let pages: Vec<&str> = v.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(pages, ["", "members", "~2", "visits", "~3"]);
    let shown: Vec<&str> = v
        .sections
        .iter()
        .flat_map(|s| s.questions.iter().map(|q| q.name.as_str()))
        .collect();
    assert!(
        !shown
            .iter()
            .any(|n| ["start", "deviceid", "total"].contains(n)),
        "metadata and calculations are not asked: {shown:?}"
    );
    let v = app
        .record_start_geopoint(id, 5.35, -4.02, Some(12.0), "en".into())
        .await
        .unwrap();
    assert!(!v.wants_start_geopoint);
    app.record_start_geopoint(id, 9.0, 9.0, None, "en".into())
        .await
        .unwrap();
    let e = app
        .record_start_geopoint(id, 95.0, 0.0, None, "en".into())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "input", "{e}");
    for (q, value) in [("total", json!("12")), ("start", json!("x"))] {
        let e = app
            .set_answer(id, q.into(), value, "en".into())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("set by the form"), "{e}");
    }
    app.set_answer(id, "consent".into(), json!(true), "en".into())
        .await
        .unwrap();
    let v = app
        .set_answer(id, "hh_size".into(), json!(2), "en".into())
        .await
        .unwrap();
    let members = |v: &app_core::FormView| {
        v.sections
            .iter()
            .flat_map(|s| &s.repeats)
            .find(|r| r.id == "members")
            .unwrap()
            .clone()
    };
    let m = members(&v);
    assert!(m.fixed);
    assert_eq!(m.instances.len(), 2);
    assert_eq!(m.instances[1].questions[0].key, "member_name#1");
    let e = app
        .add_instance(id, "members".into(), "en".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the form sets how many"), "{e}");
    app.set_instance_answer(id, 1, "member_name".into(), json!("Koffi"), "en".into())
        .await
        .unwrap();
    let v = app
        .set_instance_answer(id, 1, "member_age".into(), json!(9), "en".into())
        .await
        .unwrap();
    let koffi = &members(&v).instances[1];
    let age = koffi
        .questions
        .iter()
        .find(|q| q.name == "member_age")
        .unwrap();
    assert_eq!(age.label, "Age of Koffi");
    assert!(
        koffi
            .questions
            .iter()
            .any(|q| q.name == "in_school" && q.relevant)
    );
    // The interviewer's own repeat: add two visits, remove the first.
    app.add_instance(id, "visits".into(), "en".into())
        .await
        .unwrap();
    app.add_instance(id, "visits".into(), "en".into())
        .await
        .unwrap();
    app.set_instance_answer(id, 1, "shop".into(), json!("Kiosque"), "en".into())
        .await
        .unwrap();
    let v = app
        .remove_instance(id, "visits".into(), 0, "en".into())
        .await
        .unwrap();
    let visits = v
        .sections
        .iter()
        .flat_map(|s| &s.repeats)
        .find(|r| r.id == "visits")
        .unwrap();
    assert_eq!(visits.instances.len(), 1);
    assert_eq!(visits.instances[0].questions[0].value, json!("Kiosque"));
    app.set_answer(id, "food".into(), json!(100.0), "en".into())
        .await
        .unwrap();
    let v = app
        .set_answer(id, "rent".into(), json!(50.0), "en".into())
        .await
        .unwrap();
    assert_eq!(question(&v, "total_note").label, "Total: 150");
    // Not complete yet: Awa (member 1) has no name.
    let out = app.submit(id, "en".into()).await.unwrap();
    assert!(!out.submitted);
    let missing = &members(&out.view).instances[0].questions[0];
    assert_eq!(missing.diagnostics[0].code, survey_model::Code::Required);
    app.set_instance_answer(id, 0, "member_name".into(), json!("Awa"), "en".into())
        .await
        .unwrap();
    app.set_instance_answer(id, 0, "member_age".into(), json!(41), "en".into())
        .await
        .unwrap();
    assert!(app.submit(id, "en".into()).await.unwrap().submitted);
    app.sync_now().await.unwrap();
    let rec = srv.state.store.interview(id).unwrap().unwrap();
    assert_eq!(rec.answers["start_geopoint"], json!("5.35 -4.02 12"));
    assert_eq!(rec.answers["total"], json!("150"));
    assert!(
        rec.answers["deviceid"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(rec.answers["end"], json!(rec.submitted_at.clone().unwrap()));
    assert_eq!(rec.repeats["members"][1]["adult"], json!("no"));
    assert_eq!(rec.repeats["visits"].len(), 1);
}
