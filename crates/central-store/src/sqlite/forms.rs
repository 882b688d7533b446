//! Stored form definitions and the place list in SQLite.

use rusqlite::params;

use super::{SqliteStore, all};
use crate::Result;
use crate::sql;

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

pub(super) fn upsert_places(store: &SqliteStore, places: &[survey_model::Place]) -> Result<usize> {
    store.write(|tx| {
        let rev: i64 = tx.query_row(sql::PLACES_MAX_REV.sqlite(), [], |r| r.get(0))?;
        let mut st = tx.prepare_cached(sql::UPSERT_PLACE.sqlite())?;
        let mut changed = 0;
        for p in places {
            changed += st.execute(params![
                p.code,
                p.country,
                p.name,
                p.region,
                p.kind,
                p.setting,
                p.lat,
                p.lon,
                rev + 1
            ])?;
        }
        Ok(changed)
    })
}

pub(super) fn place(store: &SqliteStore, code: &str) -> Result<Option<survey_model::Place>> {
    store.read(|c| {
        super::first(c, sql::PLACE_BY_CODE.sqlite(), params![code], |r| {
            crate::rows::place(r)
        })
    })
}

pub(super) fn list_places(store: &SqliteStore) -> Result<Vec<survey_model::Place>> {
    store.read(|c| all(c, sql::LIST_PLACES.sqlite(), [], |r| crate::rows::place(r)))
}

pub(super) fn places_revision(store: &SqliteStore, country: &str) -> Result<String> {
    store.read(|c| {
        let mut st = c.prepare_cached(sql::PLACES_REVISION.sqlite())?;
        let mut rows = st.query(params![country])?;
        match rows.next()? {
            Some(r) => crate::rows::places_revision(r),
            None => Ok("0.0".into()),
        }
    })
}
