//! Paradata: how an interview was filled in, read from its CRDT history.
//!
//! Every change of an interview document carries the writing device's clock
//! (Unix seconds, [`super::commit`]) and the operations it made. From them:
//! when the first answer was given, when the interview was submitted, how the
//! time splits over the form's sections, and how often the interviewer came
//! back to change an answer after moving on. Nothing here trusts the device
//! clock more than the document already does: the times are reported as the
//! device's, next to the server's receive time and the device's measured
//! clock skew (see the server's sync handler).

use std::collections::{BTreeMap, HashMap, HashSet};

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, ObjType, ScalarValue};
use serde::{Deserialize, Serialize};

use super::Interview;
use crate::form::Form;

/// How an interview was filled in, from its history (device clock).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paradata {
    /// Device time (Unix seconds) of the first change that answered a question.
    pub first_answer_at: Option<i64>,
    /// Device time of the first change that set the status to `submitted`.
    pub submitted_at: Option<i64>,
    /// `submitted_at - first_answer_at`, in seconds (never negative).
    pub duration_s: Option<i64>,
    /// Seconds spent per section of the form, in form order: the time from
    /// one answering change to the next is given to the section of the
    /// questions the later change answered.
    pub sections: Vec<(String, i64)>,
    /// Changes by the interviewer's device that touched answers.
    pub answer_changes: u32,
    /// Times an answer was changed again after the interviewer had answered
    /// another question in between (going back to change an answer).
    pub edits: u32,
    /// Device clock minus server clock (seconds) measured by the server at
    /// the sync that delivered this version; set by the server.
    #[serde(default)]
    pub clock_skew_s: Option<i64>,
}

/// The object a legacy op id stands for.
/// An object's id as a map key. `ActorId` keeps up to 16 bytes inline, so
/// building one per operation does not allocate.
fn obj_key(o: &ObjectId) -> Option<(u64, ActorId)> {
    match o {
        ObjectId::Id(OpId(c, a)) => Some((*c, a.clone())),
        ObjectId::Root => None,
    }
}

impl Interview {
    /// The paradata of this interview. Server edits (reviews, comments,
    /// tags) never touch answers or the status, so every counted change is
    /// the interviewer's device filling in the form.
    pub fn paradata(&mut self, form: Option<&Form>) -> Paradata {
        // In causal order: one device's changes follow each other.
        paradata_of(&self.doc.get_changes(&[]), form)
    }
}

/// The paradata of the history `changes` (every change of one interview,
/// in causal order), when the caller already holds them (the server, for a
/// document pushed whole).
pub fn paradata_of(changes: &[automerge::Change], form: Option<&Form>) -> Paradata {
    let changes: Vec<_> = changes.iter().map(|c| c.decode()).collect();
    // Object id (counter, actor) -> question name, for answers held in
    // objects (text, multiple choice); `answers_obj` is the answers map.
    let mut answers_obj: Option<(u64, ActorId)> = None;
    let mut child: HashMap<(u64, ActorId), String> = HashMap::new();
    let mut out = Paradata::default();
    let mut last_time: Option<i64> = None;
    let mut last_question: Option<String> = None;
    let mut touched: HashSet<String> = HashSet::new();
    let mut per_section: BTreeMap<String, i64> = BTreeMap::new();
    for ch in &changes {
        let start = ch.start_op.get();
        let mut questions: Vec<String> = Vec::new();
        let mut submits = false;
        for (i, op) in ch.operations.iter().enumerate() {
            // Only operations that make an object need their own id.
            let id = || (start + i as u64, ch.actor_id.clone());
            match (&op.obj, &op.key, &op.action) {
                (ObjectId::Root, Key::Map(k), OpType::Make(ObjType::Map))
                    if k.as_str() == "answers" =>
                {
                    answers_obj = Some(id());
                }
                (ObjectId::Root, Key::Map(k), OpType::Put(ScalarValue::Str(s)))
                    if k.as_str() == "status" && s.as_str() == "submitted" =>
                {
                    submits = true;
                }
                (ObjectId::Id(OpId(c, a)), Key::Map(k), action)
                    if answers_obj
                        .as_ref()
                        .is_some_and(|(ac, aa)| ac == c && aa == a) =>
                {
                    if let OpType::Make(_) = action {
                        child.insert(id(), k.to_string());
                    } else {
                        questions.push(k.to_string());
                    }
                }
                (obj, _, _) => {
                    if let Some(q) = obj_key(obj).and_then(|o| child.get(&o)) {
                        questions.push(q.clone());
                    }
                }
            }
        }
        if submits && out.submitted_at.is_none() {
            out.submitted_at = Some(ch.time);
        }
        questions.sort_unstable();
        questions.dedup();
        if questions.is_empty() {
            continue;
        }
        out.answer_changes += 1;
        if out.first_answer_at.is_none() {
            out.first_answer_at = Some(ch.time);
        }
        for q in &questions {
            let moved_on = last_question.as_ref().is_some_and(|l| l != q);
            if touched.contains(q) && moved_on {
                out.edits += 1;
            }
            touched.insert(q.clone());
        }
        if let (Some(prev), Some(f)) = (last_time, form) {
            let spent = (ch.time - prev).max(0);
            let section = questions
                .iter()
                .find_map(|q| f.question(q).and_then(|q| q.section.clone()))
                .unwrap_or_default();
            *per_section.entry(section).or_default() += spent;
        }
        last_time = Some(ch.time);
        last_question = questions.last().cloned();
    }
    out.duration_s = match (out.first_answer_at, out.submitted_at) {
        (Some(a), Some(b)) => Some((b - a).max(0)),
        _ => None,
    };
    if let Some(f) = form {
        let mut order: Vec<String> = Vec::new();
        for q in f.questions() {
            if let Some(s) = &q.section
                && !order.contains(s)
            {
                order.push(s.clone());
            }
        }
        out.sections = order
            .into_iter()
            .filter_map(|s| per_section.remove(&s).map(|t| (s, t)))
            .collect();
        out.sections.extend(per_section);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::sample::{complete, fill_timed, meta};
    use crate::{Interview, actor_from_uuid, mcmb_form};

    fn new(form: &crate::Form) -> Interview {
        let device = uuid::Uuid::new_v4();
        let m = meta(
            form,
            "CI",
            "emp",
            &device.to_string(),
            "2026-11-30T09:00:00Z",
        );
        Interview::create(form, m, actor_from_uuid(device)).unwrap()
    }

    #[test]
    fn duration_sections_and_edits_come_from_the_history() {
        let form = mcmb_form().unwrap();
        let answers = complete(3);
        let mut iv = new(&form);
        fill_timed(&mut iv, &form, &answers, 1_000, 30).unwrap();
        let p = iv.paradata(Some(&form));
        let n = answers.len() as i64;
        assert_eq!(p.first_answer_at, Some(1_000));
        assert_eq!(p.submitted_at, Some(1_000 + 30 * n));
        assert_eq!(p.duration_s, Some(30 * n));
        assert_eq!(p.answer_changes as i64, n);
        assert_eq!(p.edits, 0);
        // The time between answers is spread over the sections, in form order.
        let total: i64 = p.sections.iter().map(|(_, t)| t).sum();
        assert_eq!(total, 30 * (n - 1));
        assert!(
            p.sections.iter().any(|(s, _)| s == "satisfaction"),
            "{:?}",
            p.sections
        );

        // Going back to change two answers after moving on: two edits; the
        // submit time stays the first one.
        iv.pin_clock(Some(5_000));
        iv.set_answer_json(&form, "nps", &json!(9)).unwrap();
        iv.set_answer_json(&form, "segment", &json!("business"))
            .unwrap();
        iv.set_answer_json(&form, "segment", &json!("partner"))
            .unwrap();
        let p = iv.paradata(Some(&form));
        assert_eq!(p.edits, 2, "{p:?}");
        assert_eq!(p.submitted_at, Some(1_000 + 30 * n));
    }

    #[test]
    fn a_draft_has_no_duration_and_an_empty_one_no_times() {
        let form = mcmb_form().unwrap();
        let mut iv = new(&form);
        assert_eq!(iv.paradata(Some(&form)), super::Paradata::default());
        iv.pin_clock(Some(2_000));
        iv.set_answer_json(&form, "consent", &json!(true)).unwrap();
        let p = iv.paradata(None);
        assert_eq!(
            (p.first_answer_at, p.submitted_at, p.duration_s),
            (Some(2_000), None, None)
        );
        assert!(p.sections.is_empty());
    }
}
