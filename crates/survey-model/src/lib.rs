//! survey-model owns the meaning of fieldvoice data: form definitions (parsing and
//! structural checks), the interview document (one Automerge document per
//! interview, with every container created in its first change), typed answers,
//! skip logic and constraint evaluation returned as diagnostics, the XLSForm
//! expression language of calculations and conditions ([`expr`]: total and
//! bounded), repeat instances, and the flat projection used by stores and
//! exports, the NPS banding ([`nps`]) and the
//! built-in form's domain names other crates use ([`mcmb`]: touchpoints,
//! segments, complaint categories and root causes).
//!
//! It must not do I/O: no files, no network, no database, no environment. Callers
//! hand it bytes and get bytes back; storage and transport live in other crates.

pub mod actions;
pub mod answer;
pub mod cases;
pub mod changes;
pub mod checks;
pub mod expr;
pub mod form;
pub mod interview;
pub mod mcmb;
pub mod nps;
pub mod places;
pub mod policy;
mod reauthor;
mod rewrite;
pub mod sample;
pub mod scrub;
pub mod validate;

pub use answer::{Answer, AnswerError, Answers, GeoPoint};
pub use automerge::{ActorId, Change, ChangeHash};
pub use changes::{FormChanges, VersionError};
pub use checks::{Check, CheckRules};
pub use form::{
    ChoiceOption, FilterSource, FilterTerm, Form, FormDef, FormError, FormProblem, Question,
    QuestionType, Repeat,
};
pub use interview::{
    Comment, CommentNote, Conflict, Interview, InterviewMeta, InterviewRecord, ModelError,
    Paradata, ReviewInfo, ReviewState, actor_from_uuid, now,
};
pub use places::Place;
pub use policy::{Violation, Writer, check_write};
pub use validate::{Cleaned, Code, Diagnostic, Evaluation, QualityFlag, Severity};

/// Parse a change hash from its hex form.
pub fn parse_hash(s: &str) -> Option<ChangeHash> {
    s.parse().ok()
}

/// Forms shipped with fieldvoice (`schemas/forms/*.json`), embedded at build time.
pub const BUILTIN_FORMS: &[(&str, &str)] = &[(
    "mcmb-interview.v1.json",
    include_str!("../../../schemas/forms/mcmb-interview.v1.json"),
)];

/// Version 2 of the MCMB form: the place of the interview is picked from the
/// campaign's place list (`place`, codes filtered by the device's country,
/// "other" typed in `place_other`) instead of the free-text `city`. Not
/// built in: a campaign publishes it once its place list is imported (the
/// demo does both).
pub const MCMB_V2_JSON: &str = include_str!("../../../schemas/forms/mcmb-interview.v2.json");

/// The demo campaign's place list: 120 places in 17 countries (CSV).
pub const MCMB_PLACES_CSV: &str = include_str!("../../../schemas/places/mcmb-places.csv");

/// Parse the built-in "My Customer, My Boss" interview form.
pub fn mcmb_form() -> Result<Form, FormError> {
    Form::from_json(BUILTIN_FORMS[0].1)
}
