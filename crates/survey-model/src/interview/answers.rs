//! Answers in the document: setting them (one change each, touching only what
//! changes so concurrent edits merge), reading them typed by the form, and
//! the scalar answers peers set concurrently to different values.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use serde::Serialize;
use serde_json::Value as Json;

use super::{Interview, ModelError, commit};
use crate::answer::{Answer, AnswerError, Answers, GeoPoint};
use crate::form::{Form, QuestionType};

/// A scalar answer set concurrently to different values by different peers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub question: String,
    /// Every competing value; the first is the one shown as the answer.
    pub values: Vec<Json>,
}

impl Interview {
    /// Set (or clear, with `null`) one answer from its JSON form, as one change.
    pub fn set_answer_json(&mut self, form: &Form, name: &str, v: &Json) -> Result<(), ModelError> {
        let q = question_of(form, name)?;
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
        let q = question_of(form, name)?;
        if let Some(r) = &q.repeat {
            return Err(ModelError::Malformed(format!(
                "`{name}` is asked per instance of repeat `{r}`"
            )));
        }
        let ans = self.answers.clone();
        self.write_answer(q, &ans, a)?;
        commit(&mut self.doc, self.clock);
        Ok(())
    }

    /// Write one typed answer of `q` into the answers map `ans` (the
    /// interview's, or a repeat instance's), without committing.
    pub(super) fn write_answer(
        &mut self,
        q: &crate::form::Question,
        ans: &ObjId,
        a: Option<&Answer>,
    ) -> Result<(), ModelError> {
        let name = q.name.as_str();
        let wrong = |expected: &'static str| AnswerError::WrongType {
            question: name.to_owned(),
            expected,
            got: a.map_or("null".into(), |a| a.to_json().to_string()),
        };
        let doc = &mut self.doc;
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
        Ok(())
    }

    /// Bring the form's calculations up to date with the answers
    /// ([`Form::calculations_on`]) and record the metadata known so far
    /// (`start`, `today`, `deviceid`, `username` from the interview's own
    /// metadata; `end` is stamped at submit), one change per value that
    /// changes; returns how many changed. The app calls it when an interview
    /// starts and after every answer.
    pub fn recalculate(
        &mut self,
        form: &Form,
        today: time::Date,
        now: &str,
    ) -> Result<usize, ModelError> {
        let mut count = 0;
        if !form.def().repeats.is_empty() {
            count += self.recalculate_repeats(form, today, now)?;
        }
        if !form.has_calculations() {
            return Ok(count);
        }
        let answers = self.answers(form);
        // What `sum()` and `count()` of a repeat read: its instances'
        // answers that count, calculations included (computed above).
        let instances = if form.def().repeats.is_empty() {
            Default::default()
        } else {
            let base = form.clean_on(&answers, today).answers;
            form.clean_instances_on(&base, &self.repeat_answers(form), today)
                .0
        };
        let mut changed = form.calculations_with(&answers, &instances, today, now);
        for q in form.questions() {
            let value = match q.metadata.as_deref() {
                Some("start") => Some(self.meta().created_at.clone()),
                Some("today") => self.meta().created_at.get(..10).map(str::to_owned),
                Some("deviceid") => Some(self.meta().device_id.clone()),
                Some("username") => Some(self.meta().created_by.clone()),
                _ => None,
            };
            if let Some(v) = value.filter(|v| !v.is_empty())
                && !answers.contains_key(&q.name)
            {
                changed.push((q.name.clone(), Some(Answer::Text(v))));
            }
        }
        for (name, value) in &changed {
            self.set_answer(form, name, value.as_ref())?;
        }
        if !form.def().repeats.is_empty() && !changed.is_empty() {
            count += self.recalculate_repeats(form, today, now)?;
        }
        Ok(count + changed.len())
    }

    /// Keep each repeat with a `repeat_count` at that many instances (adding
    /// at the end, removing from the end), then compute every instance's
    /// calculations.
    fn recalculate_repeats(
        &mut self,
        form: &Form,
        today: time::Date,
        now: &str,
    ) -> Result<usize, ModelError> {
        use crate::form::{MAX_INSTANCES, RepeatCount, repeat_count};
        let mut count = 0;
        let base = form.clean_on(&self.answers(form), today).answers;
        for r in &form.def().repeats {
            let want = match r.repeat_count.as_deref().and_then(repeat_count) {
                Some(RepeatCount::Fixed(n)) => Some(n),
                Some(RepeatCount::Question(q)) => Some(
                    base.get(q)
                        .map(crate::expr::answer_string)
                        .and_then(|s| s.parse::<f64>().ok())
                        .filter(|n| n.is_finite() && *n >= 0.0)
                        .map_or(0, |n| (n as usize).min(MAX_INSTANCES)),
                ),
                None => None,
            };
            if let Some(want) = want {
                while self.instance_count(&r.id) < want {
                    self.add_instance(form, &r.id)?;
                    count += 1;
                }
                while self.instance_count(&r.id) > want {
                    let last = self.instance_count(&r.id) - 1;
                    self.remove_instance(form, &r.id, last)?;
                    count += 1;
                }
            }
            if !form
                .repeat_questions(&r.id)
                .any(|q| q.calculation.is_some())
            {
                continue;
            }
            let instances = self.instance_answers(form, &r.id);
            for (i, inst) in instances.iter().enumerate() {
                for (name, value) in
                    form.instance_calculations_on(&r.id, i, inst, &base, today, now)
                {
                    self.set_instance_answer(form, i, &name, value.as_ref())?;
                    count += 1;
                }
            }
        }
        Ok(count)
    }

    /// Read every answer, typed by the form. Values that do not fit their
    /// question's type are skipped here (and flagged by [`Interview::project`]).
    pub fn answers(&self, form: &Form) -> Answers {
        self.answers_in(form, &self.answers, None)
    }

    /// The typed answers of map `ans` to the questions of `repeat` (`None`:
    /// the questions outside repeats).
    pub(super) fn answers_in(&self, form: &Form, ans: &ObjId, repeat: Option<&str>) -> Answers {
        // One pass over the answers map (a look-up per question costs a seek
        // each, and most questions of a form are unanswered).
        let mut out = Answers::new();
        for item in self.doc.map_range(ans, ..) {
            let Some(q) = form
                .question(&item.key)
                .filter(|q| q.repeat.as_deref() == repeat)
            else {
                continue;
            };
            let id = item.id();
            let v = item.value.into_value();
            if let Some(a) = self.typed_answer(q.kind, v, &id) {
                out.insert(q.name.clone(), a);
            }
        }
        out
    }

    /// The typed answer held by value `v` (object `obj`), if it has the
    /// question's type and is not empty.
    fn typed_answer(&self, kind: QuestionType, v: Value<'_>, obj: &ObjId) -> Option<Answer> {
        match (kind, v) {
            (QuestionType::Text, Value::Object(ObjType::Text)) => {
                let s = self.doc.text(obj).ok()?;
                (!s.is_empty()).then_some(Answer::Text(s))
            }
            (QuestionType::MultiChoice, Value::Object(ObjType::Map)) => {
                let set: std::collections::BTreeSet<String> = self.keys_set_true(obj).collect();
                (!set.is_empty()).then_some(Answer::Choices(set))
            }
            (kind, Value::Scalar(s)) => from_scalar(kind, &s),
            _ => None,
        }
    }

    /// Scalar answers that were set concurrently to different values.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        // The map walk flags conflicted keys; only those are read whole.
        let conflicted: Vec<String> = self
            .doc
            .map_range(&self.answers, ..)
            .filter(|i| i.conflict)
            .map(|i| i.key.into_owned())
            .collect();
        for key in conflicted {
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
}

/// The question `name` of `form`, or the error naming it.
pub(super) fn question_of<'f>(
    form: &'f Form,
    name: &str,
) -> Result<&'f crate::form::Question, AnswerError> {
    form.question(name)
        .ok_or_else(|| AnswerError::UnknownQuestion(name.to_owned()))
}

/// The container for `name`, which the first change created. A document made
/// by an older form version may lack it: then it is created now (safe, since
/// only its creator edits answers before the first sync of a new question).
pub(super) fn container(
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
        QuestionType::Acknowledge => "true (acknowledged)",
        QuestionType::Decimal => "a number",
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
        (QuestionType::Acknowledge, Answer::Bool(true)) => ScalarValue::Boolean(true),
        (QuestionType::Integer | QuestionType::Nps | QuestionType::Rating, Answer::Int(i)) => {
            ScalarValue::Int(*i)
        }
        (QuestionType::Decimal, Answer::Decimal(f)) if f.is_finite() => ScalarValue::F64(*f),
        (QuestionType::SingleChoice, Answer::Choice(s)) | (QuestionType::Date, Answer::Date(s)) => {
            ScalarValue::Str(s.as_str().into())
        }
        (QuestionType::Geopoint, Answer::Geo(p)) => ScalarValue::Str(p.encode().into()),
        (
            QuestionType::Calculate
            | QuestionType::Metadata
            | QuestionType::Time
            | QuestionType::DateTime,
            Answer::Text(s),
        ) => ScalarValue::Str(s.as_str().into()),
        _ => return None,
    })
}

fn from_scalar(kind: QuestionType, s: &ScalarValue) -> Option<Answer> {
    match (kind, s) {
        (QuestionType::Consent | QuestionType::Acknowledge, ScalarValue::Boolean(b)) => {
            Some(Answer::Bool(*b))
        }
        (QuestionType::Integer | QuestionType::Nps | QuestionType::Rating, ScalarValue::Int(i)) => {
            Some(Answer::Int(*i))
        }
        (QuestionType::Decimal, ScalarValue::F64(f)) => Some(Answer::Decimal(*f)),
        (QuestionType::Decimal, ScalarValue::Int(i)) => Some(Answer::Decimal(*i as f64)),
        (QuestionType::SingleChoice, ScalarValue::Str(v)) => Some(Answer::Choice(v.to_string())),
        (QuestionType::Date, ScalarValue::Str(v)) => Some(Answer::Date(v.to_string())),
        (QuestionType::Geopoint, ScalarValue::Str(v)) => GeoPoint::decode(v).map(Answer::Geo),
        (
            QuestionType::Calculate
            | QuestionType::Metadata
            | QuestionType::Time
            | QuestionType::DateTime,
            ScalarValue::Str(v),
        ) if !v.is_empty() => Some(Answer::Text(v.to_string())),
        _ => None,
    }
}

pub(super) fn scalar_json(s: &ScalarValue) -> Json {
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
