//! Stored form definitions in PostgreSQL.

use super::PgStore;
use crate::Result;

pub(super) fn put_form(store: &PgStore, form_id: &str, version: u32, json: &str) -> Result<()> {
    store.with(async |c| {
        c.execute(
            "INSERT INTO forms(form_id, version, json) VALUES ($1, $2, $3)
             ON CONFLICT(form_id, version) DO UPDATE SET json = excluded.json",
            &[&form_id, &i64::from(version), &json],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn forms(store: &PgStore) -> Result<Vec<(String, u32, String)>> {
    store.all(
        "SELECT form_id, version, json FROM forms ORDER BY form_id, version",
        &[],
        crate::rows::form,
    )
}
