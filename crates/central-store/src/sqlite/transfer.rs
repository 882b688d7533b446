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
    /// (seq order for `changes`), with the last rowid read.
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
