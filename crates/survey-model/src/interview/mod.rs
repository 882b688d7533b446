//! The interview document: one Automerge document per interview.
//!
//! Layout (every container is created in the document's first change, by the
//! creating device only, so concurrent peers never race to create a key):
//!
//! ```text
//! { schema: 1,
//!   meta:     { interview_id, form_id, form_version, campaign, country,
//!               created_by, device_id, created_at },
//!   status:   "draft" | "submitted",   submitted_at: RFC 3339 (when submitted)
//!   answers:  { <scalar question>: bool | int | str,   (absent = unanswered)
//!               <text question>:   Text,               (character merge)
//!               <multi question>:  { option: bool },   (per-option merge)
//!               <repeat id>:       [ { <question>: … } ] }  (one map per
//!                                   instance, made with its containers in
//!                                   the change that adds it)
//!   review:   { state, by, at },
//!   comments: [ { id, author, role, at, text } ],
//!   tags:     { tag: bool } }
//! ```

mod answers;
mod chunk;
mod paradata;
mod record;
mod repeats;
mod review;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};
use autosurgeon::{Hydrate, Reconcile, hydrate_prop, reconcile_prop};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::answer::AnswerError;
use crate::form::{Form, QuestionType};

pub use answers::Conflict;
pub use chunk::ChunkError;
pub use paradata::{Paradata, paradata_of};
pub use record::{CommentNote, InterviewRecord, ReviewInfo};
pub use repeats::RepeatAnswers;
pub use review::{Comment, ReviewState};

/// Version of the document layout above.
pub const DOC_SCHEMA: i64 = 1;

/// Who created the interview, where and with which form. Written once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile)]
pub struct InterviewMeta {
    pub interview_id: String,
    pub form_id: String,
    pub form_version: u32,
    pub campaign: String,
    pub country: String,
    pub created_by: String,
    pub device_id: String,
    pub created_at: String,
}

/// Errors of the document layer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    #[error("document is not an interview: {0}")]
    Malformed(String),
    #[error("document has changes whose dependencies are missing: {0} hash(es)")]
    MissingDeps(usize),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error("form mismatch: interview uses {doc}, form is {form}")]
    FormMismatch { doc: String, form: String },
    #[error("reconcile: {0}")]
    Reconcile(Box<autosurgeon::ReconcileError>),
    #[error("cannot submit: {0} blocking problem(s)")]
    Incomplete(usize),
}

impl From<automerge::AutomergeError> for ModelError {
    fn from(e: automerge::AutomergeError) -> Self {
        ModelError::Automerge(Box::new(e))
    }
}

impl From<autosurgeon::ReconcileError> for ModelError {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        ModelError::Reconcile(Box::new(e))
    }
}

impl From<autosurgeon::HydrateError> for ModelError {
    fn from(e: autosurgeon::HydrateError) -> Self {
        ModelError::Malformed(e.to_string())
    }
}

/// Current time as RFC 3339 and as Unix seconds (for change timestamps).
pub fn now() -> (String, i64) {
    let t = time::OffsetDateTime::now_utc();
    let s = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    (s, t.unix_timestamp())
}

/// An actor id derived from a UUID (one per device install, or per server session).
pub fn actor_from_uuid(id: Uuid) -> ActorId {
    ActorId::from(id.as_bytes().as_slice())
}

/// One interview document with cached object ids.
#[derive(Debug, Clone)]
pub struct Interview {
    doc: AutoCommit,
    id: Uuid,
    meta: InterviewMeta,
    pub(crate) answers: ObjId,
    pub(crate) review: ObjId,
    comments: ObjId,
    tags: ObjId,
    /// A pinned device clock for the following changes ([`Interview::pin_clock`]).
    clock: Option<i64>,
}

impl Interview {
    /// Create a new interview with every container made in the first change.
    pub fn create(
        form: &Form,
        meta: InterviewMeta,
        actor: ActorId,
    ) -> Result<Interview, ModelError> {
        if meta.form_id != form.id() || meta.form_version != form.version() {
            return Err(ModelError::FormMismatch {
                doc: format!("{}@{}", meta.form_id, meta.form_version),
                form: format!("{}@{}", form.id(), form.version()),
            });
        }
        let id = Uuid::parse_str(&meta.interview_id)
            .map_err(|e| ModelError::Malformed(format!("interview_id: {e}")))?;
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "schema", DOC_SCHEMA)?;
        reconcile_prop(&mut doc, ROOT, "meta", &meta)?;
        doc.put(ROOT, "status", "draft")?;
        let answers = doc.put_object(ROOT, "answers", ObjType::Map)?;
        for r in &form.def().repeats {
            doc.put_object(&answers, r.id.as_str(), ObjType::List)?;
        }
        for q in form.top_questions() {
            match q.kind {
                QuestionType::Text => {
                    doc.put_object(&answers, q.name.as_str(), ObjType::Text)?;
                }
                QuestionType::MultiChoice => {
                    doc.put_object(&answers, q.name.as_str(), ObjType::Map)?;
                }
                _ => {}
            }
        }
        doc.put_object(ROOT, "review", ObjType::Map)?;
        doc.put_object(ROOT, "comments", ObjType::List)?;
        doc.put_object(ROOT, "tags", ObjType::Map)?;
        commit(&mut doc, None);
        Self::from_doc(doc, Some(id))
    }

    /// Load a saved document (snapshot and/or incremental chunks concatenated).
    pub fn load(bytes: &[u8]) -> Result<Interview, ModelError> {
        let doc = AutoCommit::load(bytes)?;
        Self::from_doc(doc, None)
    }

    /// Build from changes (the server's path); refuses partial histories.
    pub fn from_changes(changes: Vec<Change>) -> Result<Interview, ModelError> {
        let mut doc = AutoCommit::new();
        doc.apply_changes(changes)?;
        let missing = doc.get_missing_deps(&[]);
        if !missing.is_empty() {
            return Err(ModelError::MissingDeps(missing.len()));
        }
        Self::from_doc(doc, None)
    }

    /// Wrap an existing document, checking its layout.
    pub fn from_doc(doc: AutoCommit, expect_id: Option<Uuid>) -> Result<Interview, ModelError> {
        let obj = |key: &str, ty: ObjType| -> Result<ObjId, ModelError> {
            match doc.get(ROOT, key)? {
                Some((Value::Object(t), id)) if t == ty => Ok(id),
                _ => Err(ModelError::Malformed(format!("missing `{key}` {ty:?}"))),
            }
        };
        let answers = obj("answers", ObjType::Map)?;
        let review = obj("review", ObjType::Map)?;
        let comments = obj("comments", ObjType::List)?;
        let tags = obj("tags", ObjType::Map)?;
        let meta: InterviewMeta = hydrate_prop(&doc, ROOT, "meta")?;
        let id = Uuid::parse_str(&meta.interview_id)
            .map_err(|e| ModelError::Malformed(format!("interview_id: {e}")))?;
        if expect_id.is_some_and(|e| e != id) {
            return Err(ModelError::Malformed("interview_id mismatch".into()));
        }
        Ok(Interview {
            doc,
            id,
            meta,
            answers,
            review,
            comments,
            tags,
            clock: None,
        })
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn meta(&self) -> &InterviewMeta {
        &self.meta
    }
    /// The underlying Automerge document, read-only.
    pub fn doc(&self) -> &AutoCommit {
        &self.doc
    }
    /// The underlying Automerge document (for sync).
    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
    pub fn set_actor(&mut self, actor: ActorId) {
        self.doc.set_actor(actor);
    }

    fn check_form(&self, form: &Form) -> Result<(), ModelError> {
        if self.meta.form_id != form.id() {
            return Err(ModelError::FormMismatch {
                doc: self.meta.form_id.clone(),
                form: form.id().to_owned(),
            });
        }
        Ok(())
    }

    pub(crate) fn str_at(&self, obj: &ObjId, key: &str) -> Option<String> {
        match self.doc.get(obj, key).ok()?? {
            (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
            _ => None,
        }
    }

    /// The keys of map `obj` whose value is `true` (selected options, tags).
    fn keys_set_true<'a>(&'a self, obj: &'a ObjId) -> impl Iterator<Item = String> + 'a {
        self.doc
            .map_range(obj, ..)
            .filter(|item| {
                matches!(
                    &item.value,
                    automerge::ValueRef::Scalar(automerge::ScalarValueRef::Boolean(true))
                )
            })
            .map(|item| item.key.to_string())
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }
    /// Compact full save.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }
    /// How many changes the document holds (from its change graph; nothing
    /// is rebuilt).
    pub fn change_count(&self) -> usize {
        use automerge::ReadDoc;
        self.doc.stats().num_changes as usize
    }
    /// The whole document without DEFLATE on its columns: what the server
    /// stores per push, where starting a compressor per column cost more
    /// CPU than the few hundred bytes it saves on a small interview.
    pub fn save_uncompressed(&mut self) -> Vec<u8> {
        self.doc.save_nocompress()
    }
    /// Changes since the last `save`/`save_incremental`.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }
    /// Changes not covered by `heads`.
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> Vec<Change> {
        self.doc.get_changes(heads)
    }
    /// Apply changes received from elsewhere. Duplicates are ignored; changes
    /// whose dependencies are missing are reported, never silently dropped.
    pub fn apply_changes(&mut self, changes: Vec<Change>) -> Result<(), ModelError> {
        self.doc.apply_changes(changes)?;
        let missing = self.doc.get_missing_deps(&[]);
        if !missing.is_empty() {
            return Err(ModelError::MissingDeps(missing.len()));
        }
        Ok(())
    }
    /// Stamp the following changes with device time `t` (Unix seconds)
    /// instead of the clock: for simulated devices, demo data and tests that
    /// need an interview's history at known times. `None` returns to the clock.
    pub fn pin_clock(&mut self, t: Option<i64>) {
        self.clock = t;
    }

    /// Whether the document contains every change in `heads`.
    pub fn has_all(&mut self, heads: &[ChangeHash]) -> bool {
        heads
            .iter()
            .all(|h| self.doc.get_change_by_hash(h).is_some())
    }
}

/// Commit the pending operations as one change stamped with `clock` (Unix
/// seconds), else the current time.
pub(crate) fn commit(doc: &mut AutoCommit, clock: Option<i64>) {
    let ts = clock.unwrap_or_else(|| now().1);
    doc.commit_with(CommitOptions::default().with_time(ts));
}
