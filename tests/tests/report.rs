//! The analysis report a hackathon team reads, checked from outside: a
//! generated campaign in four countries (drafts, refusals, interviews
//! rejected in review) is pushed through the real merge; the report's JSON
//! must equal, figure by figure, what DuckDB computes from the Parquet export
//! (`tests/python/recompute_report.py`): the base, every NPS with its
//! interval and n, satisfaction means with intervals, the drivers, the
//! ranking; with and without a filter. Then the `report --pdf` command prints
//! it in four languages, and pdftoppm reads the PDF back into PNGs
//! (`target/screenshots/report-pdf-*.png`).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use central_store::Role;
use fieldvoice_tests::dashboard::{push_interview, push_submitted};
use fieldvoice_tests::server::{TestServer, api, server_binary};
use serde_json::{Value, json};

const COUNTRIES: [&str; 4] = ["CI", "SN", "MA", "GW"];

/// Push a generated campaign; every twentieth submitted interview is then
/// rejected in review. Returns how many of each outcome.
async fn campaign(srv: &TestServer, n: usize) -> BTreeMap<&'static str, usize> {
    let mut emps = BTreeMap::new();
    for c in COUNTRIES {
        let (u, _) = srv.user_with_code(&format!("emp.{c}"), Role::Employee, c);
        emps.insert(c, u);
    }
    let spec = fieldgen::Spec {
        countries: COUNTRIES.map(String::from).to_vec(),
        ..fieldgen::Spec::new(21, n)
    };
    let mut counts = BTreeMap::new();
    for g in fieldgen::generate(&spec) {
        let emp = &emps[g.country];
        let at = g.started_at("2026-11-28");
        let id = match g.outcome {
            fieldgen::Outcome::Draft => {
                *counts.entry("draft").or_default() += 1;
                push_interview(srv, emp, &at, &g.answers)
            }
            fieldgen::Outcome::Refused => {
                *counts.entry("refused").or_default() += 1;
                push_submitted(srv, emp, &at, &g.answers)
            }
            fieldgen::Outcome::Submitted => push_submitted(srv, emp, &at, &g.answers),
        };
        if g.outcome == fieldgen::Outcome::Submitted {
            if g.n % 20 == 7 {
                let (st, _) = api(
                    &srv.url,
                    &srv.admin_token,
                    "POST",
                    &format!("/api/v1/interviews/{id}/review"),
                    Some(json!({"state": "rejected"})),
                )
                .await;
                assert_eq!(st, 200);
                *counts.entry("rejected").or_default() += 1;
            } else {
                *counts.entry("counted").or_default() += 1;
            }
        }
    }
    counts
}

async fn get_bytes(srv: &TestServer, path: &str) -> Vec<u8> {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", srv.url))
        .bearer_auth(&srv.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

/// Recompute `summary` (asked with `query`) from the Parquet export.
fn recompute(dir: &Path, parquet: &Path, summary: &Value, filter: Value) -> Value {
    let s = dir.join("summary.json");
    let f = dir.join("filter.json");
    std::fs::write(&s, summary.to_string()).unwrap();
    std::fs::write(&f, filter.to_string()).unwrap();
    fieldvoice_tests::needs::run_python_json(
        "recompute_report.py",
        &[parquet.as_os_str(), s.as_os_str(), f.as_os_str()],
    )
    .unwrap_or(json!({"checked": 0, "mismatches": [], "skipped": true}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_figure_of_the_report_equals_duckdb_on_the_parquet_export() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::PythonReaders);
    let srv = TestServer::start().await;
    srv.mcmb_v2_campaign().await;
    let counts = campaign(&srv, 700).await;
    assert!(
        counts["draft"] > 0 && counts["refused"] > 0 && counts["rejected"] > 0,
        "{counts:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("interviews.parquet");
    // Every consented interview (drafts and rejected ones too): the
    // recomputation applies the report's base itself.
    std::fs::write(
        &parquet,
        get_bytes(
            &srv,
            "/api/v1/export/parquet?include_drafts=true&include_rejected=true",
        )
        .await,
    )
    .unwrap();

    let summary: Value =
        serde_json::from_slice(&get_bytes(&srv, "/api/v1/report?format=json&lang=fr").await)
            .unwrap();
    // The base says what was counted and left out.
    assert_eq!(summary["interviews"], counts["counted"]);
    assert_eq!(summary["base"]["drafts"], counts["draft"]);
    assert_eq!(summary["base"]["rejected"], counts["rejected"]);
    assert_eq!(summary["base"]["filter"]["campaign"], "mcmb-2026");
    let r = recompute(
        dir.path(),
        &parquet,
        &summary,
        json!({"campaign": "mcmb-2026", "min_n": 30}),
    );
    assert_eq!(r["mismatches"], json!([]), "{r}");
    assert!(r["checked"].as_u64().unwrap() > 300, "{r}");
    fieldvoice_tests::report("report_figures_checked", r["checked"].as_u64().unwrap());
    // Countries by name in the reader's language, ranked by NPS.
    let countries = &summary["nps_by"][0]["groups"];
    let names: Vec<&str> = countries
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["label"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Côte d'Ivoire") && names.contains(&"Guinée-Bissau"),
        "{names:?}"
    );
    // Short labels from the form.
    let sat: Vec<&str> = summary["satisfaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert!(
        sat.contains(&"Réseau") && sat.contains(&"Service client"),
        "{sat:?}"
    );
    // The exports' codebook carries the short labels too.
    let dict = get_bytes(&srv, "/api/v1/export/csv?part=dictionary&lang=fr").await;
    let mut rd = csv::Reader::from_reader(dict.as_slice());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let short = |col: &str| {
        rows.iter().find(|r| &r[at("column")] == col).unwrap()[at("short_label")].to_owned()
    };
    assert_eq!(short("sat_network"), "Réseau");
    assert_eq!(
        short("complaint_root_cause__it"),
        "Causes profondes: Systèmes informatiques (facturation, applications, plateformes)"
    );
    // Drivers: each root cause and touchpoint, the heaviest first.
    let drivers = summary["drivers"].as_array().unwrap();
    assert!(drivers.iter().any(|d| d["kind"] == "root_cause"));
    assert!(drivers.iter().any(|d| d["kind"] == "touchpoint"));

    // A filtered report, rejected interviews counted, recomputed the same way.
    let summary: Value = serde_json::from_slice(
        &get_bytes(&srv, "/api/v1/report?format=json&lang=ar&segment=individual,business&include_rejected=true&review_state=approved,none,rejected").await,
    )
    .unwrap();
    let r = recompute(
        dir.path(),
        &parquet,
        &summary,
        json!({
            "campaign": "mcmb-2026", "segments": ["individual", "business"],
            "include_rejected": true, "review_states": ["approved", "none", "rejected"], "min_n": 30
        }),
    );
    assert_eq!(r["mismatches"], json!([]), "{r}");
    assert!(summary["interviews"].as_u64().unwrap() < counts["counted"] as u64);
    // Bad filters are named.
    let (st, e) = api(
        &srv.url,
        &srv.admin_token,
        "GET",
        "/api/v1/report?format=json&from=28-11-2026",
        None,
    )
    .await;
    assert_eq!(st, 400);
    assert!(e["error"].as_str().unwrap().contains("from"), "{e}");
    let (st, e) = api(
        &srv.url,
        &srv.admin_token,
        "GET",
        "/api/v1/report?format=json&review_state=maybe",
        None,
    )
    .await;
    assert_eq!(st, 400, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_prints_to_pdf_in_four_languages() {
    fieldvoice_tests::skip_unless!(fieldvoice_tests::needs::Need::Chromium);
    let srv = TestServer::start().await;
    srv.mcmb_v2_campaign().await;
    campaign(&srv, 300).await;
    let db = srv.dir.path().join("server.sqlite3");
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for lang in ["fr", "ar", "en", "pt"] {
        let html = dir.path().join(format!("report-{lang}.html"));
        let pdf = dir.path().join(format!("report-{lang}.pdf"));
        let out = Command::new(server_binary())
            .arg("--database")
            .arg(&db)
            .args(["report", "--lang", lang, "--out"])
            .arg(&html)
            .arg("--pdf")
            .arg(&pdf)
            .env("FIELDVOICE_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF"), "{lang}: a PDF");
        // Read it back as images, as a person would look at it.
        let prefix = dir.path().join(format!("page-{lang}"));
        let st = Command::new("pdftoppm")
            .args(["-r", "60", "-png"])
            .arg(&pdf)
            .arg(&prefix)
            .status()
            .expect("pdftoppm (poppler-utils)");
        assert!(st.success());
        let mut pages: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("page-{lang}"))
            })
            .collect();
        pages.sort();
        assert!(pages.len() >= 2, "{lang}: {} A4 pages", pages.len());
        for (i, p) in pages.iter().enumerate().take(2) {
            let png = std::fs::read(p).unwrap();
            assert!(
                png.starts_with(b"\x89PNG") && png.len() > 5_000,
                "{lang} page {i}"
            );
            std::fs::write(shots.join(format!("report-pdf-{lang}-{}.png", i + 1)), png).unwrap();
        }
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.contains(&format!(
            "<html lang=\"{lang}\" dir=\"{}\"",
            if lang == "ar" { "rtl" } else { "ltr" }
        )));
        fieldvoice_tests::report(&format!("report_pdf_pages_{lang}"), pages.len() as u64);
    }
}
