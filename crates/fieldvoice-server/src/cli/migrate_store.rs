//! `fieldvoice-server admin migrate-store --to postgres://...`: copy the
//! configured SQLite store into an empty PostgreSQL database without loss,
//! then compare counts and every document's heads and print the comparison.

use std::path::Path;

use anyhow::{Context, bail};
use central_store::transfer::{compare, copy_sqlite_to_pg};
use central_store::{PgStore, SqliteStore};
use indicatif::{ProgressBar, ProgressStyle};

use super::config::{is_postgres_url, redact_url};

pub fn run(source: &str, target: &str) -> anyhow::Result<()> {
    if is_postgres_url(source) {
        bail!(
            "the source (--database) must be a SQLite store, not {}",
            redact_url(source)
        );
    }
    if !is_postgres_url(target) {
        bail!("--to must be a postgres:// or postgresql:// URL");
    }
    let path = source.strip_prefix("sqlite://").unwrap_or(source);
    if !Path::new(path).exists() {
        bail!("source store {path} does not exist");
    }
    let src = SqliteStore::open(Path::new(path))
        .with_context(|| format!("opening SQLite store {path}"))?;
    let dst = PgStore::connect(target)
        .with_context(|| format!("opening PostgreSQL store {}", redact_url(target)))?;
    super::announce(&format!("copying {path} -> {}", redact_url(target)));
    let t = std::time::Instant::now();
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{elapsed:>4} {bar:36} {pos}/{len} {msg} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = copy_sqlite_to_pg(&src, &dst, &mut |table, done, total| {
        if bar.message() != table {
            bar.set_message(table.to_owned());
            bar.set_length(total);
            bar.reset();
        }
        bar.set_position(done);
    })
    .context("copying")?;
    bar.finish_and_clear();
    for (table, n) in &report.tables {
        super::announce(&format!("copied {n:>9} rows of {table}"));
    }
    super::announce(&format!("copy took {:.1?}; comparing", t.elapsed()));
    let cmp = compare(&src, &dst).context("comparing")?;
    print_comparison(&cmp, "sqlite", "postgres");
    if !cmp.is_equal() {
        bail!("the copy differs from the source; see the comparison above");
    }
    super::announce("migrate-store: identical");
    Ok(())
}

/// Print a comparison: each count on both sides, then the heads check.
pub fn print_comparison(cmp: &central_store::transfer::Comparison, left: &str, right: &str) {
    super::announce(&format!("{:<18} {:>10} {:>10}", "", left, right));
    for c in &cmp.counts {
        let mark = if c.source == c.target {
            "ok"
        } else {
            "DIFFERENT"
        };
        super::announce(&format!(
            "{:<18} {:>10} {:>10}  {mark}",
            c.what, c.source, c.target
        ));
    }
    super::announce(&format!(
        "document heads compared: {}, mismatches: {}",
        cmp.documents_compared,
        cmp.heads_mismatches.len()
    ));
    for id in cmp.heads_mismatches.iter().take(20) {
        super::announce(&format!("  heads differ: {id}"));
    }
}
