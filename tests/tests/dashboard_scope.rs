#![allow(clippy::unwrap_used)]
//! Dashboard and JSON API over real HTTP on loopback: country scoping for
//! every page and route (the matrix), login rate limiting, CSRF, sessions,
//! security headers, SQL aggregates against the streaming defaults, and the
//! OpenAPI document against the route table.

use central_store::dashboard::{
    NpsBand, ReviewQuery, default_campaign_stats, default_review_queue,
};
use central_store::{InterviewFilter, Role, User};
use fieldvoice_tests::dashboard::{
    Session, client, login, post_login, push_interview, set_cookie, user_with_password,
};
use fieldvoice_tests::server::TestServer;
use serde_json::{Value, json};
use sync_server::Settings;
use uuid::Uuid;

const PW: &str = "correct horse battery";

struct World {
    server: TestServer,
    ci_emp: User,
    sn_emp: User,
    ci: Vec<Uuid>,
    sn: Vec<Uuid>,
    sn_device: String,
}

fn answers(i: usize, city: &str) -> Vec<(&'static str, Value)> {
    let nps = (i * 3 % 11) as i64;
    let detractor = survey_model::nps::band(nps) == Some(survey_model::nps::Band::Detractor);
    let segment = ["individual", "business", "partner"][i % 3];
    let mut a = vec![
        ("consent", json!(true)),
        ("segment", json!(segment)),
        ("city", json!(city)),
        ("nps", json!(nps)),
        ("sat_network", json!(1 + (i % 5) as i64)),
        ("sat_billing", json!(1 + ((i + 2) % 5) as i64)),
        ("has_complaint", json!(if detractor { "yes" } else { "no" })),
        ("verbatim", json!(format!("verbatim number {i}"))),
    ];
    if detractor {
        let cat = ["billing", "data_speed", "network_coverage"][i % 3];
        a.push(("complaint_categories", json!([cat])));
    }
    a
}

async fn world(settings: Settings) -> World {
    let server = TestServer::start_with(settings).await;
    user_with_password(&server, "coord.ci", Role::Coordinator, "CI", PW);
    user_with_password(&server, "coord.sn", Role::Coordinator, "SN", PW);
    user_with_password(&server, "boss", Role::Admin, "", PW);
    let (ci_emp, _) = server.user_with_code("emp.ci", Role::Employee, "CI");
    let (sn_emp, sn_code) = server.user_with_code("emp.sn", Role::Employee, "SN");
    let ci = (0..6)
        .map(|i| {
            push_interview(
                &server,
                &ci_emp,
                &format!("2026-11-{:02}T10:00:00Z", 25 + i % 5),
                &answers(i, ["Abidjan", "Bouaké"][i % 2]),
            )
        })
        .collect();
    let sn = (0..4)
        .map(|i| {
            push_interview(
                &server,
                &sn_emp,
                "2026-11-30T11:00:00Z",
                &answers(i, "Dakar"),
            )
        })
        .collect();
    let device = server.device("sn-phone", &sn_code).await;
    let sn_device = device.lock().enrollment().unwrap().unwrap().device_id;
    World {
        server,
        ci_emp,
        sn_emp,
        ci,
        sn,
        sn_device,
    }
}

async fn get(http: &reqwest::Client, url: String, s: &Session) -> reqwest::Response {
    http.get(url)
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn coordinator_of_one_country_is_refused_everything_of_another() {
    let w = world(Settings::default()).await;
    let url = &w.server.url;
    let http = client();
    let s = login(&http, url, "coord.ci", PW).await;
    let (sn_id, ci_id) = (w.sn[0], w.ci[0]);

    // Dashboard pages: country-level pages 403, another country's interview 404.
    for (path, want) in [
        ("/dashboard/?country=SN".to_owned(), 403),
        ("/dashboard/reviews?country=SN".to_owned(), 403),
        (format!("/dashboard/interviews/{sn_id}"), 404),
        ("/dashboard/?country=CI".to_owned(), 200),
        ("/dashboard/reviews?country=CI".to_owned(), 200),
        (format!("/dashboard/interviews/{ci_id}"), 200),
    ] {
        let r = get(&http, format!("{url}{path}"), &s).await;
        assert_eq!(r.status(), want, "GET {path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path} answers HTML"
        );
    }
    // Dashboard forms on another country's interview: 404, nothing written.
    for (action, field, value) in [
        ("review", "state", "approved"),
        ("comment", "text", "not yours"),
        ("tag", "tag", "theme:billing"),
    ] {
        let r = http
            .post(format!("{url}/dashboard/interviews/{sn_id}/{action}"))
            .header("cookie", &s.cookie)
            .form(&[("csrf", s.csrf.as_str()), (field, value)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "POST dashboard {action} on SN");
    }
    let untouched = w.server.state.store.interview(sn_id).unwrap().unwrap();
    assert_eq!(untouched.review_state, None);
    assert_eq!(untouched.comment_count, 0);
    assert!(untouched.tags.is_empty());

    // The overview and the queue only hold CI.
    let html = get(&http, format!("{url}/dashboard/"), &s)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&w.ci_emp.name), "own employee listed");
    assert!(
        !html.contains(&w.sn_emp.name),
        "other country's employee hidden"
    );
    assert!(
        html.contains(r#"<b id="total">6</b>"#),
        "6 CI interviews: {html}"
    );
    let html = get(&http, format!("{url}/dashboard/reviews"), &s)
        .await
        .text()
        .await
        .unwrap();
    for id in &w.ci {
        assert!(html.contains(&id.to_string()), "CI interview {id} in queue");
    }
    for id in &w.sn {
        assert!(
            !html.contains(&id.to_string()),
            "SN interview {id} not in queue"
        );
    }

    // The JSON API, with the session cookie (+ CSRF header) and with a token.
    let (_, token) = w.server.token_for("coord.ci.api", Role::Coordinator, "CI");
    let sn_emp = &w.sn_emp.id;
    let sn_dev = &w.sn_device;
    let matrix: Vec<(&str, String, Option<Value>, u16)> = vec![
        ("GET", "/api/v1/stats?country=SN".into(), None, 403),
        ("GET", "/api/v1/review-queue?country=SN".into(), None, 403),
        ("GET", "/api/v1/interviews?country=SN".into(), None, 403),
        ("GET", format!("/api/v1/interviews/{sn_id}"), None, 404),
        (
            "POST",
            format!("/api/v1/interviews/{sn_id}/review"),
            Some(json!({"state": "approved"})),
            404,
        ),
        (
            "POST",
            format!("/api/v1/interviews/{sn_id}/comments"),
            Some(json!({"text": "x"})),
            404,
        ),
        (
            "POST",
            format!("/api/v1/interviews/{sn_id}/tags"),
            Some(json!({"tag": "theme:x"})),
            404,
        ),
        ("GET", "/api/v1/users?country=SN".into(), None, 403),
        ("GET", "/api/v1/devices?country=SN".into(), None, 403),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"login": "x.sn", "name": "X", "countries": ["SN"]})),
            403,
        ),
        (
            "POST",
            format!("/api/v1/users/{sn_emp}/enrollment-code"),
            None,
            403,
        ),
        (
            "POST",
            format!("/api/v1/devices/{sn_dev}/revoke"),
            None,
            403,
        ),
        // Positive controls: the same routes for the own country work.
        ("GET", "/api/v1/stats?country=CI".into(), None, 200),
        ("GET", "/api/v1/review-queue?country=CI".into(), None, 200),
        ("GET", "/api/v1/interviews?country=CI".into(), None, 200),
        ("GET", format!("/api/v1/interviews/{ci_id}"), None, 200),
    ];
    for auth in ["cookie", "bearer"] {
        for (method, path, body, want) in &matrix {
            let mut req = if *method == "GET" {
                http.get(format!("{url}{path}"))
            } else {
                http.post(format!("{url}{path}"))
                    .json(body.as_ref().unwrap_or(&json!({})))
            };
            req = if auth == "cookie" {
                req.header("cookie", &s.cookie)
                    .header("x-csrf-token", &s.csrf)
            } else {
                req.bearer_auth(&token)
            };
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            // Enrollment codes and revocation answer 403 or 404 (hidden).
            let ok = status == *want || (*want == 403 && status == 404 && method == &"POST");
            assert!(ok, "{auth} {method} {path}: {status}, want {want}");
        }
    }
    let untouched = w.server.state.store.interview(sn_id).unwrap().unwrap();
    assert_eq!(untouched.review_state, None);
    assert!(!w.server.state.store.list_devices(None).unwrap()[0].revoked);

    // Stats of the own scope count only CI.
    let stats: Value = http
        .get(format!("{url}/api/v1/stats"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"]["interviews"], 6);
    assert_eq!(stats["countries"], json!(["CI"]));

    // An admin sees both countries.
    let admin = login(&http, url, "boss", PW).await;
    let r = get(&http, format!("{url}/dashboard/interviews/{sn_id}"), &admin).await;
    assert_eq!(r.status(), 200);
    let html = get(&http, format!("{url}/dashboard/"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<b id="total">10</b>"#));
}

#[tokio::test]
async fn csrf_sessions_logout_and_headers() {
    let w = world(Settings::default()).await;
    let url = &w.server.url;
    let http = client();

    // `/` leads to the dashboard, which leads to the login form.
    let r = http.get(format!("{url}/")).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/dashboard/");
    let r = http.get(format!("{url}/dashboard/")).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/dashboard/login");

    // Cookie attributes and security headers.
    let resp = post_login(&http, url, "coord.ci", PW).await;
    assert_eq!(resp.status(), 303);
    let cookie = set_cookie(&resp, "fv_session").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attr), "{cookie} has {attr}");
    }
    assert!(!cookie.contains("Secure"), "Secure is off by default");
    let s = login(&http, url, "coord.ci", PW).await;
    let page = get(&http, format!("{url}/dashboard/"), &s).await;
    let h = page.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    // The inline stylesheet is the one the CSP hash allows.
    let html = page.text().await.unwrap();
    assert!(html.contains(sync_server::dashboard::STYLE));

    // The session token is stored hashed only.
    let token = s.cookie.split_once('=').unwrap().1;
    let hash = sync_server::auth::hash_secret(token);
    assert!(w.server.state.store.session(&hash, 0).unwrap().is_some());

    // POST without / with a wrong CSRF token is refused, with the right one works.
    let id = w.ci[1];
    for bad in [None, Some("wrong")] {
        let mut form = vec![("state", "approved")];
        if let Some(b) = bad {
            form.push(("csrf", b));
        }
        let r = http
            .post(format!("{url}/dashboard/interviews/{id}/review"))
            .header("cookie", &s.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "dashboard POST with csrf {bad:?}");
        let r = http
            .post(format!("{url}/api/v1/interviews/{id}/review"))
            .header("cookie", &s.cookie)
            .header("x-csrf-token", bad.unwrap_or(""))
            .json(&json!({"state": "approved"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "API POST with csrf {bad:?}");
    }
    assert_eq!(
        w.server
            .state
            .store
            .interview(id)
            .unwrap()
            .unwrap()
            .review_state,
        None
    );
    let r = http
        .post(format!("{url}/dashboard/interviews/{id}/review"))
        .header("cookie", &s.cookie)
        .form(&[("state", "approved"), ("csrf", &s.csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = http
        .post(format!("{url}/api/v1/interviews/{id}/comments"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .json(&json!({"text": "checked by phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rec = w.server.state.store.interview(id).unwrap().unwrap();
    assert_eq!(rec.review_state.as_deref(), Some("approved"));
    assert_eq!(rec.comment_count, 1);
    // Both edits are server changes by this coordinator in the change log.
    let log = w.server.state.store.change_log(id).unwrap();
    assert_eq!(
        log.iter()
            .filter(|c| c.source.starts_with("server:"))
            .count(),
        2
    );

    // Bad filter input is a clear 400, not a panic.
    for q in [
        "nps_band=lukewarm",
        "from=30/11/2026",
        "review_state=maybe",
        "complaint=%27%3B--",
    ] {
        let r = get(&http, format!("{url}/dashboard/reviews?{q}"), &s).await;
        assert_eq!(r.status(), 400, "{q}");
    }
    let r = get(&http, format!("{url}/dashboard/interviews/not-a-uuid"), &s).await;
    assert_eq!(r.status(), 400);

    // Logout needs the token, then deletes the session.
    let r = http
        .post(format!("{url}/dashboard/logout"))
        .header("cookie", &s.cookie)
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{url}/dashboard/logout"))
        .header("cookie", &s.cookie)
        .form(&[("csrf", &s.csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(w.server.state.store.session(&hash, 0).unwrap().is_none());
    let r = get(&http, format!("{url}/dashboard/"), &s).await;
    assert_eq!(r.headers()["location"], "/dashboard/login");
    let r = get(&http, format!("{url}/api/v1/stats"), &s).await;
    assert_eq!(r.status(), 401);

    // Employees have no dashboard, even with a password.
    user_with_password(&w.server, "emp.pw", Role::Employee, "CI", PW);
    let r = post_login(&http, url, "emp.pw", PW).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn wrong_passwords_are_rate_limited() {
    let w = world(Settings {
        login_per_minute: 3,
        ..Settings::default()
    })
    .await;
    let url = &w.server.url;
    let http = client();
    for _ in 0..3 {
        let r = post_login(&http, url, "coord.ci", "guess").await;
        assert_eq!(r.status(), 401);
    }
    let r = post_login(&http, url, "coord.ci", "guess").await;
    assert_eq!(r.status(), 429);
    // Still limited with the right password: a guesser learns nothing.
    let r = post_login(&http, url, "coord.ci", PW).await;
    assert_eq!(r.status(), 429);
    // Another login from the same address has its own budget.
    let r = post_login(&http, url, "coord.sn", "guess").await;
    assert_eq!(r.status(), 401);
    let r = post_login(&http, url, "coord.sn", PW).await;
    assert_eq!(r.status(), 303);
    // Unknown logins are refused the same way as wrong passwords.
    let r = post_login(&http, url, "nobody", PW).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn sql_aggregates_and_queue_match_the_streaming_defaults() {
    let w = world(Settings::default()).await;
    let store = w.server.state.store.as_ref();
    // Review one, so the states differ.
    let http = client();
    let s = login(&http, &w.server.url, "coord.ci", PW).await;
    let r = http
        .post(format!(
            "{}/dashboard/interviews/{}/review",
            w.server.url, w.ci[2]
        ))
        .header("cookie", &s.cookie)
        .form(&[("state", "has_issues"), ("csrf", &s.csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    for countries in [vec![], vec!["CI".to_owned()], vec!["SN".to_owned()]] {
        let f = InterviewFilter {
            countries,
            ..InterviewFilter::default()
        };
        let sql = store.campaign_stats(&f).unwrap();
        let default = default_campaign_stats(store, &f).unwrap();
        assert_eq!(sql, default, "filter {f:?}");
    }
    let all = store.campaign_stats(&InterviewFilter::default()).unwrap();
    assert_eq!(all.total.interviews, 10);
    assert_eq!(
        all.total.promoters + all.total.passives + all.total.detractors,
        10
    );
    assert_eq!(
        all.by_review_state,
        vec![("unreviewed".to_owned(), 9), ("has_issues".to_owned(), 1)]
    );

    let queries = [
        ReviewQuery::default(),
        ReviewQuery {
            nps_band: Some(NpsBand::Detractor),
            ..ReviewQuery::default()
        },
        ReviewQuery {
            nps_band: Some(NpsBand::Promoter),
            review_state: Some("unreviewed".into()),
            ..ReviewQuery::default()
        },
        ReviewQuery {
            review_state: Some("has_issues".into()),
            ..ReviewQuery::default()
        },
        ReviewQuery {
            date_from: Some("2026-11-26".into()),
            date_to: Some("2026-11-28".into()),
            ..ReviewQuery::default()
        },
        ReviewQuery {
            complaint_category: Some("billing".into()),
            ..ReviewQuery::default()
        },
        ReviewQuery {
            base: InterviewFilter {
                countries: vec!["CI".into()],
                city: Some("Bouaké".into()),
                segment: Some("business".into()),
                limit: Some(2),
                offset: Some(1),
                ..InterviewFilter::default()
            },
            ..ReviewQuery::default()
        },
    ];
    let mut nonempty = 0;
    for q in &queries {
        let sql = store.review_queue(q).unwrap();
        let default = default_review_queue(store, q).unwrap();
        assert_eq!(sql.total, default.total, "{q:?}");
        let ids = |p: &central_store::dashboard::ReviewPage| {
            p.items
                .iter()
                .map(|r| r.interview_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&sql), ids(&default), "{q:?}");
        if sql.total > 0 && sql.total < 10 {
            nonempty += 1;
        }
    }
    assert!(nonempty >= 4, "the filters actually select something");
}

#[tokio::test]
async fn openapi_document_lists_every_api_route() {
    let server = TestServer::start().await;
    let http = client();
    let r = http
        .get(format!("{}/api/v1/openapi.json", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = serde_json::from_str(&r.text().await.unwrap()).expect("valid JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();

    // Every /api/v1 route of the route table is documented.
    let mut registered = Vec::new();
    for src in [
        include_str!("../../sync-server/src/routes/mod.rs"),
        include_str!("../../sync-server/src/dashboard/mod.rs"),
    ] {
        let mut rest = src;
        while let Some(at) = rest.find("\"/api/v1/") {
            let tail = &rest[at + 1..];
            let end = tail.find('"').unwrap();
            registered.push(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    assert!(
        registered.len() >= 15,
        "found the route table: {registered:?}"
    );
    for route in &registered {
        assert!(
            paths.contains_key(route),
            "{route} missing from openapi.json"
        );
    }
    // And every documented path is routed (axum's bare 404/405 would mean not).
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &Uuid::now_v7().to_string())
            .replace("{format}", "csv");
        for method in item.as_object().unwrap().keys() {
            let req = match method.as_str() {
                "get" => http.get(format!("{}{concrete}", server.url)),
                "post" => http.post(format!("{}{concrete}", server.url)),
                other => panic!("unexpected method {other}"),
            };
            let r = req.bearer_auth(&server.admin_token).send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert!(
                status != 405 && !(status == 404 && body.is_empty()),
                "{method} {path} is documented but not routed ({status})"
            );
        }
    }
}

/// A coordinator of two countries sees both, on every listing, without
/// naming them (the user and device listings once took only the first
/// country), and still nothing of a third.
#[tokio::test]
async fn a_coordinator_of_two_countries_sees_both_everywhere() {
    let w = world(Settings::default()).await;
    let coord = w
        .server
        .state
        .store
        .create_user(
            &central_store::NewUser {
                login: "coord.cisn".into(),
                name: "Coord CI+SN".into(),
                role: Role::Coordinator,
                countries: vec!["CI".into(), "SN".into()],
                password_hash: None,
            },
            central_store::unix_now(),
        )
        .unwrap();
    let token =
        sync_server::service::users::issue_api_token(&w.server.state, &coord, "two").unwrap();
    let http = client();
    let api = |path: &str| {
        http.get(format!("{}{path}", w.server.url))
            .bearer_auth(&token)
            .send()
    };
    let users: Vec<Value> = api("/api/v1/users").await.unwrap().json().await.unwrap();
    let logins: Vec<&str> = users.iter().filter_map(|u| u["login"].as_str()).collect();
    for login in ["emp.ci", "emp.sn", "coord.ci", "coord.sn"] {
        assert!(logins.contains(&login), "{login} missing from {logins:?}");
    }
    assert!(
        !logins.contains(&"boss"),
        "an admin without countries is nobody's staff"
    );
    let devices: Vec<Value> = api("/api/v1/devices").await.unwrap().json().await.unwrap();
    assert!(
        devices.iter().any(|d| d["id"] == w.sn_device.as_str()),
        "the SN device is listed: {devices:?}"
    );
    let page: Value = api("/api/v1/interviews")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], (w.ci.len() + w.sn.len()) as u64);
    let stats: Value = api("/api/v1/stats").await.unwrap().json().await.unwrap();
    assert_eq!(stats["countries"], json!(["CI", "SN"]));
    for path in [
        "/api/v1/users?country=ML",
        "/api/v1/devices?country=ML",
        "/api/v1/interviews?country=ML",
        "/api/v1/stats?country=CI,ML",
        "/api/v1/review-queue?country=ML",
        "/api/v1/export/csv?country=ML",
    ] {
        let r = api(path).await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let r = api("/api/v1/users?country=SN").await.unwrap();
    let sn_only: Vec<Value> = r.json().await.unwrap();
    assert!(
        sn_only
            .iter()
            .all(|u| u["countries"].as_array().unwrap().contains(&json!("SN")))
    );
}

/// Bulk review from the queue: the ticked interviews of the coordinator's
/// country change state (each an audited server edit, seen through the API);
/// one of another country is named as not changed and stays as it was; a
/// request without the CSRF token, with a bad state or too many ids changes
/// nothing.
#[tokio::test]
async fn bulk_review_sets_the_ticked_interviews_of_the_coordinators_countries() {
    let w = world(Settings::default()).await;
    let http = client();
    let url = &w.server.url;
    let s = login(&http, url, "coord.ci", PW).await;
    let queue = get(&http, format!("{url}/dashboard/reviews?sort=flags"), &s).await;
    let html = queue.text().await.unwrap();
    assert!(
        html.contains(r#"id="bulk-apply""#),
        "bulk form on the queue"
    );
    for id in &w.ci[..3] {
        assert!(
            html.contains(&format!(r#"value="{id}""#)),
            "checkbox of {id}"
        );
    }
    let post = |fields: Vec<(String, String)>| {
        let http = http.clone();
        let cookie = s.cookie.clone();
        async move {
            http.post(format!("{url}/dashboard/reviews/bulk"))
                .header("cookie", cookie)
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    let mut fields = vec![
        ("csrf".to_owned(), s.csrf.clone()),
        ("state".to_owned(), "approved".to_owned()),
        (
            "back".to_owned(),
            "/dashboard/reviews?sort=flags".to_owned(),
        ),
    ];
    for id in [w.ci[0], w.ci[1], w.sn[0]] {
        fields.push(("ids".to_owned(), id.to_string()));
    }
    let r = post(fields.clone()).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("2 interviews set to approved"), "{page}");
    assert!(
        page.contains(&w.sn[0].to_string()),
        "the other country's id is named"
    );
    assert!(page.contains(r#"href="/dashboard/reviews?sort=flags""#));
    let admin = &w.server.admin_token;
    for (id, want) in [
        (w.ci[0], Some("approved")),
        (w.ci[1], Some("approved")),
        (w.ci[2], None),
        (w.sn[0], None),
    ] {
        let d = w
            .server
            .get_json(admin, &format!("/api/v1/interviews/{id}"))
            .await;
        let rec = d.get("record").unwrap_or(&d);
        assert_eq!(rec["review_state"].as_str(), want, "{id}");
    }
    // Refusals change nothing.
    let mut no_csrf = fields.clone();
    no_csrf.retain(|(k, _)| k != "csrf");
    no_csrf.retain(|(k, v)| k != "ids" || *v == w.ci[2].to_string());
    no_csrf.push(("ids".to_owned(), w.ci[2].to_string()));
    assert_eq!(post(no_csrf).await.status(), 403);
    let mut bad_state = fields.clone();
    bad_state[1].1 = "deleted".into();
    assert_eq!(post(bad_state).await.status(), 400);
    let mut too_many = fields[..3].to_vec();
    for _ in 0..201 {
        too_many.push(("ids".to_owned(), w.ci[2].to_string()));
    }
    assert_eq!(post(too_many).await.status(), 400);
    let d = w
        .server
        .get_json(admin, &format!("/api/v1/interviews/{}", w.ci[2]))
        .await;
    let rec = d.get("record").unwrap_or(&d);
    assert!(rec["review_state"].is_null());
}

/// A hackathon analyst's dashboard session: the actions board of its
/// country and nothing else (no progress, command centre, queue, cases,
/// forms, interview pages; another country's board refused), and an action
/// recorded through the form lands on its page.
#[tokio::test]
async fn an_analyst_session_reaches_the_actions_of_its_country_only() {
    let w = world(Settings::default()).await;
    let url = w.server.url.clone();
    user_with_password(&w.server, "analyst.ci", Role::Analyst, "CI", PW);
    let http = client();
    let s = login(&http, &url, "analyst.ci", PW).await;
    let home = get(&http, format!("{url}/dashboard/"), &s).await;
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/dashboard/actions");
    let ci = w.ci[0];
    for (path, want) in [
        ("/dashboard/actions".to_owned(), 200),
        ("/dashboard/actions?country=CI".to_owned(), 200),
        ("/dashboard/actions?country=SN".to_owned(), 403),
        ("/dashboard/command".to_owned(), 403),
        ("/dashboard/reviews".to_owned(), 403),
        ("/dashboard/cases".to_owned(), 403),
        ("/dashboard/forms".to_owned(), 403),
        (format!("/dashboard/interviews/{ci}"), 404),
    ] {
        let r = get(&http, format!("{url}{path}"), &s).await;
        assert_eq!(r.status(), want, "{path}");
    }
    let board = s.page(&http, &format!("{url}/dashboard/actions")).await;
    assert!(board.contains("Hackathon actions"));
    assert!(
        !board.contains("href=\"/dashboard/reviews\""),
        "no queue link"
    );
    let r = http
        .post(format!("{url}/dashboard/actions"))
        .header("cookie", &s.cookie)
        .form(&[
            ("csrf", s.csrf.as_str()),
            ("country", "CI"),
            ("title", "Former les vendeurs au remboursement"),
            ("root_causes", "operations"),
            ("root_causes", "organisation"),
            ("themes", "boutique, remboursement"),
            ("evidence", &ci.to_string()),
            ("due_date", "2027-02-28"),
            ("status", "planned"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/dashboard/actions/"), "{to}");
    let a = &w.server.state.store.list_actions(&["CI".into()]).unwrap()[0];
    assert_eq!(a.root_causes, ["operations", "organisation"]);
    assert_eq!(a.themes, ["boutique", "remboursement"]);
    assert_eq!(a.evidence, [ci.to_string()]);
    // Without the CSRF token, or for another country: refused, nothing stored.
    let r = http
        .post(format!("{url}/dashboard/actions"))
        .header("cookie", &s.cookie)
        .form(&[("country", "CI"), ("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{url}/dashboard/actions"))
        .header("cookie", &s.cookie)
        .form(&[("csrf", s.csrf.as_str()), ("country", "SN"), ("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(w.server.state.store.list_actions(&[]).unwrap().len(), 1);
}

/// The header's report link works with the dashboard session alone: the
/// analysis report of the user's countries, in the page's language, with a
/// print stylesheet; agents get no link, and the report refuses them.
#[tokio::test]
async fn the_report_opens_from_the_dashboard_with_the_session() {
    let w = world(Settings::default()).await;
    let url = w.server.url.clone();
    user_with_password(&w.server, "agent.ci", Role::Agent, "CI", PW);
    let http = client();
    let s = login(&http, &url, "coord.ci", PW).await;
    let page = s.page(&http, &format!("{url}/dashboard/")).await;
    let href = page
        .split("id=\"report-link\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a report link in the header")
        .replace("&amp;", "&");
    let r = get(&http, format!("{url}{href}"), &s).await;
    assert_eq!(r.status(), 200, "{href}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let report = r.text().await.unwrap();
    assert!(report.contains("— CI"), "the coordinator's country");
    assert!(report.contains("@media print") && report.contains("size:A4"));
    // Another country's report stays refused with the session too.
    let r = get(&http, format!("{url}/api/v1/report?country=SN"), &s).await;
    assert_eq!(r.status(), 403);
    let agent = login(&http, &url, "agent.ci", PW).await;
    let cases = agent.page(&http, &format!("{url}/dashboard/cases")).await;
    assert!(!cases.contains("report-link"));
    let r = get(&http, format!("{url}/api/v1/report"), &agent).await;
    assert_eq!(r.status(), 403);
}
