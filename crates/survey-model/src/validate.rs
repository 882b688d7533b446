//! Skip logic and answer constraints, evaluated to diagnostics (data, not errors),
//! and the one cleaning of answers for the projection: an answer counts only
//! when it is valid for its question and the question is relevant.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::answer::{Answer, Answers, parse_date};
use crate::form::{CompareOp, Condition, FilterSource, Form, Question, QuestionType, today_offset};

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
    /// The question's `constraint` does not hold for the answer.
    Constraint,
}

impl Code {
    pub const ALL: [Code; 12] = [
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
        Code::Constraint,
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
            Code::Constraint => "constraint",
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

/// What [`Form::walk_with`] calls for a shown calculation: the question, the
/// answers kept so far and its stored value; returns the value to use.
type Compute<'a> = &'a mut dyn FnMut(&Question, &Answers, Option<&Answer>) -> Option<Answer>;

/// One finding about an interview's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub question: String,
    /// The instance (0-based) of the question's repeat it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<usize>,
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
        self.walk(answers, today()).0
    }

    /// [`Form::evaluate`] with `today()` (in conditions) fixed to `today`.
    pub fn evaluate_on(&self, answers: &Answers, today: time::Date) -> Evaluation {
        self.walk(answers, today).0
    }

    /// [`Form::clean`] with `today()` (in conditions) fixed to `today`.
    pub fn clean_on(&self, answers: &Answers, today: time::Date) -> Cleaned {
        self.walk(answers, today).1
    }

    /// The answers that count for the projection, dashboards, exports and
    /// report: valid for their question and relevant under skip logic, where
    /// relevance is evaluated on the answers kept so far. Conditions refer only
    /// to earlier questions (checked when the form loads), so one pass in form
    /// order reaches the fixed point a form engine iterates to.
    ///
    /// Conditions comparing a date with `{"today": n}` read the current UTC
    /// date, so a projection made later may judge such an answer differently;
    /// [`Form::clean_on`] fixes the day.
    pub fn clean(&self, answers: &Answers) -> Cleaned {
        self.walk(answers, today()).1
    }

    /// The questions shown to an interview whose projected answers (as JSON,
    /// like [`crate::InterviewRecord::answers`]) are `answers`, in form order:
    /// every other question of the form was not asked (hidden by skip logic).
    /// Exports use it to tell "not asked" from "asked, no answer". Projected
    /// answers are already valid, so this walks skip logic only (no answer
    /// checks): per row of a million-row export, that is what it can afford.
    pub fn asked_json(
        &self,
        answers: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Vec<String> {
        let today = today();
        let mut kept = Answers::new();
        let mut asked = Vec::new();
        for q in self.top_questions() {
            let shown = q
                .relevant
                .as_ref()
                .is_none_or(|c| self.holds_on(c, &kept, today));
            if !shown {
                continue;
            }
            asked.push(q.name.clone());
            if let Some(v) = answers.get(&q.name)
                && let Ok(Some(a)) = Answer::from_json(q, v)
            {
                kept.insert(q.name.clone(), a);
            }
        }
        asked
    }

    /// The one walk behind [`Form::evaluate`] and [`Form::clean`].
    fn walk(&self, answers: &Answers, today: time::Date) -> (Evaluation, Cleaned) {
        let (eval, mut kept) = self.walk_in(None, answers, &Answers::new(), today);
        for name in answers.keys() {
            if self.question(name).is_none_or(|q| q.repeat.is_some()) {
                kept.flags.push(QualityFlag {
                    question: name.clone(),
                    code: Code::UnknownQuestion,
                });
            }
        }
        kept.flags.sort();
        let mut eval = eval;
        for name in answers.keys() {
            if self.question(name).is_none_or(|q| q.repeat.is_some()) {
                eval.diagnostics.push(Diagnostic {
                    question: name.clone(),
                    instance: None,
                    code: Code::UnknownQuestion,
                    severity: Severity::Warning,
                    message: format!("`{name}` is not a question of this form version"),
                });
            }
        }
        (eval, kept)
    }

    /// Evaluate the top-level questions (`instance` `None`) or one instance
    /// of a repeat (`Some((repeat, i))`, whose conditions also read `base`,
    /// the top-level answers that count) in form order.
    fn walk_in(
        &self,
        instance: Option<(&str, usize)>,
        answers: &Answers,
        base: &Answers,
        today: time::Date,
    ) -> (Evaluation, Cleaned) {
        self.walk_with(instance, answers, base, today, None)
    }

    /// [`Form::walk_in`], where `compute` (if any) gives the value of every
    /// shown question with a calculation from the answers kept so far and
    /// its stored value, in place of the stored one.
    fn walk_with(
        &self,
        instance: Option<(&str, usize)>,
        answers: &Answers,
        base: &Answers,
        today: time::Date,
        mut compute: Option<Compute<'_>>,
    ) -> (Evaluation, Cleaned) {
        let mut eval = Evaluation::default();
        let mut kept = Cleaned {
            answers: base.clone(),
            flags: Vec::new(),
        };
        let repeat = instance.map(|(r, _)| r);
        let index = instance.map(|(_, i)| i);
        let flag = |q: &str, code| QualityFlag {
            question: match instance {
                Some((r, i)) => format!("{r}[{i}].{q}"),
                None => q.to_owned(),
            },
            code,
        };
        let diag = |q: &Question, code, severity, message| Diagnostic {
            instance: index,
            ..diag(q, code, severity, message)
        };
        for q in self
            .questions()
            .iter()
            .filter(|q| q.repeat.as_deref() == repeat)
        {
            let shown = q
                .relevant
                .as_ref()
                .is_none_or(|c| self.holds_on(c, &kept.answers, today));
            let computed;
            let answer = match (&mut compute, &q.calculation) {
                (Some(f), Some(_)) if shown => {
                    computed = f(q, &kept.answers, answers.get(&q.name));
                    computed.as_ref()
                }
                _ => answers.get(&q.name),
            }
            .filter(|a| a.is_present());
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
                    let valid_so_far = !eval.diagnostics[before..]
                        .iter()
                        .any(|d| d.severity == Severity::Error);
                    if let Some(c) = &q.constraint
                        && valid_so_far
                    {
                        let mut with_self = kept.answers.clone();
                        with_self.insert(q.name.clone(), a.clone());
                        if !self.holds_on(c, &with_self, today) {
                            let msg = q.constraint_message.as_ref().map_or_else(
                                || "the answer does not satisfy the question's rule".to_owned(),
                                |m| m.get("en", "en").to_owned(),
                            );
                            eval.diagnostics
                                .push(diag(q, Code::Constraint, Severity::Error, msg));
                        }
                    }
                    for d in &mut eval.diagnostics[before..] {
                        d.instance = index;
                    }
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
        if instance.is_some() {
            kept.answers.retain(|k, _| {
                self.question(k)
                    .is_some_and(|q| q.repeat.as_deref() == repeat)
            });
        }
        (eval, kept)
    }

    /// [`Form::evaluate_on`] with every repeat instance evaluated too: each
    /// instance's conditions read its own earlier answers and the top-level
    /// answers that count; an instance's diagnostics carry its index.
    pub fn evaluate_all_on(
        &self,
        answers: &Answers,
        repeats: &crate::interview::RepeatAnswers,
        today: time::Date,
    ) -> Evaluation {
        let (mut eval, kept) = self.walk(answers, today);
        for (r, instances) in repeats {
            for (i, inst) in instances.iter().enumerate() {
                let (e, _) = self.walk_in(Some((r, i)), inst, &kept.answers, today);
                eval.diagnostics.extend(e.diagnostics);
            }
        }
        eval
    }

    /// Evaluate instance `i` of `repeat` (answers `answers`), its conditions
    /// reading `base` too (the top-level answers that count).
    pub fn evaluate_instance_on(
        &self,
        repeat: &str,
        i: usize,
        answers: &Answers,
        base: &Answers,
        today: time::Date,
    ) -> Evaluation {
        self.walk_in(Some((repeat, i)), answers, base, today).0
    }

    /// [`Form::clean_on`] for every repeat instance: the answers that count
    /// in each, and flags named `repeat[i].question`.
    pub fn clean_instances_on(
        &self,
        kept_top: &Answers,
        repeats: &crate::interview::RepeatAnswers,
        today: time::Date,
    ) -> (crate::interview::RepeatAnswers, Vec<QualityFlag>) {
        let mut out = crate::interview::RepeatAnswers::new();
        let mut flags = Vec::new();
        for (r, instances) in repeats {
            let kept = instances
                .iter()
                .enumerate()
                .map(|(i, inst)| {
                    let (_, c) = self.walk_in(Some((r, i)), inst, kept_top, today);
                    flags.extend(c.flags);
                    c.answers
                })
                .collect();
            out.insert(r.clone(), kept);
        }
        (out, flags)
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
            (QuestionType::Consent, Answer::Bool(_))
            | (QuestionType::Acknowledge, Answer::Bool(true))
            | (QuestionType::Calculate | QuestionType::Metadata, Answer::Text(_)) => {}
            (QuestionType::Time, Answer::Text(t)) => {
                if crate::answer::parse_time(t).is_none() {
                    err(Code::WrongType, format!("`{t}` is not a HH:MM time"));
                }
            }
            (QuestionType::DateTime, Answer::Text(t)) => {
                if crate::answer::parse_datetime(t).is_none() {
                    err(
                        Code::WrongType,
                        format!("`{t}` is not an RFC 3339 date and time"),
                    );
                }
            }
            (QuestionType::Decimal, Answer::Decimal(f)) => {
                if !f.is_finite() {
                    err(Code::WrongType, "not a finite number".into());
                }
            }
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
        instance: None,
        code,
        severity,
        message,
    }
}

/// The current UTC date, what `{"today": 0}` means in [`Form::evaluate`] and [`Form::clean`].
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

impl Form {
    /// Evaluate a condition against the answers seen so far, `today` being the
    /// date `{"today": n}` values count from.
    pub fn holds_on(&self, c: &Condition, answers: &Answers, today: time::Date) -> bool {
        match c {
            Condition::Answered { answered } => {
                answers.get(answered).is_some_and(Answer::is_present)
            }
            Condition::Selected { selected, option } => match answers.get(selected) {
                Some(Answer::Choices(set)) => set.contains(option),
                Some(Answer::Choice(v)) => v == option,
                _ => false,
            },
            Condition::All { all } => all.iter().all(|c| self.holds_on(c, answers, today)),
            Condition::Any { any } => any.iter().any(|c| self.holds_on(c, answers, today)),
            Condition::Not { not } => !self.holds_on(not, answers, today),
            Condition::Compare { q, op, value } => {
                let Some(a) = answers.get(q) else {
                    // An unanswered question only satisfies "not equal".
                    return *op == CompareOp::Ne;
                };
                match today_offset(value) {
                    Some(days) => {
                        let day = today.checked_add(time::Duration::days(days));
                        let text = day.map(|d| {
                            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
                        });
                        match text {
                            Some(t) => compare(a, *op, &Json::String(t)),
                            None => false,
                        }
                    }
                    None => compare(a, *op, value),
                }
            }
            Condition::Length { length, op, value } => {
                let n = match answers.get(length) {
                    Some(Answer::Text(s)) => s.chars().count(),
                    _ => 0,
                };
                compare(&Answer::Int(n as i64), *op, &Json::from(*value))
            }
            Condition::CountSelected {
                count_selected,
                op,
                value,
            } => {
                let n = match answers.get(count_selected) {
                    Some(Answer::Choices(set)) => set.len(),
                    _ => 0,
                };
                compare(&Answer::Int(n as i64), *op, &Json::from(*value))
            }
            Condition::Regex { regex, pattern } => match answers.get(regex) {
                Some(Answer::Text(s)) => self
                    .condition_regex(pattern)
                    .is_some_and(|re| re.is_match(s)),
                _ => false,
            },
            Condition::Expr { expr } => self.expression(expr).is_some_and(|e| {
                let now = crate::interview::now().0;
                self.eval_with(e, answers, None, today, &now, None)
                    .boolean()
            }),
        }
    }

    /// Evaluate a parsed expression over `answers`; `current` is what `.` and
    /// `once()` read.
    /// `repeats` (the instances' answers that count) are what `count()`,
    /// `sum()`… over a repeat read.
    fn eval_with(
        &self,
        e: &crate::expr::Expr,
        answers: &Answers,
        current: Option<String>,
        today: time::Date,
        now: &str,
        repeats: Option<&crate::interview::RepeatAnswers>,
    ) -> crate::expr::Value {
        let value = |n: &str| answers.get(n).map(crate::expr::answer_string);
        let regex = |p: &str, s: &str| self.condition_regex(p).is_some_and(|re| re.is_match(s));
        let instances = |n: &str| -> Option<Vec<Option<String>>> {
            let repeats = repeats?;
            if let Some(all) = repeats.get(n) {
                return Some(vec![None; all.len()]);
            }
            let r = self.question(n)?.repeat.as_ref()?;
            Some(
                repeats
                    .get(r)?
                    .iter()
                    .map(|inst| inst.get(n).map(crate::expr::answer_string))
                    .collect(),
            )
        };
        let env = crate::expr::Env {
            value: &value,
            current,
            today,
            now,
            regex: &regex,
            instances: &instances,
        };
        crate::expr::eval(e, &env)
    }

    /// The values of the `calculate` questions for `answers`, in form order,
    /// each computed from the answers that count ([`Form::clean_on`]: valid
    /// and relevant) with the calculations before it; a calculation that is
    /// not relevant, or computes `""` or a number that is not finite (NaN
    /// from an unanswered input, a division by zero), has no value. Returns only the
    /// questions whose value differs from `answers` (`None`: clear it).
    pub fn calculations_on(
        &self,
        answers: &Answers,
        today: time::Date,
        now: &str,
    ) -> Vec<(String, Option<Answer>)> {
        self.calculations_with(answers, &Default::default(), today, now)
    }

    /// [`Form::calculations_on`] where `count()`, `sum()`, `max()`, `min()`
    /// and `join()` of a repeat read `repeats` (its instances' answers that
    /// count, [`Form::clean_instances_on`]).
    pub fn calculations_with(
        &self,
        answers: &Answers,
        repeats: &crate::interview::RepeatAnswers,
        today: time::Date,
        now: &str,
    ) -> Vec<(String, Option<Answer>)> {
        if !self.has_calculations() {
            return Vec::new();
        }
        self.calculations_in(None, answers, &Answers::new(), today, now, Some(repeats))
    }

    /// [`Form::calculations_on`] for instance `i` of `repeat`, whose
    /// calculations also read `base` (the top-level answers that count).
    pub fn instance_calculations_on(
        &self,
        repeat: &str,
        i: usize,
        answers: &Answers,
        base: &Answers,
        today: time::Date,
        now: &str,
    ) -> Vec<(String, Option<Answer>)> {
        self.calculations_in(Some((repeat, i)), answers, base, today, now, None)
    }

    fn calculations_in(
        &self,
        instance: Option<(&str, usize)>,
        answers: &Answers,
        base: &Answers,
        today: time::Date,
        now: &str,
        repeats: Option<&crate::interview::RepeatAnswers>,
    ) -> Vec<(String, Option<Answer>)> {
        // One walk in form order: each shown calculation computed from the
        // answers kept so far (earlier calculations included).
        let mut out = Vec::new();
        let mut computed: std::collections::HashSet<String> = Default::default();
        let mut hook = |q: &Question, kept: &Answers, cur: Option<&Answer>| -> Option<Answer> {
            computed.insert(q.name.clone());
            let e = self.expression(q.calculation.as_deref()?)?;
            let mine = cur.map(crate::expr::answer_string);
            let value = match self.eval_with(e, kept, mine, today, now, repeats) {
                // NaN (arithmetic on an unanswered question) and division
                // by zero are no value, not "NaN" text.
                crate::expr::Value::Num(n) if !n.is_finite() => String::new(),
                v => v.string(),
            };
            let value = Some(value).filter(|v| !v.is_empty()).map(Answer::Text);
            if cur != value.as_ref() {
                out.push((q.name.clone(), value.clone()));
            }
            value
        };
        self.walk_with(instance, answers, base, today, Some(&mut hook));
        // Calculations not shown have no value.
        let repeat = instance.map(|(r, _)| r);
        for q in self
            .questions()
            .iter()
            .filter(|q| q.repeat.as_deref() == repeat && q.calculation.is_some())
        {
            if !computed.contains(&q.name) && answers.contains_key(&q.name) {
                out.push((q.name.clone(), None));
            }
        }
        out
    }
}

fn compare(a: &Answer, op: CompareOp, v: &Json) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, v) {
        (Answer::Int(i), Json::Number(n)) => match n.as_i64() {
            Some(n) => Some(i.cmp(&n)),
            None => n.as_f64().and_then(|n| (*i as f64).partial_cmp(&n)),
        },
        (Answer::Decimal(f), Json::Number(n)) => n.as_f64().and_then(|n| f.partial_cmp(&n)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn asked_questions_are_the_relevant_ones_of_a_full_evaluation() {
        let form = crate::mcmb_form().expect("mcmb");
        for overrides in [
            vec![],
            vec![("has_complaint", json!("no"))],
            vec![("consent", json!(false))],
            vec![("nps", json!(10))],
        ] {
            let json: std::collections::BTreeMap<String, Json> =
                crate::sample::with(crate::sample::complete(3), &overrides)
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect();
            // The record's answers: what counts after cleaning.
            let typed: Answers = form
                .questions()
                .iter()
                .filter_map(|q| {
                    let a = Answer::from_json(q, json.get(&q.name)?).ok()??;
                    Some((q.name.clone(), a))
                })
                .collect();
            let clean = form.clean(&typed);
            let projected: std::collections::BTreeMap<String, Json> = clean
                .answers
                .iter()
                .map(|(k, a)| (k.clone(), a.to_json()))
                .collect();
            assert_eq!(
                form.asked_json(&projected),
                form.evaluate(&clean.answers).relevant,
                "{overrides:?}"
            );
        }
    }

    fn form() -> Form {
        let def = json!({
            "form_id": "t", "version": 1, "title": {"en": "T"},
            "languages": ["en", "fr"], "default_language": "en",
            "questions": [
                {"name": "weight", "type": "decimal", "label": {"en": "Weight"},
                 "constraint": {"all": [{"q": "weight", "op": "ge", "value": 0.5},
                                         {"q": "weight", "op": "le", "value": 300}]},
                 "constraint_message": {"en": "0.5 to 300", "fr": "0,5 à 300"}},
                {"name": "seen", "type": "date", "label": {"en": "Seen"},
                 "constraint": {"q": "seen", "op": "le", "value": {"today": 0}}},
                {"name": "code", "type": "text", "label": {"en": "Code"},
                 "constraint": {"all": [{"regex": "code", "pattern": "^[A-Z]{2}$"},
                                         {"length": "code", "op": "eq", "value": 2}]}},
                {"name": "many", "type": "multi_choice", "label": {"en": "Many"},
                 "options": [{"value": "a", "label": {"en": "A"}}, {"value": "b", "label": {"en": "B"}}],
                 "constraint": {"count_selected": "many", "op": "ge", "value": 2}},
                {"name": "ok", "type": "acknowledge", "label": {"en": "OK?"}, "default": true}
            ]
        });
        Form::new(serde_json::from_value(def).expect("def")).expect("valid")
    }

    fn codes(f: &Form, a: &Answers, today: time::Date) -> Vec<(String, Code)> {
        f.evaluate_on(a, today)
            .diagnostics
            .into_iter()
            .map(|d| (d.question, d.code))
            .collect()
    }

    #[test]
    fn constraints_decimal_today_regex_length_count() {
        let f = form();
        let day = time::macros::date!(2026 - 03 - 10);
        let mut a = Answers::new();
        a.insert("weight".into(), Answer::Decimal(72.5));
        a.insert("seen".into(), Answer::Date("2026-03-10".into()));
        a.insert("code".into(), Answer::Text("CI".into()));
        a.insert(
            "many".into(),
            Answer::Choices(["a".into(), "b".into()].into()),
        );
        a.insert("ok".into(), Answer::Bool(true));
        assert_eq!(codes(&f, &a, day), vec![]);
        a.insert("weight".into(), Answer::Decimal(0.4));
        a.insert("seen".into(), Answer::Date("2026-03-11".into()));
        a.insert("code".into(), Answer::Text("CIV".into()));
        a.insert("many".into(), Answer::Choices(["a".into()].into()));
        a.insert("ok".into(), Answer::Bool(false));
        let got = codes(&f, &a, day);
        for q in ["weight", "seen", "code", "many"] {
            assert!(got.contains(&(q.into(), Code::Constraint)), "{q}: {got:?}");
        }
        assert!(got.contains(&("ok".into(), Code::WrongType)), "{got:?}");
        let d = f.evaluate_on(&a, day);
        let w = d.diagnostics.iter().find(|d| d.question == "weight");
        assert_eq!(w.map(|d| d.message.as_str()), Some("0.5 to 300"));
        // A constraint failure leaves the answer out of the projection.
        let cleaned = f.clean_on(&a, day);
        assert!(!cleaned.answers.contains_key("weight"));
        assert_eq!(Code::parse("constraint"), Some(Code::Constraint));
    }

    #[test]
    fn load_refuses_bad_default_later_reference_and_appearance() {
        let def = json!({
            "form_id": "t", "version": 1, "title": {"en": "T"},
            "languages": ["en"], "default_language": "en",
            "questions": [
                {"name": "a", "type": "integer", "label": {"en": "A"}, "default": "x",
                 "constraint": {"q": "b", "op": "eq", "value": 1}},
                {"name": "b", "type": "text", "label": {"en": "B"}, "appearance": "likert",
                 "constraint": {"regex": "b", "pattern": "("}}
            ]
        });
        let Err(crate::FormError::Invalid(problems)) =
            Form::new(serde_json::from_value(def).expect("def"))
        else {
            panic!("should be refused");
        };
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let has = |s: &str| text.iter().any(|t| t.contains(s));
        assert!(has("default"), "{text:?}");
        assert!(has("`b`, which comes later"), "{text:?}");
        assert!(has("appearance `likert`"), "{text:?}");
        assert!(has("regex `(`"), "{text:?}");
    }
}
