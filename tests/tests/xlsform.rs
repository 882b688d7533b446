#![allow(clippy::unwrap_used)]
//! XLSForm import and export: real workbooks of the kind the ODK and
//! KoboToolbox documentation shows, written as .xlsx here with
//! rust_xlsxwriter, converted and then evaluated with the model's skip logic
//! and constraints; refused constructs and malformed workbooks with their
//! exact sheet, row and column; the shipped MCMB form's round trip; the forms
//! API taking an .xlsx body over real HTTP; the `admin import-form` and
//! `export-form` commands.

use std::collections::BTreeSet;

use fieldvoice_tests::dashboard::client;
use fieldvoice_tests::server::{TestServer, server_binary};
use proptest::prelude::*;
use serde_json::{Value, json};
use survey_model::form::{CompareOp, Condition};
use survey_model::{
    Answer, Answers, Code, FilterSource, FilterTerm, Form, FormDef, QuestionType, Severity,
};
use xlsform::{Problem, XLSX_CONTENT_TYPE, export, import};

use fieldvoice_tests::xlsforms::{Rows, workbook};

const SETTINGS: Rows<'static> = &[
    &["form_id", "version", "form_title", "default_language"],
    &[
        "household-survey",
        "#n:2025031001",
        "Household survey",
        "English (en)",
    ],
];

/// A household survey in the style of the ODK/Kobo documentation: consent,
/// groups (one nested), constraints with `.` and messages in two languages,
/// a cascade country → city, or_other, a likert scale, a note, acknowledge,
/// a date not in the future, a geopoint, a decimal with a range.
fn household() -> Vec<u8> {
    const SURVEY: Rows<'static> = &[
        &[
            "type",
            "name",
            "label::English (en)",
            "label::Français (fr)",
            "hint::English (en)",
            "required",
            "relevant",
            "constraint",
            "constraint_message::English (en)",
            "constraint_message::Français (fr)",
            "appearance",
            "choice_filter",
            "default",
        ],
        // row 2
        &[
            "note",
            "intro",
            "Welcome. This survey takes 10 minutes.",
            "Bienvenue. Cette enquête dure 10 minutes.",
        ],
        &[
            "acknowledge",
            "consent_ack",
            "I agree to take part",
            "J'accepte de participer",
            "",
            "yes",
        ],
        &[
            "begin group",
            "household",
            "Household",
            "Ménage",
            "",
            "",
            "${consent_ack} = 'OK'",
        ],
        // row 5
        &[
            "integer",
            "hh_size",
            "How many people live here?",
            "Combien de personnes vivent ici ?",
            "Count everyone who slept here last night",
            "#b:TRUE",
            "",
            ". >= 1 and . <= 30",
            "Between 1 and 30 people",
            "Entre 1 et 30 personnes",
        ],
        &[
            "decimal",
            "monthly_income",
            "Monthly income (thousands)",
            "Revenu mensuel (milliers)",
            "",
            "no",
            "",
            "(. >= 0) and (. <= 10000.5)",
            "0 to 10000.5",
            "0 à 10000,5",
        ],
        &[
            "select_one yes_no",
            "has_children",
            "Any children under 5?",
            "Des enfants de moins de 5 ans ?",
            "",
            "yes",
        ],
        &[
            "integer",
            "children_count",
            "How many children under 5?",
            "Combien d'enfants de moins de 5 ans ?",
            "",
            "",
            "selected(${has_children}, 'yes')",
            ". >= 1",
            "At least one",
            "Au moins un",
        ],
        &[
            "begin group",
            "head",
            "Head of household",
            "Chef de ménage",
            "",
            "",
            "${hh_size} > 1",
        ],
        // row 10
        &[
            "text",
            "head_name",
            "Name of the head",
            "Nom du chef",
            "",
            "",
            "",
            "string-length(.) <= 50",
        ],
        &[
            "date",
            "head_dob",
            "Date of birth",
            "Date de naissance",
            "",
            "",
            "",
            ". <= today()",
            "Not in the future",
            "Pas dans le futur",
        ],
        &["end group"],
        &[
            "select_multiple assets or_other",
            "assets",
            "Which of these do you own?",
            "Lesquels possédez-vous ?",
            "",
            "",
            "",
            "count-selected(.) <= 3",
            "Three at most",
            "Trois au plus",
            "minimal",
        ],
        &["end group"],
        // row 15
        &[
            "begin group",
            "location",
            "Location",
            "Localisation",
            "",
            "",
            "",
            "",
            "",
            "",
            "field-list",
        ],
        &[
            "select_one country",
            "country",
            "Country",
            "Pays",
            "",
            "yes",
            "",
            "",
            "",
            "",
            "",
            "",
            "ci",
        ],
        &[
            "select_one city",
            "city",
            "City",
            "Ville",
            "",
            "yes",
            "",
            "",
            "",
            "",
            "",
            "country = ${country}",
        ],
        &["geopoint", "gps", "GPS position", "Position GPS"],
        &[
            "text",
            "phone",
            "Phone number",
            "Numéro de téléphone",
            "",
            "",
            "",
            "regex(., '^[0-9]{8,10}$')",
            "8 to 10 digits",
            "8 à 10 chiffres",
        ],
        // row 20
        &[
            "select_one likert",
            "satisfaction",
            "How satisfied are you with the water service?",
            "Êtes-vous satisfait du service d'eau ?",
            "",
            "",
            "",
            "",
            "",
            "",
            "likert",
        ],
        &[
            "text",
            "comments",
            "Why?",
            "Pourquoi ?",
            "",
            "",
            "not(${satisfaction} = 'very_good') or ${hh_size} >= 5",
            "",
            "",
            "",
            "multiline",
        ],
        &["end group"],
    ];
    const CHOICES: Rows<'static> = &[
        &[
            "list_name",
            "name",
            "label::English (en)",
            "label::Français (fr)",
            "country",
        ],
        &["yes_no", "yes", "Yes", "Oui"],
        &["yes_no", "no", "No", "Non"],
        &["assets", "radio", "Radio", "Radio"],
        &["assets", "tv", "Television", "Télévision"],
        &["assets", "bicycle", "Bicycle", "Vélo"],
        &["country", "ci", "Côte d'Ivoire", "Côte d'Ivoire"],
        &["country", "sn", "Senegal", "Sénégal"],
        &["city", "abidjan", "Abidjan", "Abidjan", "ci"],
        &["city", "bouake", "Bouaké", "Bouaké", "ci"],
        &["city", "dakar", "Dakar", "Dakar", "sn"],
        &["city", "thies", "Thiès", "Thiès", "sn"],
        &["likert", "very_bad", "Very bad", "Très mauvais"],
        &["likert", "bad", "Bad", "Mauvais"],
        &["likert", "neutral", "Neutral", "Neutre"],
        &["likert", "good", "Good", "Bon"],
        &["likert", "very_good", "Very good", "Très bon"],
    ];
    workbook(&[
        ("survey", SURVEY),
        ("choices", CHOICES),
        ("settings", SETTINGS),
    ])
}

fn problems(bytes: &[u8]) -> Vec<Problem> {
    match import(bytes) {
        Ok(i) => panic!("imported, but should be refused: {:?}", i.form.form_id),
        Err(e) => e.problems,
    }
}

/// The problem at `sheet`/`row`/`column`, whose message contains `text`.
fn find<'a>(
    ps: &'a [Problem],
    sheet: &str,
    row: Option<u32>,
    column: Option<&str>,
    text: &str,
) -> &'a Problem {
    ps.iter()
        .find(|p| {
            p.sheet == sheet
                && p.row == row
                && p.column.as_deref() == column
                && p.message.contains(text)
        })
        .unwrap_or_else(|| {
            panic!(
                "no problem at {sheet} {row:?} {column:?} with `{text}` in:\n{}",
                ps.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

/// A new interview on `form` by `created_by` on a new device (created
/// 2026-03-10 08:00 UTC in Côte d'Ivoire), with the device's id.
fn new_interview(form: &Form, created_by: &str) -> (uuid::Uuid, survey_model::Interview) {
    let device = uuid::Uuid::new_v4();
    let meta = survey_model::sample::meta(
        form,
        "CI",
        created_by,
        &device.to_string(),
        "2026-03-10T08:00:00Z",
    );
    let iv =
        survey_model::Interview::create(form, meta, survey_model::actor_from_uuid(device)).unwrap();
    (device, iv)
}

fn answers(pairs: &[(&str, Answer)]) -> Answers {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn codes_of(form: &Form, a: &Answers, q: &str, today: time::Date) -> Vec<Code> {
    form.evaluate_on(a, today)
        .diagnostics
        .into_iter()
        .filter(|d| d.question == q && d.severity == Severity::Error)
        .map(|d| d.code)
        .collect()
}

const DAY: time::Date = time::macros::date!(2026 - 03 - 10);

#[test]
fn household_survey_converts_and_its_rules_hold() {
    let imported = import(&household()).unwrap_or_else(|e| panic!("{e}"));
    let def = &imported.form;
    assert_eq!(imported.warnings, vec![]);
    assert_eq!(def.form_id, "household-survey");
    assert_eq!(def.version, 2_025_031_001);
    assert_eq!(def.languages, vec!["en", "fr"]);
    assert_eq!(def.default_language, "en");
    let names: Vec<&str> = def.questions.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "intro",
            "consent_ack",
            "hh_size",
            "monthly_income",
            "has_children",
            "children_count",
            "head_name",
            "head_dob",
            "assets",
            "assets_other",
            "country",
            "city",
            "gps",
            "phone",
            "satisfaction",
            "comments",
        ]
    );
    let q = |n: &str| def.questions.iter().find(|q| q.name == n).unwrap();
    use QuestionType as T;
    for (n, k) in [
        ("intro", T::Note),
        ("consent_ack", T::Acknowledge),
        ("hh_size", T::Integer),
        ("monthly_income", T::Decimal),
        ("has_children", T::SingleChoice),
        ("head_dob", T::Date),
        ("assets", T::MultiChoice),
        ("assets_other", T::Text),
        ("gps", T::Geopoint),
        ("satisfaction", T::SingleChoice),
    ] {
        assert_eq!(q(n).kind, k, "{n}");
    }
    // Sections: top-level groups; the nested group is flattened into its parent.
    let sections: Vec<&str> = def.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sections, ["household", "location"]);
    assert_eq!(def.sections[1].label.0["fr"], "Localisation");
    assert_eq!(q("intro").section, None);
    assert_eq!(q("head_dob").section.as_deref(), Some("household"));
    assert_eq!(q("phone").section.as_deref(), Some("location"));
    // The group relevances are AND-ed into the question's.
    let consent = Condition::Compare {
        q: "consent_ack".into(),
        op: CompareOp::Eq,
        value: json!(true),
    };
    assert_eq!(
        q("head_name").relevant,
        Some(Condition::All {
            all: vec![
                consent.clone(),
                Condition::Compare {
                    q: "hh_size".into(),
                    op: CompareOp::Gt,
                    value: json!(1)
                },
            ]
        })
    );
    assert_eq!(q("hh_size").relevant, Some(consent));
    assert!(q("hh_size").required && q("consent_ack").required);
    assert_eq!(
        q("hh_size").hint.as_ref().unwrap().0["en"],
        "Count everyone who slept here last night"
    );
    assert_eq!(
        q("hh_size").constraint_message.as_ref().unwrap().0["fr"],
        "Entre 1 et 30 personnes"
    );
    // or_other: an option `other` and a text question shown when it is selected.
    let assets: Vec<&str> = q("assets")
        .options
        .iter()
        .map(|o| o.value.as_str())
        .collect();
    assert_eq!(assets, ["radio", "tv", "bicycle", "other"]);
    assert_eq!(
        q("assets_other").relevant,
        Some(Condition::Selected {
            selected: "assets".into(),
            option: "other".into()
        })
    );
    assert_eq!(q("assets").appearance.as_deref(), Some("minimal"));
    assert_eq!(q("satisfaction").appearance.as_deref(), Some("likert"));
    assert!(q("comments").multiline);
    assert_eq!(q("country").default, Some(json!("ci")));
    assert_eq!(
        q("city").choice_filter,
        vec![FilterTerm {
            attribute: "country".into(),
            source: FilterSource::Question {
                question: "country".into()
            }
        }]
    );
    assert_eq!(q("city").options[2].attributes["country"], "sn");

    // The rules, evaluated by the model.
    let form = Form::new(def.clone()).unwrap();
    let base = [
        ("consent_ack", Answer::Bool(true)),
        ("hh_size", Answer::Int(4)),
        ("has_children", Answer::Choice("yes".into())),
        ("country", Answer::Choice("ci".into())),
        ("city", Answer::Choice("bouake".into())),
    ];
    let ok = answers(&base);
    let eval = form.evaluate_on(&ok, DAY);
    assert!(eval.is_complete(), "{:?}", eval.diagnostics);
    assert!(eval.relevant.contains(&"head_name".to_owned()));
    assert!(eval.relevant.contains(&"children_count".to_owned()));
    // Without consent the household group is hidden, so hh_size is not required.
    let eval = form.evaluate_on(&answers(&[]), DAY);
    assert!(!eval.relevant.contains(&"hh_size".to_owned()));
    assert!(eval.relevant.contains(&"consent_ack".to_owned()));

    let with = |extra: &[(&str, Answer)]| {
        let mut a = ok.clone();
        a.extend(answers(extra));
        a
    };
    assert_eq!(
        codes_of(
            &form,
            &with(&[("hh_size", Answer::Int(31))]),
            "hh_size",
            DAY
        ),
        [Code::Constraint]
    );
    let d = form.evaluate_on(&with(&[("hh_size", Answer::Int(0))]), DAY);
    let msg = d
        .diagnostics
        .iter()
        .find(|d| d.question == "hh_size")
        .unwrap();
    assert_eq!(msg.message, "Between 1 and 30 people");
    assert_eq!(
        codes_of(
            &form,
            &with(&[("monthly_income", Answer::Decimal(10000.6))]),
            "monthly_income",
            DAY
        ),
        [Code::Constraint]
    );
    assert_eq!(
        codes_of(
            &form,
            &with(&[("monthly_income", Answer::Decimal(10000.5))]),
            "monthly_income",
            DAY
        ),
        []
    );
    assert_eq!(
        codes_of(
            &form,
            &with(&[("head_dob", Answer::Date("2026-03-11".into()))]),
            "head_dob",
            DAY
        ),
        [Code::Constraint]
    );
    assert_eq!(
        codes_of(
            &form,
            &with(&[("head_dob", Answer::Date("2026-03-10".into()))]),
            "head_dob",
            DAY
        ),
        []
    );
    assert_eq!(
        codes_of(
            &form,
            &with(&[("head_name", Answer::Text("x".repeat(51)))]),
            "head_name",
            DAY
        ),
        [Code::Constraint]
    );
    let four: BTreeSet<String> = ["radio", "tv", "bicycle", "other"].map(String::from).into();
    assert_eq!(
        codes_of(
            &form,
            &with(&[("assets", Answer::Choices(four))]),
            "assets",
            DAY
        ),
        [Code::Constraint]
    );
    assert_eq!(
        codes_of(
            &form,
            &with(&[("phone", Answer::Text("0102".into()))]),
            "phone",
            DAY
        ),
        [Code::Constraint]
    );
    assert_eq!(
        codes_of(
            &form,
            &with(&[("phone", Answer::Text("0102030405".into()))]),
            "phone",
            DAY
        ),
        []
    );
    // The cascade: Dakar is not a city of Côte d'Ivoire.
    assert_eq!(
        codes_of(
            &form,
            &with(&[("city", Answer::Choice("dakar".into()))]),
            "city",
            DAY
        ),
        [Code::UnknownOption]
    );
    // or_other's text shows only when `other` is selected.
    let other: BTreeSet<String> = ["other".to_owned()].into();
    let e = form.evaluate_on(&with(&[("assets", Answer::Choices(other))]), DAY);
    assert!(e.relevant.contains(&"assets_other".to_owned()));
    assert!(
        !form
            .evaluate_on(&ok, DAY)
            .relevant
            .contains(&"assets_other".to_owned())
    );
    // not()/or: comments are asked unless very satisfied, or in a big household.
    let shown = |a: &Answers| {
        form.evaluate_on(a, DAY)
            .relevant
            .contains(&"comments".to_owned())
    };
    assert!(shown(&with(&[(
        "satisfaction",
        Answer::Choice("bad".into())
    )])));
    assert!(!shown(&with(&[(
        "satisfaction",
        Answer::Choice("very_good".into())
    )])));
    assert!(shown(&with(&[
        ("satisfaction", Answer::Choice("very_good".into())),
        ("hh_size", Answer::Int(6))
    ])));
    // A small household hides the head-of-household group and ignores its answers.
    let small = with(&[
        ("hh_size", Answer::Int(1)),
        ("head_name", Answer::Text("Awa".into())),
    ]);
    let cleaned = form.clean_on(&small, DAY);
    assert!(!cleaned.answers.contains_key("head_name"));
    assert_eq!(cleaned.flags.len(), 1);
    assert_eq!(cleaned.flags[0].to_string(), "head_name:not_relevant");
    // A failing constraint leaves the answer out of the projection.
    let cleaned = form.clean_on(&with(&[("hh_size", Answer::Int(99))]), DAY);
    assert!(!cleaned.answers.contains_key("hh_size"));
    assert!(
        cleaned
            .flags
            .iter()
            .any(|f| f.to_string() == "hh_size:constraint")
    );

    // And it exports and imports back unchanged.
    let again = import(&export(def).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&again.form, def);
}

#[test]
fn unsupported_constructs_are_refused_with_sheet_row_and_column() {
    const SURVEY: Rows<'static> = &[
        &["type", "name", "label", "relevant", "calculation"],
        &["begin repeat", "members", "Members"],
        &["begin repeat", "member_name", "Name"],
        &["end group"],
        &["calculate", "total", "", "", "${later} + 1"],
        &["select_one_from_file villages.csv", "village", "Village"],
        &[
            "text",
            "price",
            "Price",
            "pulldata('prices', 'price', 'item', ${member_name}) > 0",
        ],
        &["barcode", "code", "Code"],
        &["integer", "later", "Age", "${member_name} + 1"],
        &["text", "greeting", "Hello ${nobody}"],
        &["calculate", "bad", "", "", "round(${later}, 1, 2)"],
        &["text", "odd", "Odd", "", "${later} * 2"],
    ];
    let ps = problems(&workbook(&[("survey", SURVEY), ("settings", SETTINGS)]));
    find(
        &ps,
        "survey",
        Some(3),
        Some("type"),
        "nested repeats are not supported",
    );
    find(
        &ps,
        "survey",
        Some(4),
        Some("type"),
        "`end group` closes repeat `member_name`",
    );
    find(
        &ps,
        "survey",
        Some(5),
        Some("calculation"),
        "calculation refers to `${later}` (row 9), a later question",
    );
    find(
        &ps,
        "survey",
        Some(6),
        Some("type"),
        "`villages.csv` was not uploaded",
    );
    find(
        &ps,
        "survey",
        Some(7),
        Some("relevant"),
        "function `pulldata()` is not supported",
    );
    find(
        &ps,
        "survey",
        Some(8),
        Some("type"),
        "media question type `barcode` is not supported",
    );
    find(
        &ps,
        "survey",
        Some(10),
        Some("label"),
        "`${nobody}` is not a question of this form",
    );
    find(
        &ps,
        "survey",
        Some(11),
        Some("calculation"),
        "round() takes 1 to 2 arguments, not 3",
    );
    find(
        &ps,
        "survey",
        Some(12),
        Some("calculation"),
        "a calculation belongs on a `calculate` row",
    );
    find(
        &ps,
        "survey",
        Some(2),
        Some("type"),
        "repeat `members` has no `end repeat`",
    );
    assert_eq!(ps.len(), 10, "{ps:#?}");
}

/// A household expenditure form of the kind KoboToolbox users publish:
/// an age computed from the birth date, totals and a per-person share,
/// an `if()` band, a `once(now())` time stamp, two questions compared in a
/// `relevant`, arithmetic in a constraint, and answers piped into labels.
/// It converts, its calculations compute on a real interview document (as
/// the app runs them after every answer), conditions read them, and the
/// workbook written back converts to the same form.
#[test]
fn calculations_expressions_and_piping_convert_and_compute() {
    const SURVEY: Rows<'static> = &[
        &[
            "type",
            "name",
            "label",
            "relevant",
            "constraint",
            "calculation",
            "required",
        ],
        &["date", "dob", "Date of birth"],
        &[
            "calculate",
            "age",
            "",
            "",
            "",
            "int((today() - ${dob}) div 365.25)",
        ],
        &["note", "adult", "You are ${age} years old.", "${age} >= 18"],
        &[
            "integer",
            "members",
            "People in the household",
            "",
            ". > 0 and . <= 30",
            "",
            "yes",
        ],
        &["decimal", "food", "Food spending last month"],
        &["decimal", "rent", "Rent last month"],
        &["calculate", "total", "", "", "", "${food} + ${rent}"],
        &[
            "calculate",
            "per_head",
            "",
            "",
            "",
            "round(${total} div ${members}, 2)",
        ],
        &[
            "calculate",
            "band",
            "",
            "",
            "",
            "if(${total} >= 1000, 'high', if(${total} >= 300, 'medium', 'low'))",
        ],
        &[
            "text",
            "why_rent",
            "Why is rent (${rent}) more than food?",
            "${rent} > ${food}",
        ],
        &[
            "integer",
            "meals",
            "Meals a day for ${members} people",
            "${per_head} > 0",
            ". * ${members} < 200",
        ],
        &["calculate", "started", "", "", "", "once(now())"],
    ];
    let bytes = workbook(&[("survey", SURVEY), ("settings", SETTINGS)]);
    let imported = import(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported.warnings, vec![]);
    let def = imported.form.clone();
    let q = |n: &str| def.questions.iter().find(|q| q.name == n).unwrap();
    assert_eq!(q("total").kind, QuestionType::Calculate);
    assert_eq!(q("total").calculation.as_deref(), Some("${food} + ${rent}"));
    // What the structured conditions cannot say becomes an expression; the
    // rest stays structured (`. > 0` is a comparison).
    assert_eq!(
        q("why_rent").relevant,
        Some(Condition::Expr {
            expr: "${rent} > ${food}".into()
        })
    );
    assert_eq!(
        q("meals").constraint,
        Some(Condition::Expr {
            expr: "(${meals} * ${members}) < 200".into()
        })
    );
    assert!(matches!(
        q("members").constraint,
        Some(Condition::All { .. })
    ));
    let form = Form::new(def.clone()).unwrap();

    // The calculations on a real interview document, after each answer.
    let (_, mut iv) = new_interview(&form, "emp-1");
    let now = "2026-03-10T08:00:05Z";
    let set = |iv: &mut survey_model::Interview, n: &str, v: Value| {
        iv.set_answer_json(&form, n, &v).unwrap();
        iv.recalculate(&form, DAY, now).unwrap()
    };
    // `once(now())` is set at the first answer, `age` waits for `dob`,
    // `band` reads '' as NaN (below every threshold: 'low', as in ODK).
    assert_eq!(set(&mut iv, "members", json!(4)), 2);
    let a = iv.answers(&form);
    assert_eq!(a.get("started"), Some(&Answer::Text(now.into())));
    assert_eq!(a.get("band"), Some(&Answer::Text("low".into())));
    assert_eq!(a.get("age"), None);
    set(&mut iv, "dob", json!("1990-06-15"));
    set(&mut iv, "food", json!(250.0));
    set(&mut iv, "rent", json!(400.5));
    let a = iv.answers(&form);
    let text = |n: &str| a.get(n).map(survey_model::expr::answer_string);
    assert_eq!(text("age").as_deref(), Some("35"));
    assert_eq!(text("total").as_deref(), Some("650.5"));
    assert_eq!(text("per_head").as_deref(), Some("162.63"));
    assert_eq!(text("band").as_deref(), Some("medium"));
    // `once()` keeps its first value when recomputed later.
    iv.recalculate(&form, DAY, "2026-03-10T09:00:00Z").unwrap();
    assert_eq!(
        iv.answers(&form).get("started"),
        Some(&Answer::Text(now.into()))
    );
    // Conditions read calculations and compare two questions.
    let eval = form.evaluate_on(&iv.answers(&form), DAY);
    for shown in ["adult", "why_rent", "meals"] {
        assert!(
            eval.relevant.contains(&shown.to_owned()),
            "{shown}: {:?}",
            eval.relevant
        );
    }
    set(&mut iv, "meals", json!(60));
    assert_eq!(
        codes_of(&form, &iv.answers(&form), "meals", DAY),
        vec![Code::Constraint],
        "60 meals x 4 people is 240"
    );
    set(&mut iv, "meals", json!(3));
    assert!(codes_of(&form, &iv.answers(&form), "meals", DAY).is_empty());
    // A change upstream flows through: cheaper rent, lower band, the
    // rent question hidden.
    set(&mut iv, "rent", json!(20));
    let a = iv.answers(&form);
    assert_eq!(a.get("band"), Some(&Answer::Text("low".into())));
    assert!(
        !form
            .evaluate_on(&a, DAY)
            .relevant
            .contains(&"why_rent".to_owned())
    );
    // Clearing an input clears what it fed: an empty `total` is no value.
    set(&mut iv, "food", Value::Null);
    set(&mut iv, "rent", Value::Null);
    let a = iv.answers(&form);
    assert_eq!(a.get("total"), None, "NaN is no value");
    assert_eq!(a.get("band"), Some(&Answer::Text("low".into())));
    // The projection the server stores carries the calculations as text.
    let rec = iv.project(Some(&form));
    assert_eq!(rec.answers.get("age"), Some(&json!("35")));
    assert_eq!(rec.answers.get("started"), Some(&json!(now)));

    // Export → import gives the same form.
    let back = import(&export(&def).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.form, def);
}

/// The remaining everyday types of published forms: `time`, `datetime`,
/// `hidden` (a fixed value never shown), `email` and `tel` (text with a
/// format check, personal data), `required_message` in two languages and
/// `read_only`. They convert, validate, and the workbook written back
/// converts to the same form.
#[test]
fn time_datetime_hidden_email_tel_and_messages_convert() {
    const SURVEY: Rows<'static> = &[
        &[
            "type",
            "name",
            "label",
            "required",
            "required_message",
            "required_message::Français (fr)",
            "default",
            "read_only",
            "label::Français (fr)",
        ],
        &[
            "time",
            "opened",
            "Shop opens at",
            "yes",
            "When does it open?",
            "À quelle heure ?",
            "",
            "",
            "Ouverture",
        ],
        &["datetime", "visited", "Visit", "", "", "", "", "", "Visite"],
        &["hidden", "wave", "", "", "", "", "2026-wave-1", "", ""],
        &["email", "mail", "E-mail", "", "", "", "", "", "Courriel"],
        &["tel", "phone", "Phone", "", "", "", "", "", "Téléphone"],
        &[
            "text",
            "agent",
            "Agent",
            "",
            "",
            "",
            "fieldvoice",
            "yes",
            "Agent",
        ],
    ];
    let imported = import(&workbook(&[("survey", SURVEY), ("settings", SETTINGS)]))
        .unwrap_or_else(|e| panic!("{e}"));
    let def = imported.form.clone();
    let q = |n: &str| def.questions.iter().find(|q| q.name == n).unwrap();
    assert_eq!(q("opened").kind, QuestionType::Time);
    assert_eq!(q("visited").kind, QuestionType::DateTime);
    assert_eq!(
        (q("wave").kind, q("wave").calculation.as_deref()),
        (QuestionType::Calculate, Some("'2026-wave-1'"))
    );
    assert_eq!((q("mail").kind, q("mail").pii), (QuestionType::Text, true));
    assert_eq!(
        (q("phone").kind, q("phone").pii),
        (QuestionType::Text, true)
    );
    assert!(q("agent").read_only);
    let msg = q("opened").required_message.clone().unwrap();
    assert_eq!(msg.get("fr", "en"), "À quelle heure ?");
    let form = Form::new(def.clone()).unwrap();
    let set = |pairs: &[(&str, Value)]| -> Answers {
        pairs
            .iter()
            .filter_map(|(k, v)| {
                Answer::from_json(form.question(k).unwrap(), v)
                    .unwrap()
                    .map(|a| ((*k).to_owned(), a))
            })
            .collect()
    };
    let good = set(&[
        ("opened", json!("08:30")),
        ("visited", json!("2026-03-10T14:30:00+01:00")),
        ("mail", json!("awa@example.ci")),
        ("phone", json!("+225 07 12 34 56")),
    ]);
    assert!(form.evaluate_on(&good, DAY).is_complete());
    for (name, bad) in [
        ("opened", json!("8h30")),
        ("visited", json!("2026-03-10 14:30")),
    ] {
        let e = Answer::from_json(form.question(name).unwrap(), &bad).unwrap_err();
        assert!(e.to_string().contains(name), "{e}");
    }
    let wrong = set(&[
        ("opened", json!("08:30")),
        ("mail", json!("awa at example")),
        ("phone", json!("call me")),
    ]);
    assert_eq!(codes_of(&form, &wrong, "mail", DAY), vec![Code::Pattern]);
    assert_eq!(codes_of(&form, &wrong, "phone", DAY), vec![Code::Pattern]);
    // `hidden` computes its value like a calculation.
    let computed = form.calculations_on(&good, DAY, "2026-03-10T08:00:00Z");
    assert_eq!(
        computed,
        vec![("wave".to_owned(), Some(Answer::Text("2026-wave-1".into())))]
    );
    let back = import(&export(&def).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.form, def);
}

const VILLAGES_CSV: &str = "name,label,label::Français (fr),district\n\
    kanta,Kanta village,Village de Kanta,north\n\
    bamo,Bamo,Bamo,north\n\
    sirakoro,Sirakoro,Sirakoro,south\n";

/// A form whose village list is a CSV file uploaded beside it (ODK form
/// media) and whose district list sits in the `external_choices` sheet:
/// without the file, the refusal names it; with it, the options (labels in
/// two languages, the `district` column as an attribute) feed a cascading
/// `choice_filter`; XML lists are refused by name; the form written back
/// converts to the same definition with the options inline.
#[test]
fn choices_from_files_and_external_choices_convert_with_their_media() {
    const SURVEY: Rows<'static> = &[
        &[
            "type",
            "name",
            "label",
            "choice_filter",
            "label::Français (fr)",
        ],
        &[
            "select_one_external districts",
            "district",
            "District",
            "",
            "District",
        ],
        &[
            "select_one_from_file villages.csv",
            "village",
            "Village",
            "district = ${district}",
            "Village",
        ],
        &[
            "select_multiple_from_file villages.csv",
            "also",
            "Also visited",
            "",
            "Aussi",
        ],
    ];
    const EXTERNAL: Rows<'static> = &[
        &["list_name", "name", "label", "label::Français (fr)"],
        &["districts", "north", "North", "Nord"],
        &["districts", "south", "South", "Sud"],
    ];
    let bytes = workbook(&[
        ("survey", SURVEY),
        ("external_choices", EXTERNAL),
        ("settings", SETTINGS),
    ]);
    let ps = problems(&bytes);
    find(
        &ps,
        "survey",
        Some(3),
        Some("type"),
        "choices file `villages.csv` was not uploaded with the form",
    );
    // …and so is the second question naming it.
    find(
        &ps,
        "survey",
        Some(4),
        Some("type"),
        "`villages.csv` was not uploaded",
    );
    assert_eq!(ps.len(), 2, "{ps:#?}");
    let media = std::collections::BTreeMap::from([(
        "villages.csv".to_owned(),
        VILLAGES_CSV.as_bytes().to_vec(),
    )]);
    let imported = xlsform::import_with_media(&bytes, &media).unwrap_or_else(|e| panic!("{e}"));
    let def = imported.form.clone();
    let q = |n: &str| def.questions.iter().find(|q| q.name == n).unwrap();
    let values = |n: &str| {
        q(n).options
            .iter()
            .map(|o| o.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(values("district"), ["north", "south"]);
    assert_eq!(values("village"), ["kanta", "bamo", "sirakoro"]);
    assert_eq!(q("also").kind, QuestionType::MultiChoice);
    assert_eq!(
        q("village").options[0].label.get("fr", "en"),
        "Village de Kanta"
    );
    assert_eq!(q("village").options[2].attributes["district"], "south");
    let form = Form::new(def.clone()).unwrap();
    let north = answers(&[
        ("district", Answer::Choice("north".into())),
        ("village", Answer::Choice("sirakoro".into())),
    ]);
    assert_eq!(
        codes_of(&form, &north, "village", DAY),
        vec![Code::UnknownOption],
        "Sirakoro is in the south"
    );
    // A broken CSV is located by file and row; XML lists are refused by name.
    let bad = std::collections::BTreeMap::from([(
        "villages.csv".to_owned(),
        b"name,label\nKanta Village,Kanta\n".to_vec(),
    )]);
    let ps = match xlsform::import_with_media(&bytes, &bad) {
        Ok(_) => panic!("a bad option name converts"),
        Err(e) => e.problems,
    };
    find(
        &ps,
        "villages.csv",
        Some(2),
        Some("name"),
        "choice name `Kanta Village`",
    );
    let xml = workbook(&[
        (
            "survey",
            &[
                &["type", "name", "label"],
                &["select_one_from_file villages.xml", "v", "Village"],
            ],
        ),
        ("settings", SETTINGS),
    ]);
    find(
        &problems(&xml),
        "survey",
        Some(2),
        Some("type"),
        "only CSV choice files are read",
    );
    let back = import(&export(&def).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.form, def);
}

/// A household roster as KoboToolbox users write it: a repeat sized by an
/// earlier answer (`repeat_count`), a group nested in it with its own
/// `relevant`, a calculation and piped labels per member, and a second
/// repeat the interviewer grows by hand. It converts; the app keeps the
/// instance count in step; each instance's rules read its own answers; the
/// projection carries the instances; two copies of the document editing
/// different members merge; a device cannot replace the instance list; the
/// workbook written back converts to the same form.
#[test]
fn repeats_convert_validate_project_and_merge() {
    let bytes = fieldvoice_tests::xlsforms::roster();
    let imported = import(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let def = imported.form.clone();
    let ids: Vec<(&str, Option<&str>)> = def
        .repeats
        .iter()
        .map(|r| (r.id.as_str(), r.repeat_count.as_deref()))
        .collect();
    assert_eq!(ids, [("members", Some("${hh_size}")), ("visits", None)]);
    let in_repeat: Vec<(&str, Option<&str>)> = def
        .questions
        .iter()
        .map(|q| (q.name.as_str(), q.repeat.as_deref()))
        .collect();
    assert_eq!(
        in_repeat,
        [
            ("consent", None),
            ("hh_size", None),
            ("member_name", Some("members")),
            ("member_age", Some("members")),
            ("in_school", Some("members")),
            ("adult", Some("members")),
            ("food", None),
            ("rent", None),
            ("total", None),
            ("total_note", None),
            ("shop", Some("visits")),
            ("spent", Some("visits")),
            ("people", None),
            ("visits_total", None),
            ("visits_note", None),
        ]
    );
    let form = Form::new(def.clone()).unwrap();

    let (_, mut iv) = new_interview(&form, "emp-1");
    let now = "2026-03-10T08:01:00Z";
    iv.set_answer_json(&form, "consent", &json!(true)).unwrap();
    // The count follows `hh_size`, up and down.
    iv.set_answer_json(&form, "hh_size", &json!(3)).unwrap();
    iv.recalculate(&form, DAY, now).unwrap();
    assert_eq!(iv.instance_count("members"), 3);
    iv.set_answer_json(&form, "hh_size", &json!(2)).unwrap();
    iv.recalculate(&form, DAY, now).unwrap();
    assert_eq!(iv.instance_count("members"), 2);
    assert_eq!(iv.instance_count("visits"), 0);
    for (i, name, age) in [(0, "Awa", 41), (1, "Koffi", 9)] {
        iv.set_instance_answer_json(&form, i, "member_name", &json!(name))
            .unwrap();
        iv.set_instance_answer_json(&form, i, "member_age", &json!(age))
            .unwrap();
    }
    iv.recalculate(&form, DAY, now).unwrap();
    let ra = iv.repeat_answers(&form);
    let members = &ra["members"];
    assert_eq!(members[0].get("adult"), Some(&Answer::Text("yes".into())));
    assert_eq!(members[1].get("adult"), Some(&Answer::Text("no".into())));
    // The interviewer adds a shop visit by hand.
    assert_eq!(iv.add_instance(&form, "visits").unwrap(), 0);
    iv.set_instance_answer_json(&form, 0, "shop", &json!("Boutique Awa"))
        .unwrap();
    iv.set_instance_answer_json(&form, 0, "spent", &json!(1500.0))
        .unwrap();
    // Outside the repeats, calculations count and sum them.
    iv.recalculate(&form, DAY, now).unwrap();
    let a = iv.answers(&form);
    assert_eq!(a.get("people"), Some(&Answer::Text("2".into())));
    assert_eq!(a.get("visits_total"), Some(&Answer::Text("1500".into())));
    // A condition may not read a repeat as a whole: a calculation does.
    let aggregate_in_relevant = workbook(&[
        (
            "survey",
            &[
                &["type", "name", "label", "relevant"],
                &["begin repeat", "kids", "Kids"],
                &["text", "kid", "Kid"],
                &["end repeat"],
                &["text", "big", "Big family?", "count(${kids}) > 3"],
            ],
        ),
        ("settings", SETTINGS),
    ]);
    find(
        &problems(&aggregate_in_relevant),
        "survey",
        Some(5),
        Some("relevant"),
        "relevant `count(${kids}) > 3` reads `kids` as a whole repeat: compute it in a calculation",
    );
    assert_eq!(problems(&aggregate_in_relevant).len(), 1);

    // Each instance's rules read its own answers: school only for the child;
    // a missing required name is an error of that instance.
    let eval = form.evaluate_all_on(&iv.answers(&form), &iv.repeat_answers(&form), DAY);
    let of = |code: Code| -> Vec<(String, Option<usize>)> {
        eval.diagnostics
            .iter()
            .filter(|d| d.code == code)
            .map(|d| (d.question.clone(), d.instance))
            .collect()
    };
    assert!(of(Code::Required).is_empty(), "{:?}", eval.diagnostics);
    iv.set_instance_answer_json(&form, 0, "in_school", &json!("no"))
        .unwrap();
    iv.set_instance_answer_json(&form, 1, "member_age", &json!(130))
        .unwrap();
    iv.set_instance_answer_json(&form, 1, "member_name", &Value::Null)
        .unwrap();
    let eval = form.evaluate_all_on(&iv.answers(&form), &iv.repeat_answers(&form), DAY);
    let diags: Vec<(String, Option<usize>, Code)> = eval
        .diagnostics
        .iter()
        .map(|d| (d.question.clone(), d.instance, d.code))
        .collect();
    assert_eq!(
        diags,
        [
            ("in_school".to_owned(), Some(0), Code::NotRelevant),
            ("member_name".to_owned(), Some(1), Code::Required),
            ("member_age".to_owned(), Some(1), Code::Constraint),
        ]
    );
    assert!(!iv.submit(&form).unwrap().is_complete());
    iv.set_instance_answer_json(&form, 1, "member_name", &json!("Koffi"))
        .unwrap();
    iv.set_instance_answer_json(&form, 1, "member_age", &json!(9))
        .unwrap();
    iv.set_instance_answer_json(&form, 1, "in_school", &json!("yes"))
        .unwrap();
    assert!(iv.submit(&form).unwrap().is_complete());

    // The projection the server stores: one row per instance, answers that count.
    let rec = iv.project(Some(&form));
    assert_eq!(
        rec.repeats["members"],
        vec![
            serde_json::from_value::<std::collections::BTreeMap<String, Value>>(
                json!({"member_name": "Awa", "member_age": 41, "adult": "yes"})
            )
            .unwrap(),
            serde_json::from_value(
                json!({"member_name": "Koffi", "member_age": 9, "in_school": "yes", "adult": "no"})
            )
            .unwrap(),
        ]
    );
    assert_eq!(rec.repeats["visits"][0]["spent"], json!(1500.0));
    assert!(
        rec.quality_flags
            .iter()
            .any(|f| f.question == "members[0].in_school"),
        "{:?}",
        rec.quality_flags
    );

    // Two copies of the document edit different members and fields: both stay.
    let mut a = survey_model::Interview::load(&iv.save()).unwrap();
    let mut b = survey_model::Interview::load(&iv.save()).unwrap();
    b.set_actor(survey_model::actor_from_uuid(uuid::Uuid::new_v4()));
    a.set_instance_answer_json(&form, 0, "member_name", &json!("Awa Traoré"))
        .unwrap();
    b.set_instance_answer_json(&form, 1, "member_age", &json!(10))
        .unwrap();
    a.apply_changes(b.changes_since(&iv.heads())).unwrap();
    let merged = a.repeat_answers(&form);
    assert_eq!(
        merged["members"][0]["member_name"],
        Answer::Text("Awa Traoré".into())
    );
    assert_eq!(merged["members"][1]["member_age"], Answer::Int(10));

    // A device may not replace the instance list (it would drop instances).
    let before = survey_model::Interview::load(&iv.save()).unwrap();
    let mut forged = survey_model::Interview::load(&iv.save()).unwrap();
    {
        use automerge::transaction::Transactable;
        let doc = forged.doc_mut();
        let (_, answers) = automerge::ReadDoc::get(doc, automerge::ROOT, "answers")
            .unwrap()
            .unwrap();
        doc.put_object(&answers, "members", automerge::ObjType::List)
            .unwrap();
        doc.commit();
    }
    let device_writer = survey_model::Writer::Device {
        user_id: "emp-1",
        user_name: "Emp",
    };
    let v = survey_model::check_write(Some(&before), &forged, device_writer).unwrap_err();
    assert_eq!(v.path, "answers.members");
    survey_model::check_write(Some(&before), &a, device_writer).unwrap();

    let back = import(&export(&def).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.form, def);
}

/// The spellings pyxform still accepts (`string`, `int`, `gps`, `select all
/// that apply`, `select1`, `imei`, `trigger`, `add ... prompt`, and the
/// column names `caption`, `relevance`, `constraint message`, `list name`,
/// `value`), as forms written years ago in ODK Build or Kobo use them.
#[test]
fn pyxform_aliases_convert_like_their_canonical_spellings() {
    const ALIASED: Rows<'static> = &[
        &[
            "type",
            "name",
            "caption",
            "relevance",
            "constraint",
            "constraint message",
        ],
        &["imei", "imei"],
        &["string", "enumerator", "Enumerator"],
        &["int", "age", "Age", "", ". >= 18", "Adults only"],
        &["select one yesno", "consent", "Consent?"],
        &[
            "Select All That Apply services",
            "services",
            "Services",
            "${consent} = 'yes'",
        ],
        &["select1 yesno", "again", "Again?"],
        &["gps", "home", "Home"],
        &["location", "shop", "Shop"],
        &["trigger", "ok", "I confirm"],
        &["add decimal prompt", "amount", "Amount"],
        &["select one from yesno", "last", "Last?"],
    ];
    const ALIASED_CHOICES: Rows<'static> = &[
        &["list name", "value", "caption"],
        &["yesno", "yes", "Yes"],
        &["yesno", "no", "No"],
        &["services", "voice", "Voice"],
        &["services", "data", "Data"],
    ];
    const CANONICAL: Rows<'static> = &[
        &[
            "type",
            "name",
            "label",
            "relevant",
            "constraint",
            "constraint_message",
        ],
        &["deviceid", "imei"],
        &["text", "enumerator", "Enumerator"],
        &["integer", "age", "Age", "", ". >= 18", "Adults only"],
        &["select_one yesno", "consent", "Consent?"],
        &[
            "select_multiple services",
            "services",
            "Services",
            "${consent} = 'yes'",
        ],
        &["select_one yesno", "again", "Again?"],
        &["geopoint", "home", "Home"],
        &["geopoint", "shop", "Shop"],
        &["acknowledge", "ok", "I confirm"],
        &["decimal", "amount", "Amount"],
        &["select_one yesno", "last", "Last?"],
    ];
    const CANONICAL_CHOICES: Rows<'static> = &[
        &["list_name", "name", "label"],
        &["yesno", "yes", "Yes"],
        &["yesno", "no", "No"],
        &["services", "voice", "Voice"],
        &["services", "data", "Data"],
    ];
    let aliased = import(&workbook(&[
        ("survey", ALIASED),
        ("choices", ALIASED_CHOICES),
        ("settings", SETTINGS),
    ]))
    .unwrap();
    let canonical = import(&workbook(&[
        ("survey", CANONICAL),
        ("choices", CANONICAL_CHOICES),
        ("settings", SETTINGS),
    ]))
    .unwrap();
    assert_eq!(aliased.form, canonical.form);
    let kind = |n: &str| {
        aliased
            .form
            .questions
            .iter()
            .find(|q| q.name == n)
            .map(|q| q.kind)
    };
    assert_eq!(kind("age"), Some(QuestionType::Integer));
    assert_eq!(kind("services"), Some(QuestionType::MultiChoice));
    assert_eq!(kind("shop"), Some(QuestionType::Geopoint));
    assert_eq!(kind("ok"), Some(QuestionType::Acknowledge));
    assert_eq!(
        kind("imei"),
        Some(QuestionType::Metadata),
        "`imei` is `deviceid`: recorded by the app, not asked"
    );
    // Media types, under any spelling, are refused with the reason.
    let ps = problems(&workbook(&[
        (
            "survey",
            &[
                &["type", "name", "label"],
                &["photo", "p1", "Photo"],
                &["add image prompt", "p2", "Photo"],
                &["q picture", "p3", "Photo"],
                &["audio", "a", "Audio"],
                &["text", "t", "T"],
            ],
        ),
        ("settings", SETTINGS),
    ]));
    for (row, written) in [
        (2, "photo"),
        (3, "add image prompt"),
        (4, "q picture"),
        (5, "audio"),
    ] {
        find(
            &ps,
            "survey",
            Some(row),
            Some("type"),
            &format!("media question type `{written}` is not supported"),
        );
    }
}

/// The metadata rows KoboToolbox puts at the top of every new form (`start`,
/// `end`, `today`, `deviceid`, `username`, `audit`, plus `phonenumber` and
/// `start-geopoint` from older forms) convert to metadata questions the app
/// fills by itself: never asked, identifiers marked personal data, `end`
/// stamped at submit; `audit` is the paradata fieldvoice always records.
#[test]
fn kobo_metadata_rows_are_recorded_by_the_app() {
    const SURVEY: Rows<'static> = &[
        &["type", "name", "label", "required_message"],
        &["start", "start"],
        &["end", "end"],
        &["today", "today"],
        &["deviceid", "deviceid"],
        &["username", "username"],
        &["phonenumber", "phone"],
        &["start-geopoint", "where_started"],
        &["audit", "audit"],
        &["integer", "age", "Age", "Please answer"],
    ];
    let imported = import(&workbook(&[("survey", SURVEY), ("settings", SETTINGS)])).unwrap();
    let def = imported.form.clone();
    let shape: Vec<(&str, QuestionType, Option<&str>, bool)> = def
        .questions
        .iter()
        .map(|q| (q.name.as_str(), q.kind, q.metadata.as_deref(), q.pii))
        .collect();
    use QuestionType::{Integer, Metadata};
    assert_eq!(
        shape,
        [
            ("start", Metadata, Some("start"), false),
            ("end", Metadata, Some("end"), false),
            ("today", Metadata, Some("today"), false),
            ("deviceid", Metadata, Some("deviceid"), true),
            ("username", Metadata, Some("username"), true),
            ("phone", Metadata, Some("phonenumber"), true),
            ("where_started", Metadata, Some("start_geopoint"), true),
            ("age", Integer, None, false),
        ]
    );
    let w: Vec<String> = imported.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "survey row 9 column `type`: `audit` is ignored: fieldvoice records every interview's paradata itself (exports' duration_s, edits and clock_skew_s columns)",
            "survey row 10 column `required_message`: required_message is ignored: the question is not required",
        ]
    );
    let form = Form::new(def.clone()).unwrap();
    let (device, mut iv) = new_interview(&form, "user-7");
    assert_eq!(
        iv.recalculate(&form, DAY, "2026-03-10T08:00:01Z").unwrap(),
        4
    );
    assert_eq!(
        iv.recalculate(&form, DAY, "2026-03-10T08:05:00Z").unwrap(),
        0
    );
    iv.set_answer_json(&form, "age", &json!(41)).unwrap();
    assert!(iv.submit(&form).unwrap().is_complete());
    let rec = iv.project(Some(&form));
    assert_eq!(rec.answers["start"], json!("2026-03-10T08:00:00Z"));
    assert_eq!(rec.answers["today"], json!("2026-03-10"));
    assert_eq!(rec.answers["deviceid"], json!(device.to_string()));
    assert_eq!(rec.answers["username"], json!("user-7"));
    assert_eq!(rec.answers["end"], json!(rec.submitted_at.clone().unwrap()));
    assert_eq!(
        rec.answers.get("phone"),
        None,
        "the app cannot read the SIM"
    );
    // A metadata question is not something a person answers, and an
    // identifier not marked pii is refused.
    let mut bad = def.clone();
    bad.questions[3].pii = false;
    let e = Form::new(bad).unwrap_err().to_string();
    assert!(
        e.contains("metadata `deviceid` identifies a person or device: mark it pii"),
        "{e}"
    );
    let back = import(&export(&def).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.form, def);
}

#[test]
fn malformed_workbooks_give_located_errors() {
    // Not a workbook at all.
    for bytes in [&b"garbage"[..], b"", &[0x50, 0x4b, 3, 4, 0, 0, 1]] {
        let ps = problems(bytes);
        assert_eq!(ps.len(), 1);
        find(&ps, "workbook", None, None, "not an .xlsx workbook");
    }
    // No survey sheet.
    let ps = problems(&workbook(&[
        ("Sheet1", &[&["type", "name"]]),
        ("settings", SETTINGS),
    ]));
    find(
        &ps,
        "workbook",
        None,
        None,
        "no `survey` sheet (sheets: Sheet1, settings)",
    );
    // Missing name column.
    let ps = problems(&workbook(&[
        ("survey", &[&["type", "label"], &["text", "Q"]]),
        ("settings", SETTINGS),
    ]));
    find(&ps, "survey", Some(1), None, "the `name` column is missing");
    // Duplicate names, an undefined list, a list without a choices sheet.
    const DUP: Rows<'static> = &[
        &["type", "name", "label"],
        &["text", "q1", "One"],
        &["integer", "q1", "Again"],
        &["select_one nowhere", "q2", "Two"],
    ];
    let ps = problems(&workbook(&[("survey", DUP), ("settings", SETTINGS)]));
    find(
        &ps,
        "survey",
        Some(3),
        Some("name"),
        "duplicate name `q1` (first at row 2)",
    );
    find(&ps, "survey", Some(4), Some("type"), "no `choices` sheet");
    let choices: Rows<'_> = &[
        &["list_name", "name", "label"],
        &["yn", "yes", "Yes"],
        &["yn", "yes", "Yes again"],
        &["yn", "Maybe", "Maybe"],
    ];
    let ps = problems(&workbook(&[
        ("survey", DUP),
        ("choices", choices),
        ("settings", SETTINGS),
    ]));
    find(
        &ps,
        "survey",
        Some(4),
        Some("type"),
        "choice list `nowhere` is not defined",
    );
    find(
        &ps,
        "choices",
        Some(3),
        Some("name"),
        "duplicate choice `yes` in list `yn` (first at row 2)",
    );
    find(
        &ps,
        "choices",
        Some(4),
        Some("name"),
        "`Maybe` is not a fieldvoice option value",
    );
    // A relevant cycle names both rows; a forward reference names the later row.
    const CYCLE: Rows<'static> = &[
        &["type", "name", "label", "relevant"],
        &["text", "a", "A", "${b} != ''"],
        &["text", "b", "B", "${a} != ''"],
        &["text", "c", "C", "${d} = 'x'"],
        &["text", "d", "D"],
    ];
    let ps = problems(&workbook(&[("survey", CYCLE), ("settings", SETTINGS)]));
    let cycle = find(
        &ps,
        "survey",
        Some(2),
        Some("relevant"),
        "cycle in relevant",
    );
    assert!(
        cycle
            .message
            .contains("`a` (row 2) → `b` (row 3) → `a` (row 2)"),
        "{cycle}"
    );
    assert!(cycle.message.contains("rows 2, 3"), "{cycle}");
    find(
        &ps,
        "survey",
        Some(4),
        Some("relevant"),
        "refers to `${d}` (row 5), a later question",
    );
    assert_eq!(ps.len(), 2, "{ps:#?}");
    // Settings: a version that does not fit in 32 bits, a bad name.
    let big: Rows<'_> = &[&["form_id", "version"], &["t", "99999999999"]];
    let ps = problems(&workbook(&[
        (
            "survey",
            &[&["type", "name", "label"], &["text", "Bad-Name", "Q"]],
        ),
        ("settings", big),
    ]));
    find(
        &ps,
        "settings",
        Some(2),
        Some("version"),
        "larger than 4294967295",
    );
    find(
        &ps,
        "survey",
        Some(2),
        Some("name"),
        "`Bad-Name` is not a fieldvoice name",
    );
    // A form_id fieldvoice cannot use; no settings sheet at all.
    let spaced: Rows<'_> = &[&["form_id", "version"], &["Household Survey", "#n:3"]];
    let one_q: Rows<'_> = &[&["type", "name", "label"], &["text", "q", "Q"]];
    let ps = problems(&workbook(&[("survey", one_q), ("settings", spaced)]));
    find(
        &ps,
        "settings",
        Some(2),
        Some("form_id"),
        "form_id `Household Survey` must match",
    );
    let ps = problems(&workbook(&[("survey", one_q)]));
    find(&ps, "settings", None, None, "no `settings` sheet");
    // An unknown language spelling in a header.
    let ps = problems(&workbook(&[
        (
            "survey",
            &[&["type", "name", "label::English"], &["text", "q", "Q"]],
        ),
        ("settings", SETTINGS),
    ]));
    find(
        &ps,
        "survey",
        Some(1),
        Some("label::English"),
        "language `English` has no code",
    );
    // A condition the model refuses is located at its row too.
    let ps = problems(&workbook(&[
        (
            "survey",
            &[
                &["type", "name", "label", "relevant"],
                &["text", "a", "A"],
                &["note", "n", "N"],
                &["text", "b", "B", "${n} != ''"],
            ],
        ),
        ("settings", SETTINGS),
    ]));
    find(
        &ps,
        "survey",
        Some(4),
        Some("relevant"),
        "relevant refers to note `n`",
    );
}

#[test]
fn shipped_mcmb_form_round_trips() {
    let form = survey_model::mcmb_form().unwrap();
    let mut def: FormDef = form.def().clone();
    def.schema = None;
    let bytes = export(&def).unwrap();
    let back = import(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.warnings, vec![]);
    assert_eq!(back.form, def);
    // The workbook is a plain XLSForm: fieldvoice types ride in fv_type.
    let again = export(&back.form).unwrap();
    assert_eq!(import(&again).unwrap().form, def);
}

/// MCMB v2 (a place question reading the place list through
/// `choices_from`, a `choice_filter` on the device's country, other typed by
/// hand) and a country form its coordinators publish survive the round trip.
#[test]
fn mcmb_v2_and_a_country_form_round_trip() {
    let mut v2: FormDef = serde_json::from_str(survey_model::MCMB_V2_JSON).unwrap();
    v2.schema = None;
    let back = import(&export(&v2).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.form, v2);
    let mut country = v2.clone();
    country.form_id = "ci-shops".into();
    country.countries = vec!["CI".into()];
    country.coordinators_publish = true;
    let back = import(&export(&country).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.form, country);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Damaged workbooks are errors, never panics.
    #[test]
    fn damaged_workbooks_never_panic(at in 0usize..4000, byte in any::<u8>(), cut in 0usize..5000) {
        let mut bytes = household();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = import(&bytes);
        bytes.truncate(cut.min(bytes.len()));
        let _ = import(&bytes);
    }
}

/// The MCMB form as version 2 with a decimal question added, as an .xlsx.
fn mcmb_v2_xlsx() -> Vec<u8> {
    let mut def = survey_model::mcmb_form().unwrap().def().clone();
    def.schema = None;
    def.version = 2;
    let mut q = def
        .questions
        .iter()
        .find(|q| q.name == "customer_since_years")
        .unwrap()
        .clone();
    q.name = "monthly_spend".into();
    q.kind = QuestionType::Decimal;
    q.min = None;
    q.max = None;
    q.constraint = Some(Condition::Compare {
        q: "monthly_spend".into(),
        op: CompareOp::Ge,
        value: json!(0),
    });
    def.questions.push(q);
    export(&def).unwrap()
}

async fn post_xlsx(url: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
    let r = client()
        .post(url)
        .bearer_auth(token)
        .header("content-type", XLSX_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_api_previews_and_publishes_an_xlsx() {
    let srv = TestServer::start().await;
    let forms = format!("{}/api/v1/forms", srv.url);
    let preview = format!("{forms}/preview");

    // The published version 1 (installed from JSON with its `$schema`) sent
    // again as a workbook is the same content: an idempotent 200.
    let mut v1 = survey_model::mcmb_form().unwrap().def().clone();
    v1.schema = None;
    let (st, p) = post_xlsx(&forms, &srv.admin_token, export(&v1).unwrap()).await;
    assert_eq!((st, &p["already_published"]), (200, &json!(true)), "{p}");

    let (st, p) = post_xlsx(&preview, &srv.admin_token, mcmb_v2_xlsx()).await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["published_version"], 1);
    assert_eq!(p["changes"]["added"], json!(["monthly_spend"]));
    assert!(srv.state.forms().get("mcmb-interview", 2).is_none());

    let (st, p) = post_xlsx(&forms, &srv.admin_token, mcmb_v2_xlsx()).await;
    assert_eq!(st, 201, "{p}");
    let registry = srv.state.forms();
    let published = registry.get("mcmb-interview", 2).unwrap();
    let q = published.question("monthly_spend").unwrap();
    assert_eq!(q.kind, QuestionType::Decimal);
    // The same workbook again is an idempotent retry.
    let (st, p) = post_xlsx(&forms, &srv.admin_token, mcmb_v2_xlsx()).await;
    assert_eq!((st, &p["already_published"]), (200, &json!(true)), "{p}");

    // A workbook that does not convert: 400 with every problem located.
    const BAD: Rows<'static> = &[
        &["type", "name", "label"],
        &["text", "ok", "Fine"],
        &["begin repeat", "people", "People"],
        &["calculate", "sum", ""],
    ];
    let bad = workbook(&[("survey", BAD), ("settings", SETTINGS)]);
    for url in [&preview, &forms] {
        let (st, p) = post_xlsx(url, &srv.admin_token, bad.clone()).await;
        assert_eq!(st, 400, "{p}");
        assert_eq!(p["error"], "the XLSForm has 2 problem(s)");
        assert_eq!(
            p["problems"],
            json!([
                {"sheet": "survey", "row": 4, "column": "calculation", "message": "a `calculate` row needs a calculation"},
                {"sheet": "survey", "row": 3, "column": "type", "message": "repeat `people` has no `end repeat`"},
            ])
        );
    }
    let (st, p) = post_xlsx(&preview, &srv.admin_token, b"not a workbook".to_vec()).await;
    assert_eq!(st, 400, "{p}");
    assert_eq!(p["problems"][0]["sheet"], "workbook");
    // Coordinators may not publish a workbook either.
    let (_, coord) = srv.token_for("coord.x", central_store::Role::Coordinator, "CI");
    let (st, _) = post_xlsx(&forms, &coord, mcmb_v2_xlsx()).await;
    assert_eq!(st, 403);
    // Over the body limit: 413 before any conversion.
    let (st, p) = post_xlsx(&forms, &srv.admin_token, vec![0u8; 9 * 1024 * 1024]).await;
    assert_eq!(st, 413, "{p}");
}

#[test]
fn admin_import_form_and_export_form_commands() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("household.xlsx");
    std::fs::write(&xlsx, household()).unwrap();
    let bin = server_binary();
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(&bin)
            .arg("--database")
            .arg(dir.path().join("unused.sqlite3"))
            .arg("admin")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["import-form".as_ref(), xlsx.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: FormDef = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, import(&household()).unwrap().form);

    let json_path = dir.path().join("household.json");
    let out = run(&[
        "import-form".as_ref(),
        xlsx.as_os_str(),
        "--out".as_ref(),
        json_path.as_os_str(),
    ]);
    assert!(out.status.success());
    let written = std::fs::read_to_string(&json_path).unwrap();
    assert_eq!(Form::from_json(&written).unwrap().def(), &printed);

    let back = dir.path().join("back.xlsx");
    let out = run(&[
        "export-form".as_ref(),
        json_path.as_os_str(),
        "--out".as_ref(),
        back.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        import(&std::fs::read(&back).unwrap()).unwrap().form,
        printed
    );

    // `--media DIR` gives the CSV choice files a form names.
    let media = dir.path().join("media");
    std::fs::create_dir(&media).unwrap();
    std::fs::write(media.join("villages.csv"), VILLAGES_CSV).unwrap();
    let from_file = dir.path().join("villages.xlsx");
    std::fs::write(
        &from_file,
        workbook(&[
            (
                "survey",
                &[
                    &["type", "name", "label"],
                    &["select_one_from_file villages.csv", "village", "Village"],
                ],
            ),
            ("settings", SETTINGS),
        ]),
    )
    .unwrap();
    let out = run(&["import-form".as_ref(), from_file.as_os_str()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`villages.csv` was not uploaded"));
    let out = run(&[
        "import-form".as_ref(),
        from_file.as_os_str(),
        "--media".as_ref(),
        media.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: FormDef = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed.questions[0].options.len(), 3);

    const BAD: Rows<'static> = &[
        &["type", "name", "label"],
        &["text", "ok", "Fine"],
        &["calculate", "sum", ""],
    ];
    let bad = dir.path().join("bad.xlsx");
    std::fs::write(&bad, workbook(&[("survey", BAD), ("settings", SETTINGS)])).unwrap();
    let out = run(&["import-form".as_ref(), bad.as_os_str()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().any(
            |l| l == "survey row 3 column `calculation`: a `calculate` row needs a calculation"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(
        !dir.path().join("unused.sqlite3").exists(),
        "the commands do not open the store"
    );
}
