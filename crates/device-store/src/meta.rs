//! Key/value metadata (enrollment, feed cursor), the forms on the device and
//! the place list of its country (which forms read through `choices_from`).

use rusqlite::{OptionalExtension, params};
use survey_model::{Form, Place};

use crate::{DeviceStore, Enrollment, Result, StoreError};

impl DeviceStore {
    pub fn get_meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    pub fn enrollment(&self) -> Result<Option<Enrollment>> {
        match self.get_meta("enrollment")? {
            None => Ok(None),
            Some(s) => serde_json::from_str(&s)
                .map(Some)
                .map_err(|e| StoreError::BadMeta(format!("enrollment: {e}"))),
        }
    }

    pub fn set_enrollment(&self, e: &Enrollment) -> Result<()> {
        let s = serde_json::to_string(e).map_err(|e| StoreError::BadMeta(e.to_string()))?;
        self.set_meta("enrollment", &s)
    }

    /// The server feed cursor (0 before the first sync).
    pub fn cursor(&self) -> Result<u64> {
        Ok(self
            .get_meta("cursor")?
            .map(|s| s.parse().map_err(|_| StoreError::BadMeta("cursor".into())))
            .transpose()?
            .unwrap_or(0))
    }

    pub fn set_cursor(&self, cursor: u64) -> Result<()> {
        self.set_meta("cursor", &cursor.to_string())
    }

    /// Store a form definition (validated) so the device can use it offline.
    /// A new form, or a new text for a stored one, advances
    /// [`DeviceStore::forms_revision`] in the same transaction.
    pub fn put_form(&self, json: &str) -> Result<Form> {
        let form = Form::from_json(json)?;
        let tx = self.conn.unchecked_transaction()?;
        let changed = tx.execute(
            "INSERT INTO forms(form_id, version, json) VALUES (?1, ?2, ?3)
             ON CONFLICT(form_id, version) DO UPDATE SET json = excluded.json
             WHERE json <> excluded.json",
            params![form.id(), form.version(), json],
        )?;
        if changed > 0 {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('forms_revision', '1')
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                [],
            )?;
        }
        tx.commit()?;
        Ok(form)
    }

    /// A number that changes whenever a form is added or replaced: a caller
    /// keeping parsed forms drops them when it differs from the one it saw.
    pub fn forms_revision(&self) -> Result<u64> {
        Ok(self
            .get_meta("forms_revision")?
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::BadMeta("forms_revision".into()))
            })
            .transpose()?
            .unwrap_or(0))
    }

    /// A form by id and version; `None` version means the newest.
    pub fn form(&self, form_id: &str, version: Option<u32>) -> Result<Form> {
        let json: Option<String> = match version {
            Some(v) => self
                .conn
                .query_row(
                    "SELECT json FROM forms WHERE form_id = ?1 AND version = ?2",
                    params![form_id, v],
                    |r| r.get(0),
                )
                .optional()?,
            None => self
                .conn
                .query_row(
                    "SELECT json FROM forms WHERE form_id = ?1 ORDER BY version DESC LIMIT 1",
                    [form_id],
                    |r| r.get(0),
                )
                .optional()?,
        };
        let json = json.ok_or_else(|| StoreError::UnknownForm(form_id.to_owned()))?;
        let mut form = Form::from_json(&json)?;
        let lists: std::collections::BTreeSet<&str> = form
            .questions()
            .iter()
            .filter_map(|q| q.choices_from.as_deref())
            .collect();
        if lists.contains(survey_model::places::PLACES_LIST) {
            let places = survey_model::places::as_options(&self.places()?);
            form.attach_list(survey_model::places::PLACES_LIST, places);
        }
        Ok(form)
    }

    /// Replace the place list with the server's (revision `revision`, from the
    /// sync header) in one transaction. Forms read it, so a change advances
    /// [`DeviceStore::forms_revision`] too.
    pub fn set_places(&self, revision: &str, places: &[Place]) -> Result<()> {
        let json = serde_json::to_string(places).map_err(|e| StoreError::BadMeta(e.to_string()))?;
        let tx = self.conn.unchecked_transaction()?;
        let upsert = "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE value <> excluded.value";
        let changed = tx.execute(upsert, params!["places", json])?;
        tx.execute(upsert, params!["places_revision", revision])?;
        if changed > 0 {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('forms_revision', '1')
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                [],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The place list on the device (empty before the first fetch).
    pub fn places(&self) -> Result<Vec<Place>> {
        match self.get_meta("places")? {
            None => Ok(Vec::new()),
            Some(s) => {
                serde_json::from_str(&s).map_err(|e| StoreError::BadMeta(format!("places: {e}")))
            }
        }
    }

    /// Replace the employee's field assignment (place, team, targets) with
    /// the server's; `None` when the employee has none.
    pub fn set_assignment(&self, a: Option<&survey_model::places::FieldAssignment>) -> Result<()> {
        let json = serde_json::to_string(&a).map_err(|e| StoreError::BadMeta(e.to_string()))?;
        self.set_meta("assignment", &json)
    }

    /// The field assignment on the device, if any.
    pub fn assignment(&self) -> Result<Option<survey_model::places::FieldAssignment>> {
        match self.get_meta("assignment")? {
            None => Ok(None),
            Some(s) => serde_json::from_str(&s)
                .map_err(|e| StoreError::BadMeta(format!("assignment: {e}"))),
        }
    }

    /// The server revision of the place list on the device, if any.
    pub fn places_revision(&self) -> Result<Option<String>> {
        self.get_meta("places_revision")
    }

    /// Every (form_id, version) on the device.
    pub fn forms(&self) -> Result<Vec<(String, u32)>> {
        let mut st = self
            .conn
            .prepare("SELECT form_id, version FROM forms ORDER BY form_id, version")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::DeviceStore;

    #[test]
    fn forms_revision_moves_only_when_a_form_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = DeviceStore::open(&dir.path().join("s.sqlite3")).unwrap();
        assert_eq!(store.forms_revision().unwrap(), 0);
        let json = survey_model::BUILTIN_FORMS[0].1;
        store.put_form(json).unwrap();
        assert_eq!(store.forms_revision().unwrap(), 1);
        store.put_form(json).unwrap();
        assert_eq!(store.forms_revision().unwrap(), 1, "same text again");
        store.put_form(&format!("{json}\n")).unwrap();
        assert_eq!(store.forms_revision().unwrap(), 2, "new text, same version");
    }
}
