//! Raw access for copying a SQLite store to PostgreSQL ([`crate::transfer`]).

use rusqlite::params;
use uuid::Uuid;

use super::SqliteStore;
use crate::{Hash, Result, StoreError};

impl SqliteStore {
    /// Number of rows in one of the schema's tables.
    pub fn count_rows(&self, table: &str) -> Result<u64> {
        if !crate::tables::TABLES.iter().any(|t| t.name == table) {
            return Err(StoreError::NotFound(format!("table {table}")));
        }
        self.read(|c| {
            Ok(
                c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    /// Up to `limit` rows of `table` with rowid above `after`, in rowid order
    /// (seq order for `change_batches`), with the last rowid read.
    pub fn dump_rows(
        &self,
        table: &crate::tables::TableSpec,
        after: i64,
        limit: usize,
    ) -> Result<(i64, Vec<Vec<crate::tables::Cell>>)> {
        use crate::tables::Cell;
        use rusqlite::types::Value;
        let cols: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let sql = format!(
            "SELECT rowid, {} FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
            cols.join(", "),
            table.name
        );
        self.read(|c| {
            let mut st = c.prepare(&sql)?;
            let mut rows = st.query(params![after, limit as i64])?;
            let mut out = Vec::new();
            let mut last = after;
            while let Some(r) = rows.next()? {
                last = r.get(0)?;
                let mut row = Vec::with_capacity(cols.len());
                for i in 0..cols.len() {
                    row.push(match r.get::<_, Value>(i + 1)? {
                        Value::Null => Cell::Null,
                        Value::Integer(n) => Cell::Int(n),
                        Value::Real(f) => Cell::Float(f),
                        Value::Text(s) => Cell::Text(s),
                        Value::Blob(b) => Cell::Bytes(b),
                    });
                }
                out.push(row);
            }
            Ok((last, out))
        })
    }

    /// Server heads of up to `limit` documents after `after`, in `doc_id` order.
    pub fn heads_page(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        let after = after.map(|u| u.to_string()).unwrap_or_default();
        self.read(|c| {
            super::all(
                c,
                "SELECT doc_id, heads FROM documents WHERE doc_id > ?1 ORDER BY doc_id LIMIT ?2",
                params![after, limit as i64],
                |r| crate::rows::doc_heads(r),
            )
        })
    }

    /// Server heads of the documents `ids` (those that exist).
    pub fn heads_of(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        let mut out = Vec::with_capacity(ids.len());
        self.read(|c| {
            let mut st =
                c.prepare_cached("SELECT doc_id, heads FROM documents WHERE doc_id = ?1")?;
            for id in ids {
                let mut rows = st.query([id.to_string()])?;
                if let Some(r) = rows.next()? {
                    out.push(crate::rows::doc_heads(r)?);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// A consistent copy of the store at `path` into the new file `dest`,
    /// taken with SQLite's online backup API in one step (one read
    /// transaction: writers go on in WAL mode, the copy is the state at its
    /// start). `dest` must not exist.
    pub fn backup(path: &std::path::Path, dest: &std::path::Path) -> Result<()> {
        if dest.exists() {
            return Err(StoreError::Duplicate(format!(
                "{} (a backup never overwrites a file)",
                dest.display()
            )));
        }
        let src = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        src.busy_timeout(std::time::Duration::from_secs(30))?;
        let mut dst = rusqlite::Connection::open(dest)?;
        {
            let b = rusqlite::backup::Backup::new(&src, &mut dst)?;
            loop {
                match b.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    // Busy or locked: the writer holds a lock for a moment.
                    _ => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        }
        let ok: String = dst.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(StoreError::Corrupt(format!("backup integrity check: {ok}")));
        }
        Ok(())
    }

    /// The columns of `table` as (name, declared type), from
    /// `PRAGMA table_info` (compare with [`crate::columns::interview_schema`]).
    pub fn table_columns(&self, table: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let mut st = c.prepare("SELECT name, type FROM pragma_table_info(?1)")?;
            let rows = st.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
