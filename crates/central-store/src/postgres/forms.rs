//! Stored form definitions in PostgreSQL.

use super::PgStore;
use crate::{Result, StoreError};

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
    let rows = store.with(async |c| {
        Ok(c.query(
            "SELECT form_id, version, json FROM forms ORDER BY form_id, version",
            &[],
        )
        .await?)
    })?;
    rows.iter()
        .map(|r| {
            let v: i64 = r.try_get(1)?;
            Ok((
                r.try_get(0)?,
                u32::try_from(v).map_err(|_| StoreError::Corrupt("form version".into()))?,
                r.try_get(2)?,
            ))
        })
        .collect()
}
