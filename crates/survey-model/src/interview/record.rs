//! The flat projection of an interview ([`InterviewRecord`]) used by stores,
//! listings and exports.

use std::collections::BTreeMap;

use automerge::{ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::answers::scalar_json;
use super::{Interview, Paradata};
use crate::checks::Check;
use crate::form::{Form, QuestionType};
use crate::validate::{Code, QualityFlag};

impl Interview {
    /// Flatten to a record for storage, listing and export. With the form, the
    /// record holds only the answers that count ([`Form::clean`]: valid and
    /// relevant); every other answer found in the document — invalid, hidden by
    /// skip logic, of the wrong type or to no question of the form — is left
    /// out and named in `quality_flags`. The document itself keeps them all.
    /// Without the form, every answer is kept as raw JSON, unchecked.
    pub fn project(&mut self, form: Option<&Form>) -> InterviewRecord {
        let mut answers = BTreeMap::new();
        let mut repeats = BTreeMap::new();
        let mut quality_flags = Vec::new();
        // Every key of the answers map, and whether it holds a text or a map.
        let keys: Vec<(String, Option<ObjType>)> = self
            .doc
            .map_range(&self.answers, ..)
            .map(|item| {
                let made = match item.value.into_value() {
                    Value::Object(t) => Some(t),
                    Value::Scalar(_) => None,
                };
                (item.key.into_owned(), made)
            })
            .collect();
        match form {
            Some(f) => {
                let typed = self.answers(f);
                let cleaned = f.clean(&typed);
                quality_flags = cleaned.flags;
                let (instances, flags) = f.clean_instances_on(
                    &cleaned.answers,
                    &self.repeat_answers(f),
                    crate::validate::today(),
                );
                quality_flags.extend(flags);
                repeats = instances
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(r, v)| {
                        let rows = v
                            .into_iter()
                            .map(|a| a.into_iter().map(|(k, a)| (k, a.to_json())).collect())
                            .collect();
                        (r, rows)
                    })
                    .collect();
                for (key, made) in keys {
                    if f.repeat(&key).is_some() {
                        continue;
                    }
                    let code = match f.question(&key) {
                        None => Code::UnknownQuestion,
                        Some(_) if typed.contains_key(&key) => continue,
                        // A container of the question's own type that did
                        // not read as an answer is empty (every text and
                        // multiple-choice question's is made at creation):
                        // nothing to flag, nothing to read again.
                        Some(q) if own_container(q.kind, made) => continue,
                        // Read once, above: a key of the form's that did not
                        // read as its type.
                        Some(_) => Code::WrongType,
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
                for (key, _) in keys {
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
            repeats,
            quality_flags,
            paradata: Paradata::default(),
            checks: Vec::new(),
            tags: self.tags(),
            comment_count: self.comments().len(),
            review: ReviewInfo {
                by: self.str_at(&self.review, "by").filter(|b| !b.is_empty()),
                at: self.str_at(&self.review, "at").filter(|a| !a.is_empty()),
                comments: self
                    .comments()
                    .into_iter()
                    .map(|c| CommentNote {
                        role: c.role,
                        at: c.at,
                        text: c.text,
                    })
                    .collect(),
            },
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
                let on: Vec<Json> = self.keys_set_true(&obj).map(Json::String).collect();
                (!on.is_empty()).then_some(Json::Array(on))
            }
        }
    }
}

/// Whether `made` (the object a key holds, if any) is the container a
/// question of `kind` keeps its answer in.
fn own_container(kind: QuestionType, made: Option<ObjType>) -> bool {
    matches!(
        (kind, made),
        (QuestionType::Text, Some(ObjType::Text)) | (QuestionType::MultiChoice, Some(ObjType::Map))
    )
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
    /// The answers that count in each repeat instance, by repeat id (in
    /// instance order; repeats without instances left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repeats: BTreeMap<String, Vec<BTreeMap<String, Json>>>,
    /// Answers in the document that `answers` leaves out, as `question:code`
    /// (empty in records stored before flags existed: re-project them).
    #[serde(default)]
    pub quality_flags: Vec<QualityFlag>,
    /// How the interview was filled in (from its history; set by the server
    /// when it stores the record, default elsewhere).
    #[serde(default)]
    pub paradata: Paradata,
    /// The single-interview quality checks that fire ([`crate::checks`];
    /// set by the server; the store adds the cross-interview ones on read).
    #[serde(default)]
    pub checks: Vec<Check>,
    pub tags: Vec<String>,
    pub comment_count: usize,
    /// Who reviewed it last, when, and the review comments (empty in records
    /// stored before they were projected: re-project them).
    #[serde(default)]
    pub review: ReviewInfo,
    /// Questions with concurrent conflicting values.
    pub conflicts: Vec<String>,
    /// Document heads (hex), i.e. the version this record was made from.
    pub heads: Vec<String>,
}

/// The review part of a record: the last review state change (user id and
/// time) and the comments, without their authors' names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewInfo {
    /// User id of whoever set the review state last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When (RFC 3339, server clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<CommentNote>,
}

/// One review comment as a record keeps it: the author's role, the time
/// and the text (the author's name stays in the document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentNote {
    pub role: String,
    pub at: String,
    pub text: String,
}

impl InterviewRecord {
    pub fn answer_i64(&self, name: &str) -> Option<i64> {
        self.answers.get(name).and_then(Json::as_i64)
    }
    pub fn answer_str(&self, name: &str) -> Option<&str> {
        self.answers.get(name).and_then(Json::as_str)
    }
}

#[cfg(test)]
mod tests {
    use automerge::ScalarValue;
    use automerge::transaction::Transactable;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::interview::{InterviewMeta, actor_from_uuid, commit};

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
        commit(iv.doc_mut(), None);
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
        commit(iv.doc_mut(), None);
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
        // A text question's container replaced by a number.
        put_raw(&mut iv, "verbatim", 5);
        let r = iv.project(Some(&form));
        for q in [
            "sat_network",
            "segment",
            "sat_shop",
            "not_in_form",
            "verbatim",
        ] {
            assert!(!r.answers.contains_key(q), "{q} projected");
        }
        let f = flags(&r);
        for want in [
            "sat_network:out_of_range",
            "segment:unknown_option",
            "sat_shop:wrong_type",
            "not_in_form:unknown_question",
            "verbatim:wrong_type",
        ] {
            assert!(f.contains(&want.to_owned()), "{want} missing from {f:?}");
        }
        // The empty containers made at creation (every unanswered text and
        // multiple-choice question) are not wrong types.
        let wrong: Vec<&String> = f.iter().filter(|x| x.ends_with(":wrong_type")).collect();
        assert_eq!(wrong, ["sat_shop:wrong_type", "verbatim:wrong_type"]);
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
