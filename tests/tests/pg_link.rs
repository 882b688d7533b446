//! The PostgreSQL store's connections, driven on the calling thread (no
//! runtime of their own), against a real cluster: a connection the server
//! closed while it sat in the pool is replaced, not handed out; a query
//! longer than the executor's longest wait, and a statement larger than the
//! socket's buffer, complete; the store connects over a unix socket too.
#![allow(clippy::unwrap_used)]

use central_store::{CentralStore, PgStore};
use fieldvoice_tests::needs::Need;
use fieldvoice_tests::pg::TestDb;

/// The first row `sql` returns on the database at `url`, as text.
fn one_row(url: &str, sql: &str) -> Vec<String> {
    fieldvoice_tests::pg::sql_rows(url, sql).remove(0)
}

#[test]
fn connections_closed_by_the_server_are_replaced() {
    fieldvoice_tests::skip_unless!(Need::Postgres);
    let db = TestDb::create();
    let store = PgStore::connect_with(&db.url, 4).unwrap();
    // Open several pooled connections: concurrent callers each take one.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..5 {
                    store.batch_execute("SELECT pg_sleep(0.05)").unwrap();
                }
            });
        }
    });
    let killed = one_row(
        &db.url,
        "SELECT COUNT(pg_terminate_backend(pid))::text FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert!(
        killed[0].parse::<u32>().unwrap() >= 2,
        "the store held pooled connections: {killed:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Every connection in the pool is dead; every call still succeeds, on
    // a new one.
    for _ in 0..8 {
        assert!(store.schema_version().unwrap() > 0);
    }
    assert_eq!(store.stats().unwrap().documents, 0);
}

#[test]
fn long_queries_and_large_statements_complete() {
    fieldvoice_tests::skip_unless!(Need::Postgres);
    let db = TestDb::create();
    let store = PgStore::connect_with(&db.url, 2).unwrap();
    // Longer than the executor's longest wait on the socket (1 s).
    let t = std::time::Instant::now();
    store.batch_execute("SELECT pg_sleep(1.3)").unwrap();
    assert!(t.elapsed().as_secs_f64() >= 1.3);
    // 8 MB in one statement: the socket's send buffer fills, and the write
    // waits for it to drain.
    let big = "x".repeat(8 << 20);
    store
        .batch_execute(&format!(
            "CREATE TABLE big(v text); INSERT INTO big VALUES ('{big}')"
        ))
        .unwrap();
    let len = one_row(&db.url, "SELECT length(v)::text FROM big");
    assert_eq!(len[0], (8u32 << 20).to_string());
    // And the connection is still good for the next caller.
    assert!(store.schema_version().unwrap() > 0);
}

#[test]
fn the_store_connects_over_a_unix_socket() {
    fieldvoice_tests::skip_unless!(Need::Postgres);
    let db = TestDb::create();
    let found = one_row(
        &db.url,
        "SELECT current_setting('unix_socket_directories'), current_setting('port')",
    );
    let dir = found[0].split(',').next().unwrap().trim().to_owned();
    assert!(!dir.is_empty(), "the test cluster listens on a unix socket");
    let store = PgStore::connect(&format!(
        "host={dir} port={} user=postgres dbname={}",
        found[1], db.name
    ))
    .unwrap();
    assert!(store.schema_version().unwrap() > 0);
    let over_unix = one_row(
        &db.url,
        "SELECT COUNT(*)::text FROM pg_stat_activity
         WHERE datname = current_database() AND client_port = -1",
    );
    assert!(over_unix[0].parse::<u32>().unwrap() >= 1, "{over_unix:?}");
    assert_eq!(store.stats().unwrap().users, 0);
}
