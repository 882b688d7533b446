//! The column plan: stable column names and types derived from the forms, the
//! PII policy applied to them, the consent rule, and the conversion of one
//! [`InterviewRecord`] into a row of typed [`Cell`]s.

use std::collections::HashSet;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value as Json;
use sha2::Sha256;
use survey_model::scrub::Scrubber;
use survey_model::{Form, InterviewRecord, QuestionType};

/// The type of a column, as written to typed formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColType {
    /// UTF-8 text.
    String,
    /// 64-bit integer.
    Integer,
    /// true/false (1/0 in CSV).
    Boolean,
    /// 64-bit float.
    Float,
    /// Calendar date `YYYY-MM-DD` (Date32 in Parquet).
    Date,
    /// An instant in UTC: RFC 3339 text (`2026-11-30T09:00:00Z`) in CSV and
    /// JSON, a date-time in XLSX, `timestamp[us, tz=UTC]` in Parquet.
    Timestamp,
}

impl ColType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColType::String => "string",
            ColType::Integer => "integer",
            ColType::Boolean => "boolean",
            ColType::Float => "float",
            ColType::Date => "date",
            ColType::Timestamp => "timestamp",
        }
    }
}

/// The key (metadata) fields every export starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyField {
    InterviewId,
    Country,
    Campaign,
    FormId,
    FormVersion,
    CreatedBy,
    DeviceId,
    CreatedAt,
    Status,
    SubmittedAt,
    ReviewState,
    ReviewedBy,
    ReviewedAt,
    Tags,
    CommentCount,
    QualityFlags,
    Checks,
    DurationS,
    Edits,
    ClockSkewS,
    NotAsked,
}

const KEY_COLUMNS: [(KeyField, &str, ColType, &str); 21] = [
    (
        KeyField::InterviewId,
        "interview_id",
        ColType::String,
        "Interview id (UUIDv7)",
    ),
    (
        KeyField::Country,
        "country",
        ColType::String,
        "Country (ISO 3166 alpha-2)",
    ),
    (KeyField::Campaign, "campaign", ColType::String, "Campaign"),
    (KeyField::FormId, "form_id", ColType::String, "Form id"),
    (
        KeyField::FormVersion,
        "form_version",
        ColType::Integer,
        "Form version",
    ),
    (
        KeyField::CreatedBy,
        "created_by",
        ColType::String,
        "Interviewer: pseudonymous user id (a keyed pseudonym when PII is pseudonymised; \
         the login is in interviewer_login, exported with PII only)",
    ),
    (
        KeyField::DeviceId,
        "device_id",
        ColType::String,
        "Device id",
    ),
    (
        KeyField::CreatedAt,
        "created_at",
        ColType::Timestamp,
        "Started at (UTC, device clock)",
    ),
    (
        KeyField::Status,
        "status",
        ColType::String,
        "Status (draft, submitted)",
    ),
    (
        KeyField::SubmittedAt,
        "submitted_at",
        ColType::Timestamp,
        "Submitted at (UTC, device clock)",
    ),
    (
        KeyField::ReviewState,
        "review_state",
        ColType::String,
        "Review state (empty: not reviewed yet)",
    ),
    (
        KeyField::ReviewedBy,
        "reviewed_by",
        ColType::String,
        "Who set the review state last: pseudonymous user id, as created_by",
    ),
    (
        KeyField::ReviewedAt,
        "reviewed_at",
        ColType::Timestamp,
        "When the review state was last set (UTC, server clock)",
    ),
    (
        KeyField::Tags,
        "tags",
        ColType::String,
        "Tags (semicolon-separated)",
    ),
    (
        KeyField::CommentCount,
        "comment_count",
        ColType::Integer,
        "Number of review comments",
    ),
    (
        KeyField::QualityFlags,
        "quality_flags",
        ColType::String,
        "Answers left out of this row, as question:reason (semicolon-separated): \
         not_relevant = hidden by skip logic, out_of_range, unknown_option, wrong_type, ... = \
         invalid for the form. They stay in the interview document.",
    ),
    (
        KeyField::Checks,
        "checks",
        ColType::String,
        "Quality checks that fire (semicolon-separated): too_fast, many_edits, \
         close_together, far_from_place, duplicate_phone, straight_lined, short_verbatim, \
         clock_skew. A prompt to look, not a verdict; rules in ARCHITECTURE.md.",
    ),
    (
        KeyField::DurationS,
        "duration_s",
        ColType::Integer,
        "Seconds from the first answer to the submit (device clock)",
    ),
    (
        KeyField::Edits,
        "edits",
        ColType::Integer,
        "Answers changed again after moving on to another question",
    ),
    (
        KeyField::ClockSkewS,
        "clock_skew_s",
        ColType::Integer,
        "Device clock minus server clock at sync, seconds (empty: not reported)",
    ),
    (
        KeyField::NotAsked,
        "not_asked",
        ColType::String,
        "Questions this interview was not asked (semicolon-separated): hidden by skip logic, \
         or not in its form version. An empty answer column is 'not asked' when its question \
         is listed here, 'asked, no answer' otherwise.",
    ),
];

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Key(KeyField),
    /// The answer to a question, as its natural type.
    Answer(String),
    /// A free-text answer: scrubbed of personal data (`survey_model::scrub`)
    /// unless PII is included.
    FreeText(String),
    /// 1 when `option` is selected in multi-choice `question`.
    Flag {
        question: String,
        option: String,
    },
    Lat(String),
    Lon(String),
    Accuracy(String),
    /// A keyed pseudonym of a PII answer.
    Pseudonym(String),
    /// A field (`name`, `region`, `kind`, `setting`) of the place whose code
    /// answers `question` (a `choices_from: places` question).
    Place {
        question: String,
        field: PlaceField,
    },
    /// The login of the user `created_by` or `reviewed_by` names (PII).
    Login(KeyField),
    /// Whether the interview carries review tag `0`.
    Tag(String),
    /// The review comments (role, time and text; scrubbed unless PII is included).
    Comments,
    /// The label, in the export language, of the code answering a choice question.
    Label(String),
    /// The country's name in the export language.
    CountryName,
    /// The instance's number within its interview (1, 2, …), in a repeat table.
    Instance,
}

/// How coded values (choice answers, country codes) are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Labels {
    /// Codes only (the default).
    #[default]
    Codes,
    /// Codes, each followed by a `<column>_label` column in the export language.
    Columns,
    /// The label in the export language instead of the code.
    Values,
}

impl Labels {
    pub fn parse(s: &str) -> Result<Labels, crate::ExportError> {
        match s.to_ascii_lowercase().as_str() {
            "" | "codes" | "off" | "none" | "false" => Ok(Labels::Codes),
            "columns" | "true" | "on" => Ok(Labels::Columns),
            "values" => Ok(Labels::Values),
            other => Err(crate::ExportError::Invalid(format!(
                "labels must be codes, columns or values (got `{other}`)"
            ))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Labels::Codes => "codes",
            Labels::Columns => "columns",
            Labels::Values => "values",
        }
    }
}

/// What a plan adds beyond the forms' questions.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub labels: Labels,
    /// Add the review comments' text.
    pub comments: bool,
    /// Review tags, one boolean column each (`tag__<tag>`, characters other
    /// than ASCII letters and digits as `_`), sorted.
    pub tags: Vec<String>,
    /// Logins by user id, for the login columns (PII included only).
    pub logins: std::collections::HashMap<String, String>,
}

/// The place fields an export adds beside a place code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceField {
    Name,
    Region,
    Kind,
    Setting,
}

impl PlaceField {
    const ALL: [(PlaceField, &'static str, &'static str); 4] = [
        (PlaceField::Name, "name", "name"),
        (PlaceField::Region, "region", "region or province"),
        (PlaceField::Kind, "kind", "city, village or district"),
        (PlaceField::Setting, "setting", "urban, peri_urban or rural"),
    ];

    fn of(self, p: &survey_model::Place) -> &str {
        match self {
            PlaceField::Name => &p.name,
            PlaceField::Region => &p.region,
            PlaceField::Kind => &p.kind,
            PlaceField::Setting => &p.setting,
        }
    }
}

/// One column of an export.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColType,
    /// The question the column comes from (absent for key columns).
    pub question: Option<String>,
    /// Label in the export language.
    pub label: String,
    /// The question's short label in the export language (for charts and
    /// pivot tables; the label when the form gives none).
    pub short_label: String,
    /// Options of a choice question as (value, label in the export language).
    pub options: Vec<(String, String)>,
    /// What the column holds beyond its type (e.g. "pseudonym").
    pub note: String,
    /// The form versions (`form@version`, sorted) in which the column exists.
    pub versions: Vec<String>,
    #[serde(skip)]
    pub source: Source,
}

/// A keyed-pseudonym secret (HMAC-SHA256 key). Its `Debug` never shows the key.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

impl PseudonymKey {
    /// Minimum key length in bytes.
    pub const MIN_LEN: usize = 16;

    /// A key of at least [`Self::MIN_LEN`] bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<PseudonymKey, crate::ExportError> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(crate::ExportError::Invalid(format!(
                "pseudonym key must be at least {} bytes (got {})",
                Self::MIN_LEN,
                bytes.len()
            )));
        }
        Ok(PseudonymKey(bytes))
    }

    /// The pseudonym of a value: `p_` + 32 hex digits of HMAC-SHA256(key, value).
    /// Stable for the same key and (trimmed) value; not reversible without the key.
    pub fn pseudonym(&self, value: &str) -> String {
        // new_from_slice accepts any key length for HMAC.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(value.trim().as_bytes());
        let out = mac.finalize().into_bytes();
        format!("p_{}", hex::encode(&out[..16]))
    }
}

/// What happens to questions marked `"pii": true`.
#[derive(Debug, Clone, Default)]
pub enum PiiPolicy {
    /// Left out (the default).
    #[default]
    Omit,
    /// Replaced by a keyed pseudonym in a `<question>_pseudonym` column.
    Pseudonymize(PseudonymKey),
    /// Raw values (admins only; callers must audit it).
    Include,
}

impl PiiPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            PiiPolicy::Omit => "omit",
            PiiPolicy::Pseudonymize(_) => "pseudonymize",
            PiiPolicy::Include => "include",
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Str(String),
    Int(i64),
    Bool(bool),
    Float(f64),
    /// `YYYY-MM-DD`, already checked.
    Date(time::Date),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(i64),
}

/// Microseconds since the Unix epoch of an RFC 3339 time, if it is one.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

/// RFC 3339 text in UTC (`2026-11-30T09:00:00Z`) of a timestamp cell.
pub fn timestamp_text(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The columns of an export, derived from the forms.
#[derive(Debug, Clone)]
pub struct Plan {
    pub columns: Vec<Column>,
    /// Every form version the plan was built from (`form@version`, sorted).
    pub versions: Vec<String>,
    /// The place list, by code, for the [`Source::Place`] columns.
    places: std::collections::HashMap<String, survey_model::Place>,
    pii: PiiPolicy,
    /// The PII questions, whose answers name what the free text must not.
    pii_questions: Vec<String>,
    /// Index of the latitude/longitude columns of the first geopoint question.
    pub geo: Option<(usize, usize)>,
    pub options: PlanOptions,
    /// The plan's forms by `form@version`, for `not_asked`, each with which
    /// columns exist in that version (a question or option it has).
    forms: std::collections::HashMap<String, (Form, Vec<bool>)>,
    /// The questions with a column, in plan order, once each.
    questions: Vec<String>,
    /// The export language.
    lang: String,
    /// The repeat whose instances this plan's rows are (`None`: the interviews).
    pub repeat: Option<String>,
    /// The interviews' plan only: one plan per repeat of the forms, its rows
    /// one per instance, keyed by `interview_id` and `instance`.
    pub repeats: Vec<Plan>,
}

impl Plan {
    /// Build the plan from `forms`, every published version of each form: one
    /// column per question of the union of versions (the newest version's
    /// questions first in its order, then questions only older versions have),
    /// typed and labelled by the newest version that has the question. Choice
    /// options are the union too (newest order, then options only older
    /// versions offered), so an interview of any version keeps every answer.
    /// Each column lists the versions (`form@version`) it exists in. A
    /// question name seen in two forms keeps the first form's definition.
    pub fn new(forms: &[&Form], pii: &PiiPolicy, lang: &str) -> Plan {
        Plan::build(forms, pii, lang, PlanOptions::default())
    }

    /// [`Plan::new`] with labels, login, tag and comment columns as `options` asks.
    pub fn build(forms: &[&Form], pii: &PiiPolicy, lang: &str, plan_opts: PlanOptions) -> Plan {
        let mut plan = Plan::build_for(forms, pii, lang, plan_opts.clone(), None);
        let mut sorted: Vec<&Form> = forms.to_vec();
        sorted.sort_by(|a, b| a.id().cmp(b.id()).then(b.version().cmp(&a.version())));
        let mut ids: Vec<&str> = Vec::new();
        for f in &sorted {
            for r in &f.def().repeats {
                if !ids.contains(&r.id.as_str()) {
                    ids.push(&r.id);
                }
            }
        }
        plan.repeats = ids
            .into_iter()
            .map(|r| Plan::build_for(forms, pii, lang, plan_opts.clone(), Some(r)))
            .collect();
        plan
    }

    /// The table's name: `interviews`, or `repeat_<id>` for a repeat's.
    pub fn table(&self) -> String {
        match &self.repeat {
            None => "interviews".into(),
            Some(r) => format!("repeat_{r}"),
        }
    }

    /// The plan of the interviews (`repeat` `None`) or of one repeat's instances.
    fn build_for(
        forms: &[&Form],
        pii: &PiiPolicy,
        lang: &str,
        plan_opts: PlanOptions,
        repeat: Option<&str>,
    ) -> Plan {
        let mut sorted: Vec<&Form> = forms.to_vec();
        sorted.sort_by(|a, b| a.id().cmp(b.id()).then(b.version().cmp(&a.version())));
        let tag = |f: &Form| format!("{}@{}", f.id(), f.version());
        let all_versions: Vec<String> = {
            let mut v: Vec<String> = sorted.iter().map(|f| tag(f)).collect();
            v.sort();
            v
        };
        let key = |name: String, ty: ColType, label: String, source: Source| Column {
            name,
            ty,
            question: None,
            short_label: label.clone(),
            label,
            options: Vec::new(),
            note: String::new(),
            versions: all_versions.clone(),
            source,
        };
        let with_pii = matches!(pii, PiiPolicy::Include);
        let mut columns: Vec<Column> = Vec::new();
        if repeat.is_some() {
            columns.push(key(
                "interview_id".into(),
                ColType::String,
                "Interview id (the row of the interviews table)".into(),
                Source::Key(KeyField::InterviewId),
            ));
            let mut c = key(
                "instance".into(),
                ColType::Integer,
                "Instance number within the interview".into(),
                Source::Instance,
            );
            c.note = "1, 2, … in the order the interviewer entered them".into();
            columns.push(c);
        }
        let keys = if repeat.is_none() {
            &KEY_COLUMNS[..]
        } else {
            &[]
        };
        for &(k, name, ty, label) in keys {
            let mut c = key(name.to_owned(), ty, label.to_owned(), Source::Key(k));
            if k == KeyField::Country && plan_opts.labels == Labels::Values {
                c.note = "country name in the export language".into();
            }
            columns.push(c);
            match k {
                KeyField::Country if plan_opts.labels == Labels::Columns => columns.push(key(
                    "country_label".into(),
                    ColType::String,
                    "Country name".into(),
                    Source::CountryName,
                )),
                KeyField::CreatedBy | KeyField::ReviewedBy if with_pii => {
                    let (n, l) = if k == KeyField::CreatedBy {
                        ("interviewer_login", "Interviewer's login (PII)")
                    } else {
                        ("reviewer_login", "Reviewer's login (PII)")
                    };
                    let mut c = key(n.into(), ColType::String, l.into(), Source::Login(k));
                    c.note = "PII: raw value (exported on an admin's explicit request)".into();
                    columns.push(c);
                }
                KeyField::Tags => {
                    for t in &plan_opts.tags {
                        let safe: String = t
                            .chars()
                            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                            .collect();
                        let mut c = key(
                            format!("tag__{safe}"),
                            ColType::Boolean,
                            format!("Tagged `{t}` in review"),
                            Source::Tag(t.clone()),
                        );
                        c.note = format!("true when a reviewer tagged the interview `{t}`");
                        columns.push(c);
                    }
                }
                KeyField::CommentCount if plan_opts.comments => {
                    let mut c = key(
                        "comments".into(),
                        ColType::String,
                        "Review comments (role, time, text; one per line)".into(),
                        Source::Comments,
                    );
                    if !with_pii {
                        c.note = "free text: phone numbers, e-mail addresses, ID numbers and the customer's name replaced by [phone], [email], [id], [name]".into();
                    }
                    columns.push(c);
                }
                _ => {}
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for form in &sorted {
            let fallback = form.def().default_language.as_str();
            for q in form.questions() {
                if !q.kind.takes_answer()
                    || q.repeat.as_deref() != repeat
                    || !seen.insert(q.name.as_str())
                {
                    continue;
                }
                // Every version of this form that has the question, newest first.
                let defs: Vec<(&Form, &survey_model::Question)> = sorted
                    .iter()
                    .filter(|f| f.id() == form.id())
                    .filter_map(|f| f.question(&q.name).map(|d| (*f, d)))
                    .collect();
                let in_versions = |has: &dyn Fn(&survey_model::Question) -> bool| -> Vec<String> {
                    let mut v: Vec<String> = defs
                        .iter()
                        .filter(|(_, d)| has(d))
                        .map(|(f, _)| tag(f))
                        .collect();
                    v.sort();
                    v
                };
                let label = q.label.get(lang, fallback).to_owned();
                let short = q.short(lang, fallback).to_owned();
                let mut choice_options: Vec<(String, String)> = Vec::new();
                for (f, d) in &defs {
                    let fb = f.def().default_language.as_str();
                    for o in &d.options {
                        if !choice_options.iter().any(|(v, _)| *v == o.value) {
                            choice_options
                                .push((o.value.clone(), o.label.get(lang, fb).to_owned()));
                        }
                    }
                }
                let versions = in_versions(&|_| true);
                // The short label follows the label's suffix (`: option`, ` (latitude)`).
                let col = |name: String, ty: ColType, source: Source, label: String| Column {
                    name,
                    ty,
                    question: Some(q.name.clone()),
                    short_label: label
                        .strip_prefix(q.label.get(lang, fallback))
                        .map_or_else(|| short.clone(), |rest| format!("{short}{rest}")),
                    label,
                    options: Vec::new(),
                    note: String::new(),
                    versions: versions.clone(),
                    source,
                };
                if q.pii {
                    match pii {
                        PiiPolicy::Omit => continue,
                        PiiPolicy::Pseudonymize(_) => {
                            let mut c = col(
                                format!("{}_pseudonym", q.name),
                                ColType::String,
                                Source::Pseudonym(q.name.clone()),
                                label,
                            );
                            c.note = "PII: keyed pseudonym (HMAC-SHA256), stable per key".into();
                            columns.push(c);
                            continue;
                        }
                        PiiPolicy::Include => {}
                    }
                }
                let start = columns.len();
                match q.kind {
                    QuestionType::MultiChoice => {
                        for (value, olabel) in &choice_options {
                            let mut c = col(
                                format!("{}__{}", q.name, value),
                                ColType::Boolean,
                                Source::Flag {
                                    question: q.name.clone(),
                                    option: value.clone(),
                                },
                                format!("{label}: {olabel}"),
                            );
                            c.note = format!("1 when option `{value}` is selected");
                            c.versions = in_versions(&|d| d.has_option(value));
                            columns.push(c);
                        }
                    }
                    QuestionType::Geopoint => {
                        for (suffix, source, what) in [
                            ("lat", Source::Lat(q.name.clone()), "latitude (WGS84)"),
                            ("lon", Source::Lon(q.name.clone()), "longitude (WGS84)"),
                            (
                                "accuracy",
                                Source::Accuracy(q.name.clone()),
                                "accuracy (metres)",
                            ),
                        ] {
                            columns.push(col(
                                format!("{}_{suffix}", q.name),
                                ColType::Float,
                                source,
                                format!("{label} ({what})"),
                            ));
                        }
                    }
                    kind => {
                        let ty = match kind {
                            QuestionType::Integer | QuestionType::Nps | QuestionType::Rating => {
                                ColType::Integer
                            }
                            QuestionType::Decimal => ColType::Float,
                            QuestionType::Consent | QuestionType::Acknowledge => ColType::Boolean,
                            QuestionType::Date => ColType::Date,
                            QuestionType::DateTime => ColType::Timestamp,
                            QuestionType::Metadata => match q.metadata.as_deref() {
                                Some("start" | "end") => ColType::Timestamp,
                                Some("today") => ColType::Date,
                                _ => ColType::String,
                            },
                            _ => ColType::String,
                        };
                        // A calculation may carry text answers (`concat()`):
                        // scrubbed like free text.
                        let free = matches!(kind, QuestionType::Text | QuestionType::Calculate);
                        let source = if free {
                            Source::FreeText(q.name.clone())
                        } else {
                            Source::Answer(q.name.clone())
                        };
                        let mut c = col(q.name.clone(), ty, source, label.clone());
                        if free && !matches!(pii, PiiPolicy::Include) {
                            c.note = "free text: phone numbers, e-mail addresses, ID numbers and the customer's name replaced by [phone], [email], [id], [name]".into();
                        }
                        c.options = choice_options.clone();
                        let labelled = !c.options.is_empty() && kind == QuestionType::SingleChoice;
                        if labelled && plan_opts.labels == Labels::Values {
                            c.note = "option label in the export language (codes in the codebook)"
                                .into();
                        }
                        if q.choices_from.as_deref() == Some(survey_model::places::PLACES_LIST) {
                            c.note = "place code of the campaign's place list".into();
                            columns.push(c);
                            for (field, suffix, what) in PlaceField::ALL {
                                let mut c = col(
                                    format!("{}_{suffix}", q.name),
                                    ColType::String,
                                    Source::Place {
                                        question: q.name.clone(),
                                        field,
                                    },
                                    format!("{label} ({what})"),
                                );
                                c.note = "from the place list, by the code".into();
                                columns.push(c);
                            }
                        } else {
                            columns.push(c);
                            if labelled && plan_opts.labels == Labels::Columns {
                                let mut c = col(
                                    format!("{}_label", q.name),
                                    ColType::String,
                                    Source::Label(q.name.clone()),
                                    format!("{label} (label)"),
                                );
                                c.note = format!(
                                    "label in the export language of the code in `{}`",
                                    q.name
                                );
                                columns.push(c);
                            }
                        }
                    }
                }
                if q.pii {
                    for c in &mut columns[start..] {
                        c.note = "PII: raw value (exported on an admin's explicit request)".into();
                    }
                }
            }
        }
        let find = |s: fn(&Source) -> bool| columns.iter().position(|c| s(&c.source));
        let geo = match (
            find(|s| matches!(s, Source::Lat(_))),
            find(|s| matches!(s, Source::Lon(_))),
        ) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        let mut pii_questions: Vec<String> = sorted
            .iter()
            .flat_map(|f| f.pii_questions().map(|q| q.name.clone()))
            .collect();
        pii_questions.sort();
        pii_questions.dedup();
        let mut questions: Vec<String> = Vec::new();
        for c in &columns {
            if let Some(q) = &c.question
                && questions.last() != Some(q)
                && !questions.contains(q)
            {
                questions.push(q.clone());
            }
        }
        Plan {
            forms: sorted
                .iter()
                .map(|f| {
                    let t = tag(f);
                    let present = columns
                        .iter()
                        .map(|c| c.question.is_none() || c.versions.contains(&t))
                        .collect();
                    (t, ((*f).clone(), present))
                })
                .collect(),
            questions,
            lang: lang.to_owned(),
            options: plan_opts,
            columns,
            places: std::collections::HashMap::new(),
            versions: all_versions,
            pii: pii.clone(),
            pii_questions,
            geo,
            repeat: repeat.map(str::to_owned),
            repeats: Vec::new(),
        }
    }

    /// The same plan (same columns, same order) labelled in `lang`.
    pub fn in_language(&self, forms: &[&Form], lang: &str) -> Plan {
        Plan::build(forms, &self.pii, lang, self.options.clone())
    }

    /// The place list the place columns read (by code).
    pub fn with_places(mut self, places: Vec<survey_model::Place>) -> Plan {
        self.places = places.into_iter().map(|p| (p.code.clone(), p)).collect();
        self
    }

    /// Fill `row` (cleared first) with the cells of `rec`. A column that does
    /// not exist in the record's form version (a question or an option added or
    /// removed by another version) is empty, not `false` or a stale value.
    pub fn row(&self, rec: &InterviewRecord, row: &mut Vec<Cell>) {
        self.row_at(rec, None, row);
    }

    /// The rows of `rec`'s instances, one list per plan of [`Plan::repeats`]
    /// (each row as [`Plan::row`] fills it, `instance` counting from 1).
    /// Free text in an instance is scrubbed of the interview's PII answers
    /// and the instance's own.
    pub fn instance_rows(&self, rec: &InterviewRecord) -> Vec<Vec<Vec<Cell>>> {
        self.repeats
            .iter()
            .map(|p| {
                let id = p.repeat.as_deref().unwrap_or_default();
                rec.repeats
                    .get(id)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(|(i, inst)| {
                        let mut answers = rec.answers.clone();
                        answers.extend(inst.iter().map(|(k, v)| (k.clone(), v.clone())));
                        let view = InterviewRecord {
                            answers,
                            ..rec.clone()
                        };
                        let mut row = Vec::with_capacity(p.columns.len());
                        p.row_at(&view, Some(i), &mut row);
                        row
                    })
                    .collect()
            })
            .collect()
    }

    fn row_at(&self, rec: &InterviewRecord, instance: Option<usize>, row: &mut Vec<Cell>) {
        row.clear();
        let tag = format!("{}@{}", rec.form_id, rec.form_version);
        let version = self.forms.get(&tag);
        let mut scrubber: Option<Scrubber> = None;
        for (i, c) in self.columns.iter().enumerate() {
            if version.is_some_and(|(_, present)| !present[i]) {
                row.push(Cell::Null);
                continue;
            }
            if let Source::Key(KeyField::NotAsked) = c.source {
                row.push(version.map_or(Cell::Null, |(form, _)| self.not_asked(rec, form)));
                continue;
            }
            if c.source == Source::Instance {
                row.push(instance.map_or(Cell::Null, |i| Cell::Int(i as i64 + 1)));
                continue;
            }
            let mut cell = self.cell(rec, &c.source, c.ty);
            if self.options.labels == Labels::Values
                && let Cell::Str(code) = &cell
            {
                if let Some((_, l)) = c.options.iter().find(|(v, _)| v == code) {
                    cell = Cell::Str(l.clone());
                } else if c.source == Source::Key(KeyField::Country) {
                    cell = Cell::Str(crate::countries::name(code, &self.lang));
                }
            }
            if matches!(c.source, Source::FreeText(_) | Source::Comments)
                && !matches!(self.pii, PiiPolicy::Include)
            {
                let clean = match &cell {
                    Cell::Str(text) => {
                        let sc = scrubber.get_or_insert_with(|| self.scrubber(rec));
                        match sc.scrub(text) {
                            std::borrow::Cow::Owned(c) => Some(c),
                            std::borrow::Cow::Borrowed(_) => None,
                        }
                    }
                    _ => None,
                };
                if let Some(c) = clean {
                    cell = Cell::Str(c);
                }
            }
            row.push(coerce(cell, c.ty));
        }
    }

    /// The `not_asked` cell of `rec`, of version `form`: the exported
    /// questions it was not asked (hidden by skip logic, or not in its form
    /// version).
    fn not_asked(&self, rec: &InterviewRecord, form: &Form) -> Cell {
        let asked = form.asked_json(&rec.answers);
        let asked: HashSet<&str> = asked.iter().map(String::as_str).collect();
        let list: Vec<&str> = self
            .questions
            .iter()
            .map(String::as_str)
            .filter(|q| !asked.contains(q))
            .collect();
        Cell::Str(list.join(";"))
    }

    /// The scrubber of `rec`'s free text: its own PII answers are names.
    pub fn scrubber(&self, rec: &InterviewRecord) -> Scrubber {
        Scrubber::new(
            self.pii_questions
                .iter()
                .filter_map(|q| rec.answers.get(q).and_then(Json::as_str)),
        )
    }

    /// A user id as exported: a keyed pseudonym when PII is pseudonymised,
    /// the (pseudonymous) user id otherwise.
    fn user(&self, id: &str) -> Cell {
        match &self.pii {
            PiiPolicy::Pseudonymize(key) => Cell::Str(key.pseudonym(id)),
            _ => Cell::Str(id.to_owned()),
        }
    }

    fn cell(&self, rec: &InterviewRecord, source: &Source, ty: ColType) -> Cell {
        let s = |v: &str| Cell::Str(v.to_owned());
        let opt = |v: &Option<String>| v.as_deref().map_or(Cell::Null, s);
        match source {
            Source::Key(k) => match k {
                KeyField::InterviewId => s(&rec.interview_id),
                KeyField::Country => s(&rec.country),
                KeyField::Campaign => s(&rec.campaign),
                KeyField::FormId => s(&rec.form_id),
                KeyField::FormVersion => Cell::Int(i64::from(rec.form_version)),
                KeyField::CreatedBy => self.user(&rec.created_by),
                KeyField::DeviceId => s(&rec.device_id),
                KeyField::CreatedAt => timestamp(Some(&rec.created_at)),
                KeyField::Status => s(&rec.status),
                KeyField::SubmittedAt => timestamp(rec.submitted_at.as_deref()),
                KeyField::ReviewState => opt(&rec.review_state),
                KeyField::ReviewedBy => rec
                    .review
                    .by
                    .as_deref()
                    .map_or(Cell::Null, |u| self.user(u)),
                KeyField::ReviewedAt => timestamp(rec.review.at.as_deref()),
                KeyField::NotAsked => Cell::Null,
                KeyField::Tags => {
                    let mut tags = rec.tags.clone();
                    tags.sort();
                    Cell::Str(tags.join(";"))
                }
                KeyField::CommentCount => Cell::Int(rec.comment_count as i64),
                KeyField::QualityFlags => Cell::Str(
                    rec.quality_flags
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                KeyField::Checks => Cell::Str(
                    rec.checks
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                KeyField::DurationS => rec.paradata.duration_s.map_or(Cell::Null, Cell::Int),
                KeyField::Edits => Cell::Int(i64::from(rec.paradata.edits)),
                KeyField::ClockSkewS => rec.paradata.clock_skew_s.map_or(Cell::Null, Cell::Int),
            },
            Source::Answer(q) | Source::FreeText(q) => match rec.answers.get(q) {
                None | Some(Json::Null) => Cell::Null,
                Some(Json::Bool(b)) => Cell::Bool(*b),
                Some(Json::Number(n)) => n
                    .as_i64()
                    .map(Cell::Int)
                    .or_else(|| n.as_f64().map(Cell::Float))
                    .unwrap_or(Cell::Null),
                Some(Json::String(v)) if ty == ColType::Timestamp => timestamp(Some(v)),
                Some(Json::String(v)) => match survey_model::answer::parse_date(v) {
                    Some(d) if ty == ColType::Date => Cell::Date(d),
                    _ => Cell::Str(v.clone()),
                },
                Some(other) => Cell::Str(other.to_string()),
            },
            Source::Flag { question, option } => match rec.answers.get(question) {
                Some(Json::Array(sel)) => {
                    Cell::Bool(sel.iter().any(|v| v.as_str() == Some(option.as_str())))
                }
                _ => Cell::Null,
            },
            Source::Place { question, field } => rec
                .answers
                .get(question)
                .and_then(Json::as_str)
                .and_then(|code| self.places.get(code))
                .map_or(Cell::Null, |p| s(field.of(p))),
            Source::Login(k) => {
                let id = if *k == KeyField::CreatedBy {
                    Some(rec.created_by.as_str())
                } else {
                    rec.review.by.as_deref()
                };
                id.and_then(|i| self.options.logins.get(i))
                    .map_or(Cell::Null, |l| s(l))
            }
            Source::Tag(t) => Cell::Bool(rec.tags.iter().any(|x| x == t)),
            Source::Comments => {
                if rec.review.comments.is_empty() {
                    Cell::Null
                } else {
                    Cell::Str(
                        rec.review
                            .comments
                            .iter()
                            .map(|c| format!("{} {}: {}", c.at, c.role, c.text))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    )
                }
            }
            Source::Label(q) => {
                let code = rec.answers.get(q).and_then(Json::as_str);
                self.columns
                    .iter()
                    .find(|c| c.source == Source::Answer(q.clone()))
                    .and_then(|c| c.options.iter().find(|(v, _)| Some(v.as_str()) == code))
                    .map_or(Cell::Null, |(_, l)| s(l))
            }
            Source::CountryName => s(&crate::countries::name(&rec.country, &self.lang)),
            // Filled by `row_at`, which knows the instance.
            Source::Instance => Cell::Null,
            Source::Lat(q) => geo_field(rec, q, "lat"),
            Source::Lon(q) => geo_field(rec, q, "lon"),
            Source::Accuracy(q) => geo_field(rec, q, "accuracy"),
            Source::Pseudonym(q) => match (&self.pii, rec.answers.get(q)) {
                (_, None | Some(Json::Null)) => Cell::Null,
                (PiiPolicy::Pseudonymize(key), Some(v)) => {
                    let text = match v {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if text.trim().is_empty() {
                        Cell::Null
                    } else {
                        Cell::Str(key.pseudonym(&text))
                    }
                }
                _ => Cell::Null,
            },
        }
    }
}

/// A timestamp cell from RFC 3339 text (null when absent or unreadable).
fn timestamp(v: Option<&str>) -> Cell {
    v.and_then(parse_timestamp)
        .map_or(Cell::Null, Cell::Timestamp)
}

/// Make a cell match its column's type (typed writers rely on it): numbers
/// widen to float and print as text; anything else that does not fit is null.
fn coerce(cell: Cell, ty: ColType) -> Cell {
    match (ty, cell) {
        (_, Cell::Null) => Cell::Null,
        (ColType::String, Cell::Str(s)) => Cell::Str(s),
        (ColType::String, Cell::Int(i)) => Cell::Str(i.to_string()),
        (ColType::String, Cell::Float(f)) => Cell::Str(f.to_string()),
        (ColType::String, Cell::Bool(b)) => Cell::Str(b.to_string()),
        (ColType::String, Cell::Date(d)) => Cell::Str(d.to_string()),
        (ColType::Integer, Cell::Int(i)) => Cell::Int(i),
        (ColType::Boolean, Cell::Bool(b)) => Cell::Bool(b),
        (ColType::Float, Cell::Float(f)) => Cell::Float(f),
        (ColType::Float, Cell::Int(i)) => Cell::Float(i as f64),
        (ColType::Date, Cell::Date(d)) => Cell::Date(d),
        (ColType::Timestamp, Cell::Timestamp(t)) => Cell::Timestamp(t),
        (ColType::String, Cell::Timestamp(t)) => Cell::Str(timestamp_text(t)),
        _ => Cell::Null,
    }
}

fn geo_field(rec: &InterviewRecord, q: &str, field: &str) -> Cell {
    rec.answers
        .get(q)
        .and_then(|v| v.get(field))
        .and_then(Json::as_f64)
        .map_or(Cell::Null, Cell::Float)
}

/// Whether an interview may be exported: every consent question of its form
/// (or, for an unknown form, the `consent` answer) must be answered `true`.
/// A form without a consent question exports nothing: consent is never assumed.
pub fn consented(rec: &InterviewRecord, form: Option<&Form>) -> bool {
    let is_true = |q: &str| rec.answers.get(q) == Some(&Json::Bool(true));
    match form {
        Some(f) => {
            let mut any = false;
            for q in f
                .questions()
                .iter()
                .filter(|q| q.kind == QuestionType::Consent)
            {
                if !is_true(&q.name) {
                    return false;
                }
                any = true;
            }
            any
        }
        None => is_true("consent"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_and_stable() {
        let k1 = PseudonymKey::new(b"0123456789abcdef-key-one".to_vec()).unwrap();
        let k2 = PseudonymKey::new(b"0123456789abcdef-key-two".to_vec()).unwrap();
        let a = k1.pseudonym("+225 07 12 34 56 78");
        assert_eq!(a, k1.pseudonym(" +225 07 12 34 56 78 "));
        assert_ne!(a, k2.pseudonym("+225 07 12 34 56 78"));
        assert_ne!(a, k1.pseudonym("+225 07 12 34 56 79"));
        assert_eq!(a.len(), 34);
        assert!(PseudonymKey::new(b"short".to_vec()).is_err());
        assert_eq!(format!("{k1:?}"), "PseudonymKey(<redacted>)");
    }

    #[test]
    fn plan_follows_the_form_and_the_pii_policy() {
        let form = survey_model::mcmb_form().unwrap();
        let names = |p: &Plan| p.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let omit = Plan::new(&[&form], &PiiPolicy::Omit, "fr");
        let n = names(&omit);
        assert_eq!(n[0], "interview_id");
        assert_eq!(n[11..13], ["reviewed_by", "reviewed_at"]);
        assert_eq!(n[14], "comment_count");
        assert_eq!(n[15], "quality_flags");
        assert_eq!(
            n[16..21],
            ["checks", "duration_s", "edits", "clock_skew_s", "not_asked"]
        );
        assert_eq!(n[21], "consent");
        assert!(n.contains(&"services_used__mobile_money".to_owned()));
        assert!(n.contains(&"location_lat".to_owned()));
        assert!(!n.iter().any(|c| c.starts_with("customer_name")));
        assert!(!n.iter().any(|c| c == "intro_note" || c == "closing_note"));
        assert!(omit.geo.is_some());
        let key = PseudonymKey::new(vec![7u8; 32]).unwrap();
        let pseudo = names(&Plan::new(&[&form], &PiiPolicy::Pseudonymize(key), "en"));
        assert!(pseudo.contains(&"customer_phone_pseudonym".to_owned()));
        assert!(!pseudo.contains(&"customer_phone".to_owned()));
        let raw = names(&Plan::new(&[&form], &PiiPolicy::Include, "en"));
        assert!(raw.contains(&"customer_phone".to_owned()));
    }

    #[test]
    fn plan_is_the_union_of_versions_and_says_where_each_column_exists() {
        let v1 = survey_model::mcmb_form().unwrap();
        let mut def = v1.def().clone();
        def.version = 2;
        let services = def
            .questions
            .iter_mut()
            .find(|q| q.name == "services_used")
            .unwrap();
        services
            .options
            .retain(|o| o.value != "enterprise_solutions");
        let mut extra = def
            .questions
            .iter()
            .find(|q| q.name == "verbatim")
            .unwrap()
            .clone();
        extra.name = "favourite_shop".into();
        def.questions.retain(|q| q.name != "customer_since_years");
        def.questions.push(extra);
        let v2 = survey_model::Form::new(def).unwrap();
        let plan = Plan::new(&[&v1, &v2], &PiiPolicy::Omit, "en");
        let col = |n: &str| {
            plan.columns
                .iter()
                .find(|c| c.name == n)
                .unwrap_or_else(|| panic!("no column {n}"))
        };
        let both = ["mcmb-interview@1", "mcmb-interview@2"];
        assert_eq!(col("interview_id").versions, both);
        assert_eq!(col("nps").versions, both);
        assert_eq!(col("favourite_shop").versions, ["mcmb-interview@2"]);
        assert_eq!(col("customer_since_years").versions, ["mcmb-interview@1"]);
        assert_eq!(
            col("services_used__enterprise_solutions").versions,
            ["mcmb-interview@1"],
            "an option only v1 offered keeps its flag column"
        );
        assert_eq!(col("services_used__mobile_voice").versions, both);
        let pos = |n: &str| plan.columns.iter().position(|c| c.name == n).unwrap();
        assert!(
            pos("favourite_shop") < pos("customer_since_years"),
            "newest first"
        );
    }
}
