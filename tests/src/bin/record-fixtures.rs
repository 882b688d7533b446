//! Records the wire fixtures of this release for the compatibility tests
//! (`tests/tests/operations.rs`): a small server store at this release's
//! schema with two employees' interviews, one employee's unused enrollment
//! request, another device's sync request pushing a new interview and an
//! edit, and the tokens they need. Run once per released protocol or schema:
//! `cargo run -p fieldvoice-tests --bin record-fixtures -- tests/fixtures/v1`.
//! Later servers must accept what it wrote, unchanged.

use std::path::PathBuf;
use std::sync::Arc;

use central_store::{CentralStore, Role, SqliteStore};
use fieldvoice_tests::server::{Device, TestServer};
use survey_protocol::{Compression, DocPush, SyncRequest};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let out: PathBuf = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: record-fixtures DIR"))?
        .into();
    std::fs::create_dir_all(&out)?;
    let db = out.join("server.sqlite3");
    anyhow::ensure!(
        !db.exists(),
        "{} exists: record into a new directory",
        db.display()
    );
    let scratch = tempfile::tempdir()?;
    let store: Arc<dyn CentralStore> = Arc::new(SqliteStore::open(&db)?);
    let srv = TestServer::start_on(store, sync_server::Settings::default(), scratch).await;
    // Employee 1 syncs two interviews; its device's next push is recorded.
    let (_, code1) = srv.user_with_code("emp.fixture.1", Role::Employee, "CI");
    let device = Device::enroll(&srv.dir.path().join("dev1.sqlite3"), &srv.url, &code1).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        ids.push(device.submit(&fieldvoice_tests::complete_answers(n * 4)));
    }
    device.sync().await?;
    let docs: Vec<DocPush> = {
        let mut s = device.lock();
        let form = s.form("mcmb-interview", None)?;
        let mut edited = s.load(ids[0])?;
        edited.set_answer_json(&form, "customer_since_years", &serde_json::json!(11))?;
        s.save(&mut edited, Some(&form))?;
        let mut fresh = s.create_interview(&form)?;
        for (k, v) in fieldvoice_tests::complete_answers(9) {
            fresh.set_answer_json(&form, k, &v)?;
        }
        fresh.submit(&form)?;
        s.save(&mut fresh, Some(&form))?;
        // What the phone sends: its pending documents, as sync-client does.
        s.pending(10)?
            .into_iter()
            .map(|p| DocPush {
                doc_id: p.id,
                base_heads: p.base_heads.iter().map(|h| h.0).collect(),
                heads: p.heads.iter().map(|h| h.0).collect(),
                data: p.data,
            })
            .collect()
    };
    anyhow::ensure!(docs.len() == 2, "an edit and a new interview pending");
    let cursor = srv.state.store.stats()?.max_seq;
    let body = survey_protocol::encode(&SyncRequest { cursor, docs }, Compression::Gzip)?;
    std::fs::write(out.join("sync-request.bin"), body)?;
    std::fs::write(out.join("device-token.txt"), device.token())?;
    // Employee 2's code, never used: the enrollment request a phone sends.
    let (u2, code2) = srv.user_with_code("emp.fixture.2", Role::Employee, "CI");
    std::fs::write(
        out.join("enroll-request.json"),
        serde_json::to_string_pretty(&survey_protocol::EnrollRequest {
            code: code2,
            device_label: "Tecno Spark 8".into(),
        })?,
    )?;
    std::fs::write(out.join("admin-token.txt"), &srv.admin_token)?;
    drop(srv);
    // The code lives as long as the fixture; one file, no WAL beside it.
    let c = rusqlite::Connection::open(&db)?;
    c.execute(
        "UPDATE enrollment_codes SET expires_at = 4102444800 WHERE user_id = ?1",
        [&u2.id],
    )?;
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE; VACUUM;")?;
    eprintln!("fixtures written to {}", out.display());
    Ok(())
}
