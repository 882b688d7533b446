//! The backend-independent merge: apply pushed changes to the stored documents,
//! check ownership and layout, and write the log, snapshot and projection in one
//! atomic batch. Also the server-side edit path used by coordinators.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::{AutoCommit, ChangeHash};
use survey_model::{Form, Interview};
use survey_protocol::{DocPush, DocResult, DocStatus};
use uuid::Uuid;

use crate::{CentralStore, DocWrite, Hash, NewChange, Role, StoreError, User};

/// How often a batch is retried when another writer moved a document.
const MAX_ATTEMPTS: usize = 8;

/// The forms a server knows, by (id, version).
#[derive(Debug, Default, Clone)]
pub struct FormRegistry {
    forms: HashMap<(String, u32), Form>,
}

impl FormRegistry {
    /// Load every form stored in `store`; forms that fail to parse are skipped
    /// with a warning (they were validated when stored).
    pub fn load(store: &dyn CentralStore) -> Result<FormRegistry, StoreError> {
        let mut reg = FormRegistry::default();
        for (id, version, json) in store.forms()? {
            match Form::from_json(&json) {
                Ok(f) => reg.insert(f),
                Err(e) => {
                    tracing::warn!(form = %id, version, error = %e, "stored form does not parse")
                }
            }
        }
        Ok(reg)
    }
    pub fn insert(&mut self, f: Form) {
        self.forms.insert((f.id().to_owned(), f.version()), f);
    }
    pub fn get(&self, id: &str, version: u32) -> Option<&Form> {
        self.forms.get(&(id.to_owned(), version))
    }
    /// The newest version of each form.
    pub fn latest(&self) -> Vec<&Form> {
        let mut best: HashMap<&str, &Form> = HashMap::new();
        for f in self.forms.values() {
            let e = best.entry(f.id()).or_insert(f);
            if f.version() > e.version() {
                *e = f;
            }
        }
        let mut v: Vec<&Form> = best.into_values().collect();
        v.sort_by(|a, b| a.id().cmp(b.id()));
        v
    }
    pub fn all(&self) -> impl Iterator<Item = &Form> {
        self.forms.values()
    }
}

/// Who is pushing.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub user: &'a User,
    /// The device id the changes come from.
    pub source: &'a str,
}

/// Why a whole push was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("not allowed to write interview {doc}: {reason}")]
    Forbidden { doc: Uuid, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn to_hashes(h: &[ChangeHash]) -> Vec<Hash> {
    h.iter().map(|h| h.0).collect()
}

/// Apply a device's pushed documents. Each document gets a status; the batch
/// is written atomically and durably before this returns.
pub fn push(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    caller: Caller<'_>,
    docs: &[DocPush],
) -> Result<Vec<DocResult>, PushError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (results, writes) = prepare(store, forms, caller, docs)?;
        if writes.is_empty() {
            return Ok(results);
        }
        match store.commit_docs(&writes) {
            Ok(()) => return Ok(results),
            Err(StoreError::Conflict(id)) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(doc = %id, attempt, "concurrent update, retrying merge");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn prepare(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    caller: Caller<'_>,
    docs: &[DocPush],
) -> Result<(Vec<DocResult>, Vec<DocWrite>), PushError> {
    let mut results = Vec::with_capacity(docs.len());
    let mut writes = Vec::new();
    for push in docs {
        let id = push.doc_id;
        let rejected = |reason: String| DocResult {
            doc_id: id,
            status: DocStatus::Rejected { reason },
            heads: Vec::new(),
        };
        let existing = store.load_doc(id)?;
        if let Some(doc) = &existing
            && doc.owner != caller.user.id
        {
            return Err(PushError::Forbidden {
                doc: id,
                reason: "interview belongs to another user".into(),
            });
        }
        let merged = catch_unwind(AssertUnwindSafe(|| merge_one(existing.as_ref(), push)));
        let outcome = match merged {
            Ok(o) => o,
            Err(_) => {
                tracing::error!(doc = %id, "automerge panicked while merging; document rejected");
                results.push(rejected(
                    "internal error while merging this document".into(),
                ));
                continue;
            }
        };
        match outcome {
            Merge::Rejected(reason) => results.push(rejected(reason)),
            Merge::Missing(hashes) => results.push(DocResult {
                doc_id: id,
                status: DocStatus::MissingDeps { hashes },
                heads: Vec::new(),
            }),
            Merge::Unchanged(heads) => results.push(DocResult {
                doc_id: id,
                status: DocStatus::Applied,
                heads,
            }),
            Merge::Changed {
                mut iv,
                new_changes,
                heads,
            } => {
                let meta = iv.meta().clone();
                if iv.id() != id {
                    results.push(rejected("interview_id does not match doc_id".into()));
                    continue;
                }
                match &existing {
                    None => {
                        if meta.created_by != caller.user.id {
                            return Err(PushError::Forbidden {
                                doc: id,
                                reason: "created_by is not the caller".into(),
                            });
                        }
                        if caller.user.role == Role::Employee
                            && !caller.user.countries.contains(&meta.country)
                        {
                            return Err(PushError::Forbidden {
                                doc: id,
                                reason: format!("country {} is not the caller's", meta.country),
                            });
                        }
                    }
                    Some(doc) if doc.country != meta.country || doc.owner != meta.created_by => {
                        results.push(rejected("interview metadata is write-once".into()));
                        continue;
                    }
                    Some(_) => {}
                }
                let form = forms.get(&meta.form_id, meta.form_version);
                let record = iv.project(form);
                let snapshot = iv.save();
                writes.push(DocWrite {
                    doc_id: id,
                    owner: meta.created_by.clone(),
                    country: meta.country.clone(),
                    expected_version: existing.as_ref().map(|d| d.version),
                    changes: new_changes,
                    source: caller.source.to_owned(),
                    snapshot,
                    heads: heads.clone(),
                    record,
                });
                results.push(DocResult {
                    doc_id: id,
                    status: DocStatus::Applied,
                    heads,
                });
            }
        }
    }
    Ok((results, writes))
}

enum Merge {
    Rejected(String),
    Missing(Vec<Hash>),
    Unchanged(Vec<Hash>),
    Changed {
        iv: Box<Interview>,
        new_changes: Vec<NewChange>,
        heads: Vec<Hash>,
    },
}

fn merge_one(existing: Option<&crate::StoredDoc>, push: &DocPush) -> Merge {
    let mut doc = match existing {
        Some(d) => match AutoCommit::load(&d.snapshot) {
            Ok(doc) => doc,
            Err(e) => return Merge::Rejected(format!("stored snapshot is unreadable: {e}")),
        },
        None => AutoCommit::new(),
    };
    let before = doc.get_heads();
    let claimed: Vec<ChangeHash> = push.heads.iter().map(|h| ChangeHash(*h)).collect();
    // A retry of something already stored: nothing to parse or write.
    if !claimed.is_empty() && claimed.iter().all(|h| doc.get_change_by_hash(h).is_some()) {
        return Merge::Unchanged(to_hashes(&before));
    }
    if push.data.is_empty() {
        return Merge::Unchanged(to_hashes(&before));
    }
    if let Err(e) = doc.load_incremental(&push.data) {
        return Merge::Rejected(format!("data is not valid Automerge: {e}"));
    }
    // Automerge queues changes whose dependencies are absent instead of failing.
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Merge::Missing(to_hashes(&missing));
    }
    // load_incremental skips chunks it cannot parse: the claimed heads tell.
    if let Some(h) = claimed.iter().find(|h| doc.get_change_by_hash(h).is_none()) {
        return Merge::Rejected(format!(
            "data does not contain the change {h} it claims; it may be corrupt"
        ));
    }
    let heads = doc.get_heads();
    if heads == before {
        return Merge::Unchanged(to_hashes(&heads));
    }
    let new_changes: Vec<NewChange> = doc
        .get_changes(&before)
        .into_iter()
        .map(|c| NewChange {
            hash: c.hash().0,
            actor: c.actor_id().to_bytes().to_vec(),
            bytes: c.raw_bytes().to_vec(),
        })
        .collect();
    let iv = match Interview::from_doc(doc, None) {
        Ok(iv) => iv,
        Err(e) => return Merge::Rejected(e.to_string()),
    };
    Merge::Changed {
        iv: Box::new(iv),
        new_changes,
        heads: to_hashes(&heads),
    }
}

/// Why a server-side edit failed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("interview {0} not found")]
    NotFound(Uuid),
    #[error(transparent)]
    Model(#[from] survey_model::ModelError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Edit a stored interview on the server (review state, comments, tags) as
/// `actor`, writing the new change(s) like any pushed change. `f` may run more
/// than once if another writer moves the document meanwhile.
pub fn edit<T>(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    actor: &automerge::ActorId,
    source: &str,
    id: Uuid,
    mut f: impl FnMut(&mut Interview) -> Result<T, survey_model::ModelError>,
) -> Result<(T, survey_model::InterviewRecord), EditError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let doc = store.load_doc(id)?.ok_or(EditError::NotFound(id))?;
        let mut iv = Interview::load(&doc.snapshot)?;
        iv.set_actor(actor.clone());
        let before = iv.heads();
        let out = f(&mut iv)?;
        let new_changes: Vec<NewChange> = iv
            .changes_since(&before)
            .into_iter()
            .map(|c| NewChange {
                hash: c.hash().0,
                actor: c.actor_id().to_bytes().to_vec(),
                bytes: c.raw_bytes().to_vec(),
            })
            .collect();
        let meta = iv.meta().clone();
        let record = iv.project(forms.get(&meta.form_id, meta.form_version));
        if new_changes.is_empty() {
            return Ok((out, record));
        }
        let heads = to_hashes(&iv.heads());
        let write = DocWrite {
            doc_id: id,
            owner: doc.owner.clone(),
            country: doc.country.clone(),
            expected_version: Some(doc.version),
            changes: new_changes,
            source: source.to_owned(),
            snapshot: iv.save(),
            heads,
            record: record.clone(),
        };
        match store.commit_docs(std::slice::from_ref(&write)) {
            Ok(()) => return Ok((out, record)),
            Err(StoreError::Conflict(_)) if attempt < MAX_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}
