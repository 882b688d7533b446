//! Stored form definitions in SQLite.

use rusqlite::params;

use super::{SqliteStore, all};
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
        all(
            c,
            "SELECT form_id, version, json FROM forms ORDER BY form_id, version",
            [],
            |r| crate::rows::form(r),
        )
    })
}
