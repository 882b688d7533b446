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
//!               <multi question>:  { option: bool } }  (per-option merge)
//!   review:   { state, by, at },
//!   comments: [ { id, author, role, at, text } ],
//!   tags:     { tag: bool } }
//! ```

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value,
};
use autosurgeon::{Hydrate, Reconcile, hydrate_prop, reconcile_prop};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::answer::{Answer, AnswerError, Answers, GeoPoint};
use crate::form::{Form, QuestionType};
use crate::validate::{Code, Evaluation, QualityFlag};

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

/// Review states a coordinator can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Received,
    HasIssues,
    Approved,
    Rejected,
}

impl ReviewState {
    pub const ALL: [ReviewState; 4] = [
        ReviewState::Received,
        ReviewState::HasIssues,
        ReviewState::Approved,
        ReviewState::Rejected,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Received => "received",
            ReviewState::HasIssues => "has_issues",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<ReviewState> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A coordinator's (or employee's) comment on an interview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: String,
    /// The author's user id (empty on comments written before it existed).
    #[serde(default)]
    pub author_id: String,
    /// The author's name, as shown.
    pub author: String,
    pub role: String,
    pub at: String,
    pub text: String,
}

/// A scalar answer set concurrently to different values by different peers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub question: String,
    /// Every competing value; the first is the one shown as the answer.
    pub values: Vec<Json>,
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
    answers: ObjId,
    review: ObjId,
    comments: ObjId,
    tags: ObjId,
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
        for q in form.questions() {
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
        commit(&mut doc);
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

    /// Set (or clear, with `null`) one answer from its JSON form, as one change.
    pub fn set_answer_json(&mut self, form: &Form, name: &str, v: &Json) -> Result<(), ModelError> {
        let q = form
            .question(name)
            .ok_or_else(|| AnswerError::UnknownQuestion(name.to_owned()))?;
        let a = Answer::from_json(q, v)?;
        self.set_answer(form, name, a.as_ref())
    }

    /// Set (or clear) one typed answer, as one change.
    pub fn set_answer(
        &mut self,
        form: &Form,
        name: &str,
        a: Option<&Answer>,
    ) -> Result<(), ModelError> {
        self.check_form(form)?;
        let q = form
            .question(name)
            .ok_or_else(|| AnswerError::UnknownQuestion(name.to_owned()))?;
        let wrong = |expected: &'static str| AnswerError::WrongType {
            question: name.to_owned(),
            expected,
            got: a.map_or("null".into(), |a| a.to_json().to_string()),
        };
        let doc = &mut self.doc;
        let ans = &self.answers;
        match q.kind {
            QuestionType::Note => return Err(AnswerError::NoAnswer(name.to_owned()).into()),
            QuestionType::Text => {
                let text = match a {
                    None => "",
                    Some(Answer::Text(s)) => s.as_str(),
                    Some(_) => return Err(wrong("text").into()),
                };
                let obj = container(doc, ans, name, ObjType::Text)?;
                if doc.text(&obj)? != text {
                    doc.update_text(&obj, text)?;
                }
            }
            QuestionType::MultiChoice => {
                let empty = std::collections::BTreeSet::new();
                let set = match a {
                    None => &empty,
                    Some(Answer::Choices(s)) => s,
                    Some(_) => return Err(wrong("a list of options").into()),
                };
                let obj = container(doc, ans, name, ObjType::Map)?;
                // Touch only options that change, so concurrent edits of other
                // options merge.
                let current: Vec<String> = doc.keys(&obj).collect();
                for k in current {
                    let on = matches!(doc.get(&obj, k.as_str())?, Some((Value::Scalar(s), _)) if s.as_bool() == Some(true));
                    if on && !set.contains(&k) {
                        doc.put(&obj, k.as_str(), false)?;
                    }
                }
                for k in set {
                    let on = matches!(doc.get(&obj, k.as_str())?, Some((Value::Scalar(s), _)) if s.as_bool() == Some(true));
                    if !on {
                        doc.put(&obj, k.as_str(), true)?;
                    }
                }
            }
            _ => {
                let scalar = match a {
                    None => None,
                    Some(a) => Some(to_scalar(q.kind, a).ok_or_else(|| wrong(kind_name(q.kind)))?),
                };
                match scalar {
                    None => {
                        if doc.get(ans, name)?.is_some() {
                            doc.delete(ans, name)?;
                        }
                    }
                    Some(s) => {
                        let same = matches!(doc.get(ans, name)?, Some((Value::Scalar(cur), _)) if *cur == s)
                            && doc.get_all(ans, name)?.len() == 1;
                        if !same {
                            doc.put(ans, name, s)?;
                        }
                    }
                }
            }
        }
        commit(doc);
        Ok(())
    }

    /// Read every answer, typed by the form. Values that do not fit their
    /// question's type are skipped here (and flagged by [`Interview::project`]).
    pub fn answers(&self, form: &Form) -> Answers {
        let mut out = Answers::new();
        for q in form.questions() {
            if let Some(a) = self.read_answer(q.kind, &q.name) {
                out.insert(q.name.clone(), a);
            }
        }
        out
    }

    fn read_answer(&self, kind: QuestionType, name: &str) -> Option<Answer> {
        let (v, obj) = self.doc.get(&self.answers, name).ok()??;
        match (kind, v) {
            (QuestionType::Text, Value::Object(ObjType::Text)) => {
                let s = self.doc.text(&obj).ok()?;
                (!s.is_empty()).then_some(Answer::Text(s))
            }
            (QuestionType::MultiChoice, Value::Object(ObjType::Map)) => {
                let set: std::collections::BTreeSet<String> = self
                    .doc
                    .map_range(&obj, ..)
                    .filter(|item| {
                        matches!(
                            &item.value,
                            automerge::ValueRef::Scalar(automerge::ScalarValueRef::Boolean(true))
                        )
                    })
                    .map(|item| item.key.to_string())
                    .collect();
                (!set.is_empty()).then_some(Answer::Choices(set))
            }
            (kind, Value::Scalar(s)) => from_scalar(kind, &s),
            _ => None,
        }
    }

    /// Scalar answers that were set concurrently to different values.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        for key in self.doc.keys(&self.answers) {
            let Ok(all) = self.doc.get_all(&self.answers, key.as_str()) else {
                continue;
            };
            if all.len() > 1 {
                let values = all
                    .iter()
                    .rev()
                    .map(|(v, _)| match v {
                        Value::Scalar(s) => scalar_json(s),
                        Value::Object(t) => Json::String(format!("<{t:?}>")),
                    })
                    .collect();
                out.push(Conflict {
                    question: key,
                    values,
                });
            }
        }
        out
    }

    /// "draft" or "submitted".
    pub fn status(&self) -> String {
        self.str_at(&ROOT, "status")
            .unwrap_or_else(|| "draft".into())
    }

    /// Mark as submitted when nothing blocks it; returns the evaluation either way.
    pub fn submit(&mut self, form: &Form) -> Result<Evaluation, ModelError> {
        self.check_form(form)?;
        let eval = form.evaluate(&self.answers(form));
        if !eval.is_complete() {
            return Ok(eval);
        }
        let (at, _) = now();
        self.doc.put(ROOT, "status", "submitted")?;
        self.doc.put(ROOT, "submitted_at", at)?;
        commit(&mut self.doc);
        Ok(eval)
    }

    /// Return a submitted interview to draft (to fix it after review).
    pub fn reopen(&mut self) -> Result<(), ModelError> {
        if self.status() != "draft" {
            self.doc.put(ROOT, "status", "draft")?;
            commit(&mut self.doc);
        }
        Ok(())
    }

    pub fn review_state(&self) -> Option<ReviewState> {
        self.str_at(&self.review, "state")
            .and_then(|s| ReviewState::parse(&s))
    }

    /// Set the review state (coordinator action), as one change.
    pub fn set_review(&mut self, state: ReviewState, by: &str) -> Result<(), ModelError> {
        let (at, _) = now();
        self.doc.put(&self.review, "state", state.as_str())?;
        self.doc.put(&self.review, "by", by)?;
        self.doc.put(&self.review, "at", at)?;
        commit(&mut self.doc);
        Ok(())
    }

    /// Append a comment by user `author_id` (shown as `author`, with `role`),
    /// as one change. Returns its id.
    pub fn add_comment(
        &mut self,
        author_id: &str,
        author: &str,
        role: &str,
        text: &str,
    ) -> Result<String, ModelError> {
        let (at, _) = now();
        let c = Comment {
            id: Uuid::now_v7().to_string(),
            author_id: author_id.to_owned(),
            author: author.to_owned(),
            role: role.to_owned(),
            at,
            text: text.to_owned(),
        };
        let idx = self.doc.length(&self.comments);
        let obj = self.doc.insert_object(&self.comments, idx, ObjType::Map)?;
        for (k, v) in [
            ("id", &c.id),
            ("author_id", &c.author_id),
            ("author", &c.author),
            ("role", &c.role),
            ("at", &c.at),
            ("text", &c.text),
        ] {
            self.doc.put(&obj, k, v.as_str())?;
        }
        commit(&mut self.doc);
        Ok(c.id)
    }

    /// Every comment, in list order, each once: a comment re-made by a
    /// device that re-authored its changes (same comment id) is shown once. A
    /// missing field reads as empty.
    pub fn comments(&self) -> Vec<Comment> {
        let len = self.doc.length(&self.comments);
        let mut seen = std::collections::HashSet::new();
        (0..len)
            .filter_map(|i| match self.doc.get(&self.comments, i).ok()?? {
                (Value::Object(ObjType::Map), obj) => {
                    let f = |k: &str| self.str_at(&obj, k).unwrap_or_default();
                    Some(Comment {
                        id: f("id"),
                        author_id: f("author_id"),
                        author: f("author"),
                        role: f("role"),
                        at: f("at"),
                        text: f("text"),
                    })
                }
                _ => None,
            })
            .filter(|c: &Comment| c.id.is_empty() || seen.insert(c.id.clone()))
            .collect()
    }

    /// Add or remove a theme / root-cause tag, as one change.
    pub fn set_tag(&mut self, tag: &str, on: bool) -> Result<(), ModelError> {
        self.doc.put(&self.tags, tag, on)?;
        commit(&mut self.doc);
        Ok(())
    }

    pub fn tags(&self) -> Vec<String> {
        self.doc
            .map_range(&self.tags, ..)
            .filter(|item| {
                matches!(
                    &item.value,
                    automerge::ValueRef::Scalar(automerge::ScalarValueRef::Boolean(true))
                )
            })
            .map(|item| item.key.to_string())
            .collect()
    }

    fn str_at(&self, obj: &ObjId, key: &str) -> Option<String> {
        match self.doc.get(obj, key).ok()?? {
            (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
            _ => None,
        }
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }
    /// Compact full save.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
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
    /// Whether the document contains every change in `heads`.
    pub fn has_all(&mut self, heads: &[ChangeHash]) -> bool {
        heads
            .iter()
            .all(|h| self.doc.get_change_by_hash(h).is_some())
    }

    /// Flatten to a record for storage, listing and export. With the form, the
    /// record holds only the answers that count ([`Form::clean`]: valid and
    /// relevant); every other answer found in the document — invalid, hidden by
    /// skip logic, of the wrong type or to no question of the form — is left
    /// out and named in `quality_flags`. The document itself keeps them all.
    /// Without the form, every answer is kept as raw JSON, unchecked.
    pub fn project(&mut self, form: Option<&Form>) -> InterviewRecord {
        let mut answers = BTreeMap::new();
        let mut quality_flags = Vec::new();
        let keys: Vec<String> = self.doc.keys(&self.answers).collect();
        match form {
            Some(f) => {
                let cleaned = f.clean(&self.answers(f));
                quality_flags = cleaned.flags;
                for key in keys {
                    let code = match f.question(&key) {
                        None => Code::UnknownQuestion,
                        Some(q) if self.read_answer(q.kind, &key).is_none() => Code::WrongType,
                        Some(_) => continue,
                    };
                    if self.raw_json(&key).is_some() {
                        quality_flags.push(QualityFlag {
                            question: key,
                            code,
                        });
                    }
                }
                quality_flags.sort();
                answers = cleaned
                    .answers
                    .into_iter()
                    .map(|(k, a)| (k, a.to_json()))
                    .collect();
            }
            None => {
                for key in keys {
                    if let Some(v) = self.raw_json(&key) {
                        answers.insert(key, v);
                    }
                }
            }
        }
        let heads = self.heads().iter().map(ToString::to_string).collect();
        InterviewRecord {
            interview_id: self.meta.interview_id.clone(),
            form_id: self.meta.form_id.clone(),
            form_version: self.meta.form_version,
            campaign: self.meta.campaign.clone(),
            country: self.meta.country.clone(),
            created_by: self.meta.created_by.clone(),
            device_id: self.meta.device_id.clone(),
            created_at: self.meta.created_at.clone(),
            status: self.status(),
            submitted_at: self.str_at(&ROOT, "submitted_at"),
            review_state: self.review_state().map(|r| r.as_str().to_owned()),
            answers,
            quality_flags,
            tags: self.tags(),
            comment_count: self.comments().len(),
            conflicts: self.conflicts().into_iter().map(|c| c.question).collect(),
            heads,
        }
    }

    fn raw_json(&self, key: &str) -> Option<Json> {
        let (v, obj) = self.doc.get(&self.answers, key).ok()??;
        match v {
            Value::Scalar(s) => Some(scalar_json(&s)),
            Value::Object(ObjType::Text) => self
                .doc
                .text(&obj)
                .ok()
                .filter(|s| !s.is_empty())
                .map(Json::String),
            Value::Object(_) => {
                let on: Vec<Json> = self
                    .doc
                    .map_range(&obj, ..)
                    .filter(|i| {
                        matches!(
                            &i.value,
                            automerge::ValueRef::Scalar(automerge::ScalarValueRef::Boolean(true))
                        )
                    })
                    .map(|i| Json::String(i.key.to_string()))
                    .collect();
                (!on.is_empty()).then_some(Json::Array(on))
            }
        }
    }
}

/// The flat projection of an interview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterviewRecord {
    pub interview_id: String,
    pub form_id: String,
    pub form_version: u32,
    pub campaign: String,
    pub country: String,
    pub created_by: String,
    pub device_id: String,
    pub created_at: String,
    pub status: String,
    pub submitted_at: Option<String>,
    pub review_state: Option<String>,
    /// The answers that count (see [`Interview::project`]).
    pub answers: BTreeMap<String, Json>,
    /// Answers in the document that `answers` leaves out, as `question:code`
    /// (empty in records stored before flags existed: re-project them).
    #[serde(default)]
    pub quality_flags: Vec<QualityFlag>,
    pub tags: Vec<String>,
    pub comment_count: usize,
    /// Questions with concurrent conflicting values.
    pub conflicts: Vec<String>,
    /// Document heads (hex), i.e. the version this record was made from.
    pub heads: Vec<String>,
}

impl InterviewRecord {
    pub fn answer_i64(&self, name: &str) -> Option<i64> {
        self.answers.get(name).and_then(Json::as_i64)
    }
    pub fn answer_str(&self, name: &str) -> Option<&str> {
        self.answers.get(name).and_then(Json::as_str)
    }
}

pub(crate) fn commit(doc: &mut AutoCommit) {
    let (_, ts) = now();
    doc.commit_with(CommitOptions::default().with_time(ts));
}

/// The container for `name`, which the first change created. A document made
/// by an older form version may lack it: then it is created now (safe, since
/// only its creator edits answers before the first sync of a new question).
fn container(
    doc: &mut AutoCommit,
    ans: &ObjId,
    name: &str,
    ty: ObjType,
) -> Result<ObjId, ModelError> {
    match doc.get(ans, name)? {
        Some((Value::Object(t), id)) if t == ty => Ok(id),
        Some(_) => Err(ModelError::Malformed(format!(
            "answer `{name}` is not a {ty:?} container"
        ))),
        None => Ok(doc.put_object(ans, name, ty)?),
    }
}

fn kind_name(k: QuestionType) -> &'static str {
    match k {
        QuestionType::Consent => "true/false",
        QuestionType::Integer | QuestionType::Nps | QuestionType::Rating => "a whole number",
        QuestionType::SingleChoice => "an option value",
        QuestionType::Date => "a YYYY-MM-DD date",
        QuestionType::Geopoint => "a GPS point",
        _ => "a value",
    }
}

fn to_scalar(kind: QuestionType, a: &Answer) -> Option<ScalarValue> {
    Some(match (kind, a) {
        (QuestionType::Consent, Answer::Bool(b)) => ScalarValue::Boolean(*b),
        (QuestionType::Integer | QuestionType::Nps | QuestionType::Rating, Answer::Int(i)) => {
            ScalarValue::Int(*i)
        }
        (QuestionType::SingleChoice, Answer::Choice(s)) | (QuestionType::Date, Answer::Date(s)) => {
            ScalarValue::Str(s.as_str().into())
        }
        (QuestionType::Geopoint, Answer::Geo(p)) => ScalarValue::Str(p.encode().into()),
        _ => return None,
    })
}

fn from_scalar(kind: QuestionType, s: &ScalarValue) -> Option<Answer> {
    match (kind, s) {
        (QuestionType::Consent, ScalarValue::Boolean(b)) => Some(Answer::Bool(*b)),
        (QuestionType::Integer | QuestionType::Nps | QuestionType::Rating, ScalarValue::Int(i)) => {
            Some(Answer::Int(*i))
        }
        (QuestionType::SingleChoice, ScalarValue::Str(v)) => Some(Answer::Choice(v.to_string())),
        (QuestionType::Date, ScalarValue::Str(v)) => Some(Answer::Date(v.to_string())),
        (QuestionType::Geopoint, ScalarValue::Str(v)) => GeoPoint::decode(v).map(Answer::Geo),
        _ => None,
    }
}

fn scalar_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(v) => Json::String(v.to_string()),
        ScalarValue::Int(i) => Json::from(*i),
        ScalarValue::Uint(u) => Json::from(*u),
        ScalarValue::F64(f) => Json::from(*f),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Timestamp(t) => Json::from(*t),
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use serde_json::json;

    use super::*;

    fn meta(form: &Form) -> InterviewMeta {
        InterviewMeta {
            interview_id: Uuid::now_v7().to_string(),
            form_id: form.id().to_owned(),
            form_version: form.version(),
            campaign: "c".into(),
            country: "CI".into(),
            created_by: "emp-1".into(),
            device_id: "dev-1".into(),
            created_at: "2026-11-30T09:00:00Z".into(),
        }
    }

    /// A consented interview with a complaint, then `has_complaint` back to
    /// `no`: its categories stay in the document.
    fn interview(form: &Form) -> Interview {
        let mut iv = Interview::create(form, meta(form), actor_from_uuid(Uuid::new_v4())).unwrap();
        for (k, v) in [
            ("consent", json!(true)),
            ("segment", json!("individual")),
            ("nps", json!(8)),
            ("sat_network", json!(4)),
            ("has_complaint", json!("yes")),
            ("complaint_categories", json!(["billing", "other"])),
            ("complaint_category_other", json!("roaming")),
            ("complaint_detail", json!("double billing")),
            ("has_complaint", json!("no")),
        ] {
            iv.set_answer_json(form, k, &v).unwrap();
        }
        iv
    }

    /// Write a raw value into the document, as a foreign peer could.
    fn put_raw(iv: &mut Interview, key: &str, v: impl Into<ScalarValue>) {
        let answers = iv.answers.clone();
        iv.doc_mut().put(&answers, key, v.into()).unwrap();
        commit(iv.doc_mut());
    }

    fn flags(r: &InterviewRecord) -> Vec<String> {
        r.quality_flags.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn projection_leaves_out_nps_off_the_scale_and_flags_it() {
        let form = crate::mcmb_form().unwrap();
        for bad in [11, -1] {
            let mut iv = interview(&form);
            put_raw(&mut iv, "nps", bad);
            let r = iv.project(Some(&form));
            assert_eq!(r.answer_i64("nps"), None, "nps {bad} projected");
            assert!(flags(&r).contains(&"nps:out_of_range".to_owned()), "{bad}");
            // The document keeps it: nothing is lost.
            assert_eq!(iv.raw_json("nps"), Some(json!(bad)));
        }
        let mut iv = interview(&form);
        put_raw(&mut iv, "nps", 10);
        let r = iv.project(Some(&form));
        assert_eq!(r.answer_i64("nps"), Some(10));
        assert!(!flags(&r).iter().any(|f| f.starts_with("nps:")));
    }

    #[test]
    fn projection_leaves_out_answers_hidden_by_skip_logic() {
        let form = crate::mcmb_form().unwrap();
        let mut iv = interview(&form);
        let r = iv.project(Some(&form));
        assert_eq!(r.answer_str("has_complaint"), Some("no"));
        for q in [
            "complaint_categories",
            "complaint_category_other",
            "complaint_detail",
        ] {
            assert!(!r.answers.contains_key(q), "{q} projected");
        }
        assert_eq!(
            flags(&r),
            [
                "complaint_categories:not_relevant",
                "complaint_category_other:not_relevant",
                "complaint_detail:not_relevant",
            ]
        );
        // Still in the document; back to `yes`, they count again.
        iv.set_answer_json(&form, "has_complaint", &json!("yes"))
            .unwrap();
        let r = iv.project(Some(&form));
        assert_eq!(
            r.answers["complaint_categories"],
            json!(["billing", "other"])
        );
        assert_eq!(r.answer_str("complaint_category_other"), Some("roaming"));
        assert!(r.quality_flags.is_empty(), "{:?}", flags(&r));
    }

    #[test]
    fn relevance_is_evaluated_on_valid_answers_only() {
        let form = crate::mcmb_form().unwrap();
        let mut iv = interview(&form);
        iv.set_answer_json(&form, "has_complaint", &json!("yes"))
            .unwrap();
        // An option the form does not have makes the whole selection invalid,
        // so `other` is not selected and its free text is not relevant.
        let cats = match iv.doc.get(&iv.answers, "complaint_categories").unwrap() {
            Some((Value::Object(ObjType::Map), id)) => id,
            other => panic!("{other:?}"),
        };
        iv.doc_mut().put(&cats, "teleportation", true).unwrap();
        commit(iv.doc_mut());
        let r = iv.project(Some(&form));
        assert_eq!(
            flags(&r),
            [
                "complaint_categories:unknown_option",
                "complaint_category_other:not_relevant",
            ]
        );
        assert!(!r.answers.contains_key("complaint_categories"));
        assert_eq!(r.answer_str("complaint_detail"), Some("double billing"));
        // evaluate() and project() share the walk: same relevance.
        let eval = form.evaluate(&iv.answers(&form));
        assert!(
            !eval
                .relevant
                .contains(&"complaint_category_other".to_owned())
        );
    }

    #[test]
    fn projection_flags_ratings_choices_wrong_types_and_unknown_questions() {
        let form = crate::mcmb_form().unwrap();
        let mut iv = interview(&form);
        put_raw(&mut iv, "sat_network", 6);
        put_raw(&mut iv, "segment", "martian");
        put_raw(&mut iv, "sat_shop", "four");
        put_raw(&mut iv, "not_in_form", 1);
        let r = iv.project(Some(&form));
        for q in ["sat_network", "segment", "sat_shop", "not_in_form"] {
            assert!(!r.answers.contains_key(q), "{q} projected");
        }
        let f = flags(&r);
        for want in [
            "sat_network:out_of_range",
            "segment:unknown_option",
            "sat_shop:wrong_type",
            "not_in_form:unknown_question",
        ] {
            assert!(f.contains(&want.to_owned()), "{want} missing from {f:?}");
        }
        // Without the form nothing can be checked: every answer, raw.
        let raw = iv.project(None);
        assert_eq!(raw.answer_i64("sat_network"), Some(6));
        assert_eq!(raw.answer_i64("not_in_form"), Some(1));
        assert!(raw.quality_flags.is_empty());
    }

    #[test]
    fn no_consent_leaves_every_other_answer_out() {
        let form = crate::mcmb_form().unwrap();
        let mut iv = interview(&form);
        iv.set_answer_json(&form, "consent", &json!(false)).unwrap();
        let r = iv.project(Some(&form));
        assert_eq!(r.answers.keys().collect::<Vec<_>>(), ["consent"]);
        assert!(flags(&r).contains(&"nps:not_relevant".to_owned()));
    }

    #[test]
    fn quality_flags_serialise_as_question_colon_code_and_old_records_decode() {
        let form = crate::mcmb_form().unwrap();
        let mut iv = interview(&form);
        put_raw(&mut iv, "nps", 11);
        let r = iv.project(Some(&form));
        let v = serde_json::to_value(&r).unwrap();
        assert!(
            v["quality_flags"]
                .as_array()
                .unwrap()
                .contains(&json!("nps:out_of_range"))
        );
        let back: InterviewRecord = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, r);
        let mut old = v;
        old.as_object_mut().unwrap().remove("quality_flags");
        let old: InterviewRecord = serde_json::from_value(old).unwrap();
        assert!(old.quality_flags.is_empty());
        assert!(serde_json::from_value::<QualityFlag>(json!("nps:bogus")).is_err());
        assert!(serde_json::from_value::<QualityFlag>(json!("nps")).is_err());
        for c in Code::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
            assert_eq!(Code::parse(c.as_str()), Some(c));
        }
    }
}
