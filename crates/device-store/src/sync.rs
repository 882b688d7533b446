//! Sync bookkeeping: what the server has not acknowledged yet (the outbox),
//! acknowledgements, changes received from the server, and the repair paths
//! (actor clash, missing dependencies).

use automerge::{Change, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};
use survey_model::Interview;
use uuid::Uuid;

use crate::docs::Save;
use crate::{DeviceStore, PendingDoc, Result, StoreError, decode_heads, encode_heads, now_ms};

impl DeviceStore {
    /// Documents with changes the server has not acknowledged, up to `limit`.
    pub fn pending(&self, limit: usize) -> Result<Vec<PendingDoc>> {
        let ids: Vec<(String, String)> = {
            let mut st = self.conn.prepare(
                "SELECT s.doc_id, s.server_heads FROM sync_state s WHERE s.dirty = 1
                 ORDER BY s.doc_id LIMIT ?1",
            )?;
            let rows = st.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for (id, server) in ids {
            let id = Uuid::parse_str(&id).map_err(|e| StoreError::BadMeta(e.to_string()))?;
            let base_heads = decode_heads(&server)?;
            // Never acknowledged by the server, stored as one snapshot: the
            // snapshot is the push (the server loads any Automerge chunk), so
            // the document is neither loaded nor re-encoded.
            if base_heads.is_empty()
                && let Some(p) = self.whole_snapshot(id)?
            {
                out.push(p);
                continue;
            }
            let mut iv = self.load(id)?;
            let heads = iv.heads();
            // Base heads the local doc does not know (e.g. after a reset) are useless.
            let base: Vec<ChangeHash> = if iv.has_all(&base_heads) {
                base_heads
            } else {
                Vec::new()
            };
            // Metadata only: the bundle below encodes the changes once.
            let hashes: Vec<ChangeHash> = iv
                .doc_mut()
                .get_changes_meta(&base)
                .iter()
                .map(|m| m.hash)
                .collect();
            let data = iv
                .doc_mut()
                .bundle(hashes.iter().copied())
                .map_err(|e| StoreError::Corrupt {
                    doc: id,
                    reason: format!("bundle: {e}"),
                })?
                .bytes()
                .to_vec();
            out.push(PendingDoc {
                id,
                base_heads: base,
                heads,
                change_count: hashes.len(),
                data,
            });
        }
        Ok(out)
    }

    /// A never-acknowledged document's push as its stored snapshot, when
    /// that snapshot is the whole document (no chunks after it) and its
    /// change count is known: the server loads any Automerge chunk, so the
    /// document is neither loaded nor re-encoded here.
    fn whole_snapshot(&self, id: Uuid) -> Result<Option<PendingDoc>> {
        let row: Option<(Vec<u8>, String, Option<i64>)> = self
            .conn
            .prepare_cached(
                "SELECT snapshot, heads, snapshot_changes FROM docs
                 WHERE doc_id = ?1 AND chunk_count = 0",
            )?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((data, heads, Some(changes))) = row else {
            return Ok(None);
        };
        Ok(Some(PendingDoc {
            id,
            base_heads: Vec::new(),
            heads: decode_heads(&heads)?,
            change_count: changes as usize,
            data,
        }))
    }

    /// Record that the server acknowledged `server_heads` for a document. The
    /// document stays dirty if it has local changes beyond them (edited during
    /// the sync).
    /// When the acknowledged heads are the stored heads (the usual case) the
    /// document is not loaded: one lookup of the recorded heads decides.
    pub fn mark_acknowledged(&mut self, id: Uuid, server_heads: &[ChangeHash]) -> Result<()> {
        // Covered when the server heads include every local change. If the server
        // has changes this device has not received yet we cannot tell, so the
        // document stays dirty: resending is idempotent.
        let covered = self.is_stored_at(id, server_heads)? || {
            let mut iv = self.load(id)?;
            iv.has_all(server_heads) && iv.changes_since(server_heads).is_empty()
        };
        self.conn.execute(
            "INSERT INTO sync_state(doc_id, server_heads, dirty, last_synced_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(doc_id) DO UPDATE SET server_heads = excluded.server_heads,
               dirty = excluded.dirty, last_synced_at = excluded.last_synced_at,
               sync_error = NULL",
            params![
                id.to_string(),
                encode_heads(server_heads),
                i64::from(!covered),
                now_ms()
            ],
        )?;
        Ok(())
    }

    /// Record one sync response's acknowledgements ([`Self::mark_acknowledged`]
    /// each) and, when given, the new feed cursor, in one transaction that
    /// does not wait for the disk (`synchronous=NORMAL`): a crash may lose
    /// it (never half of it), and the device then pushes those documents
    /// again and re-reads the feed, which the server answers as already
    /// stored. The next durable commit syncs it anyway.
    pub fn acknowledge(
        &mut self,
        acks: &[(Uuid, Vec<ChangeHash>)],
        cursor: Option<u64>,
    ) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let out = self.acknowledge_in_tx(acks, cursor);
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        out
    }

    fn acknowledge_in_tx(
        &mut self,
        acks: &[(Uuid, Vec<ChangeHash>)],
        cursor: Option<u64>,
    ) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let done = (|| {
            for (id, heads) in acks {
                self.mark_acknowledged(*id, heads)?;
            }
            if let Some(c) = cursor {
                self.set_cursor(c)?;
            }
            Ok(())
        })();
        match done {
            Ok(()) => Ok(self.conn.execute_batch("COMMIT")?),
            Err(e) => {
                // The rollback's own failure would hide the first error.
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Apply changes made elsewhere (coordinator reviews, another device of the
    /// same user). Creates the document if the device does not have it yet.
    /// `server_heads` are the server's heads for the document.
    pub fn apply_remote(
        &mut self,
        id: Uuid,
        changes: Vec<Change>,
        server_heads: &[ChangeHash],
    ) -> Result<()> {
        let mut iv = match self.load(id) {
            Ok(iv) => iv,
            Err(StoreError::NotFound(_)) => {
                let mut iv = Interview::from_changes(changes)?;
                iv.set_actor(self.actor());
                let form = self
                    .form(&iv.meta().form_id, Some(iv.meta().form_version))
                    .ok();
                self.save_inner(&mut iv, form.as_ref(), Save::Remote)?;
                return self.mark_acknowledged(id, server_heads);
            }
            Err(e) => return Err(e),
        };
        iv.apply_changes(changes)?;
        let form = self
            .form(&iv.meta().form_id, Some(iv.meta().form_version))
            .ok();
        self.save_inner(&mut iv, form.as_ref(), Save::Remote)?;
        self.mark_acknowledged(id, server_heads)
    }

    /// Replace a document by the server's rewrite of it (personal data erased
    /// on request): the old copy and its history are dropped, and what this
    /// device did after the state the server last acknowledged is made again
    /// on top of the new document (`Interview::rebased_onto`: unsynced
    /// answers, status and comments survive, writes to erased answers do
    /// not). The document stays dirty when such edits exist. Returns whether
    /// the device had a copy.
    pub fn replace_document(
        &mut self,
        id: Uuid,
        snapshot: &[u8],
        server_heads: &[ChangeHash],
    ) -> Result<bool> {
        let replacement = Interview::load(snapshot)?;
        if replacement.id() != id {
            return Err(StoreError::Corrupt {
                doc: id,
                reason: "the replacement is another interview".into(),
            });
        }
        let old = match self.load(id) {
            Ok(iv) => Some(iv),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let mut fresh = match &old {
            Some(old) => {
                let base = self.recorded_server_heads(id)?;
                old.rebased_onto(&base, &replacement, self.actor())?
            }
            None => {
                let mut iv = replacement;
                iv.set_actor(self.actor());
                iv
            }
        };
        let form = self
            .form(&fresh.meta().form_id, Some(fresh.meta().form_version))
            .ok();
        self.save_inner(&mut fresh, form.as_ref(), Save::Whole)?;
        self.mark_acknowledged(id, server_heads)?;
        // The old pages (zeroed in the file by secure_delete) can still sit in
        // the WAL: fold it in and truncate it.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(old.is_some())
    }

    /// Mark a document for the next sync round: the device then tells the
    /// server its heads, and the server sends what the device lacks (used when
    /// feed changes could not be applied for missing dependencies).
    pub fn mark_dirty(&mut self, id: Uuid) -> Result<()> {
        set_dirty(&self.conn, &id.to_string())
    }

    /// The server refused document `id` because its new changes use an actor
    /// that also writes from another device (this store was copied or
    /// restored). Re-make the changes the server does not have with this
    /// store's actor, taking a new actor first if the clashing changes are
    /// this store's current one (see `Interview::reauthor`). `server_heads`
    /// are the server's heads for the document (empty if it has none). The
    /// document stays dirty and is resent. Returns whether the actor changed.
    pub fn resolve_actor_clash(&mut self, id: Uuid, server_heads: &[ChangeHash]) -> Result<bool> {
        let mut iv = self.load(id)?;
        // What the server surely has: the heads it acknowledged to this store
        // and those of its heads this store has; failing both, when the
        // server has the document, its creation change.
        let mut base: Vec<ChangeHash> = self.recorded_server_heads(id)?;
        base.extend(server_heads.iter().copied());
        base.sort();
        base.dedup();
        base.retain(|h| iv.has_all(std::slice::from_ref(h)));
        if base.is_empty() && !server_heads.is_empty() {
            base = iv
                .changes_since(&[])
                .iter()
                .filter(|c| c.deps().is_empty())
                .map(Change::hash)
                .collect();
        }
        let mine = self.actor();
        let reset = iv
            .changes_since(&base)
            .iter()
            .any(|c| *c.actor_id() == mine);
        if reset {
            self.reset_actor()?;
        }
        let mut fresh = iv.reauthor(&base, self.actor())?;
        let form = self
            .form(&fresh.meta().form_id, Some(fresh.meta().form_version))
            .ok();
        self.save_inner(&mut fresh, form.as_ref(), Save::Whole)?;
        Ok(reset)
    }

    /// The server heads last acknowledged for a document (none if never).
    fn recorded_server_heads(&self, id: Uuid) -> Result<Vec<ChangeHash>> {
        let recorded: Option<String> = self
            .conn
            .query_row(
                "SELECT server_heads FROM sync_state WHERE doc_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        decode_heads(recorded.as_deref().unwrap_or(""))
    }

    /// Forget the server heads of a document so its whole history is sent
    /// again (the repair path after the server reported missing dependencies).
    pub fn reset_server_heads(&mut self, id: Uuid) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET server_heads = '', dirty = 1 WHERE doc_id = ?1",
            [id.to_string()],
        )?;
        Ok(())
    }

    /// Record (or clear) why the server refused a document, for the UI.
    pub fn set_sync_error(&mut self, id: Uuid, error: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET sync_error = ?2 WHERE doc_id = ?1",
            params![id.to_string(), error],
        )?;
        Ok(())
    }

    /// Last time any document was acknowledged by the server (Unix ms).
    pub fn last_sync_ms(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT MAX(last_synced_at) FROM sync_state", [], |r| {
                r.get(0)
            })?)
    }
}

/// Mark a document for the next sync round.
pub(crate) fn set_dirty(conn: &Connection, key: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_state(doc_id, dirty) VALUES (?1, 1)
         ON CONFLICT(doc_id) DO UPDATE SET dirty = 1",
        [key],
    )?;
    Ok(())
}

/// Whether two lists name the same set of change hashes.
pub(crate) fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    let sorted = |h: &[ChangeHash]| {
        let mut v = h.to_vec();
        v.sort();
        v.dedup();
        v
    };
    sorted(a) == sorted(b)
}
