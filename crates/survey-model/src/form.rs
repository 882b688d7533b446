//! Form definitions: parsing, structural validation and lookup.

use std::collections::{BTreeMap, HashMap, HashSet};

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Text in several languages, keyed by language code (`en`, `fr`, `ar`, `pt`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Localized(pub BTreeMap<String, String>);

impl Localized {
    /// The text in `lang`, else in `fallback`, else any text at all.
    pub fn get<'a>(&'a self, lang: &str, fallback: &str) -> &'a str {
        self.0
            .get(lang)
            .or_else(|| self.0.get(fallback))
            .or_else(|| self.0.values().next())
            .map_or("", String::as_str)
    }
}

/// The kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    SingleChoice,
    MultiChoice,
    Integer,
    Nps,
    Rating,
    Text,
    Date,
    Geopoint,
    Consent,
    Note,
    /// A number with a fractional part (XLSForm `decimal`), answered as a JSON number.
    Decimal,
    /// A statement the respondent confirms (XLSForm `acknowledge`): the only answer is `true`.
    Acknowledge,
    /// A value the app computes from other answers (XLSForm `calculate`) with
    /// the question's `calculation` ([`crate::expr`]); never asked, stored as
    /// text like an answer, empty when the question is not relevant.
    Calculate,
    /// A time of day, `HH:MM` or `HH:MM:SS` (24-hour), answered as text.
    Time,
    /// A moment, RFC 3339 with its UTC offset (`2026-03-10T14:30:00+01:00`).
    #[serde(rename = "datetime")]
    DateTime,
    /// Interview metadata the app records by itself (XLSForm `start`, `end`,
    /// `today`, `deviceid`, …; the question's `metadata` says which, one of
    /// [`METADATA`]); never asked, stored as text.
    Metadata,
}

impl QuestionType {
    /// Whether the question stores an answer at all (a `note` does not).
    pub fn takes_answer(self) -> bool {
        self != QuestionType::Note
    }

    /// Whether the interviewer answers it (a calculation is computed instead).
    pub fn is_asked(self) -> bool {
        !matches!(self, QuestionType::Calculate | QuestionType::Metadata)
    }
}

/// The `appearance` values a question may carry (text's `multiline` is the
/// `multiline` flag instead): `minimal` (choices as a drop-down), `likert`
/// (a single choice laid out as a scale).
pub const APPEARANCES: &[&str] = &["minimal", "likert"];

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub value: String,
    pub label: Localized,
    /// Extra columns of the option (XLSForm's extra `choices` columns), read by
    /// a question's `choice_filter`: e.g. `{"country": "CI"}` on a place.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// Where a [`FilterTerm`] takes the value an option attribute must equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum FilterSource {
    /// The answer to an earlier single-choice or text question (cascading selects).
    Question { question: String },
    /// A metadata value of the interview: `country` (the device's country).
    Meta { meta: String },
    /// A fixed value.
    Value { value: String },
}

/// One term of a choice filter: keep the options whose `attribute` equals the source's value.
/// Terms of a question's `choice_filter` all hold (XLSForm `a = ${x} and b = ${y}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterTerm {
    pub attribute: String,
    #[serde(flatten)]
    pub source: FilterSource,
}

/// The interview metadata a `metadata` question may record, with whether it
/// identifies a person or a device (personal data: the question must be
/// `pii`). What the app records: `start` (when the interview was created,
/// RFC 3339), `end` (when it was submitted), `today` (the creation date),
/// `deviceid` (the fieldvoice device id), `username` (the interviewer's
/// pseudonymous user id), `start_geopoint` (the first position the device
/// gives when the interview opens); `phonenumber`, `subscriberid` and
/// `simserial` stay empty: the app cannot read the SIM (Android 10+ reserves
/// those identifiers to privileged apps).
pub const METADATA: &[(&str, bool)] = &[
    ("start", false),
    ("end", false),
    ("today", false),
    ("deviceid", true),
    ("username", true),
    ("phonenumber", true),
    ("subscriberid", true),
    ("simserial", true),
    ("start_geopoint", true),
];

/// The largest `{"today": n}` offset, in days (about 300 years).
pub const MAX_TODAY_OFFSET: i64 = 110_000;

/// The interview metadata a [`FilterSource::Meta`] may name.
pub const FILTER_META: &[&str] = &["country"];

/// The external choice lists a question may take its options from (`choices_from`).
pub const CHOICE_LISTS: &[&str] = &[crate::places::PLACES_LIST];

/// Comparison operators of a [`Condition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// The operator with its operands swapped (`1 < x` is `x > 1`).
    pub fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Eq => CompareOp::Eq,
            CompareOp::Ne => CompareOp::Ne,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
        }
    }

    /// The operator as XPath (XLSForm) writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// Skip logic: a question is shown only when its condition holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Condition {
    Answered {
        answered: String,
    },
    Compare {
        q: String,
        op: CompareOp,
        value: serde_json::Value,
    },
    Selected {
        selected: String,
        option: String,
    },
    All {
        all: Vec<Condition>,
    },
    Any {
        any: Vec<Condition>,
    },
    Not {
        not: Box<Condition>,
    },
    /// The number of characters of a text answer compared with a number
    /// (XLSForm `string-length(${x}) <= 20`); an unanswered question has length 0.
    Length {
        length: String,
        op: CompareOp,
        value: i64,
    },
    /// A text answer matches a regular expression (XLSForm `regex(${x}, 'p')`);
    /// an unanswered question does not match.
    Regex {
        regex: String,
        pattern: String,
    },
    /// The number of options selected in a multi-choice answer compared with a
    /// number (XLSForm `count-selected(${x}) >= 2`); unanswered counts 0.
    CountSelected {
        count_selected: String,
        op: CompareOp,
        value: i64,
    },
    /// Any boolean expression of the XPath subset ([`crate::expr`]): what the
    /// structured conditions above cannot say (arithmetic, `if()`, two
    /// questions compared, calculations). `.` is written as `${name}`.
    Expr {
        expr: String,
    },
}

/// A date relative to the day a condition is evaluated, as a [`Condition::Compare`]
/// value: `{"today": 0}` is today (XLSForm `today()`), `{"today": -7}` a week ago.
pub fn today_offset(value: &serde_json::Value) -> Option<i64> {
    let obj = value.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    obj.get("today")?.as_i64()
}

impl Condition {
    /// Every question name this condition reads.
    pub fn references(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Condition::Answered { answered } => out.push(answered),
            Condition::Compare { q, .. } => out.push(q),
            Condition::Selected { selected, .. } => out.push(selected),
            Condition::All { all: cs } | Condition::Any { any: cs } => {
                cs.iter().for_each(|c| c.collect_refs(out));
            }
            Condition::Not { not } => not.collect_refs(out),
            Condition::Length { length: q, .. }
            | Condition::Regex { regex: q, .. }
            | Condition::CountSelected {
                count_selected: q, ..
            } => out.push(q),
            Condition::Expr { expr } => out.extend(crate::expr::piped(expr)),
        }
    }

    /// Every [`Condition::Expr`] text in this condition.
    pub fn expressions(&self) -> Vec<&str> {
        match self {
            Condition::Expr { expr } => vec![expr.as_str()],
            Condition::All { all: cs } | Condition::Any { any: cs } => {
                cs.iter().flat_map(Condition::expressions).collect()
            }
            Condition::Not { not } => not.expressions(),
            _ => Vec::new(),
        }
    }

    /// Every regular expression this condition uses.
    pub fn patterns(&self) -> Vec<&str> {
        match self {
            Condition::Regex { pattern, .. } => vec![pattern.as_str()],
            Condition::All { all: cs } | Condition::Any { any: cs } => {
                cs.iter().flat_map(Condition::patterns).collect()
            }
            Condition::Not { not } => not.patterns(),
            _ => Vec::new(),
        }
    }
}

/// A page of the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub label: Localized,
}

/// A group of questions asked once per instance (XLSForm `begin repeat`):
/// household members, visited shops. Its questions (those whose `repeat` is
/// its id) come one after the other in the form; they may read earlier
/// questions of the form and earlier questions of the same repeat (in the
/// same instance); nothing outside the repeat reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Also the key of its instances in the interview's answers: not a
    /// question's name.
    pub id: String,
    pub label: Localized,
    /// How many instances the app keeps (XLSForm `repeat_count`): a whole
    /// number, or `${name}` of an earlier integer or calculate question;
    /// without it the interviewer adds and removes instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_count: Option<String>,
}

/// Most instances of one repeat in one interview.
pub const MAX_INSTANCES: usize = 200;

/// One question of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    /// May pipe answers in with `${name}` (as may the hint); a calculation
    /// needs no label.
    #[serde(default)]
    pub label: Localized,
    /// A short label per language for charts, dashboards and codebooks
    /// ("Network" for "How satisfied are you with the quality of our
    /// network…"); the label when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_label: Option<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub pii: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    /// Options also come from this campaign list (`places`), after the inline ones.
    /// The list travels beside the form (enrollment and sync), not inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices_from: Option<String>,
    /// Only the options whose attributes match every term are offered and accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choice_filter: Vec<FilterTerm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_selected: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_selected: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub multiline: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern_message: Option<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_date: Option<String>,
    /// A rule the answer must satisfy (XLSForm `constraint`), checked only when
    /// the question is answered. The question's own name stands for XLSForm's
    /// `.`; the condition may read this question and earlier ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<Condition>,
    /// Shown when the constraint fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint_message: Option<Localized>,
    /// The answer a new interview starts with (a valid answer for the question's type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// How the app draws the question: one of [`APPEARANCES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance: Option<String>,
    /// What a `calculate` question computes ([`crate::expr`] text). It may
    /// read earlier questions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculation: Option<String>,
    /// What a `metadata` question records: one of [`METADATA`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Shown when a required question has no answer (XLSForm `required_message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_message: Option<Localized>,
    /// Shown, not answered by the interviewer (XLSForm `read_only`): its
    /// value is its default or what the form computes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// The [`Repeat`] it is asked in, once per instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<String>,
}

impl Question {
    /// The short label in `lang` (else `fallback`), or the label when the
    /// form gives none.
    pub fn short<'a>(&'a self, lang: &str, fallback: &str) -> &'a str {
        self.short_label
            .as_ref()
            .map_or_else(|| self.label.get(lang, fallback), |s| s.get(lang, fallback))
    }

    /// The inclusive numeric range allowed for integer, NPS and rating answers.
    pub fn numeric_range(&self) -> (i64, i64) {
        match self.kind {
            QuestionType::Nps => (crate::nps::MIN, crate::nps::MAX),
            QuestionType::Rating => (self.min.unwrap_or(1), self.max.unwrap_or(5)),
            _ => (self.min.unwrap_or(i64::MIN), self.max.unwrap_or(i64::MAX)),
        }
    }

    /// Whether `value` is one of this question's option values.
    pub fn has_option(&self, value: &str) -> bool {
        self.options.iter().any(|o| o.value == value)
    }
}

/// A versioned form definition, as stored in `schemas/forms/*.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub form_id: String,
    pub version: u32,
    pub title: Localized,
    pub languages: Vec<String>,
    pub default_language: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<Repeat>,
    pub questions: Vec<Question>,
    /// The countries this form is for (two-letter codes); empty: every country.
    /// Devices of other countries do not receive it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Coordinators of every country in `countries` may publish the next
    /// versions themselves (admins always may). Needs `countries`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub coordinators_publish: bool,
}

impl FormDef {
    /// Whether a device or person of `country` uses this form.
    pub fn is_for(&self, country: &str) -> bool {
        self.countries.is_empty() || self.countries.iter().any(|c| c == country)
    }
}

/// One structural problem found in a form definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormProblem {
    /// The question concerned, if any.
    pub question: Option<String>,
    pub message: String,
}

impl std::fmt::Display for FormProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.question {
            Some(q) => write!(f, "question `{q}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a form could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("form is not valid JSON for the form format: {0}")]
    Json(#[from] serde_json::Error),
    #[error("form is invalid ({} problem(s)): {}", .0.len(), join_problems(.0))]
    Invalid(Vec<FormProblem>),
}

fn join_problems(problems: &[FormProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A form that passed structural validation, with its lookups prepared.
#[derive(Debug, Clone)]
pub struct Form {
    def: FormDef,
    index: HashMap<String, usize>,
    patterns: HashMap<String, Regex>,
    /// Compiled `regex` conditions and `regex()` patterns, by pattern text.
    regexes: HashMap<String, Regex>,
    /// Parsed calculations and expression conditions, by text.
    exprs: HashMap<String, crate::expr::Expr>,
    /// External choice lists attached by the holder (`places`), by name.
    lists: BTreeMap<String, std::sync::Arc<Vec<ChoiceOption>>>,
}

impl Form {
    /// Parse and validate a form from JSON text.
    pub fn from_json(text: &str) -> Result<Form, FormError> {
        let def: FormDef = serde_json::from_str(text)?;
        Form::new(def)
    }

    /// Validate a parsed definition.
    pub fn new(def: FormDef) -> Result<Form, FormError> {
        let mut problems = Vec::new();
        let mut p = |question: Option<&str>, message: String| {
            problems.push(FormProblem {
                question: question.map(str::to_owned),
                message,
            });
        };
        let id_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if def.form_id.is_empty()
            || !def
                .form_id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            p(
                None,
                format!("form_id `{}` must match [a-z0-9-]+", def.form_id),
            );
        }
        if def.version == 0 {
            p(None, "version must be 1 or more".into());
        }
        if def.languages.is_empty() {
            p(None, "languages must not be empty".into());
        }
        if !def.languages.contains(&def.default_language) {
            p(
                None,
                format!(
                    "default_language `{}` is not in languages",
                    def.default_language
                ),
            );
        }
        let dl = def.default_language.as_str();
        if def.title.0.get(dl).is_none_or(|t| t.trim().is_empty()) {
            p(None, format!("title has no `{dl}` text"));
        }
        if def.questions.is_empty() {
            p(None, "a form needs at least one question".into());
        }
        for c in &def.countries {
            if !(c.len() == 2 && c.chars().all(|c| c.is_ascii_uppercase())) {
                p(None, format!("country `{c}` is not a two-letter ISO code"));
            }
        }
        if def.coordinators_publish && def.countries.is_empty() {
            p(
                None,
                "coordinators_publish needs countries (whose coordinators may publish)".into(),
            );
        }
        let sections: HashSet<&str> = def.sections.iter().map(|s| s.id.as_str()).collect();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut patterns = HashMap::new();
        let mut regexes = HashMap::new();
        let mut exprs = HashMap::new();
        let names: HashSet<&str> = def.questions.iter().map(|q| q.name.as_str()).collect();
        for (i, q) in def.questions.iter().enumerate() {
            let n = Some(q.name.as_str());
            let texts = q.calculation.iter().map(String::as_str).chain(
                q.relevant
                    .iter()
                    .chain(&q.constraint)
                    .flat_map(Condition::expressions),
            );
            for text in texts {
                match crate::expr::parse(text)
                    .and_then(|e| crate::expr::check(&e, false).map(|()| e))
                {
                    Ok(e) => {
                        for pat in crate::expr::patterns(&e) {
                            match Regex::new(pat) {
                                Ok(re) => {
                                    regexes.insert(pat.to_owned(), re);
                                }
                                Err(err) => p(n, format!("regex `{pat}` is not valid: {err}")),
                            }
                        }
                        let whole = crate::expr::split_references(&e).0;
                        let rule = if q
                            .relevant
                            .iter()
                            .flat_map(Condition::expressions)
                            .any(|t| t == text)
                        {
                            "relevant"
                        } else {
                            "constraint"
                        };
                        if Some(text) != q.calculation.as_deref() && !whole.is_empty() {
                            p(
                                n,
                                format!(
                                    "{rule} `{text}` reads `{}` as a whole repeat: compute it in a calculation and read that",
                                    whole[0]
                                ),
                            );
                        }
                        exprs.insert(text.to_owned(), e);
                    }
                    Err(m) => p(n, format!("expression `{text}`: {m}")),
                }
            }
            match (&q.calculation, q.kind) {
                (None, QuestionType::Calculate) => {
                    p(n, "a calculate question needs a calculation".into())
                }
                (Some(_), k) if k != QuestionType::Calculate => {
                    p(n, "calculation is only for calculate questions".into());
                }
                (Some(c), _) => {
                    let (whole, one) = exprs
                        .get(c.as_str())
                        .map(crate::expr::split_references)
                        .unwrap_or_default();
                    // A repeat read as a whole (`sum(${x})`): from outside
                    // any repeat, after the repeat.
                    for r in &whole {
                        let repeat = match def.repeats.iter().find(|rp| rp.id == *r) {
                            Some(rp) => Some(rp.id.as_str()),
                            None => def
                                .questions
                                .iter()
                                .find(|x| x.name == *r)
                                .and_then(|x| x.repeat.as_deref()),
                        };
                        let first = repeat.and_then(|rp| {
                            def.questions
                                .iter()
                                .position(|x| x.repeat.as_deref() == Some(rp))
                        });
                        match (repeat, first) {
                            (None, _) if !names.contains(r.as_str()) => {
                                p(n, format!("calculation refers to unknown question `{r}`"));
                            }
                            (None, _) => {}
                            (Some(_), _) if q.repeat.is_some() => p(
                                n,
                                format!("`{r}` is read as a whole repeat from inside a repeat"),
                            ),
                            (Some(rp), Some(f)) if f > i => p(
                                n,
                                format!("calculation reads repeat `{rp}`, which comes later"),
                            ),
                            _ => {}
                        }
                    }
                    for r in one.iter().map(String::as_str) {
                        match index.get(r) {
                            None if r == q.name => p(n, "calculation refers to itself".into()),
                            None if names.contains(r) => {
                                p(n, format!("calculation refers to `{r}`, which comes later"));
                            }
                            None => p(n, format!("calculation refers to unknown question `{r}`")),
                            Some(&j) if !def.questions[j].kind.takes_answer() => {
                                p(n, format!("calculation refers to note `{r}`"));
                            }
                            Some(&j) if def.questions[j].pii && !q.pii => p(
                                n,
                                format!(
                                    "calculation reads personal data (`{r}` is pii): mark it pii too"
                                ),
                            ),
                            Some(_) => {}
                        }
                    }
                    if q.required {
                        p(n, "a calculate question cannot be required".into());
                    }
                }
                (None, _) => {}
            }
            match (&q.metadata, q.kind) {
                (None, QuestionType::Metadata) => {
                    p(n, "a metadata question needs `metadata`".into());
                }
                (Some(_), k) if k != QuestionType::Metadata => {
                    p(n, "`metadata` is only for metadata questions".into());
                }
                (Some(m), _) => match METADATA.iter().find(|(k, _)| k == m) {
                    None => p(
                        n,
                        format!(
                            "metadata `{m}` is not one of {}",
                            METADATA
                                .iter()
                                .map(|(k, _)| *k)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                    Some((_, true)) if !q.pii => p(
                        n,
                        format!("metadata `{m}` identifies a person or device: mark it pii"),
                    ),
                    Some(_) => {
                        if q.required || q.relevant.is_some() || q.constraint.is_some() {
                            p(
                                n,
                                "a metadata question takes no required, relevant or constraint"
                                    .into(),
                            );
                        }
                    }
                },
                (None, _) => {}
            }
            let shown = [&q.label].into_iter().chain(q.hint.as_ref());
            for text in shown.flat_map(|l| l.0.values()) {
                for r in crate::expr::piped(text) {
                    if !names.contains(r) {
                        p(
                            n,
                            format!("text pipes in `${{{r}}}`, which is not a question"),
                        );
                    }
                }
            }
            if !id_ok(&q.name) {
                p(n, "name must match ^[a-z][a-z0-9_]{0,62}$".into());
            }
            if let Some(cond) = &q.relevant {
                for r in cond.references() {
                    match index.get(r) {
                        None if def.questions.iter().any(|o| o.name == r) => {
                            p(n, format!("relevant refers to `{r}`, which comes later"));
                        }
                        // A repeat read as a whole: reported with the expression.
                        None if def.repeats.iter().any(|rp| rp.id == r) => {}
                        None => p(n, format!("relevant refers to unknown question `{r}`")),
                        Some(&j) => {
                            let target: &Question = &def.questions[j];
                            if !target.kind.takes_answer() {
                                p(n, format!("relevant refers to note `{r}`"));
                            }
                        }
                    }
                }
                check_condition_values(cond, &def.questions, &index, &mut |m| p(n, m));
            }
            if index.insert(q.name.clone(), i).is_some() {
                p(n, "duplicate question name".into());
            }
            if let Some(cond) = &q.constraint {
                if !q.kind.takes_answer() {
                    p(n, "a note cannot have a constraint".into());
                }
                for r in cond.references() {
                    match index.get(r) {
                        None if def.questions.iter().any(|o| o.name == r) => {
                            p(n, format!("constraint refers to `{r}`, which comes later"));
                        }
                        None if def.repeats.iter().any(|rp| rp.id == r) => {}
                        None => p(n, format!("constraint refers to unknown question `{r}`")),
                        Some(&j) if !def.questions[j].kind.takes_answer() => {
                            p(n, format!("constraint refers to note `{r}`"));
                        }
                        Some(_) => {}
                    }
                }
                check_condition_values(cond, &def.questions, &index, &mut |m| p(n, m));
            }
            if q.required_message.is_some() && !q.required {
                p(
                    n,
                    "required_message on a question that is not required".into(),
                );
            }
            if q.constraint_message.is_some() && q.constraint.is_none() {
                p(n, "constraint_message without a constraint".into());
            }
            for cond in q.relevant.iter().chain(&q.constraint) {
                for pat in cond.patterns() {
                    match Regex::new(pat) {
                        Ok(re) => {
                            regexes.insert(pat.to_owned(), re);
                        }
                        Err(e) => p(n, format!("regex `{pat}` is not valid: {e}")),
                    }
                }
            }
            if let Some(v) = &q.default {
                match crate::answer::Answer::from_json(q, v) {
                    Ok(Some(_)) => {}
                    Ok(None) => p(n, "default must not be null".into()),
                    Err(e) => p(n, format!("default: {e}")),
                }
            }
            if let Some(a) = &q.appearance {
                let fits = match a.as_str() {
                    "minimal" => matches!(
                        q.kind,
                        QuestionType::SingleChoice | QuestionType::MultiChoice
                    ),
                    "likert" => q.kind == QuestionType::SingleChoice,
                    _ => false,
                };
                if !APPEARANCES.contains(&a.as_str()) {
                    p(
                        n,
                        format!(
                            "appearance `{a}` is not one of {} (text uses `multiline`)",
                            APPEARANCES.join(", ")
                        ),
                    );
                } else if !fits {
                    p(
                        n,
                        format!("appearance `{a}` does not fit a {:?} question", q.kind),
                    );
                }
            }
            if q.kind.is_asked() && q.label.0.get(dl).is_none_or(|t| t.trim().is_empty()) {
                p(n, format!("label has no `{dl}` text"));
            }
            if let Some(s) = &q.section
                && !sections.contains(s.as_str())
            {
                p(n, format!("unknown section `{s}`"));
            }
            let is_choice = matches!(
                q.kind,
                QuestionType::SingleChoice | QuestionType::MultiChoice
            );
            if is_choice && q.options.is_empty() && q.choices_from.is_none() {
                p(n, "a choice question needs options".into());
            }
            if let Some(list) = &q.choices_from {
                if !is_choice {
                    p(n, "choices_from is only for choice questions".into());
                } else if !CHOICE_LISTS.contains(&list.as_str()) {
                    p(
                        n,
                        format!(
                            "choices_from `{list}` is not a known list ({})",
                            CHOICE_LISTS.join(", ")
                        ),
                    );
                }
            }
            if !q.choice_filter.is_empty() && !is_choice {
                p(n, "choice_filter is only for choice questions".into());
            }
            for t in &q.choice_filter {
                if !id_ok(&t.attribute) {
                    p(
                        n,
                        format!(
                            "choice_filter attribute `{}` must be snake_case",
                            t.attribute
                        ),
                    );
                }
                match &t.source {
                    FilterSource::Question { question } => match index.get(question.as_str()) {
                        None => p(
                            n,
                            format!(
                                "choice_filter refers to `{question}`, which is not an earlier question"
                            ),
                        ),
                        Some(&j) => {
                            let src: &Question = &def.questions[j];
                            if !matches!(src.kind, QuestionType::SingleChoice | QuestionType::Text)
                            {
                                p(
                                    n,
                                    format!(
                                        "choice_filter refers to `{question}`, which is not a single choice or text"
                                    ),
                                );
                            }
                        }
                    },
                    FilterSource::Meta { meta } if !FILTER_META.contains(&meta.as_str()) => p(
                        n,
                        format!(
                            "choice_filter meta `{meta}` is not one of {}",
                            FILTER_META.join(", ")
                        ),
                    ),
                    _ => {}
                }
            }
            if !is_choice && !q.options.is_empty() {
                p(n, "options are only for choice questions".into());
            }
            let mut seen = HashSet::new();
            for o in &q.options {
                if !id_ok(&o.value) {
                    p(n, format!("option value `{}` must be snake_case", o.value));
                }
                if !seen.insert(o.value.as_str()) {
                    p(n, format!("duplicate option `{}`", o.value));
                }
                if !o.label.0.contains_key(dl) {
                    p(n, format!("option `{}` has no `{dl}` label", o.value));
                }
            }
            if (q.min.is_some() || q.max.is_some())
                && !matches!(q.kind, QuestionType::Integer | QuestionType::Rating)
            {
                p(
                    n,
                    "min/max are only for integer and rating questions".into(),
                );
            }
            if let (Some(a), Some(b)) = (q.min, q.max)
                && a > b
            {
                p(n, format!("min {a} is greater than max {b}"));
            }
            if (q.min_selected.is_some() || q.max_selected.is_some())
                && q.kind != QuestionType::MultiChoice
            {
                p(
                    n,
                    "min_selected/max_selected are only for multi_choice".into(),
                );
            }
            if let (Some(a), Some(b)) = (q.min_selected, q.max_selected)
                && a > b
            {
                p(
                    n,
                    format!("min_selected {a} is greater than max_selected {b}"),
                );
            }
            if q.max_selected.is_some_and(|m| m > q.options.len()) {
                p(n, "max_selected exceeds the number of options".into());
            }
            if (q.max_length.is_some() || q.pattern.is_some() || q.multiline)
                && q.kind != QuestionType::Text
            {
                p(n, "max_length/pattern/multiline are only for text".into());
            }
            if let Some(pat) = &q.pattern {
                match Regex::new(pat) {
                    Ok(re) => {
                        patterns.insert(q.name.clone(), re);
                    }
                    Err(e) => p(n, format!("pattern is not a valid regex: {e}")),
                }
            }
            for (what, d) in [("min_date", &q.min_date), ("max_date", &q.max_date)] {
                if let Some(d) = d {
                    if q.kind != QuestionType::Date {
                        p(n, format!("{what} is only for date questions"));
                    } else if crate::answer::parse_date(d).is_none() {
                        p(n, format!("{what} `{d}` is not a YYYY-MM-DD date"));
                    }
                }
            }
            if q.kind == QuestionType::Note && q.required {
                p(n, "a note cannot be required".into());
            }
        }
        check_repeats(&def, &index, &mut p);
        if problems.is_empty() {
            Ok(Form {
                def,
                index,
                patterns,
                regexes,
                exprs,
                lists: BTreeMap::new(),
            })
        } else {
            Err(FormError::Invalid(problems))
        }
    }

    pub fn def(&self) -> &FormDef {
        &self.def
    }
    pub fn id(&self) -> &str {
        &self.def.form_id
    }
    pub fn version(&self) -> u32 {
        self.def.version
    }
    pub fn questions(&self) -> &[Question] {
        &self.def.questions
    }
    /// The questions whose answers are personal data (`pii`).
    pub fn pii_questions(&self) -> impl Iterator<Item = &Question> {
        self.def.questions.iter().filter(|q| q.pii)
    }
    /// Look a question up by name.
    pub fn question(&self, name: &str) -> Option<&Question> {
        self.index.get(name).map(|&i| &self.def.questions[i])
    }
    pub(crate) fn pattern(&self, name: &str) -> Option<&Regex> {
        self.patterns.get(name)
    }
    /// A `regex` condition's compiled pattern (every one is compiled at load).
    pub(crate) fn condition_regex(&self, pattern: &str) -> Option<&Regex> {
        self.regexes.get(pattern)
    }
    /// A calculation or expression condition, parsed at load.
    pub(crate) fn expression(&self, text: &str) -> Option<&crate::expr::Expr> {
        self.exprs.get(text)
    }
    /// The repeat named `id`.
    pub fn repeat(&self, id: &str) -> Option<&Repeat> {
        self.def.repeats.iter().find(|r| r.id == id)
    }
    /// The questions asked once per interview (not in a repeat).
    pub fn top_questions(&self) -> impl Iterator<Item = &Question> {
        self.def.questions.iter().filter(|q| q.repeat.is_none())
    }
    /// The metadata questions recording `kind` (one of [`METADATA`]).
    pub fn metadata_questions<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Question> {
        self.def
            .questions
            .iter()
            .filter(move |q| q.metadata.as_deref() == Some(kind))
    }
    /// The questions of repeat `id`, in form order.
    pub fn repeat_questions<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Question> {
        self.def
            .questions
            .iter()
            .filter(move |q| q.repeat.as_deref() == Some(id))
    }
    /// Whether any question is computed by the app (`calculate`, `metadata`).
    pub fn has_calculations(&self) -> bool {
        self.def.questions.iter().any(|q| !q.kind.is_asked())
    }

    /// Attach an external choice list (`places`) that `choices_from` questions read.
    /// Without it, such questions accept any code-shaped value for the list's part.
    pub fn attach_list(&mut self, name: &str, options: std::sync::Arc<Vec<ChoiceOption>>) {
        self.lists.insert(name.to_owned(), options);
    }

    /// The attached list a question reads, if any.
    pub fn list_of(&self, q: &Question) -> Option<&[ChoiceOption]> {
        let name = q.choices_from.as_deref()?;
        self.lists.get(name).map(|l| l.as_slice())
    }

    /// Every option of a choice question: its inline options, then its list's.
    pub fn options_of<'a>(&'a self, q: &'a Question) -> impl Iterator<Item = &'a ChoiceOption> {
        q.options.iter().chain(self.list_of(q).unwrap_or_default())
    }

    /// What `value` is as an option of `q`.
    pub fn find_option<'a>(&'a self, q: &'a Question, value: &str) -> OptionMatch<'a> {
        if let Some(o) = q.options.iter().find(|o| o.value == value) {
            return OptionMatch::Listed(o);
        }
        match (&q.choices_from, self.list_of(q)) {
            (Some(_), Some(list)) => list
                .iter()
                .find(|o| o.value == value)
                .map_or(OptionMatch::NotAnOption, OptionMatch::Listed),
            (Some(_), None) if is_list_code(value) => OptionMatch::Unchecked,
            _ => OptionMatch::NotAnOption,
        }
    }

    /// Whether `value` is acceptable as an option of `q` (see [`Form::find_option`]).
    pub fn accepts_option(&self, q: &Question, value: &str) -> bool {
        !matches!(self.find_option(q, value), OptionMatch::NotAnOption)
    }

    /// Whether option `o` passes `q`'s choice filter. `source` gives the value of
    /// a filter source (an earlier answer, a metadata value): `None` when the
    /// caller cannot know it (the term is skipped), `Some(None)` when it has no
    /// value (the term fails, as XLSForm offers nothing filtered by an empty
    /// answer). Options that do not carry the attribute (an inline "other") pass.
    pub fn passes_filter(
        q: &Question,
        o: &ChoiceOption,
        source: &dyn Fn(&FilterSource) -> Option<Option<String>>,
    ) -> bool {
        q.choice_filter.iter().all(
            |t| match (o.attributes.get(&t.attribute), source(&t.source)) {
                (None, _) | (_, None) => true,
                (Some(have), Some(want)) => want.is_some_and(|w| *have == w),
            },
        )
    }
}

/// What a value is as an option of a question ([`Form::find_option`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptionMatch<'a> {
    /// An inline option, or one of the attached list.
    Listed(&'a ChoiceOption),
    /// A code-shaped value for a `choices_from` question whose list is not
    /// attached here: membership is checked by whoever holds the list.
    Unchecked,
    NotAnOption,
}

/// The shape of a code in an external list (a place code): 1..=64 characters
/// from `[A-Za-z0-9_.-]`.
pub fn is_list_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A repeat's `repeat_count`: a whole number, or the earlier question it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatCount<'a> {
    Fixed(usize),
    Question(&'a str),
}

/// Parse a `repeat_count` ([`Repeat::repeat_count`]).
pub fn repeat_count(text: &str) -> Option<RepeatCount<'_>> {
    let t = text.trim();
    if let Some(n) = t.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return Some(RepeatCount::Question(n.trim()));
    }
    t.parse().ok().map(RepeatCount::Fixed)
}

/// Every name question `q` reads: conditions, calculation, piped texts.
fn reads(q: &Question) -> Vec<&str> {
    let mut out: Vec<&str> = q
        .relevant
        .iter()
        .chain(&q.constraint)
        .flat_map(Condition::references)
        .collect();
    // A calculation's reads of one value (not `sum(${x})` of a repeat).
    if let Some(c) = q.calculation.as_deref() {
        let one = crate::expr::parse(c)
            .map(|e| crate::expr::split_references(&e).1)
            .unwrap_or_default();
        out.extend(
            crate::expr::piped(c)
                .into_iter()
                .filter(|r| one.iter().any(|o| o == r)),
        );
    }
    for t in [&q.label].into_iter().chain(q.hint.as_ref()) {
        for text in t.0.values() {
            out.extend(crate::expr::piped(text));
        }
    }
    out.extend(q.choice_filter.iter().filter_map(|t| match &t.source {
        FilterSource::Question { question } => Some(question.as_str()),
        _ => None,
    }));
    out
}

/// Repeats: known, contiguous, named apart from questions; questions read
/// across a repeat's boundary only from inside it outwards.
fn check_repeats(
    def: &FormDef,
    index: &HashMap<String, usize>,
    p: &mut dyn FnMut(Option<&str>, String),
) {
    let mut seen: HashSet<&str> = HashSet::new();
    for r in &def.repeats {
        let n = Some(r.id.as_str());
        if !seen.insert(r.id.as_str()) {
            p(n, format!("duplicate repeat `{}`", r.id));
        }
        if index.contains_key(&r.id) {
            p(n, format!("repeat `{}` has the name of a question", r.id));
        }
        let positions: Vec<usize> = def
            .questions
            .iter()
            .enumerate()
            .filter(|(_, q)| q.repeat.as_deref() == Some(r.id.as_str()))
            .map(|(i, _)| i)
            .collect();
        match (positions.first(), positions.last()) {
            (None, _) | (_, None) => p(n, format!("repeat `{}` has no questions", r.id)),
            (Some(a), Some(b)) if b - a + 1 != positions.len() => p(
                n,
                format!("the questions of repeat `{}` must follow each other", r.id),
            ),
            (Some(&first), _) => {
                if let Some(c) = &r.repeat_count {
                    match repeat_count(c) {
                        None => p(
                            n,
                            format!("repeat_count `{c}` is neither a whole number nor `${{name}}`"),
                        ),
                        Some(RepeatCount::Fixed(k)) if k > MAX_INSTANCES => {
                            p(n, format!("repeat_count {k} is over {MAX_INSTANCES}"));
                        }
                        Some(RepeatCount::Question(q)) => match index.get(q) {
                            Some(&j)
                                if j < first
                                    && def.questions[j].repeat.is_none()
                                    && matches!(
                                        def.questions[j].kind,
                                        QuestionType::Integer | QuestionType::Calculate
                                    ) => {}
                            _ => p(
                                n,
                                format!(
                                    "repeat_count `{c}` must name an earlier integer or calculate question outside the repeat"
                                ),
                            ),
                        },
                        Some(RepeatCount::Fixed(_)) => {}
                    }
                }
            }
        }
    }
    for q in &def.questions {
        let n = Some(q.name.as_str());
        if let Some(r) = &q.repeat {
            if !seen.contains(r.as_str()) {
                p(n, format!("unknown repeat `{r}`"));
            }
            if matches!(q.kind, QuestionType::Metadata | QuestionType::Consent) {
                p(n, format!("a {:?} question cannot be in a repeat", q.kind));
            }
        }
        for read in reads(q) {
            let Some(target) = index.get(read).map(|&j| &def.questions[j]) else {
                continue;
            };
            if let Some(tr) = &target.repeat
                && q.repeat.as_ref() != Some(tr)
            {
                p(
                    n,
                    format!("reads `{read}`, a question of repeat `{tr}`, from outside it"),
                );
            }
        }
    }
}

/// Check that compared values fit the referenced question's type.
fn check_condition_values(
    cond: &Condition,
    questions: &[Question],
    index: &HashMap<String, usize>,
    report: &mut dyn FnMut(String),
) {
    match cond {
        Condition::Compare { q, value, op } => {
            let Some(&j) = index.get(q) else { return };
            let target = &questions[j];
            let ok = match target.kind {
                QuestionType::Integer | QuestionType::Nps | QuestionType::Rating => value.is_i64(),
                QuestionType::Decimal => value.as_f64().is_some_and(f64::is_finite),
                QuestionType::Consent | QuestionType::Acknowledge => {
                    value.is_boolean() && matches!(op, CompareOp::Eq | CompareOp::Ne)
                }
                QuestionType::SingleChoice => {
                    value.as_str().is_some_and(|v| {
                        target.has_option(v) || (target.choices_from.is_some() && is_list_code(v))
                    }) && matches!(op, CompareOp::Eq | CompareOp::Ne)
                }
                QuestionType::Text
                | QuestionType::Calculate
                | QuestionType::Metadata
                | QuestionType::Time
                | QuestionType::DateTime => value.is_string(),
                QuestionType::Date => {
                    value.is_string()
                        || today_offset(value).is_some_and(|d| d.abs() <= MAX_TODAY_OFFSET)
                }
                _ => false,
            };
            if !ok {
                report(format!("cannot compare `{q}` with {value} using {op:?}"));
            }
        }
        Condition::Length { length: q, .. } => {
            if let Some(&j) = index.get(q)
                && !matches!(
                    questions[j].kind,
                    QuestionType::Text | QuestionType::Calculate
                )
            {
                report(format!("string length of `{q}`, which is not text"));
            }
        }
        Condition::Regex { regex: q, .. } => {
            if let Some(&j) = index.get(q)
                && questions[j].kind != QuestionType::Text
            {
                report(format!("regex on `{q}`, which is not text"));
            }
        }
        Condition::CountSelected {
            count_selected: q, ..
        } => {
            if let Some(&j) = index.get(q)
                && questions[j].kind != QuestionType::MultiChoice
            {
                report(format!(
                    "count-selected of `{q}`, which is not a multi choice"
                ));
            }
        }
        Condition::Selected { selected, option } => {
            let Some(&j) = index.get(selected) else {
                return;
            };
            let t = &questions[j];
            if !(t.has_option(option) || t.choices_from.is_some() && is_list_code(option)) {
                report(format!("`{selected}` has no option `{option}`"));
            }
        }
        Condition::All { all: cs } | Condition::Any { any: cs } => {
            for c in cs {
                check_condition_values(c, questions, index, report);
            }
        }
        Condition::Not { not } => check_condition_values(not, questions, index, report),
        Condition::Answered { .. } | Condition::Expr { .. } => {}
    }
}
