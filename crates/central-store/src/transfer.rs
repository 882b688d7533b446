//! Copying a SQLite store into PostgreSQL without loss (`admin migrate-store`),
//! and comparing the two afterwards.
//!
//! Both backends have the same tables and columns, so the copy is generic:
//! rows (the projection's dashboard columns and login sessions included) are
//! read from SQLite in rowid order (for `change_batches` that is seq order)
//! in pages, and inserted into PostgreSQL as they are — secrets stay hashed,
//! seqs, versions and timestamps are kept — then the PostgreSQL sequences are
//! moved past the copied ids. The target must be empty.

use uuid::Uuid;

use crate::{Hash, PgStore, Result, SqliteStore, StoreError};

pub use crate::columns::Kind;
pub use crate::tables::{Cell, TABLES, TableSpec};

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// (table, rows copied)
    pub tables: Vec<(&'static str, u64)>,
}

/// One line of the comparison: a count on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountCheck {
    pub what: String,
    pub source: u64,
    pub target: u64,
}

/// The comparison of a source and a target after a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub counts: Vec<CountCheck>,
    pub documents_compared: u64,
    /// Documents whose heads differ or that are missing on one side.
    pub heads_mismatches: Vec<Uuid>,
}

impl Comparison {
    pub fn is_equal(&self) -> bool {
        self.heads_mismatches.is_empty() && self.counts.iter().all(|c| c.source == c.target)
    }
}

const PAGE: usize = 500;

/// Copy every table of `src` into the empty store `dst`. `progress` gets
/// (table, rows copied so far in it, rows in it).
pub fn copy_sqlite_to_pg(
    src: &SqliteStore,
    dst: &PgStore,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<CopyReport> {
    for t in TABLES {
        if dst.count_rows(t.name)? > 0 {
            return Err(StoreError::Duplicate(format!(
                "target table {} is not empty; migrate-store only copies into an empty database",
                t.name
            )));
        }
    }
    let mut report = CopyReport::default();
    for t in TABLES {
        let total = src.count_rows(t.name)?;
        let mut done = 0u64;
        let mut after = 0i64;
        progress(t.name, 0, total);
        loop {
            let (last, rows) = src.dump_rows(t, after, PAGE)?;
            if rows.is_empty() {
                break;
            }
            done += dst.insert_rows(t, &rows)?;
            after = last;
            progress(t.name, done, total);
        }
        report.tables.push((t.name, done));
    }
    dst.batch_execute(
        "SELECT setval(pg_get_serial_sequence('change_batches', 'seq'), GREATEST((SELECT MAX(seq) FROM change_batches), 1), (SELECT COUNT(*) > 0 FROM change_batches));
         SELECT setval(pg_get_serial_sequence('audit_log', 'id'), GREATEST((SELECT MAX(id) FROM audit_log), 1), (SELECT COUNT(*) > 0 FROM audit_log));
         SELECT setval(pg_get_serial_sequence('webhook_deliveries', 'id'), GREATEST((SELECT MAX(id) FROM webhook_deliveries), 1), (SELECT COUNT(*) > 0 FROM webhook_deliveries));
         SELECT setval(pg_get_serial_sequence('webhook_attempts', 'id'), GREATEST((SELECT MAX(id) FROM webhook_attempts), 1), (SELECT COUNT(*) > 0 FROM webhook_attempts));",
    )?;
    Ok(report)
}

/// What [`compare`] reads of a store, on either backend.
pub trait Inventory: crate::CentralStore {
    fn count_rows(&self, table: &str) -> Result<u64>;
    /// Heads of up to `limit` documents after `after`, in id order.
    fn heads_page(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<(Uuid, Vec<Hash>)>>;
    fn heads_of(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Vec<Hash>)>>;
}

impl Inventory for SqliteStore {
    fn count_rows(&self, table: &str) -> Result<u64> {
        SqliteStore::count_rows(self, table)
    }
    fn heads_page(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        SqliteStore::heads_page(self, after, limit)
    }
    fn heads_of(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        SqliteStore::heads_of(self, ids)
    }
}

impl Inventory for PgStore {
    fn count_rows(&self, table: &str) -> Result<u64> {
        PgStore::count_rows(self, table)
    }
    fn heads_page(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        PgStore::heads_page(self, after, limit)
    }
    fn heads_of(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        PgStore::heads_of(self, ids)
    }
}

/// Compare row counts of every table, the dashboard's totals, and every
/// document's heads (equal heads: the same change history). Either store
/// may be SQLite or PostgreSQL: `admin migrate-store`, `admin verify` and
/// `admin restore` use it.
pub fn compare(src: &dyn Inventory, dst: &dyn Inventory) -> Result<Comparison> {
    let mut out = Comparison::default();
    for t in TABLES {
        out.counts.push(CountCheck {
            what: t.name.to_owned(),
            source: src.count_rows(t.name)?,
            target: dst.count_rows(t.name)?,
        });
    }
    let (s, d) = (
        crate::CentralStore::stats(src)?,
        crate::CentralStore::stats(dst)?,
    );
    out.counts.push(CountCheck {
        what: "max seq".into(),
        source: s.max_seq,
        target: d.max_seq,
    });
    // The dashboard's aggregates, computed by each backend's SQL over the
    // copied projection columns.
    let f = crate::InterviewFilter::default();
    let (a, b) = (
        crate::CentralStore::campaign_stats(src, &f)?.total,
        crate::CentralStore::campaign_stats(dst, &f)?.total,
    );
    let rating_sum = |t: &crate::dashboard::Tally| t.sat_sum.iter().sum::<i64>().unsigned_abs();
    for (what, source, target) in [
        ("dash: nps answers", a.with_nps, b.with_nps),
        ("dash: promoters", a.promoters, b.promoters),
        ("dash: detractors", a.detractors, b.detractors),
        ("dash: complaints", a.complaints, b.complaints),
        ("dash: ratings", a.sat_n.iter().sum(), b.sat_n.iter().sum()),
        ("dash: rating sum", rating_sum(&a), rating_sum(&b)),
    ] {
        out.counts.push(CountCheck {
            what: what.into(),
            source,
            target,
        });
    }
    // Every source document must have the same heads in the target; with
    // equal document counts that makes the two sets equal.
    let mut after: Option<Uuid> = None;
    loop {
        let page = src.heads_page(after, PAGE)?;
        let Some(last) = page.last().map(|x| x.0) else {
            break;
        };
        let ids: Vec<Uuid> = page.iter().map(|x| x.0).collect();
        let target: std::collections::HashMap<Uuid, Vec<Hash>> =
            dst.heads_of(&ids)?.into_iter().collect();
        for (id, heads) in &page {
            out.documents_compared += 1;
            if target.get(id).map(|h| sorted(h)) != Some(sorted(heads)) {
                out.heads_mismatches.push(*id);
            }
        }
        after = Some(last);
    }
    out.heads_mismatches.sort();
    out.heads_mismatches.dedup();
    Ok(out)
}

fn sorted(h: &[Hash]) -> Vec<Hash> {
    let mut v = h.to_vec();
    v.sort();
    v
}
