//! xlsform owns the conversion between XLSForm workbooks (`.xlsx`, the
//! spreadsheet form format of ODK and KoboToolbox) and the fieldvoice form
//! format ([`survey_model::FormDef`]): [`import`] reads the `survey`, `choices`
//! and `settings` sheets of a workbook given as bytes (calamine, from memory)
//! and returns a definition that passes [`survey_model::Form::new`], or every
//! problem found, each naming its sheet, row (1-based, as Excel shows it) and
//! column; [`export`] writes a definition back as a workbook (rust_xlsxwriter,
//! in memory) so that importing it gives the same definition.
//!
//! It must not do I/O (no files, network or environment: callers hand it bytes
//! and get bytes back), must not panic on any input, and must never drop or
//! reinterpret a construct silently: what fieldvoice cannot express exactly is
//! refused with its location.
//!
//! # The subset
//!
//! | XLSForm | fieldvoice |
//! |---|---|
//! | `text`, `integer`, `decimal`, `date`, `time`, `datetime`, `geopoint`, `note`, `acknowledge` | the question type of the same name |
//! | `hidden` (with its `default`) | a `calculate` question computing that fixed text |
//! | `email`, `tel` | `text` with a format `pattern` ([`EMAIL_PATTERN`], [`TEL_PATTERN`]), marked `pii` |
//! | `required_message` (and `::Language (code)`), `read_only` | the question's own required message; shown but not answered |
//! | `select_one L`, `select_multiple L` | `single_choice`, `multi_choice` with list `L`'s options (extra `choices` columns become option `attributes`) |
//! | `… or_other` | an extra option `other` and a text question `<name>_other`, relevant when `other` is selected |
//! | `select_one_from_file F.csv`, `select_multiple_from_file F.csv` | a choice question whose options are read from the CSV file `F.csv` uploaded beside the form ([`import_with_media`]; `name`, `label`, `label::Language (code)`, other columns as attributes); missing, it is refused by name; XML and GeoJSON lists are refused |
//! | `select_one_external L` + the `external_choices` sheet | a single choice with list `L`'s options from that sheet |
//! | `begin repeat` / `end repeat`, `repeat_count` (a number or `${name}`) | a [`survey_model::Repeat`]: its questions asked once per instance (groups inside it flattened, their `relevant` AND-ed in); a top-level repeat is also its own page; nested repeats are refused |
//! | `begin group` / `end group` | a top-level group is a section (page); nested groups are flattened into it; a group's `relevant` is AND-ed into each question's; a top-level group named like an earlier one continues that page (its label must match) |
//! | `label`, `hint`, `constraint_message` (and `::Language (code)`) | localized texts; a plain column is the default language (`settings.default_language`, else `en`) |
//! | `required` | `yes`/`true`/`TRUE()`/`1` or `no`/`false`/`FALSE()`/`0`/empty |
//! | `relevant`, `constraint` | [`survey_model::form::Condition`]: structured where the subset below says it, else an expression condition (`{"expr": …}`, [`survey_model::expr`]; `.` written `${name}`) |
//! | `calculate` + `calculation` | a `calculate` question: computed by the app from earlier answers after every answer, never asked, stored as text ([`survey_model::expr`]: arithmetic, `if()`, `concat()`, `coalesce()`, `round()`, `int()`, `once()`, …; outside repeats `count()`, `sum()`, `max()`, `min()`, `join()` of a repeat) |
//! | `start`, `end`, `today`, `deviceid`, `username`, `phonenumber`, `subscriberid`, `simserial`, `start-geopoint` | a `metadata` question the app records by itself ([`survey_model::form::METADATA`]; identifiers are `pii`) |
//! | `${name}` in `label`, `hint` | piped: the app shows the current answer (calculations included) |
//! | `choice_filter` | `col = ${q}` / `col = 'v'` terms joined by `and` |
//! | `appearance` | `minimal`, `likert` (choices), `multiline` (text); `field-list` on a group (a section is a page already) |
//! | `default` | a default answer, checked against the type |
//! | `settings`: `form_id`, `version` (digits, fits u32), `form_title` (and `::Language (code)`), `default_language` | the form's id, version, title and default language |
//!
//!
//! The spellings pyxform still accepts are read as the type or column they
//! stand for (`import::canonical_type`, `import::COLUMN_ALIASES`): `string`,
//! `int`, `gps` and `location`, `select one`, `select1`, `select one from`,
//! `select all that apply [from]`, `select multiple`, `add … prompt`, `imei`
//! (`deviceid`), `trigger` (`acknowledge`); the columns `caption`, `relevance`,
//! `constraint message`, `constraining message`, `required message`,
//! `command`, `tag`, and in `choices` `list name`, `value`, `caption`.
//!
//! Structured conditions (what dashboards and codebooks put in words; any
//! other expression of [`survey_model::expr`]'s grammar becomes an
//! expression condition): `and`, `or`, `not()`, `=`, `!=`, `<`, `<=`, `>`, `>=`,
//! parentheses, numbers, quoted strings, `${name}`, `.` (constraints),
//! `selected(x, 'v')`, `string-length(x) op n`, `count-selected(x) op n`,
//! `regex(x, 'p')`, `today()` and `date('YYYY-MM-DD')` (compared with a date),
//! `true()` / `false()` (compared with an acknowledge), and `x != ''` / `x = ''`
//! (answered / not answered). A condition may read only earlier questions (a
//! constraint also its own): a later question is an error naming it, and a
//! cycle of `relevant` references is reported as a cycle with every row in it.
//!
//! Refused, with sheet, row and column: repeats inside repeats, media types (`image`/`photo`, `audio`, `video`,
//! `barcode`, `file`: no attachments yet), any other type; unknown functions (`pulldata()`, `jr:choice-name()`, `indexed-repeat()`, …),
//! paths (`/data/x`), a calculation reading a later question or itself;
//! `${…}` naming no question, or in texts other than labels and hints;
//! other appearances; names that are not fieldvoice names
//! (`^[a-z][a-z0-9_]{0,62}$`, for questions, groups, lists' option values and
//! choice columns): they are refused, never renamed, since a renamed option
//! would change the stored answers; any column not listed here that holds a
//! value. Ignored with a warning ([`Imported::warnings`], the meaning of the
//! form is unchanged): `audit` (fieldvoice records every interview's
//! paradata itself), `required_message`, `guidance_hint`,
//! `settings`' `style` and `instance_name`, sheets other than the three.
//!
//! fieldvoice rules that XLSForm lacks travel in `fv_` columns, which
//! [`export`] writes and [`import`] reads: `fv_type` (`nps`, `rating` on an
//! `integer`; `consent` on an `acknowledge`), `fv_pii`, `fv_min`, `fv_max`,
//! `fv_min_selected`, `fv_max_selected`, `fv_max_length`, `fv_pattern`,
//! `fv_pattern_message`, `fv_min_date`, `fv_max_date`, `fv_choices_from`,
//! `fv_choice_filter_meta` (`attribute=metadata` pairs, e.g. `country=country`:
//! options filtered on the device's country, after the `choice_filter`
//! terms), `fv_short_label` (per language: the short label of charts and
//! codebooks); in `settings`, `fv_countries` (comma-separated) and
//! `fv_coordinators_publish` (yes/no).

mod export;
mod import;

/// The `survey` sheet's columns, in the order [`export`] writes them; `true`
/// marks a text with one column per language (`label::English (en)`).
/// [`import`] reads exactly these and refuses any other column that holds a
/// value (bar the few it ignores with a warning).
pub(crate) const SURVEY_COLUMNS: &[(&str, bool)] = &[
    ("type", false),
    ("name", false),
    ("label", true),
    ("hint", true),
    ("required", false),
    ("relevant", false),
    ("constraint", false),
    ("constraint_message", true),
    ("required_message", true),
    ("read_only", false),
    ("repeat_count", false),
    ("choice_filter", false),
    ("appearance", false),
    ("default", false),
    ("calculation", false),
    ("fv_type", false),
    ("fv_pii", false),
    ("fv_min", false),
    ("fv_max", false),
    ("fv_min_selected", false),
    ("fv_max_selected", false),
    ("fv_max_length", false),
    ("fv_pattern", false),
    ("fv_pattern_message", true),
    ("fv_min_date", false),
    ("fv_max_date", false),
    ("fv_choices_from", false),
    ("fv_choice_filter_meta", false),
    ("fv_short_label", true),
];

/// The [`SURVEY_COLUMNS`] with (`true`) or without (`false`) language variants.
pub(crate) fn survey_columns(per_language: bool) -> impl Iterator<Item = &'static str> {
    SURVEY_COLUMNS
        .iter()
        .filter(move |(_, t)| *t == per_language)
        .map(|(c, _)| *c)
}

pub use export::{ExportError, export};
pub use import::{EMAIL_PATTERN, MAX_MEDIA_BYTES, TEL_PATTERN, import, import_with_media};

use serde::Serialize;

/// One problem (or warning) of a workbook, located as Excel shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `survey`, `choices`, `settings`, or `workbook` for the file as a whole.
    pub sheet: String,
    /// 1-based row number, when the problem belongs to a row.
    pub row: Option<u32>,
    /// The column's header text, when the problem belongs to a column.
    pub column: Option<String>,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(
        sheet: &str,
        row: Option<u32>,
        column: Option<&str>,
        message: String,
    ) -> Self {
        Problem {
            sheet: sheet.to_owned(),
            row,
            column: column.map(str::to_owned),
            message,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sheet)?;
        if let Some(r) = self.row {
            write!(f, " row {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, " column `{c}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a workbook could not be imported: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the XLSForm has {} problem(s): {}", .problems.len(), join(.problems))]
pub struct ImportErrors {
    pub problems: Vec<Problem>,
}

fn join(ps: &[Problem]) -> String {
    ps.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A converted form, valid for [`survey_model::Form::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub form: survey_model::FormDef,
    /// Constructs ignored without changing the form's meaning.
    pub warnings: Vec<Problem>,
}

/// Content type of an `.xlsx` body.
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The language names [`export`] writes in column headers (`label::English (en)`).
pub(crate) fn language_name(code: &str) -> &str {
    match code {
        "en" => "English",
        "fr" => "Français",
        "ar" => "العربية",
        "pt" => "Português",
        "es" => "Español",
        "sw" => "Kiswahili",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_form_round_trips() {
        let form = survey_model::mcmb_form().expect("built-in form");
        let mut def = form.def().clone();
        def.schema = None;
        let bytes = export(&def).expect("exports");
        let back = import(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.warnings, vec![]);
        assert_eq!(back.form, def);
    }

    #[test]
    fn language_order_survives_a_title_in_one_language() {
        let mut def = survey_model::mcmb_form()
            .expect("built-in form")
            .def()
            .clone();
        def.schema = None;
        def.languages = vec!["fr".into(), "en".into(), "ar".into(), "pt".into()];
        def.title.0.retain(|l, _| l == "en");
        let back = import(&export(&def).expect("exports")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.form, def);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"not a zip", b"PK\x03\x04garbage"] {
            let e = import(bytes).expect_err("refused");
            assert_eq!(e.problems[0].sheet, "workbook");
        }
    }
}
