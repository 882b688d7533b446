//! Stored form definitions in SQLite.

use rusqlite::params;

use super::SqliteStore;
use crate::Result;

pub(super) fn put_form(store: &SqliteStore, form_id: &str, version: u32, json: &str) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            "INSERT INTO forms(form_id, version, json) VALUES (?1, ?2, ?3)
             ON CONFLICT(form_id, version) DO UPDATE SET json = excluded.json",
            params![form_id, version, json],
        )?;
        Ok(())
    })
}

pub(super) fn forms(store: &SqliteStore) -> Result<Vec<(String, u32, String)>> {
    store.read(|c| {
        let mut st =
            c.prepare("SELECT form_id, version, json FROM forms ORDER BY form_id, version")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    })
}
