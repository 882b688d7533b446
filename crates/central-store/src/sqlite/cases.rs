//! Follow-up cases in SQLite.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter};

use super::{SqliteStore, all, first};
use crate::{Case, CaseFilter, CaseNote, Result, ServiceLevel, sql};

pub(super) fn open_case(store: &SqliteStore, c: &Case) -> Result<bool> {
    store.write(|tx| open_case_in(tx, c))
}

/// Insert case `c` and its `case.opened` event inside `tx`, unless its
/// interview has a case already; whether it did.
pub(super) fn open_case_in(tx: &rusqlite::Transaction<'_>, c: &Case) -> Result<bool> {
    let opened = tx
        .prepare_cached(sql::INSERT_CASE.sqlite())?
        .execute(params![
            c.id,
            c.interview_id,
            c.campaign,
            c.country,
            c.reason,
            c.status,
            c.owner,
            c.root_cause,
            c.opened_at,
            c.opened_by,
            c.due_at,
            c.first_contact_at,
            c.resolved_at,
            c.closed_at,
            c.resolution,
            c.satisfaction,
            c.updated_at,
            c.version,
            c.contact_erased_at
        ])?
        == 1;
    if opened {
        super::webhooks::insert_events(tx, &[crate::webhooks::case_event(c, true)])?;
    }
    Ok(opened)
}

pub(super) fn case(store: &SqliteStore, id: &str) -> Result<Option<Case>> {
    store.read(|c| first(c, sql::CASE_BY_ID.sqlite(), [id], |r| crate::rows::case(r)))
}

pub(super) fn case_of_interview(store: &SqliteStore, interview_id: &str) -> Result<Option<Case>> {
    store.read(|c| {
        first(c, sql::CASE_OF_INTERVIEW.sqlite(), [interview_id], |r| {
            crate::rows::case(r)
        })
    })
}

pub(super) fn cases_to_erase(store: &SqliteStore, t: i64) -> Result<Vec<Case>> {
    store.read(|c| {
        all(c, sql::CASES_TO_ERASE.sqlite(), [t], |r| {
            crate::rows::case(r)
        })
    })
}

pub(super) fn list_cases(store: &SqliteStore, f: &CaseFilter) -> Result<Vec<Case>> {
    let (q, args) = crate::cases::list_sql::<Vec<SqlValue>>(f);
    store.read(|c| all(c, &q, params_from_iter(args), |r| crate::rows::case(r)))
}

pub(super) fn update_case(store: &SqliteStore, c: &Case) -> Result<bool> {
    store.write(|tx| {
        let updated = tx.execute(
            sql::UPDATE_CASE.sqlite(),
            params![
                c.id,
                c.status,
                c.owner,
                c.due_at,
                c.first_contact_at,
                c.resolved_at,
                c.closed_at,
                c.resolution,
                c.satisfaction,
                c.updated_at,
                c.version,
                c.contact_erased_at
            ],
        )? == 1;
        if updated {
            let stored = Case {
                version: c.version + 1,
                ..c.clone()
            };
            super::webhooks::insert_events(tx, &[crate::webhooks::case_event(&stored, false)])?;
        }
        Ok(updated)
    })
}

pub(super) fn add_case_note(store: &SqliteStore, n: &CaseNote) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            sql::INSERT_CASE_NOTE.sqlite(),
            params![n.case_id, n.at, n.author, n.text],
        )?;
        Ok(())
    })
}

pub(super) fn case_notes(store: &SqliteStore, case_id: &str) -> Result<Vec<CaseNote>> {
    store.read(|c| {
        all(c, sql::CASE_NOTES.sqlite(), [case_id], |r| {
            crate::rows::case_note(r)
        })
    })
}

pub(super) fn upsert_service_levels(store: &SqliteStore, rows: &[ServiceLevel]) -> Result<usize> {
    store.write(|tx| {
        let mut st = tx.prepare_cached(sql::UPSERT_SERVICE_LEVEL.sqlite())?;
        let mut changed = 0;
        for s in rows {
            changed += st.execute(params![
                s.country,
                s.first_contact_hours,
                s.resolution_hours
            ])?;
        }
        Ok(changed)
    })
}

pub(super) fn list_service_levels(store: &SqliteStore) -> Result<Vec<ServiceLevel>> {
    store.read(|c| {
        all(c, sql::LIST_SERVICE_LEVELS.sqlite(), [], |r| {
            crate::rows::service_level(r)
        })
    })
}
