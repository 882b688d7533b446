//! Erasure of a customer's personal data, end to end over real HTTP: an admin
//! erases the PII of one interview that two devices of its interviewer hold —
//! one online, one offline with unsynced edits. After they sync, no device
//! store, no server table, no backup, no export and no report holds the
//! erased values (read as bytes and as every value the documents' histories
//! ever held), while the offline device's non-PII edits survive and its
//! offline edit of an erased answer does not.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use automerge::{AutoCommit, ROOT, ReadDoc};
use central_store::{Role, SqliteStore};
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::server::{Device, TestServer, api};
use serde_json::json;

const NAME: &str = "Mariam Sangaré-Kouyaté";
const PHONE: &str = "+225 07 48 15 16 23";
/// What the offline device types into the phone answer before it learns of
/// the erasure: it must not come back either.
const PHONE_OFFLINE: &str = "+225 01 93 93 93 93";
/// Substrings that give the values away (ASCII, so they match raw bytes).
const NEEDLES: [&str; 4] = ["Sangar", "Kouyat", "48 15 16 23", "93 93 93 93"];

/// Where a needle was found: "table.column (how)".
type Hits = Vec<String>;

fn hits_in_text(text: &str, place: &str, hits: &mut Hits) {
    for n in NEEDLES {
        if text.contains(n) {
            hits.push(format!("{place}: {n}"));
        }
    }
}

/// Every value an Automerge document ever held: its state after each change.
fn history_text(doc: &mut AutoCommit) -> String {
    let hashes: Vec<_> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
    hashes
        .iter()
        .map(|h| format!("{:?}", doc.hydrate(ROOT, Some(&[*h])).unwrap()))
        .collect()
}

/// Collects where the needles appear among a store's values: text as text,
/// blobs raw and, when they are Automerge documents or changes, in every
/// value of their history (changes of one table are loaded together).
#[derive(Default)]
struct Scanner {
    hits: Hits,
    pools: std::collections::BTreeMap<String, AutoCommit>,
}

impl Scanner {
    fn text(&mut self, place: &str, text: &str) {
        hits_in_text(text, place, &mut self.hits);
    }

    fn blob(&mut self, table: &str, place: &str, b: &[u8]) {
        hits_in_text(&String::from_utf8_lossy(b), place, &mut self.hits);
        if let Ok(mut doc) = AutoCommit::load(b) {
            let h = history_text(&mut doc);
            hits_in_text(&h, &format!("{place} (document history)"), &mut self.hits);
        } else {
            let pool = self.pools.entry(table.to_owned()).or_default();
            let _ = pool.load_incremental(b);
        }
    }

    fn finish(mut self) -> Hits {
        for (table, pool) in &mut self.pools {
            let h = history_text(pool);
            hits_in_text(&h, &format!("{table} (changes)"), &mut self.hits);
        }
        self.hits
    }
}

/// Every table of a SQLite file, then the raw bytes of the file and its WAL.
fn scan_sqlite(path: &Path, label: &str) -> Hits {
    let mut scan = Scanner::default();
    {
        let c =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for t in tables {
            let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let cols: Vec<String> = st.column_names().map(str::to_owned).collect();
            let mut rows = st.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                for (i, col) in cols.iter().enumerate() {
                    let place = format!("{label} {t}.{col}");
                    match row.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(b) => {
                            scan.text(&place, &String::from_utf8_lossy(b))
                        }
                        rusqlite::types::ValueRef::Blob(b) => {
                            scan.blob(&format!("{label} {t}"), &place, b)
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for side in ["", "-wal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(side);
        if let Ok(bytes) = std::fs::read(&p) {
            scan.text(
                &format!("{label} file{side} bytes"),
                &String::from_utf8_lossy(&bytes),
            );
        }
    }
    scan.finish()
}

/// Every column of every table of a PostgreSQL database: `bytea` as blobs,
/// everything else as its text.
async fn scan_pg(url: &str) -> Hits {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let cols = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .unwrap();
    let mut scan = Scanner::default();
    for c in cols {
        let (t, col, ty): (String, String, String) = (c.get(0), c.get(1), c.get(2));
        let place = format!("postgres {t}.{col}");
        if ty == "bytea" {
            for r in client
                .query(
                    &format!("SELECT \"{col}\" FROM \"{t}\" WHERE \"{col}\" IS NOT NULL"),
                    &[],
                )
                .await
                .unwrap()
            {
                let b: Vec<u8> = r.get(0);
                scan.blob(&format!("postgres {t}"), &place, &b);
            }
        } else {
            for r in client
                .query(
                    &format!("SELECT \"{col}\"::text FROM \"{t}\" WHERE \"{col}\" IS NOT NULL"),
                    &[],
                )
                .await
                .unwrap()
            {
                let v: String = r.get(0);
                scan.text(&place, &v);
            }
        }
    }
    scan.finish()
}

/// The server's store, whichever backend.
async fn scan_server(srv: &TestServer, db: Option<&fieldvoice_tests::pg::TestDb>) -> Hits {
    match db {
        Some(db) => scan_pg(&db.url).await,
        None => scan_sqlite(&srv.dir.path().join("server.sqlite3"), "server"),
    }
}

fn fill(dev: &Device) -> uuid::Uuid {
    let mut answers: Vec<(&str, serde_json::Value)> = complete_answers(5)
        .into_iter()
        .filter(|(k, _)| !["customer_name", "customer_phone"].contains(k))
        .collect();
    answers.push(("customer_name", json!(NAME)));
    answers.push(("customer_phone", json!(PHONE)));
    dev.submit(&answers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_pii_leaves_every_device_table_backup_export_and_report_and_offline_edits_survive() {
    two_devices_one_offline(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_pii_leaves_every_postgresql_table_too() {
    two_devices_one_offline(true).await;
}

async fn two_devices_one_offline(pg: bool) {
    let (srv, db) = TestServer::on_backend(pg).await;
    let (_emp, code_a) = srv.user_with_code("emp.erase", Role::Employee, "CI");
    let (_, coord) = srv.token_for("coord.erase", Role::Coordinator, "CI");
    let phone = srv.device("phone", &code_a).await;
    let emp_id = phone.lock().enrollment().unwrap().unwrap().user_id;
    let tablet = srv.another_device_of(&phone, "tablet").await;

    // The phone records the interview; both devices hold it.
    let id = fill(&phone);
    let other = fill(&phone); // another customer's interview, left alone
    assert_eq!(phone.sync().await.unwrap().docs_acknowledged, 2);
    tablet.sync().await.unwrap();
    assert!(tablet.lock().load(id).is_ok());
    let server_db = srv.dir.path().join("server.sqlite3");

    // Control: before the erasure every scanner finds the values.
    let before = scan_server(&srv, db.as_ref()).await;
    assert!(
        before.iter().any(|h| h.contains("Sangar")),
        "control: {before:?}"
    );
    assert!(
        scan_sqlite(&tablet.path, "tablet")
            .iter()
            .any(|h| h.contains("Sangar"))
    );

    // Offline, unaware of what is coming, the tablet edits on: a new NPS, a
    // comment, and a corrected phone number (an erased answer).
    {
        let mut s = tablet.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        let mut iv = s.load(id).unwrap();
        iv.set_answer_json(&form, "nps", &json!(2)).unwrap();
        iv.set_answer_json(&form, "customer_phone", &json!(PHONE_OFFLINE))
            .unwrap();
        iv.add_comment(&emp_id, "User emp.erase", "employee", "rappeler après 18 h")
            .unwrap();
        s.save(&mut iv, Some(&form)).unwrap();
    }

    // Only an admin erases; the coordinator is refused.
    let body = json!({"scope": "pii"});
    let (st, v) = api(
        &srv.url,
        &coord,
        "POST",
        &format!("/api/v1/interviews/{id}/erase"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = api(
        &srv.url,
        &srv.admin_token,
        "POST",
        &format!("/api/v1/interviews/{id}/erase"),
        Some(json!({"scope": "everything"})),
    )
    .await;
    assert!(
        v["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{st} {v}"
    );
    assert_eq!(st, 422, "{v}");
    let (st, v) = api(
        &srv.url,
        &srv.admin_token,
        "POST",
        &format!("/api/v1/interviews/{id}/erase"),
        Some(body),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let erased: Vec<&str> = v["erased"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    for q in ["customer_name", "customer_phone"] {
        assert!(erased.contains(&q), "{q} erased: {v}");
    }

    // The phone (online) gets the new document; the tablet pushes its old
    // one, is told it was replaced, rebases its edits and resends them.
    let r = phone.sync().await.unwrap();
    assert_eq!(r.documents_replaced, 1, "{r:?}");
    let r = tablet.sync().await.unwrap();
    assert_eq!(r.documents_replaced, 1, "{r:?}");
    assert!(r.docs_rejected.is_empty(), "{r:?}");
    // And the phone gets the tablet's rebased edits as plain changes.
    phone.sync().await.unwrap();

    // The offline non-PII edits survive everywhere; the erased answers, and
    // the tablet's offline write to one of them, do not.
    let rec = srv.state.store.interview(id).unwrap().unwrap();
    assert_eq!(rec.answer_i64("nps"), Some(2), "the tablet's NPS survives");
    assert_eq!(rec.comment_count, 1, "the tablet's comment survives");
    assert!(!rec.answers.contains_key("customer_name"));
    assert!(!rec.answers.contains_key("customer_phone"));
    assert_eq!(
        rec.answer_str("city"),
        srv.state
            .store
            .interview(other)
            .unwrap()
            .unwrap()
            .answer_str("city")
    );
    for dev in [&phone, &tablet] {
        let s = dev.lock();
        let form = s.form("mcmb-interview", None).unwrap();
        let r = s.load(id).unwrap().project(Some(&form));
        assert_eq!(r.answer_i64("nps"), Some(2));
        assert_eq!(r.comment_count, 1);
        assert!(!r.answers.contains_key("customer_phone"));
        assert!(s.pending(10).unwrap().is_empty(), "nothing left to send");
    }
    // The other interview still has its customer's name.
    assert!(
        srv.state
            .store
            .interview(other)
            .unwrap()
            .unwrap()
            .answer_str("customer_name")
            .is_some_and(|n| n == NAME)
    );

    // No trace: server tables and files, a backup made now, both devices.
    let on_server: Hits = scan_server(&srv, db.as_ref()).await;
    // The other interview keeps its (identical) name: only count traces
    // outside its rows by erasing it too, then scanning again.
    let (st, v) = api(
        &srv.url,
        &srv.admin_token,
        "POST",
        &format!("/api/v1/interviews/{other}/erase"),
        Some(json!({"scope": "interview"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert!(
        !on_server.is_empty(),
        "control: the other interview still holds the name"
    );
    let after = scan_server(&srv, db.as_ref()).await;
    assert_eq!(after, Hits::new(), "server after erasure");
    if !pg {
        let backup = srv.dir.path().join("backup.sqlite3");
        SqliteStore::backup(&server_db, &backup).unwrap();
        assert_eq!(scan_sqlite(&backup, "backup"), Hits::new());
    }
    phone.sync().await.unwrap();
    tablet.sync().await.unwrap();
    for dev in [&phone, &tablet] {
        let path = dev.path.clone();
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(scan_sqlite(&path, &label), Hits::new());
    }

    // Exports (even with PII included) and the report.
    for path in [
        "/api/v1/export/csv?pii=include",
        "/api/v1/export/jsonl?pii=include&include_drafts=true&include_rejected=true",
        "/api/v1/report?format=json",
        "/api/v1/report",
    ] {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", srv.url))
            .bearer_auth(&srv.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let text = resp.text().await.unwrap();
        let mut hits = Hits::new();
        hits_in_text(&text, path, &mut hits);
        assert_eq!(hits, Hits::new());
    }

    // The audit log names who erased which questions, never the values.
    let audit = srv.state.store.audit_log(100).unwrap();
    let erasures: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "interview.erased")
        .collect();
    assert_eq!(erasures.len(), 2);
    assert!(
        erasures
            .iter()
            .any(|e| e.target == id.to_string() && e.detail.contains("customer_phone"))
    );
    let mut hits = Hits::new();
    hits_in_text(&format!("{audit:?}"), "audit", &mut hits);
    assert_eq!(hits, Hits::new());
}

/// Run `fieldvoice-server admin retention` with a configuration whose one
/// campaign ended `ended_days_ago` days ago and keeps personal data
/// `pii_days` days.
fn retention_cli(
    db: &Path,
    dir: &Path,
    ended_days_ago: i64,
    pii_days: u64,
    dry_run: bool,
) -> String {
    let ended = (time::OffsetDateTime::now_utc() - time::Duration::days(ended_days_ago)).date();
    let cfg = dir.join(format!("retention-{ended_days_ago}-{pii_days}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "[[retention]]\ncampaign = \"mcmb-2026\"\nended = \"{ended}\"\npii_days = {pii_days}\n"
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(fieldvoice_tests::server::server_binary());
    cmd.arg("--config")
        .arg(&cfg)
        .arg("--database")
        .arg(db)
        .args(["admin", "retention"]);
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_past_its_retention_period_loses_its_personal_data_after_a_dry_run() {
    let srv = TestServer::start().await;
    let (_emp, code) = srv.user_with_code("emp.retention", Role::Employee, "CI");
    let phone = srv.device("phone", &code).await;
    let ids: Vec<_> = (0..3).map(|_| fill(&phone)).collect();
    assert_eq!(phone.sync().await.unwrap().docs_acknowledged, 3);
    let db = srv.dir.path().join("server.sqlite3");
    let holds_name = |id: &uuid::Uuid| {
        srv.state
            .store
            .interview(*id)
            .unwrap()
            .unwrap()
            .answer_str("customer_name")
            .is_some()
    };

    // Not due yet: the dry run says when, and how much.
    let out = retention_cli(&db, srv.dir.path(), 10, 365, true);
    assert!(out.contains("campaign mcmb-2026"), "{out}");
    assert!(
        out.contains("3 interviews hold 6 PII answers (customer_name, customer_phone)"),
        "{out}"
    );
    assert!(out.contains("by country: CI 3"), "{out}");
    assert!(out.contains("not due yet"), "{out}");
    // Due: the dry run changes nothing.
    let out = retention_cli(&db, srv.dir.path(), 100, 90, true);
    assert!(
        out.contains("due now: 3 interviews would be erased (dry run, nothing changed)"),
        "{out}"
    );
    assert!(ids.iter().all(holds_name), "a dry run erases nothing");
    assert!(!scan_sqlite(&db, "server").is_empty(), "control");

    // The real run erases every interview's PII, by rewrite; a second run
    // finds nothing left.
    let out = retention_cli(&db, srv.dir.path(), 100, 90, false);
    assert!(out.contains("erased: 3 interviews"), "{out}");
    assert!(!ids.iter().any(holds_name));
    let out = retention_cli(&db, srv.dir.path(), 100, 90, false);
    assert!(
        out.contains("0 interviews hold 0 PII answers") && out.contains("erased: 0"),
        "{out}"
    );
    assert_eq!(scan_sqlite(&db, "server"), Hits::new());
    let audit = srv.state.store.audit_log(100).unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "interview.erased" && e.detail.contains("scope=retention"))
            .count(),
        3
    );
    // The phone replaces its copies; nothing is left on it either.
    let r = phone.sync().await.unwrap();
    assert_eq!(r.documents_replaced, 3, "{r:?}");
    assert_eq!(scan_sqlite(&phone.path, "phone"), Hits::new());
    let s = phone.lock();
    assert_eq!(
        s.count().unwrap(),
        3,
        "the interviews stay, without their PII"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_racing_an_erasure_never_bring_the_values_back_and_keep_their_edits() {
    let srv = TestServer::start().await;
    let (_emp, code) = srv.user_with_code("emp.race", Role::Employee, "CI");
    let phone = srv.device("phone", &code).await;
    let mut ids = Vec::new();
    for round in 0..6i64 {
        let id = fill(&phone);
        phone.sync().await.unwrap();
        // An edit on the phone, pushed while the admin erases.
        {
            let mut s = phone.lock();
            let form = s.form("mcmb-interview", None).unwrap();
            let mut iv = s.load(id).unwrap();
            iv.set_answer_json(&form, "nps", &json!(round)).unwrap();
            s.save(&mut iv, Some(&form)).unwrap();
        }
        let path = format!("/api/v1/interviews/{id}/erase");
        let erase = api(
            &srv.url,
            &srv.admin_token,
            "POST",
            &path,
            Some(json!({"scope": "pii"})),
        );
        let (sync, (st, v)) = tokio::join!(phone.sync(), erase);
        sync.unwrap();
        assert_eq!(st, 200, "{v}");
        ids.push((id, round));
    }
    // Whatever the order each race took, two more rounds settle it.
    phone.sync().await.unwrap();
    phone.sync().await.unwrap();
    for (id, nps) in &ids {
        let rec = srv.state.store.interview(*id).unwrap().unwrap();
        assert_eq!(
            rec.answer_i64("nps"),
            Some(*nps),
            "the racing edit survives"
        );
        assert!(!rec.answers.contains_key("customer_name"));
        assert!(!rec.answers.contains_key("customer_phone"));
    }
    assert!(phone.lock().pending(100).unwrap().is_empty());
    assert_eq!(
        scan_sqlite(&srv.dir.path().join("server.sqlite3"), "server"),
        Hits::new()
    );
    assert_eq!(scan_sqlite(&phone.path, "phone"), Hits::new());
}
