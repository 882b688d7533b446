//! XLSForm workbook → [`FormDef`]. See the crate documentation for the subset.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value as Json, json};
use survey_model::form::{Condition, Localized};
use survey_model::{
    ChoiceOption, FilterSource, FilterTerm, Form, FormDef, FormError, Question, QuestionType,
};

use crate::{ImportErrors, Imported, Problem};
use survey_model::expr::{self as xpath, Expr, Op};

const SURVEY: &str = "survey";
const CHOICES: &str = "choices";
const EXTERNAL_CHOICES: &str = "external_choices";

/// Whether a `*_from_file` list names a CSV file (the one kind read).
fn is_choices_file(list: &str) -> bool {
    list.to_lowercase().ends_with(".csv")
}
const SETTINGS: &str = "settings";

/// Columns ignored with a warning: they do not change what is asked or stored.
const SURVEY_IGNORED: &[&str] = &["guidance_hint"];

/// What an `email` row checks its text against.
pub const EMAIL_PATTERN: &str = r"^[^@\s]+@[^@\s]+\.[^@\s]+$";
/// What a `tel` row checks its text against: digits, spaces, `()-.`, an optional `+`.
pub const TEL_PATTERN: &str = r"^\+?[0-9][0-9 ().-]{4,24}$";
const SETTINGS_IGNORED: &[&str] = &["style", "instance_name"];
/// `choices` columns that are media, not attributes.
const CHOICES_MEDIA: &[&str] = &["image", "audio", "video", "big-image", "media"];

/// Largest total uncompressed size of a workbook's parts (an XLSForm is a few
/// hundred kilobytes; this refuses zip bombs before any XML is parsed).
pub const MAX_UNPACKED_BYTES: u128 = 64 * 1024 * 1024;
/// Most parts a workbook may hold.
pub const MAX_PARTS: usize = 2_000;

/// Refuse archives whose declared contents are too large (or unknown).
fn check_archive(bytes: &[u8]) -> Result<(), String> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(()); // calamine reports what is wrong with it
    };
    if zip.len() > MAX_PARTS {
        return Err(format!(
            "the workbook has {} parts (at most {MAX_PARTS})",
            zip.len()
        ));
    }
    // Sizes from the central directory (present even when a part uses a data descriptor).
    let mut total: u128 = 0;
    for i in 0..zip.len() {
        let Ok(part) = zip.by_index_raw(i) else {
            return Ok(()); // calamine reports it
        };
        total += u128::from(part.size());
    }
    if total > MAX_UNPACKED_BYTES {
        return Err(format!(
            "the workbook unpacks to {total} bytes (at most {MAX_UNPACKED_BYTES})"
        ));
    }
    Ok(())
}

/// Import an XLSForm workbook (`.xlsx` bytes).
pub fn import(bytes: &[u8]) -> Result<Imported, ImportErrors> {
    import_with_media(bytes, &BTreeMap::new())
}

/// Largest choices file read, in bytes.
pub const MAX_MEDIA_BYTES: usize = 16 * 1024 * 1024;

/// Import an XLSForm workbook with the files uploaded beside it (ODK's form
/// media, by file name): the CSV choice lists of `select_one_from_file` and
/// `select_multiple_from_file` questions (columns `name`, `label` and
/// `label::Language (code)`, other columns as option attributes for
/// `choice_filter`). A question naming a file that is not given is refused
/// with the file's name.
pub fn import_with_media(
    bytes: &[u8],
    media: &BTreeMap<String, Vec<u8>>,
) -> Result<Imported, ImportErrors> {
    if let Err(m) = check_archive(bytes) {
        return Err(ImportErrors {
            problems: vec![Problem::new("workbook", None, None, m)],
        });
    }
    // calamine parses untrusted XML: a reader panic becomes an error too.
    let run = std::panic::catch_unwind(|| {
        let mut cx = Cx::default();
        let form = cx.run(bytes, media);
        (cx, form)
    });
    let Ok((cx, form)) = run else {
        return Err(ImportErrors {
            problems: vec![Problem::new(
                "workbook",
                None,
                None,
                "the workbook could not be read (its reader failed on it)".into(),
            )],
        });
    };
    match form {
        Some(form) if cx.errors.is_empty() => Ok(Imported {
            form,
            warnings: cx.warnings,
        }),
        _ => Err(ImportErrors {
            problems: cx.errors,
        }),
    }
}

#[derive(Default)]
struct Cx {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    /// Languages in order of first appearance.
    languages: Vec<String>,
    /// The names of the workbook's repeats (a calculation may read one as a
    /// whole: `count(${members})`).
    repeat_names: HashSet<String>,
}

/// One sheet: its header and rows of trimmed cell texts.
struct Sheet {
    header_row: u32,
    /// (header text, base name lowercased, language code if any)
    columns: Vec<Column>,
    rows: Vec<Row>,
}

struct Column {
    header: String,
    base: String,
    lang: Option<String>,
}

struct Row {
    number: u32,
    cells: Vec<String>,
}

impl Row {
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.is_empty())
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_lang_code(s: &str) -> bool {
    let mut parts = s.split(['-', '_']);
    let first = parts.next().unwrap_or_default();
    (2..=3).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// `English (en)` → `en`; `en` → `en`.
fn parse_language(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(open) = s.rfind('(')
        && s.ends_with(')')
    {
        let code = s[open + 1..s.len() - 1].trim();
        return is_lang_code(code).then(|| code.to_owned());
    }
    is_lang_code(s).then(|| s.to_owned())
}

fn cell_text(d: &Data) -> Result<String, String> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
        Data::Error(e) => return Err(format!("the cell holds a spreadsheet error ({e:?})")),
    })
}

impl Cx {
    fn err(&mut self, sheet: &str, row: Option<u32>, column: Option<&str>, message: String) {
        self.errors.push(Problem::new(sheet, row, column, message));
    }

    fn warn(&mut self, sheet: &str, row: Option<u32>, column: Option<&str>, message: String) {
        self.warnings
            .push(Problem::new(sheet, row, column, message));
    }

    fn note_language(&mut self, code: &str) {
        if !self.languages.iter().any(|l| l == code) {
            self.languages.push(code.to_owned());
        }
    }

    fn read_sheet(&mut self, wb: &mut Xlsx<Cursor<&[u8]>>, name: &'static str) -> Option<Sheet> {
        let range = match wb.worksheet_range(name) {
            Ok(r) => r,
            Err(e) => {
                self.err(name, None, None, format!("cannot read the sheet: {e}"));
                return None;
            }
        };
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut rows_iter = range.rows();
        let header_row = r0 + 1;
        let mut columns = Vec::new();
        if let Some(h) = rows_iter.next() {
            // Columns before the range's first column are empty; keep indexes absolute.
            for _ in 0..c0 {
                columns.push(Column {
                    header: String::new(),
                    base: String::new(),
                    lang: None,
                });
            }
            for cell in h {
                let header = cell_text(cell).unwrap_or_default();
                let (base, lang) = match header.split_once("::") {
                    Some((b, l)) => (b.trim().to_lowercase(), Some(l.trim().to_owned())),
                    None => (header.trim().to_lowercase(), None),
                };
                columns.push(Column {
                    header: header.clone(),
                    base: column_alias(name, &base).unwrap_or(&base).to_owned(),
                    lang,
                });
            }
        }
        let mut rows = Vec::new();
        for (i, r) in rows_iter.enumerate() {
            let number = header_row + 1 + i as u32;
            let mut cells = vec![String::new(); c0 as usize];
            for (j, cell) in r.iter().enumerate() {
                match cell_text(cell) {
                    Ok(t) => cells.push(t),
                    Err(m) => {
                        let col = columns
                            .get(c0 as usize + j)
                            .map(|c| c.header.clone())
                            .unwrap_or_default();
                        self.err(name, Some(number), Some(&col), m);
                        cells.push(String::new());
                    }
                }
            }
            let row = Row { number, cells };
            if !row.is_blank() {
                rows.push(row);
            }
        }
        Some(Sheet {
            header_row,
            columns,
            rows,
        })
    }

    fn run(&mut self, bytes: &[u8], media: &BTreeMap<String, Vec<u8>>) -> Option<FormDef> {
        let mut wb = match Xlsx::new(Cursor::new(bytes)) {
            Ok(wb) => wb,
            Err(e) => {
                self.err(
                    "workbook",
                    None,
                    None,
                    format!("not an .xlsx workbook: {e}"),
                );
                return None;
            }
        };
        let names: Vec<String> = wb.sheet_names();
        let has = |n: &str| names.iter().any(|s| s == n);
        if !has(SURVEY) {
            self.err(
                "workbook",
                None,
                None,
                format!(
                    "no `survey` sheet (sheets: {})",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            );
            return None;
        }
        for n in &names {
            if ![SURVEY, CHOICES, SETTINGS, EXTERNAL_CHOICES].contains(&n.as_str()) {
                self.warn(
                    "workbook",
                    None,
                    None,
                    format!("sheet `{n}` is not part of an XLSForm and is ignored"),
                );
            }
        }
        let settings = if has(SETTINGS) {
            self.read_sheet(&mut wb, SETTINGS)
        } else {
            None
        };
        let survey = self.read_sheet(&mut wb, SURVEY)?;
        let choices = if has(CHOICES) {
            self.read_sheet(&mut wb, CHOICES)
        } else {
            None
        };
        let settings = self.settings(settings.as_ref());
        let settings_row = settings.row;
        let dl = settings.default_language.clone();
        self.note_language(&dl);
        let survey_cols = self.survey_columns(&survey, &dl);
        let mut lists = match &choices {
            Some(c) => self.choices(c, &dl, CHOICES, None),
            None => BTreeMap::new(),
        };
        // `select_one_external` lists live in their own sheet.
        if has(EXTERNAL_CHOICES)
            && let Some(sheet) = self.read_sheet(&mut wb, EXTERNAL_CHOICES)
        {
            for (list, options) in self.choices(&sheet, &dl, EXTERNAL_CHOICES, None) {
                match lists.entry(list) {
                    std::collections::btree_map::Entry::Occupied(e) => self.err(
                        EXTERNAL_CHOICES,
                        options.first().map(|(r, _)| *r),
                        Some("list_name"),
                        format!("list `{}` is also in the choices sheet", e.key()),
                    ),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(options);
                    }
                }
            }
        }
        // The CSV files `*_from_file` questions name, when uploaded.
        for r in &survey.rows {
            if let Ok(Kind::Question(_, Some(file), _)) = parse_type(survey_cols.get(r, "type"))
                && is_choices_file(&file)
                && !lists.contains_key(&file)
                && let Some(bytes) = media.get(&file)
                && let Some(sheet) = self.csv_sheet(&file, bytes)
            {
                let options = self.choices(&sheet, &dl, &file, Some(&file));
                lists.extend(options);
            }
        }
        let (def, rows) =
            self.survey(&survey, &survey_cols, &lists, choices.is_some(), settings)?;
        if !self.errors.is_empty() {
            return None;
        }
        match Form::new(def.clone()) {
            Ok(_) => Some(def),
            Err(FormError::Invalid(problems)) => {
                for p in problems {
                    let row = p.question.as_ref().and_then(|q| rows.get(q)).copied();
                    let column = guess_column(&p.message);
                    let (sheet, row) = match (row, &p.question) {
                        (Some(r), _) => (SURVEY, Some(r)),
                        (None, None) => (SETTINGS, Some(settings_row)),
                        (None, Some(_)) => (SURVEY, None),
                    };
                    self.err(sheet, row, column, p.message);
                }
                None
            }
            Err(FormError::Json(e)) => {
                self.err("workbook", None, None, e.to_string());
                None
            }
        }
    }
}

fn guess_column(message: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] = &[
        ("relevant", "relevant"),
        ("constraint", "constraint"),
        ("cannot compare", "relevant"),
        ("default", "default"),
        ("appearance", "appearance"),
        ("choice_filter", "choice_filter"),
        ("label", "label"),
        ("option", "name"),
        ("duplicate option", "name"),
        ("name", "name"),
        ("duplicate question", "name"),
        ("min", "fv_min"),
        ("max_selected", "fv_max_selected"),
        ("pattern", "fv_pattern"),
        ("form_id", "form_id"),
        ("version", "version"),
        ("title", "form_title"),
        ("default_language", "default_language"),
    ];
    PREFIXES
        .iter()
        .find(|(p, _)| message.starts_with(p))
        .map(|(_, c)| *c)
}

struct Settings {
    /// The settings sheet's value row (2 when it is missing).
    row: u32,
    form_id: String,
    version: u32,
    title: Localized,
    default_language: String,
    /// `fv_countries`: comma-separated two-letter codes.
    countries: Vec<String>,
    /// `fv_coordinators_publish`.
    coordinators_publish: bool,
}

/// Where each survey column is: plain columns by base name, texts by (base, language).
struct SurveyCols {
    plain: HashMap<String, (usize, String)>,
    text: HashMap<String, Vec<(String, usize, String)>>,
}

impl SurveyCols {
    fn get<'r>(&self, row: &'r Row, base: &str) -> &'r str {
        self.plain
            .get(base)
            .and_then(|(i, _)| row.cells.get(*i))
            .map_or("", String::as_str)
    }

    fn header(&self, base: &str) -> String {
        self.plain
            .get(base)
            .map_or_else(|| base.to_owned(), |(_, h)| h.clone())
    }

    fn localized(&self, row: &Row, base: &str) -> Localized {
        let mut out = BTreeMap::new();
        for (lang, i, _) in self.text.get(base).into_iter().flatten() {
            if let Some(t) = row.cells.get(*i).filter(|t| !t.is_empty()) {
                out.insert(lang.clone(), t.clone());
            }
        }
        Localized(out)
    }

    /// Text columns of `base` with their headers and the text of this row.
    fn texts<'a>(&'a self, row: &'a Row, base: &str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.text
            .get(base)
            .into_iter()
            .flatten()
            .filter_map(|(_, i, h)| row.cells.get(*i).map(|t| (h.as_str(), t.as_str())))
    }
}

/// A survey row before conversion (first pass).
struct Pending {
    row: u32,
    name: String,
    kind: QuestionType,
}

impl Cx {
    fn language_of(&mut self, sheet: &str, row: u32, col: &Column, dl: &str) -> Option<String> {
        match &col.lang {
            None => Some(dl.to_owned()),
            Some(l) => match parse_language(l) {
                Some(code) => Some(code),
                None => {
                    self.err(
                        sheet,
                        Some(row),
                        Some(&col.header),
                        format!(
                            "language `{l}` has no code: write it as `{}::{l} (xx)`",
                            col.base
                        ),
                    );
                    None
                }
            },
        }
    }

    fn settings(&mut self, sheet: Option<&Sheet>) -> Settings {
        let mut s = Settings {
            row: 2,
            form_id: String::new(),
            version: 0,
            title: Localized::default(),
            default_language: "en".into(),
            countries: Vec::new(),
            coordinators_publish: false,
        };
        let Some(sheet) = sheet else {
            self.err(
                SETTINGS,
                None,
                None,
                "no `settings` sheet: fieldvoice needs form_id and version".into(),
            );
            return s;
        };
        let row = sheet.rows.first();
        let rn = row.map_or(sheet.header_row + 1, |r| r.number);
        s.row = rn;
        let get = |base: &str| -> Option<(String, String)> {
            let i = sheet
                .columns
                .iter()
                .position(|c| c.base == base && c.lang.is_none())?;
            let v = row
                .and_then(|r| r.cells.get(i))
                .cloned()
                .unwrap_or_default();
            Some((sheet.columns[i].header.clone(), v))
        };
        if let Some((h, v)) = get("default_language").filter(|(_, v)| !v.is_empty()) {
            match parse_language(&v) {
                Some(code) => s.default_language = code,
                None => self.err(
                    SETTINGS,
                    Some(rn),
                    Some(&h),
                    format!(
                        "default_language `{v}` has no language code: write `English (en)` or `en`"
                    ),
                ),
            }
        }
        if let Some((_, v)) = get("fv_countries") {
            s.countries = v
                .split(',')
                .map(|c| c.trim().to_uppercase())
                .filter(|c| !c.is_empty())
                .collect();
        }
        if let Some((h, v)) = get("fv_coordinators_publish") {
            match parse_bool(&v) {
                Some(b) => s.coordinators_publish = b,
                None => self.err(
                    SETTINGS,
                    Some(rn),
                    Some(&h),
                    format!("`{v}` is not yes or no"),
                ),
            }
        }
        match get("form_id") {
            Some((_, v)) if !v.is_empty() => s.form_id = v,
            _ => self.err(
                SETTINGS,
                Some(rn),
                Some("form_id"),
                "form_id is missing".into(),
            ),
        }
        match get("version") {
            Some((h, v)) if !v.is_empty() => {
                if !v.chars().all(|c| c.is_ascii_digit()) {
                    self.err(
                        SETTINGS,
                        Some(rn),
                        Some(&h),
                        format!("version `{v}` must be a whole number of digits"),
                    );
                } else {
                    match v.parse::<u32>() {
                        Ok(n) if n > 0 => s.version = n,
                        Ok(_) => self.err(
                            SETTINGS,
                            Some(rn),
                            Some(&h),
                            "version must be 1 or more".into(),
                        ),
                        Err(_) => self.err(
                            SETTINGS,
                            Some(rn),
                            Some(&h),
                            format!(
                                "version `{v}` is larger than {} (fieldvoice versions are 32-bit)",
                                u32::MAX
                            ),
                        ),
                    }
                }
            }
            _ => self.err(
                SETTINGS,
                Some(rn),
                Some("version"),
                "version is missing".into(),
            ),
        }
        let dl = s.default_language.clone();
        for (i, col) in sheet.columns.iter().enumerate() {
            let v = row
                .and_then(|r| r.cells.get(i))
                .cloned()
                .unwrap_or_default();
            match col.base.as_str() {
                "form_title" => {
                    let Some(lang) = self.language_of(SETTINGS, sheet.header_row, col, &dl) else {
                        continue;
                    };
                    self.note_language(&lang);
                    if !v.is_empty() && s.title.0.insert(lang.clone(), v).is_some() {
                        self.err(
                            SETTINGS,
                            Some(rn),
                            Some(&col.header),
                            format!("a second form_title in `{lang}`"),
                        );
                    }
                }
                "form_id"
                | "version"
                | "default_language"
                | "fv_countries"
                | "fv_coordinators_publish"
                | "" if col.lang.is_none() => {}
                b if SETTINGS_IGNORED.contains(&b) => {
                    if !v.is_empty() {
                        self.warn(
                            SETTINGS,
                            Some(rn),
                            Some(&col.header),
                            format!("`{b}` is ignored"),
                        );
                    }
                }
                _ if v.is_empty() => {}
                _ => self.err(
                    SETTINGS,
                    Some(rn),
                    Some(&col.header),
                    format!("setting `{}` is not supported", col.header),
                ),
            }
        }
        if s.title.0.is_empty() && !s.form_id.is_empty() {
            s.title.0.insert(dl, s.form_id.clone());
            self.warn(
                SETTINGS,
                Some(rn),
                Some("form_title"),
                "no form_title: the form_id is used as the title".into(),
            );
        }
        s
    }

    fn survey_columns(&mut self, sheet: &Sheet, dl: &str) -> SurveyCols {
        let mut cols = SurveyCols {
            plain: HashMap::new(),
            text: HashMap::new(),
        };
        for (i, col) in sheet.columns.iter().enumerate() {
            let first_value = sheet
                .rows
                .iter()
                .find(|r| r.cells.get(i).is_some_and(|c| !c.is_empty()))
                .map(|r| r.number);
            if col.base.is_empty() {
                if let Some(r) = first_value {
                    self.err(
                        SURVEY,
                        Some(r),
                        None,
                        format!("a value in column {} which has no header", i + 1),
                    );
                }
                continue;
            }
            let base = col.base.as_str();
            if crate::survey_columns(true).any(|c| c == base) {
                let Some(lang) = self.language_of(SURVEY, sheet.header_row, col, dl) else {
                    continue;
                };
                self.note_language(&lang);
                let list = cols.text.entry(base.to_owned()).or_default();
                if list.iter().any(|(l, ..)| *l == lang) {
                    self.err(
                        SURVEY,
                        Some(sheet.header_row),
                        Some(&col.header),
                        format!("a second `{base}` column in `{lang}`"),
                    );
                    continue;
                }
                list.push((lang, i, col.header.clone()));
            } else if crate::survey_columns(false).any(|c| c == base) && col.lang.is_none() {
                if cols
                    .plain
                    .insert(base.to_owned(), (i, col.header.clone()))
                    .is_some()
                {
                    self.err(
                        SURVEY,
                        Some(sheet.header_row),
                        Some(&col.header),
                        format!("a second `{base}` column"),
                    );
                }
            } else if SURVEY_IGNORED.contains(&base) {
                if let Some(r) = first_value {
                    self.warn(
                        SURVEY,
                        Some(r),
                        Some(&col.header),
                        format!("`{base}` is ignored"),
                    );
                }
            } else if let Some(r) = first_value {
                self.err(
                    SURVEY,
                    Some(r),
                    Some(&col.header),
                    format!("column `{}` is not supported", col.header),
                );
            }
        }
        for needed in ["type", "name"] {
            if !cols.plain.contains_key(needed) {
                self.err(
                    SURVEY,
                    Some(sheet.header_row),
                    None,
                    format!("the `{needed}` column is missing"),
                );
            }
        }
        cols
    }

    /// A choices CSV file as a sheet (header in row 1), or its problem.
    fn csv_sheet(&mut self, file: &str, bytes: &[u8]) -> Option<Sheet> {
        if bytes.len() > MAX_MEDIA_BYTES {
            self.err(
                file,
                None,
                None,
                format!("the file is larger than {MAX_MEDIA_BYTES} bytes"),
            );
            return None;
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let number = i as u32 + 1;
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let m = match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8 text".to_owned(),
                        _ => format!("not a readable CSV row: {e}"),
                    };
                    self.err(file, Some(number), None, m);
                    return None;
                }
            };
            let cells: Vec<String> = rec.iter().map(|c| c.trim().to_owned()).collect();
            if i == 0 {
                columns = cells
                    .iter()
                    .map(|h| {
                        let (base, lang) = match h.split_once("::") {
                            Some((b, l)) => (b.trim().to_lowercase(), Some(l.trim().to_owned())),
                            None => (h.to_lowercase(), None),
                        };
                        Column {
                            header: h.clone(),
                            base: column_alias(CHOICES, &base).unwrap_or(&base).to_owned(),
                            lang,
                        }
                    })
                    .collect();
                continue;
            }
            let row = Row { number, cells };
            if !row.is_blank() {
                rows.push(row);
            }
        }
        if columns.is_empty() {
            self.err(file, None, None, "the file is empty".into());
            return None;
        }
        Some(Sheet {
            header_row: 1,
            columns,
            rows,
        })
    }

    /// The `choices` sheet (or `external_choices`, or a choices CSV file,
    /// named `name` in problems): options by list name, each with its row. A
    /// CSV file is one list, `fixed_list`, without a `list_name` column.
    fn choices(
        &mut self,
        sheet: &Sheet,
        dl: &str,
        name: &str,
        fixed_list: Option<&str>,
    ) -> BTreeMap<String, Vec<(u32, ChoiceOption)>> {
        let mut lists: BTreeMap<String, Vec<(u32, ChoiceOption)>> = BTreeMap::new();
        let mut list_i = None;
        let mut name_i = None;
        let mut labels = Vec::new();
        let mut attrs = Vec::new();
        for (i, col) in sheet.columns.iter().enumerate() {
            let used = sheet
                .rows
                .iter()
                .find(|r| r.cells.get(i).is_some_and(|c| !c.is_empty()))
                .map(|r| r.number);
            match (col.base.as_str(), &col.lang) {
                ("list_name" | "list name", None) => list_i = Some(i),
                ("name" | "value", None) => name_i = Some(i),
                ("label", _) => {
                    if let Some(lang) = self.language_of(name, sheet.header_row, col, dl) {
                        self.note_language(&lang);
                        if labels.iter().any(|(l, _)| *l == lang) {
                            self.err(
                                name,
                                Some(sheet.header_row),
                                Some(&col.header),
                                format!("a second label column in `{lang}`"),
                            );
                        } else {
                            labels.push((lang, i));
                        }
                    }
                }
                ("", _) => {
                    if let Some(r) = used {
                        self.err(
                            name,
                            Some(r),
                            None,
                            format!("a value in column {} which has no header", i + 1),
                        );
                    }
                }
                (b, lang) if CHOICES_MEDIA.contains(&b) || lang.is_some() || !is_name(b) => {
                    if let Some(r) = used {
                        self.err(
                            name,
                            Some(r),
                            Some(&col.header),
                            format!(
                                "column `{}` is not supported (extra choice columns must be snake_case attributes, not media)",
                                col.header
                            ),
                        );
                    }
                }
                _ => attrs.push((col.base.clone(), i)),
            }
        }
        let (Some(name_i), true) = (name_i, list_i.is_some() || fixed_list.is_some()) else {
            self.err(
                name,
                Some(sheet.header_row),
                None,
                match fixed_list {
                    Some(_) => "the `name` column is required".into(),
                    None => "the `list_name` and `name` columns are required".into(),
                },
            );
            return lists;
        };
        let name_header = sheet.columns[name_i].header.clone();
        for r in &sheet.rows {
            let cell = |i: usize| r.cells.get(i).map_or("", String::as_str);
            let list = match (fixed_list, list_i) {
                (Some(l), _) => l,
                (None, Some(i)) => cell(i),
                (None, None) => "",
            };
            let value = cell(name_i);
            if list.is_empty() || value.is_empty() {
                self.err(
                    name,
                    Some(r.number),
                    Some(if list.is_empty() {
                        "list_name"
                    } else {
                        &name_header
                    }),
                    "a choice needs a list_name and a name".into(),
                );
                continue;
            }
            if !is_name(value) {
                self.err(
                    name,
                    Some(r.number),
                    Some(&name_header),
                    format!("choice name `{value}` is not a fieldvoice option value (^[a-z][a-z0-9_]{{0,62}}$); it is refused rather than renamed, since answers store it"),
                );
                continue;
            }
            let mut label = BTreeMap::new();
            for (lang, i) in &labels {
                if !cell(*i).is_empty() {
                    label.insert(lang.clone(), cell(*i).to_owned());
                }
            }
            if let Some(t) = label.values().find(|t| t.contains("${")) {
                self.err(
                    name,
                    Some(r.number),
                    Some("label"),
                    format!("label `{t}` uses `${{…}}`: answer piping is not supported"),
                );
            }
            let attributes = attrs
                .iter()
                .filter(|(_, i)| !cell(*i).is_empty())
                .map(|(a, i)| (a.clone(), cell(*i).to_owned()))
                .collect();
            let options = lists.entry(list.to_owned()).or_default();
            if let Some((first, _)) = options.iter().find(|(_, o)| o.value == value) {
                self.err(
                    name,
                    Some(r.number),
                    Some(&name_header),
                    format!("duplicate choice `{value}` in list `{list}` (first at row {first})"),
                );
                continue;
            }
            options.push((
                r.number,
                ChoiceOption {
                    value: value.to_owned(),
                    label: Localized(label),
                    attributes,
                },
            ));
        }
        lists
    }
}

/// The column names pyxform still accepts for a column of `sheet`, and the
/// name they stand for (pyxform's `survey_header` and `list_header`).
const COLUMN_ALIASES: &[(&str, &str, &str)] = &[
    (SURVEY, "relevance", "relevant"),
    (SURVEY, "caption", "label"),
    (SURVEY, "constraint message", "constraint_message"),
    (SURVEY, "constraining message", "constraint_message"),
    (SURVEY, "required message", "required_message"),
    (SURVEY, "requiredmsg", "required_message"),
    (SURVEY, "command", "type"),
    (SURVEY, "tag", "name"),
    (CHOICES, "caption", "label"),
    (CHOICES, "value", "name"),
    (CHOICES, "list name", "list_name"),
];

/// The canonical name of column `base` (lowercased) of `sheet`, if it is an alias.
fn column_alias(sheet: &str, base: &str) -> Option<&'static str> {
    COLUMN_ALIASES
        .iter()
        .find(|(s, alias, _)| *s == sheet && *alias == base)
        .map(|(_, _, canonical)| *canonical)
}

/// Type spellings pyxform still accepts (its `select` aliases and question
/// type dictionary), each with the type it stands for: `(alias words, type)`.
/// Longest first, so that `select one from file` wins over `select one`.
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("add select multiple prompt using", "select_multiple"),
    ("add select one prompt using", "select_one"),
    ("select all that apply from", "select_multiple"),
    ("select multiple from file", "select_multiple_from_file"),
    ("select one from file", "select_one_from_file"),
    ("select all that apply", "select_multiple"),
    ("add location prompt", "geopoint"),
    ("add integer prompt", "integer"),
    ("add decimal prompt", "decimal"),
    ("add image prompt", "image"),
    ("add photo prompt", "image"),
    ("add audio prompt", "audio"),
    ("add video prompt", "video"),
    ("add text prompt", "text"),
    ("add date prompt", "date"),
    ("add note prompt", "note"),
    ("add file prompt", "file"),
    ("select one from", "select_one"),
    ("select multiple", "select_multiple"),
    ("select one", "select_one"),
    ("select1", "select_one"),
    ("q picture", "image"),
    ("location", "geopoint"),
    ("gps", "geopoint"),
    ("string", "text"),
    ("int", "integer"),
    ("imei", "deviceid"),
    ("trigger", "acknowledge"),
    ("photo", "image"),
];

/// A `type` cell with a pyxform alias replaced by the type it stands for
/// (case-insensitive; the list name after it kept as written).
fn canonical_type(t: &str) -> String {
    let words: Vec<&str> = t.split_whitespace().collect();
    for (alias, canonical) in TYPE_ALIASES {
        let n = alias.split_whitespace().count();
        if words.len() >= n
            && words[..n]
                .iter()
                .zip(alias.split_whitespace())
                .all(|(w, a)| w.eq_ignore_ascii_case(a))
        {
            let mut out = vec![*canonical];
            out.extend_from_slice(&words[n..]);
            return out.join(" ");
        }
    }
    words.join(" ")
}

/// Media question types: refused until fieldvoice stores attachments.
const MEDIA_TYPES: &[&str] = &[
    "image",
    "audio",
    "video",
    "barcode",
    "file",
    "background-audio",
];

/// What a `type` cell says.
enum Kind {
    Question(QuestionType, Option<String>, bool),
    /// Interview metadata fieldvoice records by itself (`start`, `end`,
    /// `today`: the interview's `created_at` and change times; `deviceid`:
    /// `device_id`; `username`: `created_by`; `audit`: the change log).
    Metadata(String),
    BeginGroup,
    EndGroup,
    BeginRepeat,
    EndRepeat,
}

fn parse_type(written: &str) -> Result<Kind, String> {
    let canonical = canonical_type(written);
    let t = canonical.as_str();
    let words: Vec<&str> = t.split_whitespace().collect();
    let first = words.first().copied().unwrap_or_default().to_lowercase();
    let one = |k: QuestionType| {
        if words.len() == 1 {
            Ok(Kind::Question(k, None, false))
        } else {
            Err(format!("type `{t}` takes no list"))
        }
    };
    match (first.as_str(), words.get(1).map(|w| w.to_lowercase())) {
        ("begin", Some(w)) if w == "group" && words.len() == 2 => Ok(Kind::BeginGroup),
        ("begin_group", None) => Ok(Kind::BeginGroup),
        ("end", Some(w)) if w == "group" && words.len() == 2 => Ok(Kind::EndGroup),
        ("end_group", None) => Ok(Kind::EndGroup),
        ("begin", Some(w)) if w == "repeat" && words.len() == 2 => Ok(Kind::BeginRepeat),
        ("begin_repeat", None) => Ok(Kind::BeginRepeat),
        ("end", Some(w)) if w == "repeat" && words.len() == 2 => Ok(Kind::EndRepeat),
        ("end_repeat", None) => Ok(Kind::EndRepeat),
        ("text", _) => one(QuestionType::Text),
        ("integer", _) => one(QuestionType::Integer),
        ("decimal", _) => one(QuestionType::Decimal),
        ("date", _) => one(QuestionType::Date),
        ("geopoint", _) => one(QuestionType::Geopoint),
        ("note", _) => one(QuestionType::Note),
        ("acknowledge", _) => one(QuestionType::Acknowledge),
        ("select_one" | "select_multiple", Some(list)) => {
            let kind = if first == "select_one" {
                QuestionType::SingleChoice
            } else {
                QuestionType::MultiChoice
            };
            let other = match words.get(2).map(|w| w.to_lowercase()) {
                None => false,
                Some(w) if w == "or_other" && words.len() == 3 => true,
                Some(_) => return Err(format!("type `{t}`: only `or_other` may follow the list")),
            };
            let _ = list;
            Ok(Kind::Question(kind, Some(words[1].to_owned()), other))
        }
        ("select_one" | "select_multiple", None) => Err(format!("type `{t}` needs a choice list")),
        ("select_one_from_file" | "select_multiple_from_file", Some(_)) => {
            let file = words[1].to_owned();
            if words.len() > 2 {
                return Err(format!("type `{t}`: nothing may follow the file name"));
            }
            if !is_choices_file(&file) {
                return Err(format!(
                    "`{first}` from `{file}`: only CSV choice files are read (not XML or GeoJSON)"
                ));
            }
            let kind = if first == "select_one_from_file" {
                QuestionType::SingleChoice
            } else {
                QuestionType::MultiChoice
            };
            Ok(Kind::Question(kind, Some(file), false))
        }
        ("select_one_external", Some(_)) if words.len() == 2 => Ok(Kind::Question(
            QuestionType::SingleChoice,
            Some(words[1].to_owned()),
            false,
        )),
        ("select_one_from_file" | "select_multiple_from_file" | "select_one_external", _) => {
            Err(format!("type `{t}` needs a choices file or list"))
        }
        ("calculate", _) => one(QuestionType::Calculate),
        // A value that is never shown: its `default`, as a calculation.
        ("hidden", _) => one(QuestionType::Calculate),
        ("time", _) => one(QuestionType::Time),
        ("datetime", _) => one(QuestionType::DateTime),
        // Text with a format check; a person's address or number is personal data.
        ("email" | "tel", _) => one(QuestionType::Text),
        (
            "start" | "end" | "today" | "deviceid" | "username" | "audit" | "phonenumber"
            | "subscriberid" | "simserial" | "start-geopoint",
            _,
        ) if words.len() == 1 => Ok(Kind::Metadata(first)),
        (m, _) if MEDIA_TYPES.contains(&m) => Err(format!(
            "media question type `{written}` is not supported: fieldvoice does not store \
             photos, recordings, scans or files yet"
        )),
        _ => Err(format!("type `{written}` is not supported")),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "true()" | "1" => Some(true),
        "" | "no" | "false" | "false()" | "0" => Some(false),
        _ => None,
    }
}

/// A number cell as JSON: an integer when written without a fraction.
fn number_json(s: &str) -> Option<Json> {
    if !s.contains(['.', 'e', 'E']) {
        return s.parse::<i64>().ok().map(Json::from);
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Json::from)
}

/// Context for converting one condition.
struct CondCx<'a> {
    kinds: &'a HashMap<String, QuestionType>,
    /// The question `.` stands for (constraints only).
    me: Option<&'a str>,
    /// The workbook's repeats (known names, which the form's checks then
    /// place: a condition may not read a repeat as a whole).
    repeats: &'a HashSet<String>,
}

impl CondCx<'_> {
    fn name_of(&self, e: &Expr) -> Result<String, String> {
        match e {
            Expr::Ref(r) => {
                if !self.kinds.contains_key(r) {
                    return Err(format!("`${{{r}}}` is not a question of this form"));
                }
                Ok(r.clone())
            }
            Expr::Dot => match self.me {
                Some(m) => Ok(m.to_owned()),
                None => Err("`.` (the question itself) is only for constraints".into()),
            },
            other => Err(format!(
                "expected a `${{question}}` or `.`, found {}",
                show(other)
            )),
        }
    }

    /// The structured condition `e` says, else (arithmetic, `if()`, two
    /// questions compared, calculations…) an expression condition.
    fn cond_or_expr(&self, e: &Expr) -> Result<Condition, String> {
        match self.cond(e) {
            Ok(c) => Ok(c),
            Err(structured) => {
                xpath::check(e, self.me.is_some())?;
                for r in xpath::references(e) {
                    if !self.kinds.contains_key(&r) && !self.repeats.contains(&r) {
                        return Err(format!("`${{{r}}}` is not a question of this form"));
                    }
                }
                let _ = structured;
                Ok(Condition::Expr {
                    expr: xpath::render(e, self.me),
                })
            }
        }
    }

    fn cond(&self, e: &Expr) -> Result<Condition, String> {
        match e {
            Expr::Or(items) => Ok(Condition::Any {
                any: items
                    .iter()
                    .map(|i| self.cond_or_expr(i))
                    .collect::<Result<_, _>>()?,
            }),
            Expr::And(items) => Ok(Condition::All {
                all: items
                    .iter()
                    .map(|i| self.cond_or_expr(i))
                    .collect::<Result<_, _>>()?,
            }),
            Expr::Call(f, args) => match (f.as_str(), args.as_slice()) {
                ("not", [x]) => Ok(Condition::Not {
                    not: Box::new(self.cond_or_expr(x)?),
                }),
                ("selected", [x, Expr::Str(v)]) => Ok(Condition::Selected {
                    selected: self.name_of(x)?,
                    option: v.clone(),
                }),
                ("regex", [x, Expr::Str(p)]) => Ok(Condition::Regex {
                    regex: self.name_of(x)?,
                    pattern: p.clone(),
                }),
                ("not" | "selected" | "regex", _) => Err(format!(
                    "{f}() takes {}",
                    match f.as_str() {
                        "not" => "one condition",
                        "selected" => "a question and a quoted option: selected(${x}, 'v')",
                        _ => "a question and a quoted pattern: regex(., 'p')",
                    }
                )),
                ("true" | "false", []) => {
                    Err(format!("a constant condition ({f}()) is not supported"))
                }
                ("string-length" | "count-selected" | "today" | "date", _) => Err(format!(
                    "{f}() must be compared with a value, e.g. {f}(…) > 0"
                )),
                _ => Err(format!("function `{f}()` is not supported")),
            },
            Expr::Cmp(l, op, r) => self.compare(l, *op, r),
            Expr::Ref(r) => Err(format!(
                "`${{{r}}}` alone is not a condition: compare it, e.g. `${{{r}}} != ''`"
            )),
            Expr::Dot => Err("`.` alone is not a condition: compare it".into()),
            other => Err(format!("{} is not a condition", show(other))),
        }
    }

    fn compare(&self, l: &Expr, op: Op, r: &Expr) -> Result<Condition, String> {
        let is_subject = |e: &Expr| {
            matches!(e, Expr::Ref(_) | Expr::Dot)
                || matches!(e, Expr::Call(f, _) if f == "string-length" || f == "count-selected")
        };
        let (l, op, r) = if !is_subject(l) && is_subject(r) {
            (r, op.flipped(), l)
        } else {
            (l, op, r)
        };
        if is_subject(r) {
            return Err("comparing two questions with each other is not supported".into());
        }
        let count = |r: &Expr| match r {
            Expr::Num(n) => n
                .parse::<i64>()
                .map_err(|_| format!("`{n}` must be a whole number here")),
            other => Err(format!("expected a whole number, found {}", show(other))),
        };
        match l {
            Expr::Call(f, args) if f == "string-length" || f == "count-selected" => {
                let [x] = args.as_slice() else {
                    return Err(format!("{f}() takes one question"));
                };
                let q = self.name_of(x)?;
                let value = count(r)?;
                Ok(if f == "string-length" {
                    Condition::Length {
                        length: q,
                        op,
                        value,
                    }
                } else {
                    Condition::CountSelected {
                        count_selected: q,
                        op,
                        value,
                    }
                })
            }
            Expr::Ref(_) | Expr::Dot => {
                let q = self.name_of(l)?;
                let kind = self.kinds.get(&q).copied().unwrap_or(QuestionType::Text);
                if let Expr::Str(s) = r
                    && s.is_empty()
                {
                    let answered = Condition::Answered { answered: q };
                    return match op {
                        Op::Ne => Ok(answered),
                        Op::Eq => Ok(Condition::Not {
                            not: Box::new(answered),
                        }),
                        _ => Err("only `=` and `!=` compare with ''".into()),
                    };
                }
                let value = self.literal(&q, kind, r)?;
                if kind == QuestionType::MultiChoice {
                    return Err(format!(
                        "`{}` on select_multiple `{q}` compares the whole answer; use selected(${{{q}}}, 'v')",
                        op.as_str()
                    ));
                }
                Ok(Condition::Compare { q, op, value })
            }
            Expr::Call(f, _) => Err(format!("function `{f}()` is not supported")),
            other => Err(format!("cannot compare {}", show(other))),
        }
    }

    /// A literal compared with question `q` of `kind`, as the model's JSON value.
    fn literal(&self, q: &str, kind: QuestionType, r: &Expr) -> Result<Json, String> {
        use QuestionType as T;
        let bad = || format!("cannot compare `{q}` ({kind:?}) with {}", show(r));
        match (kind, r) {
            (T::Integer | T::Nps | T::Rating, Expr::Num(n) | Expr::Str(n)) => n
                .parse::<i64>()
                .map(Json::from)
                .map_err(|_| format!("`{q}` is a whole number; `{n}` is not")),
            (T::Decimal, Expr::Num(n) | Expr::Str(n)) => {
                number_json(n).ok_or_else(|| format!("`{n}` is not a number"))
            }
            (T::Text | T::SingleChoice | T::MultiChoice, Expr::Str(s)) => Ok(Json::from(s.clone())),
            (T::Text, Expr::Num(n)) => Ok(Json::from(n.clone())),
            (T::Date, Expr::Call(f, a)) if f == "today" && a.is_empty() => Ok(json!({"today": 0})),
            (T::Date, Expr::Call(f, a)) if f == "date" => match a.as_slice() {
                [Expr::Str(d)] if is_date(d) => Ok(Json::from(d.clone())),
                _ => Err("date() takes a quoted YYYY-MM-DD date".into()),
            },
            (T::Date, Expr::Str(d)) if is_date(d) => Ok(Json::from(d.clone())),
            (T::Consent | T::Acknowledge, Expr::Call(f, a))
                if a.is_empty() && (f == "true" || f == "false") =>
            {
                Ok(Json::Bool(f == "true"))
            }
            (T::Acknowledge, Expr::Str(s)) if s == "OK" => Ok(Json::Bool(true)),
            (_, Expr::Call(f, _)) if !matches!(f.as_str(), "today" | "date" | "true" | "false") => {
                Err(format!("function `{f}()` is not supported"))
            }
            _ => Err(bad()),
        }
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn show(e: &Expr) -> String {
    match e {
        Expr::Ref(r) => format!("`${{{r}}}`"),
        Expr::Dot => "`.`".into(),
        Expr::Str(s) => format!("'{s}'"),
        Expr::Num(n) => format!("`{n}`"),
        Expr::Name(n) => format!("the word `{n}`"),
        Expr::Call(f, _) => format!("`{f}()`"),
        Expr::Cmp(..) => "a comparison".into(),
        Expr::Arith(..) | Expr::Neg(_) => "arithmetic".into(),
        Expr::And(_) | Expr::Or(_) => "a condition".into(),
    }
}

/// A group (or repeat) being read.
struct Group {
    name: String,
    row: u32,
    relevant: Option<Condition>,
    repeat: bool,
}

impl Cx {
    #[allow(clippy::too_many_lines)]
    fn survey(
        &mut self,
        sheet: &Sheet,
        cols: &SurveyCols,
        lists: &BTreeMap<String, Vec<(u32, ChoiceOption)>>,
        has_choices: bool,
        settings: Settings,
    ) -> Option<(FormDef, HashMap<String, u32>)> {
        if !cols.plain.contains_key("type") || !cols.plain.contains_key("name") {
            return None;
        }
        let dl = settings.default_language.clone();
        // First pass: every question's name, type and row, so that conditions
        // can tell an unknown name from a later question.
        let mut pending: Vec<Pending> = Vec::new();
        let mut kinds: HashMap<String, QuestionType> = HashMap::new();
        let mut rows_of: HashMap<String, u32> = HashMap::new();
        let mut types: HashMap<u32, Kind> = HashMap::new();
        // The metadata a `metadata` row records, by row.
        let mut metas: HashMap<u32, String> = HashMap::new();
        for r in &sheet.rows {
            let t = cols.get(r, "type");
            let name = cols.get(r, "name");
            if t.is_empty() {
                self.err(
                    SURVEY,
                    Some(r.number),
                    Some(&cols.header("type")),
                    "the row has values but no type".into(),
                );
                continue;
            }
            let kind = match parse_type(t) {
                Ok(Kind::Metadata(m)) if m == "audit" => {
                    self.warn(
                        SURVEY,
                        Some(r.number),
                        Some(&cols.header("type")),
                        "`audit` is ignored: fieldvoice records every interview's paradata itself (exports' duration_s, edits and clock_skew_s columns)".into(),
                    );
                    continue;
                }
                Ok(Kind::Metadata(m)) => {
                    metas.insert(r.number, m.replace('-', "_"));
                    Kind::Question(QuestionType::Metadata, None, false)
                }
                Ok(k) => k,
                Err(m) => {
                    self.err(SURVEY, Some(r.number), Some(&cols.header("type")), m);
                    continue;
                }
            };
            let named = !matches!(kind, Kind::EndGroup | Kind::EndRepeat);
            if named {
                if name.is_empty() {
                    self.err(
                        SURVEY,
                        Some(r.number),
                        Some(&cols.header("name")),
                        "name is missing".into(),
                    );
                } else if !is_name(name) {
                    self.err(
                        SURVEY,
                        Some(r.number),
                        Some(&cols.header("name")),
                        format!("name `{name}` is not a fieldvoice name (^[a-z][a-z0-9_]{{0,62}}$); it is refused rather than renamed"),
                    );
                } else if let Some(first) = rows_of
                    .get(name)
                    .filter(|_| !matches!(kind, Kind::BeginGroup | Kind::BeginRepeat))
                {
                    // Sections and questions are separate namespaces in
                    // fieldvoice; a repeated top-level group is checked below.
                    self.err(
                        SURVEY,
                        Some(r.number),
                        Some(&cols.header("name")),
                        format!("duplicate name `{name}` (first at row {first})"),
                    );
                }
            }
            match &kind {
                Kind::Question(k, _, other) => {
                    let k = match (cols.get(r, "fv_type"), k) {
                        ("", k) => *k,
                        ("nps", QuestionType::Integer) => QuestionType::Nps,
                        ("rating", QuestionType::Integer) => QuestionType::Rating,
                        ("consent", QuestionType::Acknowledge) => QuestionType::Consent,
                        (f, k) => {
                            self.err(
                                SURVEY,
                                Some(r.number),
                                Some(&cols.header("fv_type")),
                                format!("fv_type `{f}` does not go with {k:?} (nps and rating on integer, consent on acknowledge)"),
                            );
                            *k
                        }
                    };
                    if !name.is_empty() && !rows_of.contains_key(name) {
                        rows_of.insert(name.to_owned(), r.number);
                        kinds.insert(name.to_owned(), k);
                        pending.push(Pending {
                            row: r.number,
                            name: name.to_owned(),
                            kind: k,
                        });
                    }
                    if *other && !name.is_empty() {
                        let o = format!("{name}_other");
                        if let Some(first) = rows_of.get(&o) {
                            self.err(
                                SURVEY,
                                Some(r.number),
                                Some(&cols.header("type")),
                                format!("or_other adds `{o}`, which row {first} already uses"),
                            );
                        } else {
                            rows_of.insert(o.clone(), r.number);
                            kinds.insert(o.clone(), QuestionType::Text);
                            pending.push(Pending {
                                row: r.number,
                                name: o,
                                kind: QuestionType::Text,
                            });
                        }
                    }
                }
                Kind::BeginRepeat => {
                    self.repeat_names.insert(name.to_owned());
                }
                Kind::BeginGroup | Kind::Metadata(_) => {}
                Kind::EndGroup | Kind::EndRepeat => {}
            }
            types.insert(r.number, kind);
        }
        let position: HashMap<&str, usize> = pending
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();

        // Second pass: convert.
        let mut questions: Vec<Question> = Vec::new();
        let mut sections = Vec::new();
        let mut repeats: Vec<survey_model::Repeat> = Vec::new();
        let mut stack: Vec<Group> = Vec::new();
        // relevant edges (from question position, to question position)
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for r in &sheet.rows {
            let Some(kind) = types.get(&r.number) else {
                continue;
            };
            let name = cols.get(r, "name").to_owned();
            self.check_texts(cols, r, &kinds);
            match kind {
                Kind::Metadata(_) => {}
                Kind::EndGroup | Kind::EndRepeat => {
                    let closing_repeat = matches!(kind, Kind::EndRepeat);
                    let (what, other) = if closing_repeat {
                        ("repeat", "group")
                    } else {
                        ("group", "repeat")
                    };
                    match stack.pop() {
                        None => self.err(
                            SURVEY,
                            Some(r.number),
                            Some(&cols.header("type")),
                            format!("`end {what}` without a `begin {what}`"),
                        ),
                        Some(g) if g.repeat != closing_repeat => self.err(
                            SURVEY,
                            Some(r.number),
                            Some(&cols.header("type")),
                            format!("`end {what}` closes {other} `{}` (row {})", g.name, g.row),
                        ),
                        Some(_) => {}
                    }
                }
                Kind::BeginRepeat => {
                    self.no_question_columns(cols, r, "repeat");
                    if let Some(outer) = stack.iter().find(|g| g.repeat) {
                        self.err(
                            SURVEY,
                            Some(r.number),
                            Some(&cols.header("type")),
                            format!(
                                "repeat `{name}` is inside repeat `{}` (row {}): nested repeats are not supported",
                                outer.name, outer.row
                            ),
                        );
                    }
                    let relevant = self.condition(cols, r, "relevant", &kinds, None);
                    let mut label = cols.localized(r, "label");
                    if label.0.is_empty() {
                        label.0.insert(dl.clone(), name.clone());
                    }
                    let count = cols.get(r, "repeat_count").trim();
                    let repeat_count = if count.is_empty() {
                        None
                    } else if survey_model::form::repeat_count(count).is_some() {
                        Some(count.to_owned())
                    } else {
                        self.err(
                            SURVEY,
                            Some(r.number),
                            Some(&cols.header("repeat_count")),
                            format!("repeat_count `{count}` must be a whole number or `${{name}}` of an earlier question"),
                        );
                        None
                    };
                    if stack.is_empty() {
                        // A repeat outside any group is its own page.
                        sections.push(survey_model::form::Section {
                            id: name.clone(),
                            label: label.clone(),
                        });
                    }
                    repeats.push(survey_model::Repeat {
                        id: name.clone(),
                        label,
                        repeat_count,
                    });
                    stack.push(Group {
                        name,
                        row: r.number,
                        relevant,
                        repeat: true,
                    });
                }
                Kind::BeginGroup => {
                    self.no_question_columns(cols, r, "group");
                    match cols.get(r, "appearance") {
                        "" | "field-list" => {}
                        a => self.err(
                            SURVEY,
                            Some(r.number),
                            Some(&cols.header("appearance")),
                            format!("group appearance `{a}` is not supported (only field-list)"),
                        ),
                    }
                    let relevant = self.condition(cols, r, "relevant", &kinds, None);
                    let again = sections
                        .iter()
                        .find(|s: &&survey_model::form::Section| s.id == name);
                    if let (true, Some(earlier)) = (stack.is_empty(), again) {
                        // The same page again (fieldvoice sections need not be
                        // contiguous; `export` writes such a page twice).
                        let label = cols.localized(r, "label");
                        if !label.0.is_empty() && label != earlier.label {
                            self.err(
                                SURVEY,
                                Some(r.number),
                                Some("label"),
                                format!(
                                    "group `{name}` repeats an earlier group with another label"
                                ),
                            );
                        }
                    } else if stack.is_empty() {
                        let mut label = cols.localized(r, "label");
                        if label.0.is_empty() {
                            label.0.insert(dl.clone(), name.clone());
                            self.warn(
                                SURVEY,
                                Some(r.number),
                                Some("label"),
                                format!("group `{name}` has no label: its name is the page title"),
                            );
                        }
                        sections.push(survey_model::form::Section {
                            id: name.clone(),
                            label,
                        });
                    }
                    stack.push(Group {
                        name,
                        row: r.number,
                        relevant,
                        repeat: false,
                    });
                }
                Kind::Question(_, list, other) => {
                    let Some(&pos) = position.get(name.as_str()) else {
                        continue; // name problem already reported
                    };
                    let kind = pending[pos].kind;
                    let mut q = self.question(cols, r, &name, kind, &kinds, &dl);
                    q.repeat = stack.iter().find(|g| g.repeat).map(|g| g.name.clone());
                    if let Some(m) = metas.get(&r.number) {
                        // Identifiers of a person or device are personal data.
                        q.pii |= survey_model::form::METADATA.contains(&(m.as_str(), true));
                        q.metadata = Some(m.clone());
                    }
                    q.section = stack.first().map(|g| g.name.clone());
                    let mut conds: Vec<Condition> =
                        stack.iter().filter_map(|g| g.relevant.clone()).collect();
                    if let Some(own) = q.relevant.take() {
                        conds.push(own);
                    }
                    q.relevant = match conds.len() {
                        0 => None,
                        1 => conds.pop(),
                        _ => Some(Condition::All { all: conds }),
                    };
                    if let Some(c) = &q.relevant {
                        for to in c.references() {
                            if let Some(&t) = position.get(to) {
                                edges.push((pos, t));
                            }
                        }
                    }
                    if let Some(c) = &q.constraint {
                        for to in c.references() {
                            if let Some(&t) = position.get(to)
                                && t > pos
                            {
                                self.err(
                                    SURVEY,
                                    Some(r.number),
                                    Some(&cols.header("constraint")),
                                    format!(
                                        "constraint refers to `${{{to}}}` (row {}), a later question; fieldvoice conditions read only earlier questions",
                                        pending[t].row
                                    ),
                                );
                            }
                        }
                    }
                    for to in q
                        .calculation
                        .as_deref()
                        .map(xpath::piped)
                        .unwrap_or_default()
                    {
                        if let Some(&t) = position.get(to)
                            && t >= pos
                        {
                            self.err(
                                SURVEY,
                                Some(r.number),
                                Some(&cols.header("calculation")),
                                format!(
                                    "calculation refers to `${{{to}}}` (row {}), {}; fieldvoice calculations read only earlier questions",
                                    pending[t].row,
                                    if t == pos { "itself" } else { "a later question" }
                                ),
                            );
                        }
                    }
                    if let Some(list) = list {
                        self.options(cols, r, &mut q, list, lists, has_choices);
                    }
                    let mut other_q = None;
                    if *other {
                        if q.has_option("other") {
                            self.err(
                                SURVEY,
                                Some(r.number),
                                Some(&cols.header("type")),
                                format!(
                                    "or_other, but list `{}` already has an option `other`",
                                    list.as_deref().unwrap_or_default()
                                ),
                            );
                        }
                        let (opt, oq) = or_other(&q, &self.languages, &dl);
                        q.options.push(opt);
                        other_q = Some(oq);
                    }
                    let other = other_q;
                    questions.push(q);
                    if let Some(o) = other {
                        questions.push(o);
                    }
                }
            }
        }
        for g in stack.iter().rev() {
            let what = if g.repeat { "repeat" } else { "group" };
            self.err(
                SURVEY,
                Some(g.row),
                Some(&cols.header("type")),
                format!("{what} `{}` has no `end {what}`", g.name),
            );
        }
        self.forward_and_cycles(&pending, &edges, &cols.header("relevant"));
        let def = FormDef {
            schema: None,
            form_id: settings.form_id,
            version: settings.version,
            title: settings.title,
            languages: self.languages.clone(),
            default_language: dl,
            sections,
            repeats,
            questions,
            countries: settings.countries,
            coordinators_publish: settings.coordinators_publish,
        };
        Some((def, rows_of))
    }

    /// A group or repeat row holds none of a question's columns.
    fn no_question_columns(&mut self, cols: &SurveyCols, r: &Row, what: &str) {
        for c in [
            "required",
            "constraint",
            "choice_filter",
            "default",
            "calculation",
            "fv_type",
            "fv_pii",
        ] {
            if !cols.get(r, c).is_empty() {
                self.err(
                    SURVEY,
                    Some(r.number),
                    Some(&cols.header(c)),
                    format!("`{c}` is not supported on a {what}"),
                );
            }
        }
    }

    /// Report relevant references to later questions: a cycle with all its
    /// rows, or else the forward reference.
    fn forward_and_cycles(&mut self, pending: &[Pending], edges: &[(usize, usize)], column: &str) {
        let mut adj: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(a, b) in edges {
            adj.entry(a).or_default().push(b);
        }
        let mut reported: HashSet<Vec<usize>> = HashSet::new();
        let mut forward_done: HashSet<(usize, usize)> = HashSet::new();
        for &(from, to) in edges {
            if to < from || !forward_done.insert((from, to)) {
                continue;
            }
            match path(&adj, to, from) {
                Some(mut cycle) => {
                    // cycle: to → … → from, then from → to closes it.
                    let mut key = cycle.clone();
                    key.sort_unstable();
                    key.dedup();
                    if !reported.insert(key) {
                        continue;
                    }
                    cycle.insert(0, from);
                    let text = cycle
                        .iter()
                        .map(|&i| format!("`{}` (row {})", pending[i].name, pending[i].row))
                        .collect::<Vec<_>>()
                        .join(" → ");
                    let mut rows: Vec<u32> = cycle.iter().map(|&i| pending[i].row).collect();
                    rows.sort_unstable();
                    rows.dedup();
                    let rows: Vec<String> = rows.iter().map(ToString::to_string).collect();
                    self.err(
                        SURVEY,
                        Some(pending[from].row),
                        Some(column),
                        format!("cycle in relevant: {text} (rows {})", rows.join(", ")),
                    );
                }
                None => self.err(
                    SURVEY,
                    Some(pending[from].row),
                    Some(column),
                    format!(
                        "relevant refers to `${{{}}}` (row {}), a later question; fieldvoice conditions read only earlier questions (move it above)",
                        pending[to].name, pending[to].row
                    ),
                ),
            }
        }
    }

    /// Texts may pipe in the answers of questions of the form (`${name}`),
    /// labels and hints only.
    fn check_texts(&mut self, cols: &SurveyCols, r: &Row, kinds: &HashMap<String, QuestionType>) {
        let mut bad = Vec::new();
        for base in crate::survey_columns(true) {
            for (h, t) in cols.texts(r, base) {
                if !t.contains("${") {
                    continue;
                }
                if !matches!(base, "label" | "hint") {
                    bad.push((
                        h.to_owned(),
                        "`${…}` (answer piping) is only for labels and hints".to_owned(),
                    ));
                    continue;
                }
                for n in xpath::piped(t) {
                    if !kinds.contains_key(n) {
                        bad.push((
                            h.to_owned(),
                            format!("`${{{n}}}` is not a question of this form"),
                        ));
                    }
                }
            }
        }
        for (h, m) in bad {
            self.err(SURVEY, Some(r.number), Some(&h), m);
        }
    }

    fn condition(
        &mut self,
        cols: &SurveyCols,
        r: &Row,
        column: &str,
        kinds: &HashMap<String, QuestionType>,
        me: Option<&str>,
    ) -> Option<Condition> {
        let text = cols.get(r, column);
        if text.is_empty() {
            return None;
        }
        let cx = CondCx {
            kinds,
            me,
            repeats: &self.repeat_names,
        };
        let res = xpath::parse(text).and_then(|e| cx.cond_or_expr(&e));
        match res {
            Ok(c) => Some(c),
            Err(m) => {
                self.err(
                    SURVEY,
                    Some(r.number),
                    Some(&cols.header(column)),
                    format!("{m} (in `{text}`)"),
                );
                None
            }
        }
    }

    fn question(
        &mut self,
        cols: &SurveyCols,
        r: &Row,
        name: &str,
        kind: QuestionType,
        kinds: &HashMap<String, QuestionType>,
        dl: &str,
    ) -> Question {
        let n = Some(r.number);
        let hint = cols.localized(r, "hint");
        let cm = cols.localized(r, "constraint_message");
        let pm = cols.localized(r, "fv_pattern_message");
        let sl = cols.localized(r, "fv_short_label");
        let required = match parse_bool(cols.get(r, "required")) {
            Some(b) => b,
            None => {
                self.err(
                    SURVEY,
                    n,
                    Some(&cols.header("required")),
                    format!(
                        "required `{}` must be yes or no (expressions are not supported)",
                        cols.get(r, "required")
                    ),
                );
                false
            }
        };
        let pii = match parse_bool(cols.get(r, "fv_pii")) {
            Some(b) => b,
            None => {
                self.err(
                    SURVEY,
                    n,
                    Some(&cols.header("fv_pii")),
                    "fv_pii must be yes or no".into(),
                );
                false
            }
        };
        let mut q = Question {
            name: name.to_owned(),
            kind,
            label: cols.localized(r, "label"),
            hint: (!hint.0.is_empty()).then_some(hint),
            section: None,
            required,
            pii,
            relevant: self.condition(cols, r, "relevant", kinds, None),
            options: Vec::new(),
            choices_from: None,
            choice_filter: Vec::new(),
            min: self.int(cols, r, "fv_min"),
            max: self.int(cols, r, "fv_max"),
            min_selected: self.int(cols, r, "fv_min_selected"),
            max_selected: self.int(cols, r, "fv_max_selected"),
            max_length: self.int(cols, r, "fv_max_length"),
            multiline: false,
            pattern: Some(cols.get(r, "fv_pattern").to_owned()).filter(|s| !s.is_empty()),
            pattern_message: (!pm.0.is_empty()).then_some(pm),
            min_date: Some(cols.get(r, "fv_min_date").to_owned()).filter(|s| !s.is_empty()),
            max_date: Some(cols.get(r, "fv_max_date").to_owned()).filter(|s| !s.is_empty()),
            constraint: self.condition(cols, r, "constraint", kinds, Some(name)),
            constraint_message: (!cm.0.is_empty()).then_some(cm),
            default: None,
            appearance: None,
            short_label: (!sl.0.is_empty()).then_some(sl),
            calculation: None,
            metadata: None,
            required_message: None,
            read_only: false,
            repeat: None,
        };
        let written = canonical_type(cols.get(r, "type")).to_lowercase();
        let rm = cols.localized(r, "required_message");
        if !rm.0.is_empty() {
            if required {
                q.required_message = Some(rm);
            } else {
                self.warn(
                    SURVEY,
                    n,
                    Some(&cols.header("required_message")),
                    "required_message is ignored: the question is not required".into(),
                );
            }
        }
        match parse_bool(cols.get(r, "read_only")) {
            Some(b) => q.read_only = b,
            None => self.err(
                SURVEY,
                n,
                Some(&cols.header("read_only")),
                "read_only must be yes or no (expressions are not supported)".into(),
            ),
        }
        match written.as_str() {
            "hidden" => {
                let d = cols.get(r, "default");
                q.calculation = Some(if d.contains('\'') {
                    format!("\"{d}\"")
                } else {
                    format!("'{d}'")
                });
                if d.contains('\'') && d.contains('"') {
                    self.err(
                        SURVEY,
                        n,
                        Some(&cols.header("default")),
                        "a hidden value cannot hold both kinds of quotes".into(),
                    );
                }
                return q;
            }
            "email" | "tel" => {
                let pattern = if written == "email" {
                    EMAIL_PATTERN
                } else {
                    TEL_PATTERN
                };
                q.pattern = Some(pattern.to_owned());
                q.pii = true;
            }
            _ => q.calculation = self.calculation(cols, r, kind, kinds),
        }
        let _ = dl;
        let from = cols.get(r, "fv_choices_from");
        if !from.is_empty() {
            q.choices_from = Some(from.to_owned());
        }
        let appearance = cols.get(r, "appearance");
        let words: Vec<&str> = appearance.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["multiline"] if kind == QuestionType::Text => q.multiline = true,
            [a @ ("minimal" | "likert")] => q.appearance = Some((*a).to_owned()),
            _ => self.err(
                SURVEY,
                n,
                Some(&cols.header("appearance")),
                format!(
                    "appearance `{appearance}` is not supported here (supported: minimal and likert on selects, multiline on text)"
                ),
            ),
        }
        let default = cols.get(r, "default");
        if !default.is_empty() {
            match default_json(kind, default) {
                Some(v) => q.default = Some(v),
                None => self.err(
                    SURVEY,
                    n,
                    Some(&cols.header("default")),
                    format!("default `{default}` is not a valid {kind:?} answer"),
                ),
            }
        }
        q
    }

    /// A `calculate` row's `calculation`, checked against the subset and the
    /// form's names (forward references are reported with the rows later).
    fn calculation(
        &mut self,
        cols: &SurveyCols,
        r: &Row,
        kind: QuestionType,
        kinds: &HashMap<String, QuestionType>,
    ) -> Option<String> {
        let text = cols.get(r, "calculation").trim();
        let column = cols.header("calculation");
        if kind != QuestionType::Calculate {
            if !text.is_empty() {
                self.err(
                    SURVEY,
                    Some(r.number),
                    Some(&column),
                    "a calculation belongs on a `calculate` row".into(),
                );
            }
            return None;
        }
        if text.is_empty() {
            self.err(
                SURVEY,
                Some(r.number),
                Some(&column),
                "a `calculate` row needs a calculation".into(),
            );
            return None;
        }
        let checked = xpath::parse(text).and_then(|e| {
            xpath::check(&e, false)?;
            match xpath::references(&e)
                .into_iter()
                .find(|n| !kinds.contains_key(n) && !self.repeat_names.contains(n))
            {
                Some(n) => Err(format!("`${{{n}}}` is not a question of this form")),
                None => Ok(()),
            }
        });
        match checked {
            Ok(()) => Some(text.to_owned()),
            Err(m) => {
                self.err(
                    SURVEY,
                    Some(r.number),
                    Some(&column),
                    format!("{m} (in `{text}`)"),
                );
                None
            }
        }
    }

    fn int<T: std::str::FromStr>(&mut self, cols: &SurveyCols, r: &Row, column: &str) -> Option<T> {
        let v = cols.get(r, column);
        if v.is_empty() {
            return None;
        }
        match v.parse::<T>() {
            Ok(x) => Some(x),
            Err(_) => {
                self.err(
                    SURVEY,
                    Some(r.number),
                    Some(&cols.header(column)),
                    format!("`{v}` is not a whole number"),
                );
                None
            }
        }
    }

    /// `fv_choice_filter_meta`: `attribute=meta` pairs (comma-separated)
    /// filtering options on interview metadata, which XLSForm cannot name.
    fn meta_filter(&mut self, cols: &SurveyCols, r: &Row, q: &mut Question) {
        let text = cols.get(r, "fv_choice_filter_meta");
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some((attribute, meta)) => q.choice_filter.push(FilterTerm {
                    attribute: attribute.trim().to_owned(),
                    source: FilterSource::Meta {
                        meta: meta.trim().to_owned(),
                    },
                }),
                None => self.err(
                    SURVEY,
                    Some(r.number),
                    Some(&cols.header("fv_choice_filter_meta")),
                    format!("`{pair}` is not attribute=metadata (e.g. country=country)"),
                ),
            }
        }
    }

    fn options(
        &mut self,
        cols: &SurveyCols,
        r: &Row,
        q: &mut Question,
        list: &str,
        lists: &BTreeMap<String, Vec<(u32, ChoiceOption)>>,
        has_choices: bool,
    ) {
        let type_h = cols.header("type");
        match lists.get(list) {
            Some(opts) => q.options = opts.iter().map(|(_, o)| o.clone()).collect(),
            None if is_choices_file(list) => {
                // Its choice filter cannot be checked without it either.
                return self.err(
                    SURVEY,
                    Some(r.number),
                    Some(&type_h),
                    format!(
                        "choices file `{list}` was not uploaded with the form (give it with `admin import-form --media DIR`)"
                    ),
                );
            }
            None if q.choices_from.is_some() => {}
            None if !has_choices => self.err(
                SURVEY,
                Some(r.number),
                Some(&type_h),
                format!("list `{list}` is used but the workbook has no `choices` sheet"),
            ),
            None => self.err(
                SURVEY,
                Some(r.number),
                Some(&type_h),
                format!("choice list `{list}` is not defined in the choices sheet"),
            ),
        }
        self.meta_filter(cols, r, q);
        let text = cols.get(r, "choice_filter");
        if text.is_empty() {
            return;
        }
        let known: HashSet<&str> = lists
            .get(list)
            .into_iter()
            .flatten()
            .flat_map(|(_, o)| o.attributes.keys().map(String::as_str))
            .collect();
        match xpath::parse(text).and_then(|e| filter_terms(&e, &known)) {
            // The XPath terms first, then the metadata ones (`fv_choice_filter_meta`).
            Ok(mut terms) => {
                terms.append(&mut q.choice_filter);
                q.choice_filter = terms;
            }
            Err(m) => self.err(
                SURVEY,
                Some(r.number),
                Some(&cols.header("choice_filter")),
                format!("{m} (in `{text}`)"),
            ),
        }
    }
}

/// The option and the text question `or_other` adds to `q`.
fn or_other(q: &Question, langs: &[String], dl: &str) -> (ChoiceOption, Question) {
    let text = |en: &str, fr: &str, ar: &str, pt: &str| {
        let mut m = BTreeMap::new();
        for l in langs.iter().map(String::as_str).chain([dl]) {
            let t = match l {
                "fr" => fr,
                "ar" => ar,
                "pt" => pt,
                _ => en,
            };
            m.insert(l.to_owned(), t.to_owned());
        }
        Localized(m)
    };
    let option = ChoiceOption {
        value: "other".into(),
        label: text("Other", "Autre", "أخرى", "Outro"),
        attributes: BTreeMap::new(),
    };
    let other = Question {
        name: format!("{}_other", q.name),
        kind: QuestionType::Text,
        label: text(
            "Specify other",
            "Précisez « autre »",
            "حدّد «أخرى»",
            "Especifique «outro»",
        ),
        hint: None,
        section: q.section.clone(),
        required: false,
        pii: false,
        relevant: Some(Condition::Selected {
            selected: q.name.clone(),
            option: "other".into(),
        }),
        options: Vec::new(),
        choices_from: None,
        choice_filter: Vec::new(),
        min: None,
        max: None,
        min_selected: None,
        max_selected: None,
        max_length: None,
        multiline: false,
        pattern: None,
        pattern_message: None,
        min_date: None,
        max_date: None,
        constraint: None,
        constraint_message: None,
        default: None,
        appearance: None,
        short_label: None,
        calculation: None,
        metadata: None,
        required_message: None,
        read_only: false,
        repeat: q.repeat.clone(),
    };
    (option, other)
}

fn filter_terms(e: &Expr, known: &HashSet<&str>) -> Result<Vec<FilterTerm>, String> {
    let items: Vec<&Expr> = match e {
        Expr::And(items) => items.iter().collect(),
        other => vec![other],
    };
    let usage = "choice_filter supports only `column = ${question}` and `column = 'value'` terms joined by `and`";
    items
        .into_iter()
        .map(|t| {
            let Expr::Cmp(l, Op::Eq, r) = t else {
                return Err(usage.to_owned());
            };
            let (col, src) = match (l.as_ref(), r.as_ref()) {
                (Expr::Name(c), s) | (s, Expr::Name(c)) => (c, s),
                _ => return Err(usage.to_owned()),
            };
            if !known.contains(col.as_str()) {
                return Err(format!(
                    "choice_filter column `{col}` is not a column of this list in the choices sheet"
                ));
            }
            let source = match src {
                Expr::Ref(q) => FilterSource::Question {
                    question: q.clone(),
                },
                Expr::Str(v) => FilterSource::Value { value: v.clone() },
                _ => return Err(usage.to_owned()),
            };
            Ok(FilterTerm {
                attribute: col.clone(),
                source,
            })
        })
        .collect()
}

/// An XLSForm `default` cell as the model's JSON answer.
fn default_json(kind: QuestionType, s: &str) -> Option<Json> {
    use QuestionType as T;
    Some(match kind {
        T::Text | T::SingleChoice => Json::from(s),
        T::Date => {
            if !is_date(s) {
                return None;
            }
            Json::from(s)
        }
        T::MultiChoice => Json::from(s.split_whitespace().collect::<Vec<_>>()),
        T::Integer | T::Nps | T::Rating => Json::from(s.parse::<i64>().ok()?),
        T::Decimal => number_json(s)?,
        T::Consent => Json::Bool(parse_bool(s)?),
        T::Acknowledge => match s {
            "OK" | "ok" | "true" | "yes" => Json::Bool(true),
            _ => return None,
        },
        T::Geopoint => {
            let nums: Vec<f64> = s
                .split_whitespace()
                .map(str::parse::<f64>)
                .collect::<Result<_, _>>()
                .ok()?;
            match nums.as_slice() {
                [lat, lon] => json!({"lat": lat, "lon": lon}),
                [lat, lon, acc] => json!({"lat": lat, "lon": lon, "accuracy": acc}),
                _ => return None,
            }
        }
        T::Time => {
            survey_model::answer::parse_time(s)?;
            Json::from(s)
        }
        T::DateTime => {
            survey_model::answer::parse_datetime(s)?;
            Json::from(s)
        }
        T::Note | T::Calculate | T::Metadata => return None,
    })
}

/// A path from `from` to `to` along `adj`, as the nodes after `from`.
fn path(adj: &HashMap<usize, Vec<usize>>, from: usize, to: usize) -> Option<Vec<usize>> {
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = HashSet::from([from]);
    while let Some(n) = queue.pop_front() {
        if n == to {
            let mut out = vec![n];
            let mut cur = n;
            while let Some(&p) = prev.get(&cur) {
                out.push(p);
                cur = p;
            }
            out.reverse();
            return Some(out);
        }
        for &m in adj.get(&n).into_iter().flatten() {
            if seen.insert(m) {
                prev.insert(m, n);
                queue.push_back(m);
            }
        }
    }
    None
}
