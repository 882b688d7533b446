//! Interview documents: create, load (snapshot plus chunks, checked against
//! the recorded heads), save (one durable transaction per edit, compacting
//! when chunks pile up) and the interview list.

use automerge::ChangeHash;
use rusqlite::{OptionalExtension, params};
use survey_model::{Form, Interview, InterviewMeta, InterviewRecord};
use uuid::Uuid;

use crate::sync::{same_heads, set_dirty};
use crate::{
    COMPACT_AFTER_CHUNKS, DeviceStore, InterviewSummary, ListFilter, Result, StoreError,
    SyncStatus, decode_heads, encode_heads, now_ms,
};

impl DeviceStore {
    /// Start a new interview for the enrolled user and persist it.
    pub fn create_interview(&mut self, form: &Form) -> Result<Interview> {
        let e = self.enrollment()?.ok_or(StoreError::NotEnrolled)?;
        let meta = InterviewMeta {
            interview_id: Uuid::now_v7().to_string(),
            form_id: form.id().to_owned(),
            form_version: form.version(),
            campaign: e.campaign,
            country: e.country,
            created_by: e.user_id,
            device_id: e.device_id,
            created_at: survey_model::now().0,
        };
        let mut iv = Interview::create(form, meta, self.actor())?;
        self.save(&mut iv, Some(form))?;
        Ok(iv)
    }

    /// Whether the stored document is exactly at `heads`, read from one
    /// column without loading it: a caller keeping a copy of the document in
    /// memory asks with its copy's heads whether the copy is still current
    /// (a sync may have merged changes into the stored one since).
    pub fn is_stored_at(&self, id: Uuid, heads: &[ChangeHash]) -> Result<bool> {
        Ok(same_heads(&self.stored_heads(id)?, heads))
    }

    /// The heads recorded with the stored document.
    pub(crate) fn stored_heads(&self, id: Uuid) -> Result<Vec<ChangeHash>> {
        let heads: String = self
            .conn
            .query_row(
                "SELECT heads FROM docs WHERE doc_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(StoreError::NotFound(id))?;
        decode_heads(&heads)
    }

    /// Load an interview: snapshot plus every chunk, with this device's actor.
    pub fn load(&self, id: Uuid) -> Result<Interview> {
        let key = id.to_string();
        let (snapshot, stored_heads): (Vec<u8>, String) = self
            .conn
            .query_row(
                "SELECT snapshot, heads FROM docs WHERE doc_id = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::NotFound(id))?;
        let corrupt = |reason: String| StoreError::Corrupt { doc: id, reason };
        let mut doc = automerge::AutoCommit::load(&snapshot).map_err(|e| corrupt(e.to_string()))?;
        let mut st = self
            .conn
            .prepare_cached("SELECT bytes FROM chunks WHERE doc_id = ?1 ORDER BY seq")?;
        let mut rows = st.query([&key])?;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            doc.load_incremental(&bytes)
                .map_err(|e| corrupt(format!("chunk: {e}")))?;
        }
        if !doc.get_missing_deps(&[]).is_empty() {
            return Err(corrupt("changes with missing dependencies".into()));
        }
        // Automerge skips chunks it cannot parse; the heads written in the same
        // transaction as the chunk tell whether anything was lost.
        let mut want = decode_heads(&stored_heads)?;
        let mut got = doc.get_heads();
        want.sort();
        got.sort();
        if want != got {
            return Err(corrupt(
                "stored chunks do not reach the recorded heads".into(),
            ));
        }
        doc.set_actor(self.actor());
        Interview::from_doc(doc, Some(id)).map_err(|e| corrupt(e.to_string()))
    }

    /// Persist every change of `iv` not yet on disk, in one transaction, and
    /// mark it dirty for sync. Returns after the commit is durable.
    pub fn save(&mut self, iv: &mut Interview, form: Option<&Form>) -> Result<()> {
        self.save_inner(iv, form, Save::Local)
    }

    pub(crate) fn save_inner(
        &mut self,
        iv: &mut Interview,
        form: Option<&Form>,
        how: Save,
    ) -> Result<()> {
        let id = iv.id();
        let key = id.to_string();
        let tx = self.conn.transaction()?;
        let stored: Option<(String, i64, String)> = tx
            .query_row(
                "SELECT heads, chunk_count, status FROM docs WHERE doc_id = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let heads = iv.heads();
        let rec = iv.project(form);
        let summary = serde_json::to_string(&summary_json(&rec)).unwrap_or_default();
        let search = search_text(&rec);
        let now = now_ms();
        match stored {
            None => {
                // Snapshots are kept without per-column DEFLATE: a
                // never-synced interview's snapshot is its push, and the
                // sync body's gzip packs the columns of all its interviews
                // better (1,012 vs 1,143 bytes up per interview) than
                // DEFLATE packs each column alone.
                let snapshot = iv.save_uncompressed();
                tx.execute(
                    "INSERT INTO docs(doc_id, form_id, form_version, snapshot, snapshot_changes,
                       chunk_count, heads, status, review_state, summary, search, created_at,
                       updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?12, 0, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        key,
                        rec.form_id,
                        rec.form_version,
                        snapshot,
                        encode_heads(&heads),
                        rec.status,
                        rec.review_state,
                        summary,
                        search,
                        rec.created_at,
                        now,
                        iv.change_count() as i64
                    ],
                )?;
            }
            Some((old_heads, chunks, old_status)) => {
                let old = decode_heads(&old_heads)?;
                if old == heads {
                    return Ok(());
                }
                // Compact when the chunks pile up, and when an interview is
                // submitted: it is then mostly read (listed, synced), rarely
                // edited, and a snapshot loads much faster than changes
                // (a whole interview answered in memory and saved at submit
                // would otherwise be one chunk of every answer's change).
                let submitted_now = old_status != "submitted" && rec.status == "submitted";
                if how == Save::Whole || chunks + 1 >= COMPACT_AFTER_CHUNKS || submitted_now {
                    let snapshot = iv.save_uncompressed();
                    tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [&key])?;
                    tx.execute(
                        "UPDATE docs SET snapshot = ?2, snapshot_changes = ?3, chunk_count = 0
                         WHERE doc_id = ?1",
                        params![key, snapshot, iv.change_count() as i64],
                    )?;
                } else {
                    let chunk = iv.doc_mut().save_after(&old);
                    tx.execute(
                        "INSERT INTO chunks(doc_id, seq, bytes)
                         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks WHERE doc_id = ?1), ?2)",
                        params![key, chunk],
                    )?;
                    tx.execute(
                        "UPDATE docs SET chunk_count = chunk_count + 1 WHERE doc_id = ?1",
                        [&key],
                    )?;
                }
                tx.execute(
                    "UPDATE docs SET heads = ?2, status = ?3, review_state = ?4, summary = ?5,
                       search = ?6, updated_at = ?7 WHERE doc_id = ?1",
                    params![
                        key,
                        encode_heads(&heads),
                        rec.status,
                        rec.review_state,
                        summary,
                        search,
                        now
                    ],
                )?;
            }
        }
        match how {
            Save::Local => set_dirty(&tx, &key)?,
            Save::Remote => {}
            Save::Whole => {
                set_dirty(&tx, &key)?;
                tx.execute(
                    "UPDATE sync_state SET sync_error = NULL WHERE doc_id = ?1",
                    [&key],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The interview list, newest first.
    pub fn list(&self, f: &ListFilter) -> Result<Vec<InterviewSummary>> {
        let mut sql = String::from(
            "SELECT d.doc_id, d.form_id, d.form_version, d.status, d.review_state, d.summary,
                    d.created_at, d.updated_at, COALESCE(s.dirty, 1), s.sync_error
             FROM docs d LEFT JOIN sync_state s ON s.doc_id = d.doc_id WHERE 1 = 1",
        );
        let mut args: Vec<String> = Vec::new();
        if let Some(st) = &f.status {
            args.push(st.clone());
            sql.push_str(&format!(" AND d.status = ?{}", args.len()));
        }
        if let Some(sync) = f.sync {
            sql.push_str(match sync {
                SyncStatus::Pending => " AND COALESCE(s.dirty, 1) = 1",
                SyncStatus::Synced => " AND COALESCE(s.dirty, 1) = 0",
            });
        }
        if let Some(t) = f.text.as_ref().filter(|t| !t.trim().is_empty()) {
            let esc = t
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            args.push(format!("%{esc}%"));
            sql.push_str(&format!(" AND d.search LIKE ?{} ESCAPE '\\'", args.len()));
        }
        sql.push_str(" ORDER BY d.updated_at DESC, d.doc_id DESC");
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                form_id,
                form_version,
                status,
                review_state,
                summary,
                created_at,
                updated_at,
                dirty,
                sync_error,
            ) = row?;
            let id = Uuid::parse_str(&id).map_err(|e| StoreError::BadMeta(e.to_string()))?;
            let s: serde_json::Value = serde_json::from_str(&summary).unwrap_or_default();
            out.push(InterviewSummary {
                id,
                form_id,
                form_version,
                status,
                sync: if dirty == 0 {
                    SyncStatus::Synced
                } else {
                    SyncStatus::Pending
                },
                review_state,
                city: s["city"].as_str().map(str::to_owned),
                place: s["place"].as_str().map(str::to_owned),
                segment: s["segment"].as_str().map(str::to_owned),
                nps: s["nps"].as_i64(),
                comment_count: s["comments"].as_u64().unwrap_or(0) as usize,
                conflicts: s["conflicts"].as_u64().unwrap_or(0) as usize,
                created_at,
                updated_at,
                sync_error,
            });
        }
        Ok(out)
    }

    /// Number of interviews on the device.
    pub fn count(&self) -> Result<usize> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM docs", [], |r| r.get::<_, i64>(0))?
            as usize)
    }
}

/// How `save_inner` writes a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Save {
    /// A local edit: appended as a chunk, marked for sync.
    Local,
    /// Changes received from the server: appended, not marked for sync.
    Remote,
    /// A re-authored document: a new snapshot (its history changed), marked
    /// for sync, its last sync error cleared.
    Whole,
}

fn summary_json(rec: &InterviewRecord) -> serde_json::Value {
    serde_json::json!({
        "city": rec.answer_str("city"),
        "place": rec.answer_str(survey_model::mcmb::PLACE_QUESTION),
        "segment": rec.answer_str("segment"),
        "nps": rec.answer_i64("nps"),
        "comments": rec.comment_count,
        "conflicts": rec.conflicts.len(),
    })
}

fn search_text(rec: &InterviewRecord) -> String {
    let mut s = rec.interview_id.clone();
    for k in ["city", "customer_name", "business_name", "verbatim"] {
        if let Some(v) = rec.answer_str(k) {
            s.push(' ');
            s.push_str(&v.chars().take(200).collect::<String>());
        }
    }
    s.to_lowercase()
}
