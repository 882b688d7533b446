//! Exports as a hackathon analyst meets them, over loopback HTTP from a real
//! SQLite store: true types in pandas (default and pyarrow dtype backends),
//! pyarrow and DuckDB; labels in French and Arabic; the CSV byte order mark
//! Excel needs; formulas neutralised in CSV and XLSX (checked in openpyxl and
//! by LibreOffice converting the workbook); the missing-value convention;
//! what reviewers did; the base rule with its opt-ins; `removed.csv` of an
//! incremental export; and an export job downloaded in two `Range` pieces.
//! The Python side is `tests/python/check_analyst.py`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use central_store::Role;
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::dashboard::{
    edit_pushed, push_interview, push_submitted, push_submitted_from,
};
use fieldvoice_tests::server::TestServer;
use serde_json::{Value, json};
use uuid::Uuid;

const FORMULA: &str = "=HYPERLINK(\"http://evil.example/x\",\"cliquez\")";
const ARABIC: &str = "الشبكة ضعيفة في المساء والإنترنت بطيء";

async fn get(url: &str, token: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let h = r.headers().clone();
    (s, h, r.bytes().await.unwrap().to_vec())
}

async fn post(url: &str, token: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn save(srv: &TestServer, token: &str, query: &str, to: &Path) -> reqwest::header::HeaderMap {
    let (st, h, body) = get(&format!("{}/api/v1/export/{query}", srv.url), token).await;
    assert_eq!(st, 200, "{query}: {}", String::from_utf8_lossy(&body));
    std::fs::write(to, body).unwrap();
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_get_true_types_labels_review_work_and_removals() {
    let srv = TestServer::start().await;
    let (emp, _) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let (coord_user, coord) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (_, analyst) = srv.token_for("analyst.ci", Role::Analyst, "CI");
    let t = |h: u32| format!("2026-11-30T{h:02}:15:00Z");
    let with = |nps: i64, extra: &[(&'static str, Value)]| {
        survey_model::sample::with(complete_answers(nps), extra)
    };
    let formula = push_submitted(
        &srv,
        &emp,
        &t(8),
        &with(
            9,
            &[("verbatim", json!(FORMULA)), ("segment", json!("business"))],
        ),
    );
    let arabic = push_submitted(
        &srv,
        &emp,
        &t(9),
        &with(
            10,
            &[
                ("verbatim", json!(ARABIC)),
                ("verbatim_language", json!("ar")),
            ],
        ),
    );
    // No complaint: the complaint questions are skipped (not asked).
    let quiet: Vec<(&str, Value)> = complete_answers(7)
        .into_iter()
        .filter(|(q, _)| !q.starts_with("complaint_"))
        .map(|(q, v)| {
            if q == "has_complaint" {
                (q, json!("no"))
            } else {
                (q, v)
            }
        })
        .collect();
    let no_complaint = push_submitted(&srv, &emp, &t(10), &quiet);
    let reviewed = push_submitted(&srv, &emp, &t(11), &with(3, &[]));
    let rejected = push_submitted(&srv, &emp, &t(12), &with(6, &[]));
    let draft = push_interview(&srv, &emp, &t(13), &with(8, &[]));
    let device = Uuid::new_v4();
    let withdrawn = push_submitted_from(&srv, &emp, device, &t(14), &with(8, &[]));
    let iv = |id: Uuid, what: &str| format!("{}/api/v1/interviews/{id}/{what}", srv.url);
    assert_eq!(
        post(
            &iv(reviewed, "review"),
            &coord,
            json!({"state": "approved"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &iv(reviewed, "comments"),
            &coord,
            json!({"text": "Rappeler au +225 07 00 00 00 01, réseau coupé"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &iv(reviewed, "tags"),
            &coord,
            json!({"tag": "root_cause:network"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &iv(rejected, "review"),
            &coord,
            json!({"state": "rejected"})
        )
        .await
        .0,
        200
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Full exports in several shapes.
    let h = save(
        &srv,
        &analyst,
        "csv?excel=true&labels=columns&lang=fr&comments=true",
        &d.join("labels-fr.csv"),
    )
    .await;
    let max_seq: u64 = h["x-fieldvoice-max-seq"].to_str().unwrap().parse().unwrap();
    assert_eq!(
        h["x-fieldvoice-rows"], "5",
        "rejected, draft left out by default"
    );
    save(
        &srv,
        &analyst,
        "csv?lang=ar&labels=values",
        &d.join("values-ar.csv"),
    )
    .await;
    save(&srv, &analyst, "csv", &d.join("plain.csv")).await;
    save(
        &srv,
        &analyst,
        "parquet?comments=true",
        &d.join("interviews.parquet"),
    )
    .await;
    save(
        &srv,
        &analyst,
        "xlsx?lang=ar&labels=columns",
        &d.join("interviews.xlsx"),
    )
    .await;
    save(&srv, &analyst, "geojson", &d.join("interviews.geojson")).await;
    save(
        &srv,
        &analyst,
        "geojson?part=manifest",
        &d.join("geojson-manifest.json"),
    )
    .await;
    save(
        &srv,
        &analyst,
        "csv?part=codebook",
        &d.join("codebook.json"),
    )
    .await;
    save(
        &srv,
        &analyst,
        "csv?part=codebook_csv",
        &d.join("codebook.csv"),
    )
    .await;
    let h = save(
        &srv,
        &analyst,
        "csv?include_rejected=true&include_drafts=true",
        &d.join("all.csv"),
    )
    .await;
    assert_eq!(
        h["x-fieldvoice-rows"], "7",
        "with both opt-ins: rejected and draft too"
    );

    // After the export: one interview is rejected, one loses its consent.
    assert_eq!(
        post(&iv(formula, "review"), &coord, json!({"state": "rejected"}))
            .await
            .0,
        200
    );
    edit_pushed(&srv, &emp, device, withdrawn, &[("consent", json!(false))]);
    let rec = srv.state.store.interview(withdrawn).unwrap().unwrap();
    assert_eq!(
        rec.answers.get("consent"),
        Some(&json!(false)),
        "the device's withdrawal was merged"
    );
    let since = format!("csv?since={max_seq}");
    let h = save(&srv, &analyst, &since, &d.join("delta.csv")).await;
    assert_eq!(h["x-fieldvoice-rows"], "0");
    save(
        &srv,
        &analyst,
        &format!("{since}&part=removed"),
        &d.join("removed.csv"),
    )
    .await;
    let (st, _, body) = get(
        &format!("{}/api/v1/export/csv?part=removed", srv.url),
        &analyst,
    )
    .await;
    assert_eq!(
        st,
        400,
        "removed needs since: {}",
        String::from_utf8_lossy(&body)
    );

    // An export job, downloaded in two Range pieces (a resumed download).
    let (st, job) = post(
        &format!("{}/api/v1/exports", srv.url),
        &analyst,
        json!({"format": "parquet", "comments": true}),
    )
    .await;
    assert_eq!(st, 202, "{job}");
    let status_url = format!("{}/api/v1/exports/{}", srv.url, job["id"].as_str().unwrap());
    let mut status = Value::Null;
    for _ in 0..400 {
        let (_, _, body) = get(&status_url, &analyst).await;
        status = serde_json::from_slice(&body).unwrap();
        if status["state"] == "done" || status["state"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["progress"], 1.0);
    assert_eq!(
        status["manifest"]["rows"], 3,
        "5 counted, then one rejected and one withdrawn: {status}"
    );
    let file = status["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "interviews.parquet")
        .unwrap();
    let url = format!("{}{}", srv.url, file["url"].as_str().unwrap());
    let size = file["bytes"].as_u64().unwrap();
    let client = reqwest::Client::new();
    let part = |range: String| {
        client
            .get(&url)
            .bearer_auth(&analyst)
            .header("range", range)
            .send()
    };
    let first = part(format!("bytes=0-{}", size / 2 - 1)).await.unwrap();
    assert_eq!(first.status().as_u16(), 206);
    let mut bytes = first.bytes().await.unwrap().to_vec();
    let rest = part(format!("bytes={}-", size / 2)).await.unwrap();
    assert_eq!(rest.status().as_u16(), 206);
    assert!(
        rest.headers()["content-range"]
            .to_str()
            .unwrap()
            .ends_with(&format!("/{size}"))
    );
    bytes.extend_from_slice(&rest.bytes().await.unwrap());
    assert_eq!(bytes.len() as u64, size);
    {
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            file["sha256"].as_str().unwrap()
        );
    }
    std::fs::write(d.join("job.parquet"), &bytes).unwrap();
    // Someone else's job is not found.
    let (_, other) = srv.token_for("analyst2.ci", Role::Analyst, "CI");
    assert_eq!(get(&status_url, &other).await.0, 404);

    let expected = json!({
        "formula_id": formula.to_string(), "formula": FORMULA,
        "arabic_id": arabic.to_string(), "arabic": ARABIC,
        "no_complaint_id": no_complaint.to_string(),
        "reviewed_id": reviewed.to_string(), "reviewer_id": coord_user.id,
        "rejected_id": rejected.to_string(), "draft_id": draft.to_string(),
        "withdrawn_id": withdrawn.to_string(),
        "counted": [formula.to_string(), arabic.to_string(), no_complaint.to_string(), reviewed.to_string(), withdrawn.to_string()],
    });
    std::fs::write(
        d.join("expected.json"),
        serde_json::to_vec(&expected).unwrap(),
    )
    .unwrap();
    if let Some(out) = fieldvoice_tests::needs::run_python("check_analyst.py", &[d]) {
        let out = String::from_utf8_lossy(&out);
        assert!(out.contains("checks passed"), "{out}");
    }
    // LibreOffice opens the workbook as a spreadsheet user would.
    if fieldvoice_tests::needs::ready(
        fieldvoice_tests::needs::Need::LibreOffice,
        "analyst_exports (LibreOffice)",
    ) {
        let profile = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(fieldvoice_tests::needs::soffice())
            .arg(format!(
                "-env:UserInstallation=file://{}",
                profile.path().display()
            ))
            .args([
                "--headless",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):44,34,76,1",
                "--outdir",
            ])
            .arg(d.join("lo"))
            .arg(d.join("interviews.xlsx"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(out) =
            fieldvoice_tests::needs::run_python("check_analyst.py", &[d, &d.join("lo")])
        {
            assert!(
                String::from_utf8_lossy(&out).contains("libreoffice"),
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
    }
}
