//! Repeat instances in the document: `answers.<repeat>` is a list made at
//! creation; each instance is a map inserted, with the text and multi-choice
//! containers of its questions, in the one change that adds it, so two
//! devices never race to create a container. Instances are addressed by
//! position; edits to different instances and fields merge.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, Value};
use serde_json::Value as Json;

use super::answers::question_of;
use super::{Interview, ModelError, commit};
use crate::answer::{Answer, AnswerError, Answers};
use crate::form::{Form, MAX_INSTANCES, QuestionType};

/// The typed answers of every instance, by repeat id.
pub type RepeatAnswers = BTreeMap<String, Vec<Answers>>;

impl Interview {
    /// The list holding `repeat`'s instances.
    fn repeat_list(&self, repeat: &str) -> Option<ObjId> {
        match self.doc.get(&self.answers, repeat).ok()?? {
            (Value::Object(ObjType::List), id) => Some(id),
            _ => None,
        }
    }

    /// The instance maps of `repeat`, in order (entries that are not maps are skipped).
    fn instance_maps(&self, repeat: &str) -> Vec<ObjId> {
        let Some(list) = self.repeat_list(repeat) else {
            return Vec::new();
        };
        (0..self.doc.length(&list))
            .filter_map(|i| match self.doc.get(&list, i).ok()?? {
                (Value::Object(ObjType::Map), id) => Some(id),
                _ => None,
            })
            .collect()
    }

    fn known_repeat(&self, form: &Form, repeat: &str) -> Result<ObjId, ModelError> {
        self.check_form(form)?;
        if form.repeat(repeat).is_none() {
            return Err(AnswerError::UnknownQuestion(repeat.to_owned()).into());
        }
        self.repeat_list(repeat)
            .ok_or_else(|| ModelError::Malformed(format!("answers.{repeat} is not a list")))
    }

    /// How many instances `repeat` has.
    pub fn instance_count(&self, repeat: &str) -> usize {
        self.instance_maps(repeat).len()
    }

    /// Add an instance at the end, as one change; returns its index.
    pub fn add_instance(&mut self, form: &Form, repeat: &str) -> Result<usize, ModelError> {
        let list = self.known_repeat(form, repeat)?;
        let at = self.doc.length(&list);
        if at >= MAX_INSTANCES {
            return Err(ModelError::Malformed(format!(
                "repeat `{repeat}` has {MAX_INSTANCES} instances already"
            )));
        }
        let map = self.doc.insert_object(&list, at, ObjType::Map)?;
        for q in form.repeat_questions(repeat) {
            match q.kind {
                QuestionType::Text => {
                    self.doc.put_object(&map, q.name.as_str(), ObjType::Text)?;
                }
                QuestionType::MultiChoice => {
                    self.doc.put_object(&map, q.name.as_str(), ObjType::Map)?;
                }
                _ => {}
            }
        }
        commit(&mut self.doc, self.clock);
        Ok(self.instance_count(repeat) - 1)
    }

    /// Remove instance `index` of `repeat`, as one change.
    pub fn remove_instance(
        &mut self,
        form: &Form,
        repeat: &str,
        index: usize,
    ) -> Result<(), ModelError> {
        let list = self.known_repeat(form, repeat)?;
        if index >= self.doc.length(&list) {
            return Err(no_instance(repeat, index));
        }
        self.doc.delete(&list, index)?;
        commit(&mut self.doc, self.clock);
        Ok(())
    }

    /// Set (or clear) the answer to question `name` in instance `index` of
    /// its repeat, as one change.
    pub fn set_instance_answer(
        &mut self,
        form: &Form,
        index: usize,
        name: &str,
        a: Option<&Answer>,
    ) -> Result<(), ModelError> {
        self.check_form(form)?;
        let q = question_of(form, name)?;
        let Some(repeat) = q.repeat.clone() else {
            return Err(ModelError::Malformed(format!(
                "`{name}` is not in a repeat"
            )));
        };
        let map = self
            .instance_maps(&repeat)
            .get(index)
            .cloned()
            .ok_or_else(|| no_instance(&repeat, index))?;
        self.write_answer(q, &map, a)?;
        commit(&mut self.doc, self.clock);
        Ok(())
    }

    /// [`Interview::set_instance_answer`] from the answer's JSON form.
    pub fn set_instance_answer_json(
        &mut self,
        form: &Form,
        index: usize,
        name: &str,
        v: &Json,
    ) -> Result<(), ModelError> {
        let q = question_of(form, name)?;
        let a = Answer::from_json(q, v)?;
        self.set_instance_answer(form, index, name, a.as_ref())
    }

    /// Every instance's typed answers, by repeat (every repeat of the form,
    /// with no instances when it has none).
    pub fn repeat_answers(&self, form: &Form) -> RepeatAnswers {
        form.def()
            .repeats
            .iter()
            .map(|r| (r.id.clone(), self.instance_answers(form, &r.id)))
            .collect()
    }

    /// The typed answers of each instance of `repeat`, in order.
    pub fn instance_answers(&self, form: &Form, repeat: &str) -> Vec<Answers> {
        self.instance_maps(repeat)
            .iter()
            .map(|m| self.answers_in(form, m, Some(repeat)))
            .collect()
    }
}

fn no_instance(repeat: &str, index: usize) -> ModelError {
    ModelError::Malformed(format!("repeat `{repeat}` has no instance {index}"))
}
