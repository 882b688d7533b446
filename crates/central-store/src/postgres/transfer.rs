//! Raw access for comparing stores and copying a SQLite store into PostgreSQL ([`crate::transfer`]).

use uuid::Uuid;

use super::{Param, PgStore, refs};
use crate::rows;
use crate::{Hash, Result, StoreError};

impl PgStore {
    /// Server heads of up to `limit` documents after `after`, in `doc_id` order
    /// (for comparing stores).
    pub fn heads_page(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        self.all(
            "SELECT doc_id, heads FROM documents WHERE ($1::uuid IS NULL OR doc_id > $1)
             ORDER BY doc_id LIMIT $2",
            &[&after, &(limit as i64)],
            rows::doc_heads,
        )
    }

    /// Server heads of the given documents (absent ones are left out).
    pub fn heads_of(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Vec<Hash>)>> {
        self.all(
            "SELECT doc_id, heads FROM documents WHERE doc_id = ANY($1)",
            &[&ids],
            rows::doc_heads,
        )
    }

    /// Rows of `table` (as exported by [`crate::transfer`]) inserted as they are.
    pub(crate) fn insert_rows(
        &self,
        table: &crate::tables::TableSpec,
        rows: &[Vec<crate::tables::Cell>],
    ) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let cols: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let mut params: Vec<Param> = Vec::with_capacity(rows.len() * cols.len());
        let mut tuples = Vec::with_capacity(rows.len());
        for row in rows {
            let mut marks = Vec::with_capacity(cols.len());
            for ((_, kind), cell) in table.columns.iter().zip(row) {
                params.push(cell.to_param(*kind)?);
                marks.push(format!("${}", params.len()));
            }
            tuples.push(format!("({})", marks.join(",")));
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            cols.join(","),
            tuples.join(",")
        );
        self.with(async |c| Ok(c.execute(&sql, &refs(&params)).await?))
    }

    /// Count the rows of a table (for comparisons after a copy).
    pub fn count_rows(&self, table: &str) -> Result<u64> {
        if !crate::tables::TABLES.iter().any(|t| t.name == table) {
            return Err(StoreError::NotFound(format!("table {table}")));
        }
        self.with(async |c| {
            Ok(c.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .await?
                .try_get::<_, i64>(0)? as u64)
        })
    }

    /// The columns of `table` as (name, `information_schema` data type)
    /// (compare with [`crate::columns::interview_schema`]).
    pub fn table_columns(&self, table: &str) -> Result<Vec<(String, String)>> {
        let rows = self.with(async |c| {
            Ok(c.query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1",
                &[&table],
            )
            .await?)
        })?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
