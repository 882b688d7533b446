//! Hackathon actions and theme codebooks in SQLite.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter};

use super::{SqliteStore, all, first};
use crate::{ActionItem, ActionNote, Result, sql};

pub(super) fn insert_action(store: &SqliteStore, a: &ActionItem) -> Result<()> {
    let [causes, themes, evidence] = crate::actions::lists(a);
    store.write(|tx| {
        tx.execute(
            sql::INSERT_ACTION.sqlite(),
            params![
                a.id,
                a.campaign,
                a.country,
                a.title,
                a.description,
                causes,
                themes,
                evidence,
                a.owner,
                a.due_date,
                a.status,
                a.expected_effect,
                a.created_by,
                a.created_at,
                a.updated_at,
                a.version
            ],
        )?;
        super::webhooks::insert_events(tx, &[crate::webhooks::action_event(a)])
    })
}

pub(super) fn update_action(store: &SqliteStore, a: &ActionItem) -> Result<bool> {
    let [causes, themes, evidence] = crate::actions::lists(a);
    store.write(|tx| {
        let n = tx.execute(
            sql::UPDATE_ACTION.sqlite(),
            params![
                a.id,
                a.title,
                a.description,
                causes,
                themes,
                evidence,
                a.owner,
                a.due_date,
                a.status,
                a.expected_effect,
                a.version,
                a.updated_at
            ],
        )?;
        if n != 1 {
            return Ok(false);
        }
        let stored = ActionItem {
            version: a.version + 1,
            ..a.clone()
        };
        super::webhooks::insert_events(tx, &[crate::webhooks::action_event(&stored)])?;
        Ok(true)
    })
}

pub(super) fn action(store: &SqliteStore, id: &str) -> Result<Option<ActionItem>> {
    store.read(|c| {
        first(c, sql::ACTION_BY_ID.sqlite(), [id], |r| {
            crate::rows::action(r)
        })
    })
}

pub(super) fn list_actions(store: &SqliteStore, countries: &[String]) -> Result<Vec<ActionItem>> {
    let (q, args) = crate::actions::list_sql::<Vec<SqlValue>>(countries);
    store.read(|c| all(c, &q, params_from_iter(args), |r| crate::rows::action(r)))
}

pub(super) fn add_action_note(store: &SqliteStore, n: &ActionNote) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            sql::INSERT_ACTION_NOTE.sqlite(),
            params![n.action_id, n.at, n.author, n.text],
        )?;
        Ok(())
    })
}

pub(super) fn action_notes(store: &SqliteStore, action_id: &str) -> Result<Vec<ActionNote>> {
    store.read(|c| {
        all(c, sql::ACTION_NOTES.sqlite(), [action_id], |r| {
            crate::rows::action_note(r)
        })
    })
}

pub(super) fn codebook(
    store: &SqliteStore,
    campaign: &str,
) -> Result<Option<crate::StoredCodebook>> {
    store.read(|c| {
        first(c, sql::CODEBOOK.sqlite(), [campaign], |r| {
            crate::rows::codebook(r)
        })
    })
}

pub(super) fn put_codebook(store: &SqliteStore, c: &crate::StoredCodebook) -> Result<bool> {
    store.write(|tx| {
        let n = if c.version == 0 {
            tx.execute(
                sql::INSERT_CODEBOOK.sqlite(),
                params![c.campaign, c.codebook, c.updated_by, c.updated_at],
            )?
        } else {
            tx.execute(
                sql::UPDATE_CODEBOOK.sqlite(),
                params![
                    c.campaign,
                    c.codebook,
                    c.updated_by,
                    c.updated_at,
                    c.version
                ],
            )?
        };
        Ok(n == 1)
    })
}
