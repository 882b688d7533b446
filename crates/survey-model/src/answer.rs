//! Typed answer values and their JSON form.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};

use crate::form::{Question, QuestionType};

/// A GPS point (WGS84 degrees, accuracy in metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    pub accuracy: Option<f64>,
}

impl GeoPoint {
    /// ODK-style encoding `"lat lon accuracy"`, stored as one atomic scalar.
    pub fn encode(&self) -> String {
        match self.accuracy {
            Some(a) => format!("{} {} {}", self.lat, self.lon, a),
            None => format!("{} {}", self.lat, self.lon),
        }
    }

    pub fn decode(s: &str) -> Option<GeoPoint> {
        let mut it = s.split_ascii_whitespace().map(str::parse::<f64>);
        let lat = it.next()?.ok()?;
        let lon = it.next()?.ok()?;
        let accuracy = match it.next() {
            Some(a) => Some(a.ok()?),
            None => None,
        };
        let p = GeoPoint { lat, lon, accuracy };
        p.is_valid().then_some(p)
    }

    pub fn is_valid(&self) -> bool {
        (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
            && self.accuracy.is_none_or(|a| a.is_finite() && a >= 0.0)
    }
}

/// One answer, typed by its question.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Bool(bool),
    Int(i64),
    /// A finite decimal number.
    Decimal(f64),
    Text(String),
    Choice(String),
    Choices(BTreeSet<String>),
    /// `YYYY-MM-DD`
    Date(String),
    Geo(GeoPoint),
}

/// Why a JSON value cannot be an answer to a question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("unknown question `{0}`")]
    UnknownQuestion(String),
    #[error("question `{0}` is a note and takes no answer")]
    NoAnswer(String),
    #[error("question `{question}` expects {expected}, got {got}")]
    WrongType {
        question: String,
        expected: &'static str,
        got: String,
    },
}

impl Answer {
    /// Convert a JSON value (as sent by the UI or an API) to an answer of `q`.
    /// `null` means "clear the answer" and gives `Ok(None)`.
    pub fn from_json(q: &Question, v: &Json) -> Result<Option<Answer>, AnswerError> {
        if v.is_null() {
            return Ok(None);
        }
        let wrong = |expected: &'static str| AnswerError::WrongType {
            question: q.name.clone(),
            expected,
            got: short(v),
        };
        let a = match q.kind {
            QuestionType::Note => return Err(AnswerError::NoAnswer(q.name.clone())),
            QuestionType::Consent => Answer::Bool(v.as_bool().ok_or_else(|| wrong("true/false"))?),
            QuestionType::Integer | QuestionType::Nps | QuestionType::Rating => {
                Answer::Int(v.as_i64().ok_or_else(|| wrong("a whole number"))?)
            }
            QuestionType::Acknowledge => match v.as_bool() {
                Some(true) => Answer::Bool(true),
                _ => return Err(wrong("true (acknowledged)")),
            },
            QuestionType::Decimal => Answer::Decimal(
                v.as_f64()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| wrong("a number"))?,
            ),
            QuestionType::Text | QuestionType::Calculate | QuestionType::Metadata => {
                Answer::Text(v.as_str().ok_or_else(|| wrong("text"))?.to_owned())
            }
            QuestionType::SingleChoice => Answer::Choice(
                v.as_str()
                    .ok_or_else(|| wrong("an option value"))?
                    .to_owned(),
            ),
            QuestionType::MultiChoice => {
                let arr = v
                    .as_array()
                    .ok_or_else(|| wrong("a list of option values"))?;
                let mut set = BTreeSet::new();
                for x in arr {
                    set.insert(
                        x.as_str()
                            .ok_or_else(|| wrong("a list of option values"))?
                            .to_owned(),
                    );
                }
                Answer::Choices(set)
            }
            QuestionType::Time => {
                let s = v.as_str().filter(|s| parse_time(s).is_some());
                Answer::Text(s.ok_or_else(|| wrong("a HH:MM time"))?.to_owned())
            }
            QuestionType::DateTime => {
                let s = v.as_str().filter(|s| parse_datetime(s).is_some());
                Answer::Text(
                    s.ok_or_else(|| wrong("an RFC 3339 date and time with its offset"))?
                        .to_owned(),
                )
            }
            QuestionType::Date => {
                let s = v.as_str().ok_or_else(|| wrong("a YYYY-MM-DD date"))?;
                parse_date(s).ok_or_else(|| wrong("a YYYY-MM-DD date"))?;
                Answer::Date(s.to_owned())
            }
            QuestionType::Geopoint => {
                let obj = v.as_object().ok_or_else(|| wrong("{lat, lon, accuracy}"))?;
                let num = |k: &str| obj.get(k).and_then(Json::as_f64);
                let p = GeoPoint {
                    lat: num("lat").ok_or_else(|| wrong("{lat, lon, accuracy}"))?,
                    lon: num("lon").ok_or_else(|| wrong("{lat, lon, accuracy}"))?,
                    accuracy: num("accuracy"),
                };
                if !p.is_valid() {
                    return Err(wrong("latitude -90..90 and longitude -180..180"));
                }
                Answer::Geo(p)
            }
        };
        Ok(Some(a))
    }

    /// The JSON form used by projections, exports and the UI.
    pub fn to_json(&self) -> Json {
        match self {
            Answer::Bool(b) => json!(b),
            Answer::Int(i) => json!(i),
            Answer::Decimal(f) => json!(f),
            Answer::Text(s) | Answer::Choice(s) | Answer::Date(s) => json!(s),
            Answer::Choices(set) => json!(set),
            Answer::Geo(p) => json!({"lat": p.lat, "lon": p.lon, "accuracy": p.accuracy}),
        }
    }

    /// Whether this counts as "answered" (empty text and empty selections do not).
    pub fn is_present(&self) -> bool {
        match self {
            Answer::Text(s) => !s.trim().is_empty(),
            Answer::Choices(set) => !set.is_empty(),
            _ => true,
        }
    }
}

fn short(v: &Json) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        let mut end = 40;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

/// Parse a `YYYY-MM-DD` calendar date.
pub fn parse_date(s: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).ok()
}

/// Parse an `HH:MM` or `HH:MM:SS` time of day (24-hour).
pub fn parse_time(s: &str) -> Option<time::Time> {
    let short = time::macros::format_description!("[hour]:[minute]");
    let long = time::macros::format_description!("[hour]:[minute]:[second]");
    time::Time::parse(s, &short)
        .or_else(|_| time::Time::parse(s, &long))
        .ok()
}

/// Parse an RFC 3339 date and time (with its UTC offset).
pub fn parse_datetime(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Answers of one interview, by question name.
pub type Answers = BTreeMap<String, Answer>;
