//! Forms, answers, skip logic, constraints and projection of the interview model.
#![allow(clippy::unwrap_used)]

use fieldvoice_tests::{complete_answers, filled_interview, form, meta};
use serde_json::json;
use survey_model::{
    Answer, Code, Form, FormError, Interview, ModelError, ReviewState, Severity, actor_from_uuid,
};
use uuid::Uuid;

#[test]
fn shipped_form_loads_and_has_all_languages() {
    let f = form();
    assert_eq!(f.id(), "mcmb-interview");
    assert!(f.questions().len() >= 25);
    for q in f.questions() {
        for lang in ["en", "fr", "ar", "pt"] {
            assert!(q.label.0.contains_key(lang), "{} lacks {lang}", q.name);
        }
    }
}

#[test]
fn invalid_forms_give_every_problem() {
    let bad = r#"{
      "form_id": "Bad Id", "version": 0, "title": {"fr": "x"},
      "languages": ["en"], "default_language": "en",
      "questions": [
        {"name": "a", "type": "single_choice", "label": {"en": "A"}},
        {"name": "a", "type": "integer", "label": {"en": "A2"}, "min": 5, "max": 1},
        {"name": "b", "type": "text", "label": {"en": "B"}, "pattern": "(",
         "relevant": {"q": "later", "op": "eq", "value": 1}},
        {"name": "c", "type": "nps", "label": {"en": "C"},
         "relevant": {"selected": "nope", "option": "x"}},
        {"name": "later", "type": "integer", "label": {"en": "L"}}
      ]}"#;
    let Err(FormError::Invalid(problems)) = Form::from_json(bad) else {
        panic!("expected invalid form");
    };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(has("form_id `Bad Id`"), "{text:?}");
    assert!(has("version must be 1"), "{text:?}");
    assert!(has("title has no `en`"), "{text:?}");
    assert!(has("a choice question needs options"), "{text:?}");
    assert!(has("duplicate question name"), "{text:?}");
    assert!(has("min 5 is greater than max 1"), "{text:?}");
    assert!(has("pattern is not a valid regex"), "{text:?}");
    assert!(has("`later`, which comes later"), "{text:?}");
    assert!(has("unknown question `nope`"), "{text:?}");
}

#[test]
fn malformed_form_json_is_a_clear_error_not_a_panic() {
    for text in [
        "",
        "{",
        "[]",
        r#"{"form_id": 3}"#,
        r#"{"questions": [{"type": "dropdown"}]}"#,
    ] {
        let err = Form::from_json(text).expect_err(text);
        assert!(matches!(err, FormError::Json(_)), "{text}: {err}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn complete_interview_is_valid_and_submits() {
    let f = form();
    let mut iv = filled_interview(&f, Uuid::new_v4(), 9);
    let eval = f.evaluate(&iv.answers(&f));
    assert!(eval.is_complete(), "{:?}", eval.diagnostics);
    let eval = iv.submit(&f).expect("submit");
    assert!(eval.is_complete());
    assert_eq!(iv.status(), "submitted");
}

#[test]
fn skip_logic_hides_questions_and_ignores_hidden_answers() {
    let f = form();
    let dev = Uuid::new_v4();
    let mut iv = Interview::create(&f, meta(&f, "u", "CI", dev), actor_from_uuid(dev)).unwrap();
    // Without consent nothing after it is shown, and the interview is incomplete.
    iv.set_answer_json(&f, "consent", &json!(false)).unwrap();
    let eval = f.evaluate(&iv.answers(&f));
    assert!(!eval.relevant.contains(&"nps".to_owned()));
    assert!(!eval.diagnostics.iter().any(|d| d.question == "nps"));
    // Consent: nps becomes required.
    iv.set_answer_json(&f, "consent", &json!(true)).unwrap();
    let eval = f.evaluate(&iv.answers(&f));
    assert!(eval.relevant.contains(&"nps".to_owned()));
    assert!(
        eval.diagnostics
            .iter()
            .any(|d| d.question == "nps" && d.code == Code::Required)
    );
    // Complaint details only when has_complaint = yes.
    iv.set_answer_json(&f, "has_complaint", &json!("no"))
        .unwrap();
    iv.set_answer_json(&f, "complaint_detail", &json!("stale text"))
        .unwrap();
    let eval = f.evaluate(&iv.answers(&f));
    assert!(!eval.relevant.contains(&"complaint_detail".to_owned()));
    let d = eval
        .diagnostics
        .iter()
        .find(|d| d.question == "complaint_detail")
        .unwrap();
    assert_eq!((d.code, d.severity), (Code::NotRelevant, Severity::Warning));
    iv.set_answer_json(&f, "has_complaint", &json!("yes"))
        .unwrap();
    let eval = f.evaluate(&iv.answers(&f));
    assert!(eval.relevant.contains(&"complaint_categories".to_owned()));
}

#[test]
fn constraint_violations_are_diagnostics_and_block_submit() {
    let f = form();
    let dev = Uuid::new_v4();
    let mut iv = filled_interview(&f, dev, 9);
    iv.set_answer_json(&f, "nps", &json!(11)).unwrap();
    iv.set_answer_json(&f, "customer_phone", &json!("call me"))
        .unwrap();
    iv.set_answer_json(&f, "segment", &json!("martian"))
        .unwrap();
    iv.set_answer_json(&f, "customer_since_years", &json!(-3))
        .unwrap();
    let eval = f.evaluate(&iv.answers(&f));
    let codes: Vec<(String, Code)> = eval
        .diagnostics
        .iter()
        .map(|d| (d.question.clone(), d.code))
        .collect();
    assert!(
        codes.contains(&("nps".into(), Code::OutOfRange)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("customer_phone".into(), Code::Pattern)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("segment".into(), Code::UnknownOption)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("customer_since_years".into(), Code::OutOfRange)),
        "{codes:?}"
    );
    let eval = iv.submit(&f).unwrap();
    assert!(!eval.is_complete());
    assert_eq!(
        iv.status(),
        "draft",
        "an invalid interview must not be submitted"
    );
}

#[test]
fn wrong_answer_types_are_refused_with_clear_errors() {
    let f = form();
    let mut iv = filled_interview(&f, Uuid::new_v4(), 7);
    let cases = [
        ("nps", json!("ten"), "expects a whole number"),
        ("consent", json!("yes"), "expects true/false"),
        (
            "services_used",
            json!("mobile_money"),
            "expects a list of option values",
        ),
        (
            "interview_date",
            json!("30/11/2026"),
            "expects a YYYY-MM-DD date",
        ),
        ("location", json!({"lat": 95, "lon": 0}), "latitude -90..90"),
        ("intro_note", json!("x"), "is a note"),
        ("no_such_question", json!(1), "unknown question"),
    ];
    for (q, v, want) in cases {
        let err = iv.set_answer_json(&f, q, &v).expect_err(q);
        assert!(err.to_string().contains(want), "{q}: {err}");
    }
    // Refused answers changed nothing.
    assert_eq!(iv.answers(&f).get("nps"), Some(&Answer::Int(7)));
}

#[test]
fn clearing_answers_and_multichoice_flags() {
    let f = form();
    let mut iv = filled_interview(&f, Uuid::new_v4(), 7);
    iv.set_answer_json(&f, "services_used", &json!(["mobile_data"]))
        .unwrap();
    let rec = iv.project(Some(&f));
    assert_eq!(rec.answers["services_used"], json!(["mobile_data"]));
    iv.set_answer_json(&f, "nps", &json!(null)).unwrap();
    iv.set_answer_json(&f, "verbatim", &json!(null)).unwrap();
    let rec = iv.project(Some(&f));
    assert!(!rec.answers.contains_key("nps"));
    assert!(!rec.answers.contains_key("verbatim"));
}

#[test]
fn projection_is_flat_and_complete() {
    let f = form();
    let mut iv = filled_interview(&f, Uuid::new_v4(), 3);
    iv.set_review(ReviewState::HasIssues, "coord-ci").unwrap();
    iv.add_comment(
        "coord-ci",
        "coord-ci",
        "coordinator",
        "Please add the city district",
    )
    .unwrap();
    iv.set_tag("root_cause:network", true).unwrap();
    let rec = iv.project(Some(&f));
    assert_eq!(rec.country, "CI");
    assert_eq!(rec.answer_i64("nps"), Some(3));
    assert_eq!(rec.answer_str("city"), Some("Bouaké"));
    assert_eq!(rec.answers["location"]["lat"], json!(7.6899));
    assert_eq!(rec.review_state.as_deref(), Some("has_issues"));
    assert_eq!(rec.comment_count, 1);
    assert_eq!(rec.tags, vec!["root_cause:network".to_owned()]);
    assert_eq!(rec.heads.len(), 1);
    assert_eq!(iv.comments()[0].text, "Please add the city district");
    // Every answered question is in the projection.
    for (k, _) in complete_answers(3) {
        assert!(rec.answers.contains_key(k), "{k} missing");
    }
}

#[test]
fn corrupt_document_bytes_are_errors_not_panics() {
    let f = form();
    let mut iv = filled_interview(&f, Uuid::new_v4(), 9);
    let bytes = iv.save();
    for cut in [0, 1, 7, bytes.len() / 2, bytes.len() - 1] {
        assert!(Interview::load(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    assert!(Interview::load(&flipped).is_err());
    // A valid Automerge document that is not an interview.
    let mut other = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(&mut other, automerge::ROOT, "x", 1).unwrap();
    let err = Interview::load(&other.save()).unwrap_err();
    assert!(matches!(err, ModelError::Malformed(_)), "{err}");
}

#[test]
fn a_completed_interview_is_small() {
    let f = form();
    let mut iv = filled_interview(&f, Uuid::new_v4(), 9);
    iv.submit(&f).unwrap();
    let n = iv.save().len();
    assert!(n < 2048, "completed interview saved as {n} bytes");
}

/// A two-level cascade (region → district) on inline options, and a place
/// question reading the campaign's place list, as XLSForm's `choice_filter`.
fn cascade_form() -> survey_model::Form {
    survey_model::Form::from_json(
        &json!({
            "form_id": "cascade", "version": 1, "title": {"en": "Cascade"},
            "languages": ["en"], "default_language": "en",
            "questions": [
                {"name": "region", "type": "single_choice", "label": {"en": "Region"},
                 "options": [
                    {"value": "north", "label": {"en": "North"}},
                    {"value": "south", "label": {"en": "South"}}]},
                {"name": "district", "type": "single_choice", "label": {"en": "District"},
                 "choice_filter": [{"attribute": "region", "question": "region"}],
                 "options": [
                    {"value": "korhogo", "label": {"en": "Korhogo"}, "attributes": {"region": "north"}},
                    {"value": "abidjan", "label": {"en": "Abidjan"}, "attributes": {"region": "south"}},
                    {"value": "other", "label": {"en": "Other"}}]},
                {"name": "place", "type": "single_choice", "label": {"en": "Place"},
                 "choices_from": "places",
                 "choice_filter": [{"attribute": "country", "meta": "country"}],
                 "options": [{"value": "other", "label": {"en": "Other"}}]}
            ]
        })
        .to_string(),
    )
    .unwrap()
}

#[test]
fn choice_filters_offer_and_accept_only_matching_options() {
    use survey_model::{Answer, ChoiceOption, Form};
    let mut f = cascade_form();
    let district = f.question("district").unwrap().clone();
    let region_is = |r: &'static str| {
        move |s: &survey_model::FilterSource| match s {
            survey_model::FilterSource::Question { .. } => Some(Some(r.to_owned())),
            _ => None,
        }
    };
    let offered: Vec<&str> = district
        .options
        .iter()
        .filter(|o| Form::passes_filter(&district, o, &region_is("north")))
        .map(|o| o.value.as_str())
        .collect();
    assert_eq!(
        offered,
        ["korhogo", "other"],
        "the inline other stays offered"
    );

    let mut answers = survey_model::Answers::new();
    answers.insert("region".into(), Answer::Choice("north".into()));
    answers.insert("district".into(), Answer::Choice("abidjan".into()));
    let flags = f.clean(&answers).flags;
    assert_eq!(
        flags.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["district:unknown_option"],
        "a district of another region does not count"
    );
    answers.insert("district".into(), Answer::Choice("korhogo".into()));
    answers.insert("place".into(), Answer::Choice("CI-ABJ-01".into()));
    assert!(
        f.clean(&answers).flags.is_empty(),
        "unattached list: a code is accepted"
    );

    let place = |code: &str, country: &str| ChoiceOption {
        value: code.into(),
        label: survey_model::form::Localized([("en".to_owned(), code.to_owned())].into()),
        attributes: [("country".to_owned(), country.to_owned())].into(),
    };
    f.attach_list(
        "places",
        std::sync::Arc::new(vec![place("CI-BKE", "CI"), place("SN-DKR", "SN")]),
    );
    let flags = f.clean(&answers).flags;
    assert_eq!(
        flags.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["place:unknown_option"],
        "with the list attached, an unlisted code is refused"
    );
    answers.insert("place".into(), Answer::Choice("SN-DKR".into()));
    assert!(f.clean(&answers).flags.is_empty());
    let q = f.question("place").unwrap();
    let in_ci: Vec<&str> = f
        .options_of(q)
        .filter(|o| {
            Form::passes_filter(q, o, &|s| match s {
                survey_model::FilterSource::Meta { .. } => Some(Some("CI".into())),
                _ => None,
            })
        })
        .map(|o| o.value.as_str())
        .collect();
    assert_eq!(in_ci, ["other", "CI-BKE"]);
}

#[test]
fn choice_filter_mistakes_are_form_problems() {
    let bad = json!({
        "form_id": "bad", "version": 1, "title": {"en": "Bad"},
        "languages": ["en"], "default_language": "en",
        "questions": [
            {"name": "a", "type": "single_choice", "label": {"en": "A"},
             "choice_filter": [{"attribute": "x", "question": "later"}],
             "choices_from": "villages"},
            {"name": "later", "type": "text", "label": {"en": "L"},
             "choice_filter": [{"attribute": "x", "meta": "city"}]}
        ]
    });
    let err = survey_model::Form::from_json(&bad.to_string())
        .unwrap_err()
        .to_string();
    for want in [
        "choices_from `villages` is not a known list",
        "choice_filter refers to `later`, which is not an earlier question",
        "choice_filter is only for choice questions",
        "choice_filter meta `city` is not one of country",
    ] {
        assert!(err.contains(want), "{want} missing from: {err}");
    }
}
