//! What changed between two versions of a form, as a coordinator must see it
//! before publishing: questions added, removed or retyped, options added or
//! removed, and questions whose wording or rules changed. Published versions
//! are immutable; a new version must carry a higher number.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::form::{Form, Question, QuestionType};

/// A question whose answer type changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retyped {
    pub question: String,
    pub from: QuestionType,
    pub to: QuestionType,
}

/// Options added to or removed from one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionChange {
    pub question: String,
    pub options: Vec<String>,
}

/// The differences between a published version and a candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FormChanges {
    pub form_id: String,
    pub from_version: u32,
    pub to_version: u32,
    /// Questions only in the new version, in its order.
    pub added: Vec<String>,
    /// Questions only in the old version, in its order.
    pub removed: Vec<String>,
    pub retyped: Vec<Retyped>,
    pub options_added: Vec<OptionChange>,
    pub options_removed: Vec<OptionChange>,
    /// Questions whose label, hint or option labels changed.
    pub reworded: Vec<String>,
    /// Questions whose rules changed: required, relevance, limits, pattern,
    /// constraint, default, appearance, section, PII flag, calculation,
    /// metadata or read-only. (A question moved into or out of a repeat is
    /// removed and added: its answers change tables.)
    pub rules_changed: Vec<String>,
}

/// Why two versions cannot be compared as old and new.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("form ids differ: `{0}` and `{1}`")]
    OtherForm(String, String),
    #[error("version {new} of `{form}` must be higher than the published version {published}")]
    NotNewer {
        form: String,
        published: u32,
        new: u32,
    },
}

impl FormChanges {
    /// Whether anything changed at all.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.retyped.is_empty()
            && self.options_added.is_empty()
            && self.options_removed.is_empty()
            && self.reworded.is_empty()
            && self.rules_changed.is_empty()
    }

    /// Changes that affect answers already collected under the old version
    /// (their columns disappear, change meaning or lose options). Publishing
    /// is still allowed: old interviews keep their version.
    pub fn affects_collected_answers(&self) -> bool {
        !self.removed.is_empty() || !self.retyped.is_empty() || !self.options_removed.is_empty()
    }
}

fn option_values(q: &Question) -> Vec<String> {
    q.options.iter().map(|o| o.value.clone()).collect()
}

fn reworded(a: &Question, b: &Question) -> bool {
    a.label != b.label
        || a.hint != b.hint
        || a.pattern_message != b.pattern_message
        || a.constraint_message != b.constraint_message
        || a.required_message != b.required_message
        || a.options.iter().any(|o| {
            b.options
                .iter()
                .any(|p| p.value == o.value && p.label != o.label)
        })
}

fn rules_changed(a: &Question, b: &Question) -> bool {
    a.required != b.required
        || a.relevant != b.relevant
        || a.min != b.min
        || a.max != b.max
        || a.min_selected != b.min_selected
        || a.max_selected != b.max_selected
        || a.max_length != b.max_length
        || a.pattern != b.pattern
        || a.min_date != b.min_date
        || a.max_date != b.max_date
        || a.section != b.section
        || a.pii != b.pii
        || a.multiline != b.multiline
        || a.constraint != b.constraint
        || a.default != b.default
        || a.appearance != b.appearance
        || a.calculation != b.calculation
        || a.metadata != b.metadata
        || a.read_only != b.read_only
}

/// Compare a published version `old` with a candidate `new` of the same form.
pub fn compare(old: &Form, new: &Form) -> Result<FormChanges, VersionError> {
    if old.id() != new.id() {
        return Err(VersionError::OtherForm(old.id().into(), new.id().into()));
    }
    if new.version() <= old.version() {
        return Err(VersionError::NotNewer {
            form: new.id().into(),
            published: old.version(),
            new: new.version(),
        });
    }
    let mut c = FormChanges {
        form_id: new.id().into(),
        from_version: old.version(),
        to_version: new.version(),
        ..FormChanges::default()
    };
    for q in old.questions() {
        if new.question(&q.name).is_none() {
            c.removed.push(q.name.clone());
        }
    }
    for q in new.questions() {
        let Some(p) = old.question(&q.name) else {
            c.added.push(q.name.clone());
            continue;
        };
        if p.repeat != q.repeat {
            // Its answers move between the interview and a repeat's
            // instances: the old column goes, a new one comes.
            c.removed.push(q.name.clone());
            c.added.push(q.name.clone());
            continue;
        }
        if p.kind != q.kind {
            c.retyped.push(Retyped {
                question: q.name.clone(),
                from: p.kind,
                to: q.kind,
            });
        }
        let (before, after) = (option_values(p), option_values(q));
        let had: BTreeSet<&String> = before.iter().collect();
        let has: BTreeSet<&String> = after.iter().collect();
        let added: Vec<String> = after.iter().filter(|v| !had.contains(v)).cloned().collect();
        let removed: Vec<String> = before
            .iter()
            .filter(|v| !has.contains(v))
            .cloned()
            .collect();
        if !added.is_empty() {
            c.options_added.push(OptionChange {
                question: q.name.clone(),
                options: added,
            });
        }
        if !removed.is_empty() {
            c.options_removed.push(OptionChange {
                question: q.name.clone(),
                options: removed,
            });
        }
        if reworded(p, q) {
            c.reworded.push(q.name.clone());
        }
        if rules_changed(p, q) {
            c.rules_changed.push(q.name.clone());
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::form::ChoiceOption;

    fn v2(edit: impl FnOnce(&mut crate::FormDef)) -> Form {
        let mut def = crate::mcmb_form().unwrap().def().clone();
        def.version += 1;
        edit(&mut def);
        Form::new(def).unwrap()
    }

    #[test]
    fn an_unchanged_new_version_has_no_changes() {
        let v1 = crate::mcmb_form().unwrap();
        let c = compare(&v1, &v2(|_| {})).unwrap();
        assert!(c.is_empty(), "{c:?}");
        assert_eq!((c.from_version, c.to_version), (1, 2));
    }

    #[test]
    fn every_kind_of_change_is_reported() {
        let v1 = crate::mcmb_form().unwrap();
        let new = v2(|d| {
            let seg = d
                .questions
                .iter_mut()
                .find(|q| q.name == "segment")
                .unwrap();
            seg.options.retain(|o| o.value != "partner");
            let mut wholesale = seg.options[0].clone();
            wholesale.value = "wholesale".into();
            seg.options.push(wholesale);
            let reason = d
                .questions
                .iter_mut()
                .find(|q| q.name == "nps_reason")
                .unwrap();
            reason.required = !reason.required;
            let city = d.questions.iter_mut().find(|q| q.name == "city").unwrap();
            city.label.0.insert("en".into(), "Town".into());
            let area = d
                .questions
                .iter_mut()
                .find(|q| q.name == "area_type")
                .unwrap();
            area.options[0] = ChoiceOption {
                label: area.options[1].label.clone(),
                ..area.options[0].clone()
            };
            d.questions.retain(|q| q.name != "customer_since_years");
            let mut shop = d
                .questions
                .iter()
                .find(|q| q.name == "verbatim")
                .unwrap()
                .clone();
            shop.name = "favourite_shop".into();
            shop.required = false;
            d.questions.push(shop);
        });
        let c = compare(&v1, &new).unwrap();
        assert_eq!(c.added, ["favourite_shop"]);
        assert_eq!(c.removed, ["customer_since_years"]);
        assert_eq!(
            c.options_removed,
            [OptionChange {
                question: "segment".into(),
                options: vec!["partner".into()]
            }]
        );
        assert_eq!(
            c.options_added,
            [OptionChange {
                question: "segment".into(),
                options: vec!["wholesale".into()]
            }]
        );
        assert!(c.reworded.contains(&"city".to_owned()), "{c:?}");
        assert!(c.reworded.contains(&"area_type".to_owned()), "{c:?}");
        assert_eq!(c.rules_changed, ["nps_reason"]);
        assert!(c.retyped.is_empty());
        assert!(c.affects_collected_answers());
    }

    #[test]
    fn a_retyped_question_and_bad_version_numbers_are_named() {
        let v1 = crate::mcmb_form().unwrap();
        let new = v2(|d| {
            let q = d
                .questions
                .iter_mut()
                .find(|q| q.name == "customer_since_years")
                .unwrap();
            q.kind = QuestionType::Text;
            q.min = None;
            q.max = None;
        });
        let c = compare(&v1, &new).unwrap();
        assert_eq!(
            c.retyped,
            [Retyped {
                question: "customer_since_years".into(),
                from: QuestionType::Integer,
                to: QuestionType::Text
            }]
        );
        assert_eq!(
            compare(&new, &v1).unwrap_err(),
            VersionError::NotNewer {
                form: "mcmb-interview".into(),
                published: 2,
                new: 1
            }
        );
        assert_eq!(
            compare(&v1, &v1).unwrap_err(),
            VersionError::NotNewer {
                form: "mcmb-interview".into(),
                published: 1,
                new: 1
            }
        );
    }
}
