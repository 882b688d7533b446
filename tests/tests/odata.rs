//! The OData v4 feed, end to end over loopback HTTP on a real SQLite store:
//! a real OData client (python-odata, `tests/python/odata_client.py`)
//! reflects `$metadata`, authenticates with HTTP Basic and an API token as
//! Power BI does, pages, filters, selects and counts; hand-written requests
//! check the paging links, the country scope, the base rule and the errors.
#![allow(clippy::unwrap_used)]

use central_store::Role;
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::dashboard::{push_interview, push_submitted};
use fieldvoice_tests::server::TestServer;
use serde_json::{Value, json};

fn basic(token: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("excel:{token}"))
    )
}

async fn get(
    url: &str,
    auth: Option<&str>,
    prefer: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(p) = prefer {
        req = req.header("prefer", p);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odata_clients_page_filter_select_and_count_the_callers_interviews() {
    let srv = TestServer::start().await;
    let (emp_ci, _) = srv.user_with_code("emp.ci", Role::Employee, "CI");
    let (emp_sn, _) = srv.user_with_code("emp.sn", Role::Employee, "SN");
    let mut expected = Vec::new();
    for i in 0..23i64 {
        let nps = i % 11;
        let id = push_submitted(
            &srv,
            &emp_ci,
            &format!("2026-11-30T{:02}:{:02}:00Z", 8 + i / 6, i % 60),
            &complete_answers(nps),
        );
        expected.push(json!({"interview_id": id.to_string(), "nps": nps, "country": "CI"}));
    }
    for i in 0..4 {
        push_submitted(&srv, &emp_sn, "2026-11-30T10:00:00Z", &complete_answers(i));
    }
    // Outside the base: a draft, and one without consent.
    push_interview(&srv, &emp_ci, "2026-11-30T11:00:00Z", &complete_answers(5));
    push_submitted(
        &srv,
        &emp_ci,
        "2026-11-30T11:05:00Z",
        &[("consent", json!(false))],
    );
    let (_, analyst_ci) = srv.token_for("analyst.ci", Role::Analyst, "CI");
    let (_, agent) = srv.token_for("agent.ci", Role::Agent, "CI");
    let root = format!("{}/api/v1/odata", srv.url);
    let auth = basic(&analyst_ci);

    // The service document and the metadata.
    let (st, h, body) = get(&root, Some(&auth), None).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(h["odata-version"], "4.0");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["value"][0]["url"], "Interviews");
    let (st, h, xml) = get(&format!("{root}/$metadata"), Some(&auth), None).await;
    assert_eq!(st, 200);
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    assert!(xml.contains("<EntitySet Name=\"Interviews\" EntityType=\"fieldvoice.Interview\"/>"));
    assert!(xml.contains("<Property Name=\"submitted_at\" Type=\"Edm.DateTimeOffset\">"));
    assert!(!xml.contains("customer_phone"), "PII is not in the feed");

    // Server-driven paging: pages of 5, every row once, in id order.
    let mut want: Vec<String> = expected
        .iter()
        .map(|e| e["interview_id"].as_str().unwrap().to_owned())
        .collect();
    want.sort();
    let mut url = format!("{root}/Interviews?$count=true&$select=interview_id,nps,country");
    let (mut got, mut pages) = (Vec::new(), 0);
    loop {
        let (st, h, body) = get(&url, Some(&auth), Some("odata.maxpagesize=5")).await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(h["preference-applied"], "odata.maxpagesize=5");
        let page: Value = serde_json::from_str(&body).unwrap();
        if pages == 0 {
            assert_eq!(page["@odata.count"], 23, "count of the whole result");
            assert!(
                page["@odata.context"]
                    .as_str()
                    .unwrap()
                    .ends_with("$metadata#Interviews(interview_id,nps,country)")
            );
        }
        pages += 1;
        for row in page["value"].as_array().unwrap() {
            assert_eq!(row.as_object().unwrap().len(), 3, "$select: {row}");
            assert_eq!(row["country"], "CI", "the analyst's country only");
            got.push(row["interview_id"].as_str().unwrap().to_owned());
        }
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with(&root) && next.contains("$skiptoken="),
                    "{next}"
                );
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(got, want, "drafts and refusals are not in the feed");
    assert_eq!(pages, 5, "23 rows in pages of 5");

    // $top across pages: the link carries what is left.
    let (_, _, body) = get(
        &format!("{root}/Interviews?$top=7&$select=interview_id"),
        Some(&auth),
        Some("odata.maxpagesize=5"),
    )
    .await;
    let page: Value = serde_json::from_str(&body).unwrap();
    let next = page["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.contains("%24top=2") || next.contains("$top=2"),
        "{next}"
    );
    let (_, _, body) = get(next, Some(&auth), None).await;
    let rest: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rest["value"].as_array().unwrap().len(), 2);
    assert!(rest.get("@odata.nextLink").is_none());

    // $filter on ranges and equality; $count as text.
    let (st, _, n) = get(
        &format!("{root}/Interviews/$count?$filter=nps%20ge%209%20and%20country%20eq%20'CI'"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(st, 200);
    let promoters = expected
        .iter()
        .filter(|e| e["nps"].as_i64().unwrap() >= 9)
        .count();
    assert_eq!(n.parse::<usize>().unwrap(), promoters);
    let (_, _, n) = get(
        &format!("{root}/Interviews/$count?$filter=country%20eq%20'SN'"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(
        n, "0",
        "another country's rows stay out even when asked for"
    );
    let (_, _, n) = get(
        &format!("{root}/Interviews/$count?$filter=created_at%20lt%202026-11-30T09:00:00Z"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(
        n.parse::<usize>().unwrap(),
        6,
        "interviews started before 09:00"
    );

    // Errors in the OData error format.
    for (query, says) in [
        ("$filter=nps%20ge%20'high'", "Edm.Int64"),
        ("$filter=unknown%20eq%201", "no property"),
        ("$expand=Places", "not supported"),
        ("$top=-3", "$top"),
        ("$skiptoken=forged", "$skiptoken"),
        ("$select=customer_phone", "no property `customer_phone`"),
    ] {
        let (st, h, body) = get(&format!("{root}/Interviews?{query}"), Some(&auth), None).await;
        assert_eq!(st, 400, "{query}: {body}");
        assert_eq!(h["odata-version"], "4.0");
        let e: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(e["error"]["code"], "400");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
    let (st, h, body) = get(&format!("{root}/Interviews"), None, None).await;
    assert_eq!(st, 401, "{body}");
    assert!(
        h["www-authenticate"].to_str().unwrap().starts_with("Basic"),
        "Excel and Power BI prompt for Basic credentials"
    );
    let (st, _, _) = get(
        &format!("{root}/Interviews"),
        Some(&basic("fva_not-a-token")),
        None,
    )
    .await;
    assert_eq!(st, 401);
    let (st, _, body) = get(&format!("{root}/Interviews"), Some(&basic(&agent)), None).await;
    assert_eq!(st, 403, "care agents do not export: {body}");

    // A real OData client.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("expected.json");
    std::fs::write(&path, serde_json::to_vec(&expected).unwrap()).unwrap();
    if let Some(out) = fieldvoice_tests::needs::run_python(
        "odata_client.py",
        &[root.as_str(), analyst_ci.as_str(), path.to_str().unwrap()],
    ) {
        let out = String::from_utf8_lossy(&out);
        assert!(out.contains("checks passed on 23 rows"), "{out}");
    }
}
