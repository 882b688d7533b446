//! Follow-up cases in PostgreSQL.

use tokio_postgres::types::ToSql;

use super::{Param, PgStore, refs};
use crate::{Case, CaseFilter, CaseNote, Result, ServiceLevel, sql};

pub(super) fn open_case(store: &PgStore, c: &Case) -> Result<bool> {
    store.tx(async |cl| {
        let opened = cl.execute(sql::INSERT_CASE.pg(), &insert_params(c)).await? == 1;
        if opened {
            super::webhooks::insert_events(cl, &[crate::webhooks::case_event(c, true)]).await?;
        }
        Ok(opened)
    })
}

/// The parameters of `sql::INSERT_CASE` for case `c`.
pub(super) fn insert_params(c: &Case) -> [&(dyn ToSql + Sync); 19] {
    [
        &c.id,
        &c.interview_id,
        &c.campaign,
        &c.country,
        &c.reason,
        &c.status,
        &c.owner,
        &c.root_cause,
        &c.opened_at,
        &c.opened_by,
        &c.due_at,
        &c.first_contact_at,
        &c.resolved_at,
        &c.closed_at,
        &c.resolution,
        &c.satisfaction,
        &c.updated_at,
        &c.version,
        &c.contact_erased_at,
    ]
}

pub(super) fn case(store: &PgStore, id: &str) -> Result<Option<Case>> {
    store.first(sql::CASE_BY_ID.pg(), &[&id], crate::rows::case)
}

pub(super) fn case_of_interview(store: &PgStore, interview_id: &str) -> Result<Option<Case>> {
    store.first(
        sql::CASE_OF_INTERVIEW.pg(),
        &[&interview_id],
        crate::rows::case,
    )
}

pub(super) fn cases_to_erase(store: &PgStore, t: i64) -> Result<Vec<Case>> {
    store.all(sql::CASES_TO_ERASE.pg(), &[&t], crate::rows::case)
}

pub(super) fn list_cases(store: &PgStore, f: &CaseFilter) -> Result<Vec<Case>> {
    let (q, args) = crate::cases::list_sql::<Vec<Param>>(f);
    store.all(&q, &refs(&args), crate::rows::case)
}

pub(super) fn update_case(store: &PgStore, c: &Case) -> Result<bool> {
    store.tx(async |cl| {
        let updated = cl
            .execute(
                sql::UPDATE_CASE.pg(),
                &[
                    &c.id,
                    &c.status,
                    &c.owner,
                    &c.due_at,
                    &c.first_contact_at,
                    &c.resolved_at,
                    &c.closed_at,
                    &c.resolution,
                    &c.satisfaction,
                    &c.updated_at,
                    &c.version,
                    &c.contact_erased_at,
                ],
            )
            .await?
            == 1;
        if updated {
            let stored = Case {
                version: c.version + 1,
                ..c.clone()
            };
            super::webhooks::insert_events(cl, &[crate::webhooks::case_event(&stored, false)])
                .await?;
        }
        Ok(updated)
    })
}

pub(super) fn add_case_note(store: &PgStore, n: &CaseNote) -> Result<()> {
    store.with(async |cl| {
        cl.execute(
            sql::INSERT_CASE_NOTE.pg(),
            &[&n.case_id, &n.at, &n.author, &n.text],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn case_notes(store: &PgStore, case_id: &str) -> Result<Vec<CaseNote>> {
    store.all(sql::CASE_NOTES.pg(), &[&case_id], crate::rows::case_note)
}

pub(super) fn upsert_service_levels(store: &PgStore, rows: &[ServiceLevel]) -> Result<usize> {
    store.with(async |cl| {
        let tx = cl.transaction().await?;
        let st = tx.prepare(sql::UPSERT_SERVICE_LEVEL.pg()).await?;
        let mut changed = 0;
        for s in rows {
            let (f, r) = (
                i64::from(s.first_contact_hours),
                i64::from(s.resolution_hours),
            );
            changed += tx.execute(&st, &[&s.country, &f, &r]).await?;
        }
        tx.commit().await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    })
}

pub(super) fn list_service_levels(store: &PgStore) -> Result<Vec<ServiceLevel>> {
    store.all(
        sql::LIST_SERVICE_LEVELS.pg(),
        &[],
        crate::rows::service_level,
    )
}
