//! Stored form definitions and the place list in PostgreSQL.

use super::PgStore;
use crate::Result;
use crate::sql;

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

pub(super) fn upsert_places(store: &PgStore, places: &[survey_model::Place]) -> Result<usize> {
    store.with(async |c| {
        let tx = c.transaction().await?;
        // One import at a time: the revision number is read, then written.
        tx.execute("LOCK TABLE places IN SHARE ROW EXCLUSIVE MODE", &[])
            .await?;
        let rev: i64 = tx.query_one(sql::PLACES_MAX_REV.pg(), &[]).await?.get(0);
        let st = tx.prepare(sql::UPSERT_PLACE.pg()).await?;
        let mut changed = 0;
        for p in places {
            changed += tx
                .execute(
                    &st,
                    &[
                        &p.code,
                        &p.country,
                        &p.name,
                        &p.region,
                        &p.kind,
                        &p.setting,
                        &p.lat,
                        &p.lon,
                        &(rev + 1),
                    ],
                )
                .await?;
        }
        tx.commit().await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    })
}

pub(super) fn place(store: &PgStore, code: &str) -> Result<Option<survey_model::Place>> {
    store.first(sql::PLACE_BY_CODE.pg(), &[&code], crate::rows::place)
}

pub(super) fn list_places(store: &PgStore) -> Result<Vec<survey_model::Place>> {
    store.all(sql::LIST_PLACES.pg(), &[], crate::rows::place)
}

pub(super) fn places_revision(store: &PgStore, country: &str) -> Result<String> {
    Ok(store
        .first(
            sql::PLACES_REVISION.pg(),
            &[&country],
            crate::rows::places_revision,
        )?
        .unwrap_or_else(|| "0.0".into()))
}
