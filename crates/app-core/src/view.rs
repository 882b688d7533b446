//! What the UI renders for one interview: sections and questions with labels
//! in the chosen language, skip-logic visibility, current answers and
//! diagnostics, all computed by survey-model. The UI adds no form logic.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value as Json;
use survey_model::{Code, Comment, FilterSource, Form, Interview, QuestionType, Severity};

/// Text direction of a language.
pub fn direction(lang: &str) -> &'static str {
    match lang {
        "ar" | "he" | "fa" | "ur" => "rtl",
        _ => "ltr",
    }
}

/// One option of a choice question.
#[derive(Debug, Clone, Serialize)]
pub struct OptionView {
    pub value: String,
    pub label: String,
}

/// One diagnostic, with its machine code for the UI to translate.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticView {
    pub code: Code,
    pub severity: Severity,
    /// English text from the model, or the form's own message in `lang`.
    pub message: String,
    /// `message` is the form's own text (a constraint, pattern or required
    /// message): the UI shows it as written instead of its own wording.
    pub from_form: bool,
}

/// One question as shown.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionView {
    /// Unique in the view: the name, or `name#i` in instance `i` of a repeat.
    pub key: String,
    pub name: String,
    /// The repeat instance (0-based) it is asked in.
    pub instance: Option<usize>,
    pub kind: QuestionType,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// Shown under the current answers (skip logic).
    pub relevant: bool,
    /// The options offered now: inline ones and the question's list
    /// (`choices_from`), narrowed by its choice filter (the device's country,
    /// earlier answers).
    pub options: Vec<OptionView>,
    /// The options come from a list (places): the UI offers a search box.
    pub searchable: bool,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub multiline: bool,
    /// `minimal` or `likert` (choice layout), if the form sets one.
    pub appearance: Option<String>,
    pub max_length: Option<usize>,
    pub min_date: Option<String>,
    pub max_date: Option<String>,
    /// Shown, not answered (the form computes it or sets it by default).
    pub read_only: bool,
    /// Current answer in its JSON form, or null.
    pub value: Json,
    pub diagnostics: Vec<DiagnosticView>,
}

/// One page of the form.
#[derive(Debug, Clone, Serialize)]
pub struct SectionView {
    /// The section's id (`""`: questions outside any section), `id~n` when
    /// the section comes back later in the form; unique in a view.
    pub id: String,
    pub label: String,
    pub questions: Vec<QuestionView>,
    /// The page's repeats, each drawn after the question it names in `after`.
    pub repeats: Vec<RepeatView>,
}

/// A repeat and its instances.
#[derive(Debug, Clone, Serialize)]
pub struct RepeatView {
    pub id: String,
    pub label: String,
    /// The page it is on ([`SectionView::id`]).
    pub section: String,
    /// The top-level question of its page it comes after (`None`: first).
    pub after: Option<String>,
    /// The form sets the number of instances (`repeat_count`): no add or
    /// remove buttons.
    pub fixed: bool,
    /// Shown under the current answers.
    pub relevant: bool,
    pub instances: Vec<InstanceView>,
}

/// One instance of a repeat.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceView {
    pub index: usize,
    pub questions: Vec<QuestionView>,
}

/// The whole interview as the UI renders it.
#[derive(Debug, Clone, Serialize)]
pub struct FormView {
    pub interview_id: String,
    pub form_id: String,
    pub form_version: u32,
    pub title: String,
    pub lang: String,
    pub dir: &'static str,
    /// "draft" or "submitted".
    pub status: String,
    pub review_state: Option<String>,
    /// What the customer's follow-up case came to, once the operator worked
    /// it (no contact detail).
    pub followup: Option<FollowUp>,
    pub created_at: String,
    pub sections: Vec<SectionView>,
    pub comments: Vec<Comment>,
    /// Blocking problems (errors) among relevant questions.
    pub errors: usize,
    /// True when submit would succeed.
    pub complete: bool,
    /// True when the consent question is answered "yes" (or the form has none).
    pub consent_given: bool,
    /// Questions whose value was set concurrently on two devices.
    pub conflicts: Vec<String>,
    /// The form records where the interview started (`start_geopoint`
    /// metadata) and this draft has no position yet: the app asks the
    /// device for one (`App::record_start_geopoint`).
    pub wants_start_geopoint: bool,
}

/// A follow-up case's outcome as the interviewer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// `open`, `contacted`, `resolved`, `not_reachable` or `closed`.
    pub status: String,
    /// The resolution category once resolved (`fixed`, `explained`, ...).
    pub resolution: Option<String>,
}

/// Build the view of `iv` under `form` in `lang` (falling back to the form's
/// default language for missing labels).
pub fn form_view(form: &Form, iv: &Interview, lang: &str) -> FormView {
    let def = form.def();
    let fallback = def.default_language.as_str();
    let answers = iv.answers(form);
    let repeats = iv.repeat_answers(form);
    let today = survey_model::validate::today();
    let eval = form.evaluate_all_on(&answers, &repeats, today);
    let relevant: HashSet<&str> = eval.relevant.iter().map(String::as_str).collect();
    // Diagnostics by question and instance.
    let mut diags: BTreeMap<(&str, Option<usize>), Vec<DiagnosticView>> = BTreeMap::new();
    for d in &eval.diagnostics {
        let q = form.question(&d.question);
        let own = |m: &Option<survey_model::form::Localized>| {
            m.as_ref().map(|m| m.get(lang, fallback).to_owned())
        };
        let form_text = match (d.code, q) {
            (Code::Pattern, Some(q)) => own(&q.pattern_message),
            (Code::Constraint, Some(q)) => own(&q.constraint_message),
            (Code::Required, Some(q)) => own(&q.required_message),
            _ => None,
        };
        let from_form = form_text.is_some();
        let message = form_text.unwrap_or_else(|| d.message.clone());
        diags
            .entry((d.question.as_str(), d.instance))
            .or_default()
            .push(DiagnosticView {
                code: d.code,
                severity: d.severity,
                message,
                from_form,
            });
    }
    let country = iv.meta().country.clone();
    // One question as shown, reading `values` (the instance's answers over
    // the interview's) and `shown` (its relevance).
    let question_view = |q: &survey_model::Question,
                         values: &survey_model::Answers,
                         shown: bool,
                         instance: Option<usize>| {
        // The values choice filters compare with: the interview's country, earlier answers.
        let source = |s: &FilterSource| match s {
            FilterSource::Meta { meta } if meta == "country" => Some(Some(country.clone())),
            FilterSource::Meta { .. } => Some(None),
            FilterSource::Question { question } => Some(
                values
                    .get(question)
                    .and_then(|a| a.to_json().as_str().map(str::to_owned)),
            ),
            FilterSource::Value { value } => Some(Some(value.clone())),
        };
        // Labels and hints pipe answers in (`${name}`), calculations included.
        let piped = |n: &str| values.get(n).map(survey_model::expr::answer_string);
        let text = |t: &str| survey_model::expr::pipe(t, &piped);
        QuestionView {
            key: match instance {
                Some(i) => format!("{}#{i}", q.name),
                None => q.name.clone(),
            },
            name: q.name.clone(),
            instance,
            kind: q.kind,
            label: text(q.label.get(lang, fallback)),
            hint: q.hint.as_ref().map(|h| text(h.get(lang, fallback))),
            required: q.required,
            relevant: shown,
            options: form
                .options_of(q)
                .filter(|o| Form::passes_filter(q, o, &source))
                .map(|o| OptionView {
                    value: o.value.clone(),
                    label: o.label.get(lang, fallback).to_owned(),
                })
                .collect(),
            searchable: q.choices_from.is_some(),
            min: match q.kind {
                QuestionType::Nps | QuestionType::Rating => Some(q.numeric_range().0),
                _ => q.min,
            },
            max: match q.kind {
                QuestionType::Nps | QuestionType::Rating => Some(q.numeric_range().1),
                _ => q.max,
            },
            multiline: q.multiline,
            appearance: q.appearance.clone(),
            max_length: q.max_length,
            min_date: q.min_date.clone(),
            max_date: q.max_date.clone(),
            read_only: q.read_only,
            value: values.get(&q.name).map_or(Json::Null, |a| a.to_json()),
            diagnostics: diags
                .get(&(q.name.as_str(), instance))
                .cloned()
                .unwrap_or_default(),
        }
    };
    let top_view = |q: &survey_model::Question| {
        question_view(q, &answers, relevant.contains(q.name.as_str()), None)
    };
    // Each repeat with its instances (placed below, in form order).
    let kept_top = form.clean_on(&answers, today).answers;
    let repeat_view = |r: &survey_model::Repeat| {
        let empty = survey_model::Answers::new();
        let shown = !form
            .evaluate_instance_on(&r.id, 0, &empty, &kept_top, today)
            .relevant
            .is_empty();
        let instances = repeats
            .get(&r.id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, inst)| {
                let e = form.evaluate_instance_on(&r.id, i, inst, &kept_top, today);
                let mut values = answers.clone();
                values.extend(inst.iter().map(|(k, v)| (k.clone(), v.clone())));
                InstanceView {
                    index: i,
                    questions: form
                        .repeat_questions(&r.id)
                        .filter(|q| q.kind.is_asked())
                        .map(|q| question_view(q, &values, e.relevant.contains(&q.name), Some(i)))
                        .collect(),
                }
            })
            .collect();
        RepeatView {
            id: r.id.clone(),
            label: r.label.get(lang, fallback).to_owned(),
            section: String::new(),
            after: None,
            fixed: r.repeat_count.is_some(),
            relevant: shown,
            instances,
        }
    };
    // Pages in form order: consecutive questions (and repeats) of one
    // section make one page; a section met again later (XLSForm allows it),
    // or questions outside any section between sections, make another, so
    // the interviewer meets the questions in the order of the sheet.
    // Questions of no (or an unknown) section are on unnamed pages, never
    // hidden by a form mistake. A page's id is its section's, suffixed
    // `~n` when the section comes back.
    let known: HashMap<&str, &survey_model::form::Section> =
        def.sections.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut sections: Vec<SectionView> = Vec::new();
    let mut current: Option<&str> = None;
    let mut runs: HashMap<&str, usize> = HashMap::new();
    let mut placed: HashSet<&str> = HashSet::new();
    for q in form.questions() {
        let page = q
            .section
            .as_deref()
            .filter(|s| known.contains_key(s))
            .unwrap_or("");
        let repeat = match q.repeat.as_deref() {
            Some(r) if !placed.insert(r) => continue,
            Some(r) => form.repeat(r),
            None if q.kind.is_asked() => None,
            None => continue,
        };
        if current != Some(page) || sections.is_empty() {
            current = Some(page);
            let n = runs.entry(page).or_insert(0);
            *n += 1;
            sections.push(SectionView {
                id: if *n == 1 {
                    page.to_owned()
                } else {
                    format!("{page}~{n}")
                },
                label: known
                    .get(page)
                    .map_or_else(String::new, |s| s.label.get(lang, fallback).to_owned()),
                questions: Vec::new(),
                repeats: Vec::new(),
            });
        }
        let Some(sv) = sections.last_mut() else {
            continue;
        };
        match repeat {
            Some(r) => {
                let mut rv = repeat_view(r);
                rv.after = sv.questions.last().map(|x| x.name.clone());
                rv.section = sv.id.clone();
                sv.repeats.push(rv);
            }
            None => sv.questions.push(top_view(q)),
        }
    }
    let consent_given = match form
        .questions()
        .iter()
        .find(|q| q.kind == QuestionType::Consent)
    {
        None => true,
        Some(q) => matches!(answers.get(&q.name), Some(survey_model::Answer::Bool(true))),
    };
    let errors = eval
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    FormView {
        interview_id: iv.id().to_string(),
        form_id: form.id().to_owned(),
        form_version: form.version(),
        title: def.title.get(lang, fallback).to_owned(),
        lang: lang.to_owned(),
        dir: direction(lang),
        status: iv.status(),
        review_state: iv.review_state().map(|r| r.as_str().to_owned()),
        followup: iv
            .followup()
            .map(|(status, resolution)| FollowUp { status, resolution }),
        created_at: iv.meta().created_at.clone(),
        sections,
        comments: iv.comments(),
        errors,
        complete: errors == 0,
        consent_given,
        wants_start_geopoint: iv.status() == "draft"
            && form
                .metadata_questions("start_geopoint")
                .any(|q| !answers.contains_key(&q.name)),
        conflicts: iv.conflicts().into_iter().map(|c| c.question).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use survey_model::{Answer, Interview, actor_from_uuid};

    #[test]
    fn constraint_messages_in_the_chosen_language_and_appearance() {
        let def = serde_json::json!({
            "form_id": "t", "version": 1, "title": {"en": "T", "fr": "T"},
            "languages": ["en", "fr"], "default_language": "en",
            "questions": [
                {"name": "weight", "type": "decimal", "label": {"en": "Weight", "fr": "Poids"},
                 "constraint": {"q": "weight", "op": "le", "value": 300},
                 "constraint_message": {"en": "300 at most", "fr": "300 au plus"}},
                {"name": "ok", "type": "acknowledge", "label": {"en": "OK?", "fr": "OK ?"}},
                {"name": "pick", "type": "single_choice", "label": {"en": "Pick", "fr": "Choix"},
                 "appearance": "minimal",
                 "options": [{"value": "a", "label": {"en": "A", "fr": "A"}}]}
            ]
        });
        let form = Form::new(serde_json::from_value(def).expect("def")).expect("form");
        let device = uuid::Uuid::new_v4();
        let meta = survey_model::sample::meta(
            &form,
            "CI",
            "emp-1",
            &device.to_string(),
            "2026-11-30T09:00:00Z",
        );
        let mut iv = Interview::create(&form, meta, actor_from_uuid(device)).expect("create");
        iv.set_answer(&form, "weight", Some(&Answer::Decimal(300.5)))
            .expect("answer");
        iv.set_answer(&form, "ok", Some(&Answer::Bool(true)))
            .expect("answer");
        let view = form_view(&form, &iv, "fr");
        let qs: Vec<&QuestionView> = view.sections.iter().flat_map(|s| &s.questions).collect();
        let weight = qs.iter().find(|q| q.name == "weight").expect("weight");
        assert_eq!(weight.value, serde_json::json!(300.5));
        assert_eq!(weight.diagnostics.len(), 1);
        assert_eq!(weight.diagnostics[0].code, Code::Constraint);
        assert_eq!(weight.diagnostics[0].message, "300 au plus");
        let ok = qs.iter().find(|q| q.name == "ok").expect("ok");
        assert_eq!(ok.value, serde_json::json!(true));
        assert!(ok.diagnostics.is_empty());
        let pick = qs.iter().find(|q| q.name == "pick").expect("pick");
        assert_eq!(pick.appearance.as_deref(), Some("minimal"));
    }
}
