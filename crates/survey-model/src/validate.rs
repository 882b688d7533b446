//! Skip logic and answer constraints, evaluated to diagnostics (data, not errors),
//! and the one cleaning of answers for the projection: an answer counts only
//! when it is valid for its question and the question is relevant.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::answer::{Answer, Answers, parse_date};
use crate::form::{CompareOp, Condition, FilterSource, Form, Question, QuestionType};

/// How serious a diagnostic is: errors block submission, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// Machine-readable reason, for the UI to translate. Serialised as
/// [`Code::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    Required,
    WrongType,
    OutOfRange,
    TooLong,
    Pattern,
    UnknownOption,
    TooFewSelected,
    TooManySelected,
    DateOutOfRange,
    /// Answered, but skip logic hides the question; the answer is ignored.
    NotRelevant,
    UnknownQuestion,
}

impl Code {
    pub const ALL: [Code; 11] = [
        Code::Required,
        Code::WrongType,
        Code::OutOfRange,
        Code::TooLong,
        Code::Pattern,
        Code::UnknownOption,
        Code::TooFewSelected,
        Code::TooManySelected,
        Code::DateOutOfRange,
        Code::NotRelevant,
        Code::UnknownQuestion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::Required => "required",
            Code::WrongType => "wrong_type",
            Code::OutOfRange => "out_of_range",
            Code::TooLong => "too_long",
            Code::Pattern => "pattern",
            Code::UnknownOption => "unknown_option",
            Code::TooFewSelected => "too_few_selected",
            Code::TooManySelected => "too_many_selected",
            Code::DateOutOfRange => "date_out_of_range",
            Code::NotRelevant => "not_relevant",
            Code::UnknownQuestion => "unknown_question",
        }
    }

    pub fn parse(s: &str) -> Option<Code> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An answer the projection leaves out, and why: written `question:code`, e.g.
/// `nps:out_of_range` or `complaint_categories:not_relevant`. The answer stays
/// in the interview document; only the projection (and so the dashboard,
/// exports and report) ignores it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct QualityFlag {
    pub question: String,
    pub code: Code,
}

impl std::fmt::Display for QualityFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.question, self.code.as_str())
    }
}

impl From<QualityFlag> for String {
    fn from(f: QualityFlag) -> String {
        f.to_string()
    }
}

impl TryFrom<String> for QualityFlag {
    type Error = String;
    fn try_from(s: String) -> Result<QualityFlag, String> {
        let (question, code) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("quality flag `{s}` is not question:code"))?;
        let code =
            Code::parse(code).ok_or_else(|| format!("unknown quality flag code `{code}`"))?;
        Ok(QualityFlag {
            question: question.to_owned(),
            code,
        })
    }
}

/// The answers that count, and a flag for each one left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cleaned {
    /// Valid answers of relevant questions.
    pub answers: Answers,
    /// Sorted; one per answer left out.
    pub flags: Vec<QualityFlag>,
}

/// One finding about an interview's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub question: String,
    pub code: Code,
    pub severity: Severity,
    pub message: String,
}

/// The outcome of evaluating a form against answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Names of questions currently shown, in form order.
    pub relevant: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Evaluation {
    /// True when nothing blocks submission.
    pub fn is_complete(&self) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

impl Form {
    /// Evaluate skip logic and constraints in form order. Answers of hidden
    /// questions, and invalid answers, are treated as absent by later
    /// conditions (ODK semantics: a value failing its constraint is never set).
    pub fn evaluate(&self, answers: &Answers) -> Evaluation {
        self.walk(answers).0
    }

    /// The answers that count for the projection, dashboards, exports and
    /// report: valid for their question and relevant under skip logic, where
    /// relevance is evaluated on the answers kept so far. Conditions refer only
    /// to earlier questions (checked when the form loads), so one pass in form
    /// order reaches the fixed point a form engine iterates to.
    pub fn clean(&self, answers: &Answers) -> Cleaned {
        self.walk(answers).1
    }

    /// The one walk behind [`Form::evaluate`] and [`Form::clean`].
    fn walk(&self, answers: &Answers) -> (Evaluation, Cleaned) {
        let mut eval = Evaluation::default();
        let mut kept = Cleaned::default();
        let flag = |q: &str, code| QualityFlag {
            question: q.to_owned(),
            code,
        };
        for q in self.questions() {
            let shown = q.relevant.as_ref().is_none_or(|c| holds(c, &kept.answers));
            let answer = answers.get(&q.name).filter(|a| a.is_present());
            if !shown {
                if answer.is_some() {
                    eval.diagnostics.push(diag(
                        q,
                        Code::NotRelevant,
                        Severity::Warning,
                        "answered but hidden by skip logic; the answer is ignored".into(),
                    ));
                    kept.flags.push(flag(&q.name, Code::NotRelevant));
                }
                continue;
            }
            eval.relevant.push(q.name.clone());
            match answer {
                None if q.required => eval.diagnostics.push(diag(
                    q,
                    Code::Required,
                    Severity::Error,
                    "an answer is required".into(),
                )),
                None => {}
                Some(a) => {
                    let before = eval.diagnostics.len();
                    self.check(q, a, &mut eval.diagnostics);
                    self.check_filter(q, a, &kept.answers, &mut eval.diagnostics);
                    match eval.diagnostics[before..]
                        .iter()
                        .find(|d| d.severity == Severity::Error)
                    {
                        Some(d) => kept.flags.push(flag(&q.name, d.code)),
                        None => {
                            kept.answers.insert(q.name.clone(), a.clone());
                        }
                    }
                }
            }
        }
        for name in answers.keys() {
            if self.question(name).is_none() {
                eval.diagnostics.push(Diagnostic {
                    question: name.clone(),
                    code: Code::UnknownQuestion,
                    severity: Severity::Warning,
                    message: format!("`{name}` is not a question of this form version"),
                });
                kept.flags.push(flag(name, Code::UnknownQuestion));
            }
        }
        kept.flags.sort();
        (eval, kept)
    }

    /// A choice must pass the question's choice filter where its sources are
    /// answers or fixed values. Metadata sources (`country`) are checked by the
    /// holder of the metadata (the app offers only matching options).
    fn check_filter(&self, q: &Question, a: &Answer, kept: &Answers, out: &mut Vec<Diagnostic>) {
        if q.choice_filter.is_empty() {
            return;
        }
        let source = |s: &FilterSource| match s {
            FilterSource::Question { question } => Some(kept.get(question).and_then(|a| match a {
                Answer::Choice(v) | Answer::Text(v) => Some(v.clone()),
                _ => None,
            })),
            FilterSource::Value { value } => Some(Some(value.clone())),
            FilterSource::Meta { .. } => None,
        };
        let values: Vec<&String> = match a {
            Answer::Choice(v) => vec![v],
            Answer::Choices(set) => set.iter().collect(),
            _ => return,
        };
        for v in values {
            let crate::form::OptionMatch::Listed(o) = self.find_option(q, v) else {
                continue;
            };
            let ok = Form::passes_filter(q, o, &source);
            if !ok {
                out.push(diag(
                    q,
                    Code::UnknownOption,
                    Severity::Error,
                    format!("`{v}` is not offered for the earlier answers"),
                ));
            }
        }
    }

    fn check(&self, q: &Question, a: &Answer, out: &mut Vec<Diagnostic>) {
        let mut err = |code, message: String| out.push(diag(q, code, Severity::Error, message));
        match (q.kind, a) {
            (QuestionType::Consent, Answer::Bool(_)) => {}
            (QuestionType::Integer | QuestionType::Nps | QuestionType::Rating, Answer::Int(i)) => {
                let (lo, hi) = q.numeric_range();
                if *i < lo || *i > hi {
                    err(Code::OutOfRange, format!("{i} is outside {lo}..{hi}"));
                }
            }
            (QuestionType::Text, Answer::Text(s)) => {
                let n = s.chars().count();
                if let Some(max) = q.max_length
                    && n > max
                {
                    err(Code::TooLong, format!("{n} characters, at most {max}"));
                }
                if let Some(re) = self.pattern(&q.name)
                    && !re.is_match(s)
                {
                    let msg = q.pattern_message.as_ref().map_or_else(
                        || "does not match the expected format".to_owned(),
                        |m| m.get("en", "en").to_owned(),
                    );
                    err(Code::Pattern, msg);
                }
            }
            (QuestionType::SingleChoice, Answer::Choice(c)) => {
                if !self.accepts_option(q, c) {
                    err(Code::UnknownOption, format!("`{c}` is not an option"));
                }
            }
            (QuestionType::MultiChoice, Answer::Choices(set)) => {
                for c in set.iter().filter(|c| !self.accepts_option(q, c)) {
                    err(Code::UnknownOption, format!("`{c}` is not an option"));
                }
                let n = set.len();
                if let Some(min) = q.min_selected
                    && n < min
                {
                    err(
                        Code::TooFewSelected,
                        format!("{n} selected, at least {min}"),
                    );
                }
                if let Some(max) = q.max_selected
                    && n > max
                {
                    err(
                        Code::TooManySelected,
                        format!("{n} selected, at most {max}"),
                    );
                }
            }
            (QuestionType::Date, Answer::Date(d)) => match parse_date(d) {
                None => err(Code::WrongType, format!("`{d}` is not a YYYY-MM-DD date")),
                Some(date) => {
                    let below = q
                        .min_date
                        .as_deref()
                        .and_then(parse_date)
                        .filter(|m| date < *m);
                    let above = q
                        .max_date
                        .as_deref()
                        .and_then(parse_date)
                        .filter(|m| date > *m);
                    if let Some(m) = below {
                        err(Code::DateOutOfRange, format!("{d} is before {m}"));
                    }
                    if let Some(m) = above {
                        err(Code::DateOutOfRange, format!("{d} is after {m}"));
                    }
                }
            },
            (QuestionType::Geopoint, Answer::Geo(p)) => {
                if !p.is_valid() {
                    err(Code::OutOfRange, "not a valid GPS point".into());
                }
            }
            (kind, other) => err(
                Code::WrongType,
                format!("a {kind:?} question cannot hold {}", other.to_json()),
            ),
        }
    }
}

fn diag(q: &Question, code: Code, severity: Severity, message: String) -> Diagnostic {
    Diagnostic {
        question: q.name.clone(),
        code,
        severity,
        message,
    }
}

/// Evaluate a condition against the answers seen so far.
pub fn holds(c: &Condition, answers: &Answers) -> bool {
    match c {
        Condition::Answered { answered } => answers.get(answered).is_some_and(Answer::is_present),
        Condition::Selected { selected, option } => match answers.get(selected) {
            Some(Answer::Choices(set)) => set.contains(option),
            Some(Answer::Choice(v)) => v == option,
            _ => false,
        },
        Condition::All { all } => all.iter().all(|c| holds(c, answers)),
        Condition::Any { any } => any.iter().any(|c| holds(c, answers)),
        Condition::Not { not } => !holds(not, answers),
        Condition::Compare { q, op, value } => {
            let Some(a) = answers.get(q) else {
                // An unanswered question only satisfies "not equal".
                return *op == CompareOp::Ne;
            };
            compare(a, *op, value)
        }
    }
}

fn compare(a: &Answer, op: CompareOp, v: &Json) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, v) {
        (Answer::Int(i), Json::Number(n)) => n.as_f64().and_then(|n| (*i as f64).partial_cmp(&n)),
        (Answer::Bool(b), Json::Bool(x)) => Some(b.cmp(x)),
        (Answer::Text(s) | Answer::Choice(s) | Answer::Date(s), Json::String(x)) => {
            Some(s.as_str().cmp(x.as_str()))
        }
        (Answer::Choices(set), Json::String(x)) => {
            let has = set.contains(x);
            return match op {
                CompareOp::Eq => has,
                CompareOp::Ne => !has,
                _ => false,
            };
        }
        _ => None,
    };
    let Some(ord) = ord else {
        return op == CompareOp::Ne;
    };
    match op {
        CompareOp::Eq => ord.is_eq(),
        CompareOp::Ne => ord.is_ne(),
        CompareOp::Lt => ord.is_lt(),
        CompareOp::Le => ord.is_le(),
        CompareOp::Gt => ord.is_gt(),
        CompareOp::Ge => ord.is_ge(),
    }
}
