//! Hackathon actions and theme codebooks in PostgreSQL.

use super::{Param, PgStore, refs};
use crate::{ActionItem, ActionNote, Result, sql};

pub(super) fn insert_action(store: &PgStore, a: &ActionItem) -> Result<()> {
    let [causes, themes, evidence] = crate::actions::lists(a);
    store.tx(async |tx| {
        tx.execute(
            sql::INSERT_ACTION.pg(),
            &[
                &a.id,
                &a.campaign,
                &a.country,
                &a.title,
                &a.description,
                &causes,
                &themes,
                &evidence,
                &a.owner,
                &a.due_date,
                &a.status,
                &a.expected_effect,
                &a.created_by,
                &a.created_at,
                &a.updated_at,
                &a.version,
            ],
        )
        .await?;
        super::webhooks::insert_events(tx, &[crate::webhooks::action_event(a)]).await
    })
}

pub(super) fn update_action(store: &PgStore, a: &ActionItem) -> Result<bool> {
    let [causes, themes, evidence] = crate::actions::lists(a);
    store.tx(async |tx| {
        let n = tx
            .execute(
                sql::UPDATE_ACTION.pg(),
                &[
                    &a.id,
                    &a.title,
                    &a.description,
                    &causes,
                    &themes,
                    &evidence,
                    &a.owner,
                    &a.due_date,
                    &a.status,
                    &a.expected_effect,
                    &a.version,
                    &a.updated_at,
                ],
            )
            .await?;
        if n != 1 {
            return Ok(false);
        }
        let stored = ActionItem {
            version: a.version + 1,
            ..a.clone()
        };
        super::webhooks::insert_events(tx, &[crate::webhooks::action_event(&stored)]).await?;
        Ok(true)
    })
}

pub(super) fn action(store: &PgStore, id: &str) -> Result<Option<ActionItem>> {
    store.first(sql::ACTION_BY_ID.pg(), &[&id], crate::rows::action)
}

pub(super) fn list_actions(store: &PgStore, countries: &[String]) -> Result<Vec<ActionItem>> {
    let (q, args) = crate::actions::list_sql::<Vec<Param>>(countries);
    store.all(&q, &refs(&args), crate::rows::action)
}

pub(super) fn add_action_note(store: &PgStore, n: &ActionNote) -> Result<()> {
    store.with(async |c| {
        c.execute(
            sql::INSERT_ACTION_NOTE.pg(),
            &[&n.action_id, &n.at, &n.author, &n.text],
        )
        .await?;
        Ok(())
    })
}

pub(super) fn action_notes(store: &PgStore, action_id: &str) -> Result<Vec<ActionNote>> {
    store.all(
        sql::ACTION_NOTES.pg(),
        &[&action_id],
        crate::rows::action_note,
    )
}

pub(super) fn codebook(store: &PgStore, campaign: &str) -> Result<Option<crate::StoredCodebook>> {
    store.first(sql::CODEBOOK.pg(), &[&campaign], crate::rows::codebook)
}

pub(super) fn put_codebook(store: &PgStore, c: &crate::StoredCodebook) -> Result<bool> {
    store.with(async |conn| {
        let n = if c.version == 0 {
            conn.execute(
                sql::INSERT_CODEBOOK.pg(),
                &[&c.campaign, &c.codebook, &c.updated_by, &c.updated_at],
            )
            .await?
        } else {
            conn.execute(
                sql::UPDATE_CODEBOOK.pg(),
                &[
                    &c.campaign,
                    &c.codebook,
                    &c.updated_by,
                    &c.updated_at,
                    &c.version,
                ],
            )
            .await?
        };
        Ok(n == 1)
    })
}
