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

use serde::{Deserialize, Serialize};

use super::Interview;
use super::chunk::{self, ChunkError, OpId};
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

impl Interview {
    /// The paradata of this interview, read from its uncompressed save.
    /// Server edits (reviews, comments, tags) never touch answers or the
    /// status, so every counted change is the interviewer's device filling
    /// in the form.
    pub fn paradata(&mut self, form: Option<&Form>) -> Result<Paradata, ChunkError> {
        paradata_of(&self.doc.save_nocompress(), form)
    }
}

/// The paradata of the document whose uncompressed save (a document chunk,
/// [`Interview::save_uncompressed`]) is `saved`: one pass over the chunk's
/// operations, each given to the change that made it (per actor, the first
/// change whose last op counter reaches the op's), the changes then walked in
/// the chunk's causal order.
///
/// What a change did: an operation on the answers map answers the question
/// it keys (making a question's container is not an answer), one inside a
/// question's container (text, multiple choice, repeat) answers that
/// question, deleting counts as the operation it is, and putting
/// `"submitted"` at the root's `status` submits.
pub fn paradata_of(saved: &[u8], form: Option<&Form>) -> Result<Paradata, ChunkError> {
    let c = chunk::parse(saved)?;
    // Per actor, (last op counter, change index) in counter order.
    let mut by_actor: Vec<Vec<(u64, usize)>> = vec![Vec::new(); c.actors.len()];
    for (i, ch) in c.changes.iter().enumerate() {
        by_actor[ch.actor].push((ch.max_op, i));
    }
    for v in &mut by_actor {
        v.sort_unstable();
    }
    let change_of = |id: OpId| -> Option<usize> {
        let v = &by_actor[id.actor];
        v.get(v.partition_point(|(m, _)| *m < id.counter))
            .map(|(_, i)| *i)
    };
    let answers: HashSet<OpId> = c
        .ops
        .iter()
        .filter(|o| o.obj.is_none() && o.key == Some("answers") && o.action == chunk::MAKE_MAP)
        .map(|o| o.id)
        .collect();
    let in_answers = |o: &chunk::Op<'_>| o.obj.is_some_and(|obj| answers.contains(&obj));
    let containers: HashMap<OpId, &str> = c
        .ops
        .iter()
        .filter(|o| in_answers(o) && chunk::makes_object(o.action))
        .filter_map(|o| Some((o.id, o.key?)))
        .collect();
    let ids: HashSet<OpId> = c.ops.iter().map(|o| o.id).collect();
    let mut touches: Vec<Touch<'_>> = c
        .changes
        .iter()
        .map(|ch| Touch {
            time: ch.time,
            questions: Vec::new(),
            submits: false,
        })
        .collect();
    for op in &c.ops {
        // The op itself, then the deletes that removed it (stored only as
        // its successors).
        let made = std::iter::once((op.id, op.action, op.str_value));
        let deleted = c.succ[op.succ.clone()]
            .iter()
            .filter(|s| !ids.contains(s))
            .map(|s| (*s, chunk::DELETE, None));
        for (id, action, value) in made.chain(deleted) {
            let Some(t) = change_of(id).and_then(|i| touches.get_mut(i)) else {
                continue;
            };
            if op.obj.is_none() {
                if op.key == Some("status") && action == chunk::SET && value == Some("submitted") {
                    t.submits = true;
                }
            } else if in_answers(op) {
                if let (false, Some(k)) = (chunk::makes_object(action), op.key) {
                    t.questions.push(k);
                }
            } else if let Some(q) = op.obj.and_then(|o| containers.get(&o)) {
                t.questions.push(q);
            }
        }
    }
    Ok(summarise(touches, form))
}

/// What one change did to the form.
struct Touch<'a> {
    /// The device clock the change carries.
    time: i64,
    questions: Vec<&'a str>,
    submits: bool,
}

/// The paradata of an interview's changes, in causal order.
fn summarise(changes: Vec<Touch<'_>>, form: Option<&Form>) -> Paradata {
    let mut out = Paradata::default();
    let mut last_time: Option<i64> = None;
    let mut last_question: Option<&str> = None;
    let mut touched: HashSet<&str> = HashSet::new();
    let mut per_section: BTreeMap<String, i64> = BTreeMap::new();
    for Touch {
        time,
        mut questions,
        submits,
    } in changes
    {
        if submits && out.submitted_at.is_none() {
            out.submitted_at = Some(time);
        }
        questions.sort_unstable();
        questions.dedup();
        if questions.is_empty() {
            continue;
        }
        out.answer_changes += 1;
        if out.first_answer_at.is_none() {
            out.first_answer_at = Some(time);
        }
        for &q in &questions {
            let moved_on = last_question.is_some_and(|l| l != q);
            if touched.contains(q) && moved_on {
                out.edits += 1;
            }
            touched.insert(q);
        }
        if let (Some(prev), Some(f)) = (last_time, form) {
            let spent = (time - prev).max(0);
            let section = questions
                .iter()
                .find_map(|q| f.question(q).and_then(|q| q.section.clone()))
                .unwrap_or_default();
            *per_section.entry(section).or_default() += spent;
        }
        last_time = Some(time);
        last_question = questions.last().copied();
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

    pub(super) fn new(form: &crate::Form) -> Interview {
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
        let p = iv.paradata(Some(&form)).unwrap();
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
        let p = iv.paradata(Some(&form)).unwrap();
        assert_eq!(p.edits, 2, "{p:?}");
        assert_eq!(p.submitted_at, Some(1_000 + 30 * n));
    }

    #[test]
    fn a_draft_has_no_duration_and_an_empty_one_no_times() {
        let form = mcmb_form().unwrap();
        let mut iv = new(&form);
        assert_eq!(
            iv.paradata(Some(&form)).unwrap(),
            super::Paradata::default()
        );
        iv.pin_clock(Some(2_000));
        iv.set_answer_json(&form, "consent", &json!(true)).unwrap();
        let p = iv.paradata(None).unwrap();
        assert_eq!(
            (p.first_answer_at, p.submitted_at, p.duration_s),
            (Some(2_000), None, None)
        );
        assert!(p.sections.is_empty());
    }
}

/// The chunk reader against the implementation it replaced, which read the
/// same history through Automerge's own change decoder: for every history
/// these build, both must give the same paradata.
#[cfg(test)]
mod same_as_automerge_decoder {
    use std::collections::HashMap;

    use automerge::legacy::{Key, ObjectId, OpId, OpType};
    use automerge::{ActorId, ObjType, ScalarValue};
    use proptest::prelude::*;
    use serde_json::json;

    use super::tests::new;
    use super::{Paradata, Touch, summarise};
    use crate::sample::varied;
    use crate::{Form, Interview, ReviewState, actor_from_uuid, mcmb_form};

    /// The previous implementation (Automerge's `Change::decode` of every
    /// rebuilt change), kept as the reference.
    fn decoded(iv: &mut Interview, form: Option<&Form>) -> Paradata {
        let changes: Vec<_> = iv
            .doc_mut()
            .get_changes(&[])
            .iter()
            .map(|c| c.decode())
            .collect();
        let obj_key = |o: &ObjectId| match o {
            ObjectId::Id(OpId(c, a)) => Some((*c, a.clone())),
            ObjectId::Root => None,
        };
        let mut answers_obj: Option<(u64, ActorId)> = None;
        let mut child: HashMap<(u64, ActorId), String> = HashMap::new();
        let mut per_change: Vec<(i64, Vec<String>, bool)> = Vec::new();
        for ch in &changes {
            let start = ch.start_op.get();
            let mut questions: Vec<String> = Vec::new();
            let mut submits = false;
            for (i, op) in ch.operations.iter().enumerate() {
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
            per_change.push((ch.time, questions, submits));
        }
        let touches = per_change
            .iter()
            .map(|(time, q, submits)| Touch {
                time: *time,
                questions: q.iter().map(String::as_str).collect(),
                submits: *submits,
            })
            .collect();
        summarise(touches, form)
    }

    fn same(iv: &mut Interview, form: &Form) -> Paradata {
        let want = decoded(iv, Some(form));
        let got = iv.paradata(Some(form)).unwrap();
        assert_eq!(got, want);
        assert_eq!(iv.paradata(None).unwrap(), decoded(iv, None));
        got
    }

    #[test]
    fn text_edits_deselections_erasures_reviews_and_a_second_device() {
        let form = mcmb_form().unwrap();
        let mut iv = new(&form);
        let mut t = 1_000;
        for (k, v) in varied(3, 2, "Bouaké") {
            iv.pin_clock(Some(t));
            iv.set_answer_json(&form, k, &v).unwrap();
            t += 17;
        }
        // Text rewritten (characters deleted and inserted), an option
        // deselected, an answer erased (a map delete).
        iv.pin_clock(Some(t));
        iv.set_answer_json(&form, "verbatim", &json!("Le réseau, encore."))
            .unwrap();
        iv.set_answer_json(&form, "services_used", &json!(["mobile_money"]))
            .unwrap();
        iv.erase_answers(&["customer_name"]).unwrap();
        iv.pin_clock(Some(t + 40));
        iv.submit(&form).unwrap();
        let p = same(&mut iv, &form);
        assert!(p.edits >= 2, "{p:?}");
        // A reviewer (the server's actor), then the interviewer's second
        // device, concurrently with the first: merged both ways.
        let mut other = Interview::load(&iv.save()).unwrap();
        other.set_actor(actor_from_uuid(uuid::Uuid::new_v4()));
        other.pin_clock(Some(t + 100));
        other.set_review(ReviewState::Approved, "coord").unwrap();
        other.set_answer_json(&form, "nps", &json!(9)).unwrap();
        iv.pin_clock(Some(t + 90));
        iv.set_answer_json(&form, "nps_reason", &json!("Mieux."))
            .unwrap();
        let theirs = other.changes_since(&[]);
        iv.apply_changes(theirs).unwrap();
        same(&mut iv, &form);
    }

    #[test]
    fn repeats_and_an_empty_interview() {
        let form = Form::from_json(
            &json!({
                "form_id": "f", "version": 1, "title": {"en": "F"},
                "languages": ["en"], "default_language": "en",
                "sections": [{"id": "a", "label": {"en": "A"}}, {"id": "b", "label": {"en": "B"}}],
                "repeats": [{"id": "visit", "label": {"en": "Visits"}}],
                "questions": [
                    {"name": "ok", "type": "consent", "label": {"en": "OK?"}, "section": "a"},
                    {"name": "where", "type": "text", "label": {"en": "Where"}, "repeat": "visit", "section": "b"}
                ]
            })
            .to_string(),
        )
        .unwrap();
        let mut iv = new(&form);
        same(&mut iv, &form);
        iv.pin_clock(Some(10));
        iv.set_answer_json(&form, "ok", &json!(true)).unwrap();
        for (n, place) in ["Man", "Korhogo", "Daloa"].iter().enumerate() {
            iv.pin_clock(Some(20 + n as i64 * 5));
            let i = iv.add_instance(&form, "visit").unwrap();
            iv.set_instance_answer_json(&form, i, "where", &json!(place))
                .unwrap();
        }
        iv.pin_clock(Some(60));
        iv.remove_instance(&form, "visit", 1).unwrap();
        iv.set_answer_json(&form, "ok", &json!(false)).unwrap();
        let p = same(&mut iv, &form);
        assert_eq!(p.first_answer_at, Some(10));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any order of answers, changes of mind, times that go backwards,
        /// erasures, a reopen and a second submit.
        #[test]
        fn any_history(
            n in 0usize..500,
            nps in 0i64..=10,
            steps in proptest::collection::vec((0usize..40, -30i64..120, 0u8..8), 1..40),
        ) {
            let form = mcmb_form().unwrap();
            let answers = varied(n, nps, "Man");
            let mut iv = new(&form);
            let mut t = 1_700_000_000;
            for (pick, dt, what) in steps {
                t += dt;
                iv.pin_clock(Some(t));
                let (k, v) = &answers[pick % answers.len()];
                match what {
                    0 => { iv.erase_answers(&[k]).unwrap(); }
                    1 => { let _ = iv.submit(&form); }
                    2 => { let _ = iv.reopen(); }
                    3 => {
                        let (k2, v2) = &answers[(pick + 7) % answers.len()];
                        iv.set_answer_json(&form, k, v).unwrap();
                        iv.set_answer_json(&form, k2, v2).unwrap();
                    }
                    _ => { iv.set_answer_json(&form, k, v).unwrap(); }
                }
            }
            let want = decoded(&mut iv, Some(&form));
            prop_assert_eq!(iv.paradata(Some(&form)).unwrap(), want);
        }
    }
}
