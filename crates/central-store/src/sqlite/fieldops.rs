//! Field operations in SQLite: assignments, quota targets, quota progress counts.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter};

use super::{SqliteStore, all, first};
use crate::fieldops::{self, FieldTallies};
use crate::query::{self, Binder};
use crate::{Assignment, CrossKeys, DoneCount, InterviewFilter, Quota, Result, sql};

pub(super) fn upsert_assignments(store: &SqliteStore, rows: &[Assignment]) -> Result<usize> {
    store.write(|tx| {
        let rev: i64 = tx.query_row(sql::ASSIGNMENTS_MAX_REV.sqlite(), [], |r| r.get(0))?;
        let mut st = tx.prepare_cached(sql::UPSERT_ASSIGNMENT.sqlite())?;
        let mut changed = 0;
        for a in rows {
            changed += st.execute(params![a.user_id, a.place_code, a.team, rev + 1])?;
        }
        Ok(changed)
    })
}

pub(super) fn list_assignments(store: &SqliteStore) -> Result<Vec<Assignment>> {
    store.read(|c| {
        all(c, sql::LIST_ASSIGNMENTS.sqlite(), [], |r| {
            crate::rows::assignment(r)
        })
    })
}

pub(super) fn upsert_quotas(store: &SqliteStore, rows: &[Quota]) -> Result<usize> {
    store.write(|tx| {
        let mut st = tx.prepare_cached(sql::UPSERT_QUOTA.sqlite())?;
        let mut changed = 0;
        for q in rows {
            changed += st.execute(params![q.place_code, q.segment, q.user_id, q.target])?;
        }
        Ok(changed)
    })
}

pub(super) fn list_quotas(store: &SqliteStore) -> Result<Vec<Quota>> {
    store.read(|c| all(c, sql::LIST_QUOTAS.sqlite(), [], |r| crate::rows::quota(r)))
}

pub(super) fn done_counts(store: &SqliteStore) -> Result<Vec<DoneCount>> {
    store.read(|c| {
        all(c, sql::DONE_COUNTS.sqlite(), [], |r| {
            crate::rows::done_count(r)
        })
    })
}

pub(super) fn assignment_of(store: &SqliteStore, user_id: &str) -> Result<Option<Assignment>> {
    store.read(|c| {
        first(c, sql::ASSIGNMENT_OF.sqlite(), params![user_id], |r| {
            crate::rows::assignment(r)
        })
    })
}

pub(super) fn quotas_at(store: &SqliteStore, place_code: &str) -> Result<Vec<Quota>> {
    store.read(|c| {
        all(c, sql::QUOTAS_AT.sqlite(), params![place_code], |r| {
            crate::rows::quota(r)
        })
    })
}

pub(super) fn refresh_cross_checks(store: &SqliteStore, keys: &CrossKeys) -> Result<()> {
    if keys.users.is_empty() && keys.phones.is_empty() {
        return Ok(());
    }
    store.write_relaxed(|tx| cross_checks_in(tx, keys))
}

/// Refresh the cross checks of `keys` inside `tx`.
pub(super) fn cross_checks_in(tx: &rusqlite::Transaction<'_>, keys: &CrossKeys) -> Result<()> {
    let mut by_user = tx.prepare_cached(sql::CROSS_BY_USER.sqlite())?;
    for u in &keys.users {
        by_user.execute(params![u, keys.close_gap_s])?;
    }
    let mut by_phone = tx.prepare_cached(sql::CROSS_BY_PHONE.sqlite())?;
    for p in &keys.phones {
        by_phone.execute(params![p, keys.close_gap_s])?;
    }
    Ok(())
}

pub(super) fn field_tallies(
    store: &SqliteStore,
    f: &InterviewFilter,
    day: &str,
) -> Result<FieldTallies> {
    let (w, args) = query::filtered::<Vec<SqlValue>>(f);
    let mut hour_args = args.clone();
    let from = hour_args.text(day.to_owned());
    let to = hour_args.text(format!("{day}~"));
    store.read(|c| {
        Ok(FieldTallies {
            done: all(c, &fieldops::tally_sql(&w), params_from_iter(&args), |r| {
                crate::rows::done_count(r)
            })?,
            hours: all(
                c,
                &fieldops::hours_sql(&w, &from, &to),
                params_from_iter(&hour_args),
                |r| crate::rows::hour_count(r),
            )?,
        })
    })
}
