//! Workflow state in the document: draft / submitted, the coordinator's
//! review, comments and tags.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Interview, ModelError, commit, now};
use crate::form::Form;
use crate::validate::Evaluation;

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

impl Interview {
    /// "draft" or "submitted".
    pub fn status(&self) -> String {
        self.str_at(&ROOT, "status")
            .unwrap_or_else(|| "draft".into())
    }

    /// Mark as submitted when nothing blocks it; returns the evaluation either way.
    pub fn submit(&mut self, form: &Form) -> Result<Evaluation, ModelError> {
        self.check_form(form)?;
        let eval = form.evaluate_all_on(
            &self.answers(form),
            &self.repeat_answers(form),
            crate::validate::today(),
        );
        if !eval.is_complete() {
            return Ok(eval);
        }
        let (at, _) = now();
        let ends: Vec<String> = form
            .metadata_questions("end")
            .map(|q| q.name.clone())
            .collect();
        for name in ends {
            self.set_answer(form, &name, Some(&crate::Answer::Text(at.clone())))?;
        }
        self.doc.put(ROOT, "status", "submitted")?;
        self.doc.put(ROOT, "submitted_at", at)?;
        commit(&mut self.doc, self.clock);
        Ok(eval)
    }

    /// Return a submitted interview to draft (to fix it after review).
    pub fn reopen(&mut self) -> Result<(), ModelError> {
        if self.status() != "draft" {
            self.doc.put(ROOT, "status", "draft")?;
            commit(&mut self.doc, self.clock);
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
        commit(&mut self.doc, self.clock);
        Ok(())
    }

    /// Record what the customer's follow-up case came to (server, as the
    /// case's worker), as one change: its status, its resolution category
    /// (empty until resolved) and the time. The interviewer's device gets it
    /// with the next sync; no contact detail is written.
    pub fn set_followup(
        &mut self,
        status: crate::cases::CaseStatus,
        resolution: Option<&str>,
    ) -> Result<(), ModelError> {
        let (at, _) = now();
        self.doc
            .put(&self.review, "followup_status", status.as_str())?;
        self.doc.put(
            &self.review,
            "followup_resolution",
            resolution.unwrap_or(""),
        )?;
        self.doc.put(&self.review, "followup_at", at)?;
        commit(&mut self.doc, self.clock);
        Ok(())
    }

    /// Erase the answers `names` (a closed case's contact details, after the
    /// retention period), as one change that also records when
    /// (`review.erased_at`): the only removal of answers the write policy
    /// lets the server make. Returns how many answers were there. Earlier
    /// changes still hold the old values until the document's history is
    /// rewritten.
    pub fn erase_answers(&mut self, names: &[&str]) -> Result<usize, ModelError> {
        let mut erased = 0;
        for n in names {
            if self.doc.get(&self.answers, *n)?.is_some() {
                self.doc.delete(&self.answers, *n)?;
                erased += 1;
            }
        }
        let (at, _) = now();
        self.doc.put(&self.review, "erased_at", at)?;
        commit(&mut self.doc, self.clock);
        Ok(erased)
    }

    /// When answers were erased, if ever.
    pub fn erased_at(&self) -> Option<String> {
        self.str_at(&self.review, "erased_at")
    }

    /// The follow-up case's outcome, if the server recorded one: (status,
    /// resolution).
    pub fn followup(&self) -> Option<(String, Option<String>)> {
        let status = self.str_at(&self.review, "followup_status")?;
        let resolution = self
            .str_at(&self.review, "followup_resolution")
            .filter(|r| !r.is_empty());
        Some((status, resolution))
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
        commit(&mut self.doc, self.clock);
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
        commit(&mut self.doc, self.clock);
        Ok(())
    }

    pub fn tags(&self) -> Vec<String> {
        self.keys_set_true(&self.tags).collect()
    }
}
