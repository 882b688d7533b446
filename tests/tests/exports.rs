//! Exports and the analysis report, end to end: interviews are created on real
//! device stores and synced over loopback HTTP into a real SQLite central
//! store; every export format is produced by the real `fieldvoice-server`
//! binary and read back with real readers (pandas, pyarrow, DuckDB, openpyxl,
//! Python's json) by `tests/python/check_exports.py`, which compares values
//! and counts with what the store holds. HTTP exports are checked for role and
//! country scoping, PII rules and the audit log.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use central_store::{CentralStore, InterviewFilter, Role};
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::server::{Device, TestServer, server_binary};
use serde_json::{Value, json};
use sync_server::Settings;

const KEY: &str = "test-pseudonym-key-0123456789abcdef";

/// One seeded interview: its overrides of [`complete_answers`].
fn answers(nps: i64, extra: &[(&'static str, Value)]) -> Vec<(&'static str, Value)> {
    survey_model::sample::with(complete_answers(nps), extra)
}

async fn create(dev: &Device, answers: &[(&'static str, Value)]) -> uuid::Uuid {
    let form = dev.lock().form("mcmb-interview", None).unwrap();
    let mut s = dev.lock();
    let mut iv = s.create_interview(&form).unwrap();
    for (k, v) in answers {
        iv.set_answer_json(&form, k, v).unwrap();
    }
    // Incomplete interviews (no consent) stay drafts; they still sync.
    iv.submit(&form).unwrap();
    s.save(&mut iv, Some(&form)).unwrap();
    iv.id()
}

struct Seeded {
    srv: TestServer,
    ci: Device,
    no_consent: uuid::Uuid,
    first_ci: uuid::Uuid,
}

/// Two countries, eight interviews; one without consent; PII filled in.
async fn seed() -> Seeded {
    let settings = Settings {
        pseudonym_key: Some(export::PseudonymKey::new(KEY.as_bytes().to_vec()).unwrap()),
        ..Settings::default()
    };
    let srv = TestServer::start_with(settings).await;
    let (_, code_ci) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let (_, code_sn) = srv.user_with_code("emp.sn", Role::Employee, "SN");
    let ci = srv.device("ci", &code_ci).await;
    let sn = srv.device("sn", &code_sn).await;
    let first_ci = create(
        &ci,
        &answers(
            10,
            &[
                ("customer_name", json!("Awa Traoré")),
                ("customer_phone", json!("+225 07 11 11 11 11")),
                ("segment", json!("business")),
            ],
        ),
    )
    .await;
    create(
        &ci,
        &answers(
            9,
            &[
                ("customer_name", json!("Koffi Yao")),
                ("customer_phone", json!("+225 07 22 22 22 22")),
                ("area_type", json!("rural")),
                ("services_used", json!(["mobile_data"])),
                ("complaint_categories", json!(["billing"])),
                ("complaint_root_cause", json!(["it"])),
                (
                    "verbatim",
                    json!("Le réseau coupe souvent; la couverture réseau est faible."),
                ),
            ],
        ),
    )
    .await;
    create(
        &ci,
        &answers(
            3,
            &[
                ("customer_phone", json!("+225 07 33 33 33 33")),
                (
                    "location",
                    json!({"lat": 5.3364, "lon": -4.0267, "accuracy": 8.5}),
                ),
            ],
        ),
    )
    .await;
    create(
        &ci,
        &answers(7, &[("customer_phone", json!("+225 07 44 44 44 44"))]),
    )
    .await;
    // Refused consent: the rest of the form is hidden, but PII was typed in.
    let no_consent = create(
        &ci,
        &[
            ("consent", json!(false)),
            ("customer_name", json!("Refused Person")),
            ("customer_phone", json!("+225 07 99 99 99 99")),
        ],
    )
    .await;
    for (nps, phone, lang, text) in [
        (
            2,
            "+221 77 555 55 55",
            "en",
            "The data speed is slow and the data bundles are expensive",
        ),
        (
            10,
            "+221 77 666 66 66",
            "en",
            "Great shop staff but data bundles are expensive",
        ),
        (
            8,
            "+221 77 777 77 77",
            "pt",
            "A rede cai muitas vezes à noite, a rede é fraca",
        ),
    ] {
        create(
            &sn,
            &answers(
                nps,
                &[
                    ("customer_phone", json!(phone)),
                    ("city", json!("Dakar")),
                    ("verbatim", json!(text)),
                    ("verbatim_language", json!(lang)),
                    (
                        "location",
                        json!({"lat": 14.7167, "lon": -17.4677, "accuracy": null}),
                    ),
                ],
            ),
        )
        .await;
    }
    assert_eq!(ci.sync().await.unwrap().docs_acknowledged, 5);
    assert_eq!(sn.sync().await.unwrap().docs_acknowledged, 3);
    Seeded {
        srv,
        ci,
        no_consent,
        first_ci,
    }
}

/// Every interview of the store, as the store has it (for the Python checks).
fn store_dump(store: &dyn CentralStore, countries: &[&str]) -> Value {
    let mut rows = Vec::new();
    let f = InterviewFilter {
        countries: countries.iter().map(|c| (*c).to_owned()).collect(),
        ..InterviewFilter::default()
    };
    store
        .for_each_interview(&f, &mut |rec, seq| {
            rows.push(json!({
                "interview_id": rec.interview_id,
                "country": rec.country,
                "status": rec.status,
                "seq": seq,
                "answers": rec.answers,
            }));
            Ok(())
        })
        .unwrap();
    json!({ "interviews": rows, "pii_questions": ["customer_name", "customer_phone", "follow_up_contact"] })
}

fn cli(db: &Path, args: &[&str]) -> String {
    let out = Command::new(server_binary())
        .arg("--database")
        .arg(db)
        .args(args)
        .env("FIELDVOICE_PSEUDONYM_KEY", KEY)
        .env("FIELDVOICE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cli_fails(db: &Path, args: &[&str]) -> String {
    let out = Command::new(server_binary())
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("FIELDVOICE_PSEUDONYM_KEY")
        .env_remove("FIELDVOICE_PSEUDONYM_KEY_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn export_dir(db: &Path, root: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = root.join(name);
    let mut a = vec!["export", "--out", out.to_str().unwrap()];
    a.extend_from_slice(args);
    cli(db, &a);
    out
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn python(script: &str, args: &[&Path]) {
    if let Some(out) = fieldvoice_tests::needs::run_python(script, args) {
        eprintln!("{}", String::from_utf8_lossy(&out));
    }
}

fn same_files(a: &Path, b: &Path) {
    let mut names: Vec<_> = std::fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for n in names {
        let (x, y) = (
            std::fs::read(a.join(&n)).unwrap(),
            std::fs::read(b.join(&n)).unwrap(),
        );
        assert!(x == y, "{n:?} differs between two exports of the same data");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_reads_back_with_real_readers_and_reruns_are_identical() {
    let s = seed().await;
    let db = s.srv.dir.path().join("server.sqlite3");
    let root = tempfile::tempdir().unwrap();
    for f in ["csv", "parquet", "xlsx", "jsonl", "geojson"] {
        let d = export_dir(&db, root.path(), f, &["--format", f, "--lang", "fr"]);
        let m = manifest(&d);
        assert_eq!(m["rows"], 7, "{f}: 8 interviews, 1 without consent");
        assert_eq!(m["excluded_without_consent"], 1);
        assert_eq!(m["pii"], "omit");
        // A rerun on the same data gives the same bytes, manifest included.
        let again = export_dir(
            &db,
            root.path(),
            &format!("{f}-again"),
            &["--format", f, "--lang", "fr"],
        );
        same_files(&d, &again);
    }
    export_dir(
        &db,
        root.path(),
        "pseudo-csv",
        &["--format", "csv", "--pii", "pseudonymize"],
    );
    export_dir(
        &db,
        root.path(),
        "pseudo-parquet",
        &["--format", "parquet", "--pii", "pseudonymize"],
    );
    // The key can come from a file instead: same key, same pseudonyms.
    let key_file = root.path().join("pseudonym.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let from_file = root.path().join("pseudo-file");
    let out = Command::new(server_binary())
        .arg("--database")
        .arg(&db)
        .args([
            "export",
            "--format",
            "csv",
            "--pii",
            "pseudonymize",
            "--out",
        ])
        .arg(&from_file)
        .arg("--pseudonym-key-file")
        .arg(&key_file)
        .env_remove("FIELDVOICE_PSEUDONYM_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    same_files(&root.path().join("pseudo-csv"), &from_file);
    // Pseudonyms need a key; raw PII needs an admin, and is audited.
    let err = cli_fails(
        &db,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            root.path().join("x").to_str().unwrap(),
            "--pii",
            "pseudonymize",
        ],
    );
    assert!(err.contains("needs a key"), "{err}");
    let err = cli_fails(
        &db,
        &[
            "export",
            "--format",
            "csv",
            "--out",
            root.path().join("x").to_str().unwrap(),
            "--pii",
            "include",
        ],
    );
    assert!(err.contains("--as"), "{err}");
    let err = cli_fails(&db, &["export", "--format", "docx", "--out", "x"]);
    assert!(err.contains("unknown export format"), "{err}");
    let before = s.srv.state.store.audit_log(100).unwrap().len();
    export_dir(
        &db,
        root.path(),
        "raw",
        &["--format", "csv", "--pii", "include", "--as", "admin"],
    );
    let log = s.srv.state.store.audit_log(100).unwrap();
    assert_eq!(log.len(), before + 1);
    assert!(log.iter().any(|e| e.action == "export_pii"));

    let expected = root.path().join("expected.json");
    std::fs::write(
        &expected,
        serde_json::to_vec(&store_dump(s.srv.state.store.as_ref(), &[])).unwrap(),
    )
    .unwrap();
    python("check_exports.py", &[&expected, root.path()]);

    // --since: only what changed after the previous manifest's max_seq.
    let first = manifest(&root.path().join("jsonl"));
    let since = first["max_seq"].as_u64().unwrap();
    let form = s.ci.lock().form("mcmb-interview", None).unwrap();
    {
        let mut st = s.ci.lock();
        let mut iv = st.load(s.first_ci).unwrap();
        iv.set_answer_json(&form, "nps", &json!(4)).unwrap();
        st.save(&mut iv, Some(&form)).unwrap();
        // The no-consent interview changes too: it must still not be exported.
        let mut nc = st.load(s.no_consent).unwrap();
        nc.set_answer_json(&form, "customer_name", &json!("Still Refused"))
            .unwrap();
        st.save(&mut nc, Some(&form)).unwrap();
    }
    assert_eq!(s.ci.sync().await.unwrap().docs_acknowledged, 2);
    let inc = export_dir(
        &db,
        root.path(),
        "since",
        &["--format", "jsonl", "--since", &since.to_string()],
    );
    let m = manifest(&inc);
    assert_eq!(m["rows"], 1);
    assert_eq!(m["excluded_without_consent"], 1);
    assert!(m["max_seq"].as_u64().unwrap() > since);
    assert_ne!(m["dataset_version"], first["dataset_version"]);
    let text = std::fs::read_to_string(inc.join("interviews.jsonl")).unwrap();
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["interview_id"], s.first_ci.to_string());
    assert_eq!(rows[0]["nps"], 4);
    // Nothing changed since the incremental run: an empty delta.
    let none = export_dir(
        &db,
        root.path(),
        "since-none",
        &["--format", "csv", "--since", &m["max_seq"].to_string()],
    );
    assert_eq!(manifest(&none)["rows"], 0);
    // The full dataset version moved with the edit.
    let full = export_dir(&db, root.path(), "jsonl-after", &["--format", "jsonl"]);
    assert_ne!(manifest(&full)["dataset_version"], first["dataset_version"]);
}

async fn get(url: &str, token: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut rb = reqwest::Client::new().get(url);
    if !token.is_empty() {
        rb = rb.bearer_auth(token);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_exports_are_scoped_by_role_and_country() {
    let s = seed().await;
    let url = &s.srv.url;
    let (_, analyst_sn) = s.srv.token_for("ana.sn", Role::Analyst, "SN");
    let (_, coord_ci) = s.srv.token_for("coord.ci", Role::Coordinator, "CI");
    let device = s.ci.token();
    let admin = &s.srv.admin_token;

    // Who may export what.
    for (token, q, want) in [
        (&analyst_sn, "csv?country=CI", 403),
        (&analyst_sn, "csv?country=SN,CI", 403),
        (&analyst_sn, "csv?country=SN", 200),
        (&analyst_sn, "csv", 200),
        (&analyst_sn, "csv?country=SN&pii=include", 403),
        (&coord_ci, "parquet?country=CI", 200),
        (&coord_ci, "parquet?country=SN", 403),
        (&device, "csv?country=CI", 403),
        (&device, "csv", 403),
        (admin, "csv", 200),
        (admin, "docx", 400),
        (admin, "csv?country=C1", 400),
        (admin, "csv?pii=everything", 400),
        (admin, "csv?lang=xx", 400),
    ] {
        let (st, _, body) = get(&format!("{url}/api/v1/export/{q}"), token).await;
        assert_eq!(st, want, "{q}: {}", String::from_utf8_lossy(&body));
    }
    let (st, _, _) = get(&format!("{url}/api/v1/export/csv"), "").await;
    assert_eq!(st, 401);

    // The analyst's default scope is their countries: SN only, 3 interviews.
    let (_, h, body) = get(&format!("{url}/api/v1/export/jsonl"), &analyst_sn).await;
    assert_eq!(h["x-fieldvoice-rows"], "3");
    let text = String::from_utf8(body).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.lines().all(|l| l.contains("\"country\":\"SN\"")));
    assert!(!text.contains("+221"), "no raw phone numbers by default");

    // HTTP and CLI go through the same pipeline: identical bytes.
    let (st, h, body) = get(
        &format!("{url}/api/v1/export/parquet?country=CI&lang=pt"),
        &coord_ci,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(h["content-type"], "application/vnd.apache.parquet");
    let dir = tempfile::tempdir().unwrap();
    let db = s.srv.dir.path().join("server.sqlite3");
    let cli_dir = export_dir(
        &db,
        dir.path(),
        "ci",
        &["--format", "parquet", "--country", "CI", "--lang", "pt"],
    );
    assert!(std::fs::read(cli_dir.join("interviews.parquet")).unwrap() == body);
    assert_eq!(
        h["x-fieldvoice-dataset-version"],
        manifest(&cli_dir)["dataset_version"].as_str().unwrap()
    );
    let (_, _, dict) = get(
        &format!("{url}/api/v1/export/parquet?country=CI&part=dictionary"),
        &coord_ci,
    )
    .await;
    assert!(
        String::from_utf8(dict)
            .unwrap()
            .starts_with("column,type,question,label,options,note")
    );
    let (_, _, man) = get(&format!("{url}/api/v1/export/csv?part=manifest"), admin).await;
    let man: Value = serde_json::from_slice(&man).unwrap();
    assert_eq!(man["rows"], 7);

    // Pseudonyms: stable, keyed, never the raw value.
    let (st, _, body) = get(
        &format!("{url}/api/v1/export/csv?country=SN&pii=pseudonymize"),
        &analyst_sn,
    )
    .await;
    assert_eq!(st, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("customer_phone_pseudonym")
    );
    assert!(!text.contains("+221"));
    let (_, _, again) = get(
        &format!("{url}/api/v1/export/csv?country=SN&pii=pseudonymize"),
        &analyst_sn,
    )
    .await;
    assert_eq!(text.as_bytes(), again.as_slice());

    // Raw PII: admins only, and the audit log says so.
    let before = s.srv.state.store.audit_log(100).unwrap().len();
    let (st, _, body) = get(
        &format!("{url}/api/v1/export/csv?country=SN&pii=include"),
        admin,
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("+221 77 555 55 55")
    );
    let log = s.srv.state.store.audit_log(100).unwrap();
    assert_eq!(log.len(), before + 1);
    assert!(
        log.iter()
            .any(|e| e.action == "export_pii" && e.target.contains("http"))
    );

    // Report: scoped the same way.
    let (st, _, _) = get(&format!("{url}/api/v1/report?country=CI"), &analyst_sn).await;
    assert_eq!(st, 403);
    let (st, _, _) = get(&format!("{url}/api/v1/report"), &device).await;
    assert_eq!(st, 403);
    let (st, h, html) = get(
        &format!("{url}/api/v1/report?country=SN&lang=fr"),
        &analyst_sn,
    )
    .await;
    assert_eq!(st, 200);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("<svg") && html.contains("NPS par"));
    assert!(!html.contains("<script"));
    let (_, _, js) = get(&format!("{url}/api/v1/report?format=json"), &analyst_sn).await;
    let js: Value = serde_json::from_slice(&js).unwrap();
    assert_eq!(js["interviews"], 3);
    assert_eq!(js["countries"], json!(["SN"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_numbers_match_the_seeded_answers() {
    let s = seed().await;
    let db = s.srv.dir.path().join("server.sqlite3");
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let json_path = dir.path().join("summary.json");
    let out = cli(
        &db,
        &[
            "report",
            "--out",
            html.to_str().unwrap(),
            "--json",
            json_path.to_str().unwrap(),
        ],
    );
    assert!(out.contains("report on 7 interviews"), "{out}");
    let sum: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(sum["interviews"], 7);
    assert_eq!(sum["excluded_without_consent"], 1);
    // Consented NPS answers: CI 10, 9, 3, 7; SN 2, 10, 8.
    // Promoters 3, detractors 2 of 7: NPS = 100 * (3 - 2) / 7.
    let overall = &sum["nps_overall"];
    let nps = overall["nps"].as_f64().unwrap();
    assert!((nps - 100.0 / 7.0).abs() < 1e-9, "{nps}");
    let (p, d) = (3.0 / 7.0, 2.0 / 7.0);
    let se = 100.0 * ((p + d - (p - d) * (p - d)) / 7.0f64).sqrt();
    assert!((overall["se"].as_f64().unwrap() - se).abs() < 1e-9);
    assert!((overall["ci_low"].as_f64().unwrap() - (nps - 1.96 * se)).abs() < 1e-9);
    let by_country = &sum["nps_by"][0];
    assert_eq!(by_country["dimension"], "country");
    let ci = by_country["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "CI")
        .unwrap();
    assert_eq!(
        (
            ci["n"].clone(),
            ci["promoters"].clone(),
            ci["detractors"].clone()
        ),
        (json!(4), json!(2), json!(1))
    );
    assert!((ci["nps"].as_f64().unwrap() - 25.0).abs() < 1e-9);
    let segments = &sum["nps_by"][1]["groups"];
    assert!(
        segments
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group"] == "business" && g["n"] == 1)
    );
    // Satisfaction: every consented interview rated the network 2.
    let net = sum["satisfaction"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["question"] == "sat_network")
        .unwrap();
    assert_eq!(net["n"], 7);
    assert!((net["mean"].as_f64().unwrap() - 2.0).abs() < 1e-9);
    // Complaint categories: network_coverage and data_speed in 6 of 7, billing in 1.
    let cats = &sum["complaint_categories"];
    assert_eq!(cats["respondents"], 7);
    let count = |v: &str| {
        cats["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["value"] == v)
            .unwrap()["count"]
            .clone()
    };
    assert_eq!(
        (
            count("network_coverage"),
            count("data_speed"),
            count("billing")
        ),
        (json!(6), json!(6), json!(1))
    );
    assert_eq!(cats["options"][0]["count"], 6, "sorted by count");
    assert!((cats["options"][0]["share"].as_f64().unwrap() - 6.0 / 7.0).abs() < 1e-9);
    // Themes count respondents, and show only what at least five share:
    // French "réseau" (every CI interview), not the few English or
    // Portuguese respondents' words.
    let themes = sum["themes"].as_array().unwrap();
    let terms = |lang: &str, kind: &str| -> Vec<String> {
        themes.iter().find(|t| t["language"] == lang).unwrap()[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["term"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(terms("fr", "keywords").contains(&"réseau".to_owned()));
    let fr = themes.iter().find(|t| t["language"] == "fr").unwrap();
    let reseau = fr["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["term"] == "réseau")
        .unwrap();
    assert!(reseau["count"].as_u64().unwrap() <= fr["respondents"].as_u64().unwrap());
    assert!(reseau["count"].as_u64().unwrap() >= 5);
    assert!(
        terms("en", "phrases").is_empty(),
        "fewer than five English respondents"
    );
    assert!(terms("pt", "keywords").is_empty());
    assert!(!terms("en", "keywords").contains(&"the".to_owned()));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("réseau"));
    // Self-contained: no script, no external resource.
    assert!(!page.contains("<script") && !page.contains(" src=") && !page.contains(" href="));
    // Names and phone numbers never reach the report.
    assert!(!page.contains("Awa") && !page.contains("+225"));
}

/// Free text leaves without personal data unless PII is included: the
/// customer's own name, phone numbers, e-mail addresses and ID numbers typed
/// into the verbatims become placeholders in every export and in the
/// report's themes; dates and amounts stay; `pii=include` (admins, audited)
/// gives the words as typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_is_scrubbed_unless_pii_is_included() {
    let srv = TestServer::start().await;
    let (emp, _) = srv.user_with_code("awa", Role::Employee, "CI");
    let (_, analyst) = srv.token_for("analyst.ci", Role::Analyst, "CI");
    let typed = "Rappelez Awa Traoré au 07 12 34 56 78 ou awa.t@example.com, CNI CI0123456789; \
                 payé 10 000 000 FCFA le 2026-08-01";
    for _ in 0..2 {
        fieldvoice_tests::dashboard::push_submitted(
            &srv,
            &emp,
            "2026-11-30T09:00:00Z",
            &answers(
                3,
                &[
                    ("customer_name", json!("Awa Traoré")),
                    ("verbatim", json!(typed)),
                    ("nps_reason", json!("appelez le +225 0712345678 svp")),
                ],
            ),
        );
    }
    let csv_of = |body: &[u8]| -> Vec<std::collections::HashMap<String, String>> {
        let mut rd = csv::Reader::from_reader(body);
        let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
        rd.records()
            .map(|r| {
                let r = r.unwrap();
                header
                    .iter()
                    .cloned()
                    .zip(r.iter().map(str::to_owned))
                    .collect()
            })
            .collect()
    };
    let (st, _, body) = get(
        &format!("{}/api/v1/export/csv?country=CI", srv.url),
        &analyst,
    )
    .await;
    assert_eq!(st, 200);
    let rows = csv_of(&body);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0]["verbatim"],
        "Rappelez [name] [name] au [phone] ou [email], CNI [id]; payé 10 000 000 FCFA le 2026-08-01"
    );
    assert_eq!(rows[0]["nps_reason"], "appelez le [phone] svp");
    let (_, _, dict) = get(
        &format!("{}/api/v1/export/csv?country=CI&part=dictionary", srv.url),
        &analyst,
    )
    .await;
    let dict = String::from_utf8(dict).unwrap();
    let line = dict.lines().find(|l| l.starts_with("verbatim,")).unwrap();
    assert!(line.contains("[phone]"), "{line}");
    // The report's themes never count the name.
    let (_, _, report) = get(
        &format!("{}/api/v1/report?country=CI&format=json", srv.url),
        &analyst,
    )
    .await;
    let report = String::from_utf8(report).unwrap().to_lowercase();
    assert!(!report.contains("traor") && !report.contains("0712345678"));
    // Admins who include PII (audited) get the words as typed.
    let (st, _, body) = get(
        &format!("{}/api/v1/export/csv?country=CI&pii=include", srv.url),
        &srv.admin_token,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(csv_of(&body)[0]["verbatim"], typed);
}

/// Forms with repeats: a household roster (an XLSForm published through the
/// forms API) filled on a real device and synced; every format carries the
/// instances as a second table keyed by `interview_id` and `instance`
/// (`repeat_<id>.csv` / `.parquet`, a `repeat_<id>` XLSX sheet, arrays
/// nested in each JSON Lines object), the dictionary lists both tables, and
/// `tests/python/check_repeats.py` reads them back with pandas, DuckDB,
/// pyarrow and openpyxl and compares with what the store holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_tables_read_back_with_real_readers() {
    let srv = TestServer::start().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/forms", srv.url))
        .bearer_auth(&srv.admin_token)
        .header(reqwest::header::CONTENT_TYPE, xlsform::XLSX_CONTENT_TYPE)
        .body(fieldvoice_tests::xlsforms::roster())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "{}",
        resp.text().await.unwrap()
    );
    let (_, code) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let dev = srv.device("ci", &code).await;
    // Members (name, age), shop visits (shop, spent), food, rent.
    type Household = (
        &'static [(&'static str, i64)],
        &'static [(&'static str, f64)],
        f64,
        f64,
    );
    let households: [Household; 3] = [
        (
            &[("Awa", 41), ("Koffi", 9)],
            &[("Boutique Awa", 1500.0)],
            250.0,
            400.5,
        ),
        (&[("Moussa", 67)], &[], 90.0, 0.0),
        (
            &[("Fatou", 30), ("Ali", 12), ("Ama", 4)],
            &[("Marché", 300.0), ("Kiosque", 75.5)],
            120.0,
            80.0,
        ),
    ];
    let form = dev.lock().form("household-roster", None).unwrap();
    let (today, now) = (survey_model::validate::today(), "2026-12-05T09:00:00Z");
    for (members, visits, food, rent) in households {
        let mut s = dev.lock();
        let mut iv = s.create_interview(&form).unwrap();
        iv.set_answer_json(&form, "consent", &json!(true)).unwrap();
        iv.set_answer_json(&form, "hh_size", &json!(members.len()))
            .unwrap();
        iv.set_answer_json(&form, "food", &json!(food)).unwrap();
        iv.set_answer_json(&form, "rent", &json!(rent)).unwrap();
        iv.recalculate(&form, today, now).unwrap();
        for (i, (name, age)) in members.iter().enumerate() {
            iv.set_instance_answer_json(&form, i, "member_name", &json!(name))
                .unwrap();
            iv.set_instance_answer_json(&form, i, "member_age", &json!(age))
                .unwrap();
            if *age < 18 {
                iv.set_instance_answer_json(&form, i, "in_school", &json!("yes"))
                    .unwrap();
            }
        }
        for (shop, spent) in visits {
            let i = iv.add_instance(&form, "visits").unwrap();
            iv.set_instance_answer_json(&form, i, "shop", &json!(shop))
                .unwrap();
            iv.set_instance_answer_json(&form, i, "spent", &json!(spent))
                .unwrap();
        }
        iv.recalculate(&form, today, now).unwrap();
        assert!(iv.submit(&form).unwrap().is_complete());
        s.save(&mut iv, Some(&form)).unwrap();
    }
    dev.sync().await.unwrap();

    // What the store holds: the expected content of every format.
    let store = srv.state.store.clone();
    let recs = store
        .list_interviews(&InterviewFilter::default())
        .unwrap()
        .into_iter()
        .filter(|r| r.form_id == "household-roster")
        .collect::<Vec<_>>();
    assert_eq!(recs.len(), 3);
    let interviews: Vec<Value> = recs
        .iter()
        .map(|r| {
            json!({
                "interview_id": r.interview_id,
                "total": r.answers["total"],
                "members": r.repeats.get("members").cloned().unwrap_or_default(),
                "visits": r.repeats.get("visits").cloned().unwrap_or_default(),
            })
        })
        .collect();
    let ali = interviews
        .iter()
        .flat_map(|i| i["members"].as_array().unwrap())
        .find(|m| m["member_name"] == "Ali")
        .unwrap();
    assert_eq!(ali["adult"], "no");
    assert_eq!(ali["in_school"], "yes");
    let root = tempfile::tempdir().unwrap();
    let expected = root.path().join("expected.json");
    std::fs::write(&expected, json!({ "interviews": interviews }).to_string()).unwrap();
    let db = srv.dir.path().join("server.sqlite3");
    for f in ["csv", "parquet", "xlsx", "jsonl"] {
        let d = export_dir(&db, root.path(), f, &["--format", f]);
        assert_eq!(manifest(&d)["rows"], 3, "{f}");
    }
    python("check_repeats.py", &[&expected, root.path()]);

    // The coordinator's interview page lists each repeat's instances.
    fieldvoice_tests::dashboard::user_with_password(
        &srv,
        "coord.ci",
        Role::Coordinator,
        "CI",
        "a long enough password",
    );
    let http = fieldvoice_tests::dashboard::client();
    let session =
        fieldvoice_tests::dashboard::login(&http, &srv.url, "coord.ci", "a long enough password")
            .await;
    let third = recs
        .iter()
        .find(|r| r.repeats["members"].len() == 3)
        .unwrap();
    let page = session
        .page(
            &http,
            &format!("{}/dashboard/interviews/{}", srv.url, third.interview_id),
        )
        .await;
    let members = page
        .split("data-repeat=\"members\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("a members table");
    assert_eq!(members.matches("<tr>").count(), 4, "a header and 3 members");
    for name in ["Fatou", "Ali", "Ama"] {
        assert!(members.contains(name), "{name} in {members}");
    }
    assert!(page.contains("data-repeat=\"visits\""));

    // A device that writes more instances than the app ever adds (its
    // changes made by hand) is refused whole, and nothing of it is stored.
    let forged = {
        let mut s = dev.lock();
        let mut iv = s.create_interview(&form).unwrap();
        iv.set_answer_json(&form, "consent", &json!(true)).unwrap();
        {
            use automerge::transaction::Transactable;
            let doc = iv.doc_mut();
            let (_, answers) = automerge::ReadDoc::get(doc, automerge::ROOT, "answers")
                .unwrap()
                .unwrap();
            let (_, list) = automerge::ReadDoc::get(doc, &answers, "members")
                .unwrap()
                .unwrap();
            for i in 0..=survey_model::form::MAX_INSTANCES {
                doc.insert_object(&list, i, automerge::ObjType::Map)
                    .unwrap();
            }
            doc.commit();
        }
        s.save(&mut iv, Some(&form)).unwrap();
        iv.id()
    };
    let report = dev.sync().await.unwrap();
    let (id, reason) = &report.docs_rejected[0];
    assert_eq!(*id, forged);
    assert!(
        reason.contains("repeat `members` has 201 instances (at most 200)"),
        "{reason}"
    );
    assert!(srv.state.store.interview(forged).unwrap().is_none());
}
