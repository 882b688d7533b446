//! Hackathon actions over real HTTP, on SQLite and PostgreSQL: interviews of
//! last year's campaign and this year's (through the real merge), an
//! analyst's action with its evidence, the rules (root causes of the form,
//! evidence of the country, dates, versions), country scoping, progress
//! notes, the `action.updated` webhook events; then the report's root causes
//! per campaign against an independent recomputation, with the actions next
//! to them (year over year), and `actions.csv` read back with a CSV reader.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use central_store::Role;
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::dashboard::push_submitted_in;
use fieldvoice_tests::server::{TestServer, api};
use serde_json::json;

/// (campaign, NPS, root causes) of each interview seeded.
const SEEDED: [(&str, i64, &[&str]); 9] = [
    ("mcmb-2025", 2, &["network"]),
    ("mcmb-2025", 3, &["network"]),
    ("mcmb-2025", 9, &["network"]),
    ("mcmb-2025", 5, &["it"]),
    ("mcmb-2026", 4, &["network"]),
    ("mcmb-2026", 2, &["it"]),
    ("mcmb-2026", 6, &["it", "network"]),
    ("mcmb-2026", 10, &["it"]),
    ("mcmb-2026", 8, &["operations"]),
];

/// The expected figures, recomputed from [`SEEDED`]: per campaign, per
/// cause, (count, share of the campaign's interviews with a cause, NPS).
fn recompute() -> BTreeMap<String, BTreeMap<String, (u64, f64, f64)>> {
    let mut out = BTreeMap::new();
    for campaign in ["mcmb-2025", "mcmb-2026"] {
        let rows: Vec<_> = SEEDED.iter().filter(|r| r.0 == campaign).collect();
        let respondents = rows.len() as f64;
        let mut causes: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (_, nps, cs) in &rows {
            for c in *cs {
                causes.entry((*c).to_owned()).or_default().push(*nps);
            }
        }
        let figures = causes
            .into_iter()
            .map(|(c, scores)| {
                let n = scores.len() as f64;
                let pro = scores.iter().filter(|s| **s >= 9).count() as f64;
                let det = scores.iter().filter(|s| **s <= 6).count() as f64;
                (
                    c,
                    (
                        scores.len() as u64,
                        n / respondents,
                        100.0 * (pro - det) / n,
                    ),
                )
            })
            .collect();
        out.insert(campaign.to_owned(), figures);
    }
    out
}

async fn run(pg: bool) {
    let (srv, _db) = TestServer::on_backend(pg).await;
    let url = srv.url.clone();
    let (_, coord) = srv.token_for("coord.ci", Role::Coordinator, "CI");
    let (analyst, analyst_token) = srv.token_for("analyst.ci", Role::Analyst, "CI");
    let (_, analyst_sn) = srv.token_for("analyst.sn", Role::Analyst, "SN");
    let (_, agent) = srv.token_for("agent.ci", Role::Agent, "CI");
    let (emp, _) = srv.user_with_code("awa", Role::Employee, "CI");
    let (emp_sn, _) = srv.user_with_code("fatou", Role::Employee, "SN");
    let mut this_year_it = Vec::new();
    for (campaign, nps, causes) in SEEDED {
        let answers = survey_model::sample::with(
            complete_answers(nps),
            &[("complaint_root_cause", json!(causes))],
        );
        let id = push_submitted_in(&srv, &emp, campaign, "2026-11-30T09:00:00Z", &answers);
        if campaign == "mcmb-2026" && causes.contains(&"it") {
            this_year_it.push(id.to_string());
        }
    }
    let sn_id = push_submitted_in(
        &srv,
        &emp_sn,
        "mcmb-2026",
        "2026-11-30T09:00:00Z",
        &complete_answers(3),
    );
    // A receiver for action events (down: the log is what is checked).
    let (st, hook) = api(
        &url,
        &srv.admin_token,
        "POST",
        "/api/v1/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/actions", "events": ["action.updated"]})),
    )
    .await;
    assert_eq!(st, 201, "{hook}");

    // The analyst records an action with two interviews as evidence.
    let new = json!({
        "country": "CI",
        "title": "Migrer la facturation vers la nouvelle plateforme",
        "description": "Les erreurs de facturation viennent de l'ancien système.",
        "root_causes": ["it"],
        "themes": ["facturation", "factures erronées"],
        "evidence": [this_year_it[0], this_year_it[1]],
        "owner": "DSI Côte d'Ivoire",
        "due_date": "2027-03-31",
        "expected_effect": "Part des causes IT sous 30 % en 2027",
    });
    let (st, a) = api(
        &url,
        &analyst_token,
        "POST",
        "/api/v1/actions",
        Some(new.clone()),
    )
    .await;
    assert_eq!(st, 201, "{a}");
    assert_eq!(
        (
            a["campaign"].as_str(),
            a["status"].as_str(),
            a["version"].as_i64()
        ),
        (Some("mcmb-2026"), Some("planned"), Some(1))
    );
    assert_eq!(a["created_by"], json!(analyst.id));
    let id = a["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/actions/{id}");

    // The rules, each named.
    for (change, says) in [
        (json!({"root_causes": ["weather"]}), "root cause"),
        (
            json!({"evidence": [uuid::Uuid::new_v4().to_string()]}),
            "evidence",
        ),
        (json!({"evidence": [sn_id.to_string()]}), "evidence"),
        (json!({"due_date": "2027-02-30"}), "due_date"),
        (json!({"title": "  "}), "title"),
        (json!({"status": "finished"}), "status"),
    ] {
        let mut body = new.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (st, e) = api(&url, &analyst_token, "POST", "/api/v1/actions", Some(body)).await;
        assert_eq!(st, 400, "{change}: {e}");
        assert!(e["error"].as_str().unwrap().contains(says), "{e}");
    }
    // Other countries' teams and agents neither write nor see it.
    let (st, _) = api(
        &url,
        &analyst_sn,
        "POST",
        "/api/v1/actions",
        Some(new.clone()),
    )
    .await;
    assert_eq!(st, 403);
    assert_eq!(api(&url, &analyst_sn, "GET", &path, None).await.0, 404);
    let (_, sn_list) = api(&url, &analyst_sn, "GET", "/api/v1/actions", None).await;
    assert_eq!(sn_list, json!([]));
    assert_eq!(
        api(&url, &agent, "GET", "/api/v1/actions", None).await.0,
        403
    );

    // The coordinator moves it on with a progress note; a stale version is refused.
    let (st, moved) = api(
        &url,
        &coord,
        "POST",
        &path,
        Some(json!({"version": 1, "status": "in_progress", "note": "Cahier des charges validé"})),
    )
    .await;
    assert_eq!(st, 200, "{moved}");
    assert_eq!(moved["version"], 2);
    let (st, _) = api(
        &url,
        &coord,
        "POST",
        &path,
        Some(json!({"version": 1, "status": "done"})),
    )
    .await;
    assert_eq!(st, 409);
    let (_, view) = api(&url, &analyst_token, "GET", &path, None).await;
    assert_eq!(view["status"], "in_progress");
    assert_eq!(view["notes"][0]["text"], "Cahier des charges validé");
    // Last year's action on the network, done.
    let mut old = new.clone();
    old["title"] = json!("=HYPERLINK(\"http://x\")Antennes Bouaké nord");
    old["root_causes"] = json!(["network"]);
    old["evidence"] = json!([]);
    old["status"] = json!("done");
    let (st, _) = api(&url, &coord, "POST", "/api/v1/actions", Some(old)).await;
    assert_eq!(st, 201);
    let (_, list) = api(&url, &analyst_token, "GET", "/api/v1/actions", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Each write is an action.updated event for the hook.
    let hook_id = hook["id"].as_str().unwrap();
    let events = srv.state.store.deliveries(hook_id, None, 100).unwrap();
    assert_eq!(events.len(), 3, "created, moved, created");
    assert!(events.iter().all(|d| d.kind == "action.updated"));
    assert_eq!(events.iter().filter(|d| d.subject == id).count(), 2);

    // The report: root causes per campaign as recomputed, actions beside them.
    let (st, report) = api(
        &url,
        &analyst_token,
        "GET",
        "/api/v1/report?country=CI&format=json",
        None,
    )
    .await;
    assert_eq!(st, 200, "{report}");
    let want = recompute();
    let by_campaign = report["by_campaign"].as_array().unwrap();
    assert_eq!(by_campaign.len(), 2);
    for c in by_campaign {
        let campaign = c["campaign"].as_str().unwrap();
        let expected = &want[campaign];
        let causes = c["causes"].as_array().unwrap();
        assert_eq!(causes.len(), expected.len(), "{campaign}");
        for cause in causes {
            let (count, share, nps) = expected[cause["value"].as_str().unwrap()];
            assert_eq!(cause["count"].as_u64(), Some(count), "{cause}");
            assert!(
                (cause["share"].as_f64().unwrap() - share).abs() < 1e-9,
                "{cause}"
            );
            assert!(
                (cause["nps"]["nps"].as_f64().unwrap() - nps).abs() < 1e-9,
                "{cause}"
            );
        }
    }
    assert_eq!(report["actions"].as_array().unwrap().len(), 2);
    let r = reqwest::Client::new()
        .get(format!("{url}/api/v1/report?country=CI&lang=fr"))
        .bearer_auth(&analyst_token)
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    let section = html
        .split("Causes profondes et actions")
        .nth(1)
        .expect("the root causes and actions section");
    for shown in [
        "Migrer la facturation",
        "en cours",
        "mcmb-2025 (campagne précédente)",
        "Antennes Bouaké nord",
        "Aucune action",
    ] {
        assert!(section.contains(shown), "{shown} in the report");
    }

    // actions.csv beside the dataset, read back with a CSV reader.
    let r = reqwest::Client::new()
        .get(format!("{url}/api/v1/export/csv?country=CI&part=actions"))
        .bearer_auth(&analyst_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    let mut rd = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, export::actions::HEADER);
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let ours = rows
        .iter()
        .find(|r| &r[col("action_id")] == id.as_str())
        .unwrap();
    assert_eq!(&ours[col("evidence_count")], "2");
    assert_eq!(&ours[col("root_causes")], "it");
    assert_eq!(&ours[col("status")], "in_progress");
    assert!(ours[col("evidence")].contains(&this_year_it[0]));
    let other = rows
        .iter()
        .find(|r| &r[col("action_id")] != id.as_str())
        .unwrap();
    assert!(
        !other[col("title")].starts_with('='),
        "a formula is neutralised: {}",
        &other[col("title")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hackathon_actions_on_sqlite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hackathon_actions_on_postgres() {
    run(true).await;
}
