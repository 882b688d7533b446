//! Field operations in PostgreSQL: assignments, quota targets, quota progress counts.

use super::{Param, PgStore, refs};
use crate::fieldops::{self, FieldTallies};
use crate::query::{self, Binder};
use crate::{Assignment, CrossKeys, DoneCount, InterviewFilter, Quota, Result, sql};

pub(super) fn upsert_assignments(store: &PgStore, rows: &[Assignment]) -> Result<usize> {
    store.with(async |c| {
        let tx = c.transaction().await?;
        // One import at a time: the revision number is read, then written.
        tx.execute("LOCK TABLE assignments IN SHARE ROW EXCLUSIVE MODE", &[])
            .await?;
        let rev: i64 = tx
            .query_one(sql::ASSIGNMENTS_MAX_REV.pg(), &[])
            .await?
            .get(0);
        let st = tx.prepare(sql::UPSERT_ASSIGNMENT.pg()).await?;
        let mut changed = 0;
        for a in rows {
            changed += tx
                .execute(&st, &[&a.user_id, &a.place_code, &a.team, &(rev + 1)])
                .await?;
        }
        tx.commit().await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    })
}

pub(super) fn list_assignments(store: &PgStore) -> Result<Vec<Assignment>> {
    store.all(sql::LIST_ASSIGNMENTS.pg(), &[], crate::rows::assignment)
}

pub(super) fn upsert_quotas(store: &PgStore, rows: &[Quota]) -> Result<usize> {
    store.with(async |c| {
        let tx = c.transaction().await?;
        let st = tx.prepare(sql::UPSERT_QUOTA.pg()).await?;
        let mut changed = 0;
        for q in rows {
            let target = i64::from(q.target);
            changed += tx
                .execute(&st, &[&q.place_code, &q.segment, &q.user_id, &target])
                .await?;
        }
        tx.commit().await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    })
}

pub(super) fn list_quotas(store: &PgStore) -> Result<Vec<Quota>> {
    store.all(sql::LIST_QUOTAS.pg(), &[], crate::rows::quota)
}

pub(super) fn done_counts(store: &PgStore) -> Result<Vec<DoneCount>> {
    store.all(sql::DONE_COUNTS.pg(), &[], crate::rows::done_count)
}

pub(super) fn assignment_of(store: &PgStore, user_id: &str) -> Result<Option<Assignment>> {
    store.first(
        sql::ASSIGNMENT_OF.pg(),
        &[&user_id],
        crate::rows::assignment,
    )
}

pub(super) fn quotas_at(store: &PgStore, place_code: &str) -> Result<Vec<Quota>> {
    store.all(sql::QUOTAS_AT.pg(), &[&place_code], crate::rows::quota)
}

pub(super) fn refresh_cross_checks(store: &PgStore, keys: &CrossKeys) -> Result<()> {
    if keys.users.is_empty() && keys.phones.is_empty() {
        return Ok(());
    }
    // Derived data (redone by the next write or a reproject): a relaxed
    // connection, one cached statement, one round trip.
    store.relaxed_cached(async |c| {
        let st = c.stmt(sql::CROSS_BY_USERS_OR_PHONES.pg()).await?;
        c.client
            .execute(&st, &[&keys.users, &keys.close_gap_s, &keys.phones])
            .await?;
        Ok(())
    })
}

pub(super) fn field_tallies(
    store: &PgStore,
    f: &InterviewFilter,
    day: &str,
) -> Result<FieldTallies> {
    let (w, args) = query::filtered::<Vec<Param>>(f);
    let (_, mut hour_args) = query::filtered::<Vec<Param>>(f);
    let from = hour_args.text(day.to_owned());
    let to = hour_args.text(format!("{day}~"));
    Ok(FieldTallies {
        done: store.all(
            &fieldops::tally_sql(&w),
            &refs(&args),
            crate::rows::done_count,
        )?,
        hours: store.all(
            &fieldops::hours_sql(&w, &from, &to),
            &refs(&hour_args),
            crate::rows::hour_count,
        )?,
    })
}
