//! [`FormDef`] → XLSForm workbook. Writes every cell as text so that the
//! import reads back exactly what was written.

use std::collections::{BTreeMap, BTreeSet};

use rust_xlsxwriter::Workbook;
use serde_json::Value as Json;
use survey_model::form::{Condition, Localized, today_offset};
use survey_model::{FilterSource, FilterTerm, FormDef, QuestionType};

use crate::language_name;

/// Why a form cannot be written as an XLSForm.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A construct outside the XLSForm subset this crate reads back.
    #[error("question `{question}`: {message}")]
    Unsupported { question: String, message: String },
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Write `form` as an XLSForm workbook (`.xlsx` bytes): `survey`, `choices`
/// and `settings` sheets with every language. [`crate::import`] of the result
/// gives `form` back (without its `$schema`) for every form whose `all`/`any`
/// lists have two or more items,
/// and whose filters and `today` offsets XLSForm can say (`today()` only, no
/// `meta` filter source).
pub fn export(form: &FormDef) -> Result<Vec<u8>, ExportError> {
    let langs: Vec<&str> = form.languages.iter().map(String::as_str).collect();
    let lang_col = |base: &str, l: &str| format!("{base}::{} ({l})", language_name(l));

    // survey
    let mut rows: Vec<BTreeMap<String, String>> = Vec::new();
    let texts = |row: &mut BTreeMap<String, String>, base: &str, t: Option<&Localized>| {
        for (l, v) in t.map(|t| &t.0).into_iter().flatten() {
            row.insert(lang_col(base, l), v.clone());
        }
    };
    let mut current: Option<&str> = None;
    let mut current_repeat: Option<&str> = None;
    let mut used_sections = BTreeSet::new();
    // A section named like a repeat is that repeat's own page: written as
    // a top-level `begin repeat`, which the import reads back as both.
    let is_repeat = |id: &str| form.repeats.iter().any(|r| r.id == id);
    let group = |rows: &mut Vec<BTreeMap<String, String>>, id: &str| {
        if is_repeat(id) {
            return;
        }
        let mut row = BTreeMap::new();
        row.insert("type".into(), "begin group".into());
        row.insert("name".into(), id.to_owned());
        if let Some(s) = form.sections.iter().find(|s| s.id == id) {
            for (l, v) in &s.label.0 {
                row.insert(lang_col("label", l), v.clone());
            }
        }
        rows.push(row);
    };
    let end = |rows: &mut Vec<BTreeMap<String, String>>, id: &str| {
        if is_repeat(id) {
            return;
        }
        rows.push(BTreeMap::from([(
            "type".to_owned(),
            "end group".to_owned(),
        )]));
    };
    let begin_repeat = |rows: &mut Vec<BTreeMap<String, String>>, id: &str| {
        let mut row = BTreeMap::new();
        row.insert("type".into(), "begin repeat".into());
        row.insert("name".into(), id.to_owned());
        if let Some(r) = form.repeats.iter().find(|r| r.id == id) {
            for (l, v) in &r.label.0 {
                row.insert(lang_col("label", l), v.clone());
            }
            if let Some(c) = &r.repeat_count {
                row.insert("repeat_count".into(), c.clone());
            }
        }
        rows.push(row);
    };
    let end_repeat = |rows: &mut Vec<BTreeMap<String, String>>| {
        rows.push(BTreeMap::from([(
            "type".to_owned(),
            "end repeat".to_owned(),
        )]));
    };
    let mut choices: Vec<BTreeMap<String, String>> = Vec::new();
    let ack: BTreeSet<&str> = form
        .questions
        .iter()
        .filter(|q| q.kind == QuestionType::Acknowledge)
        .map(|q| q.name.as_str())
        .collect();
    for q in &form.questions {
        let section_changes = q.section.as_deref() != current;
        if (section_changes || q.repeat.as_deref() != current_repeat) && current_repeat.is_some() {
            end_repeat(&mut rows);
            current_repeat = None;
        }
        if section_changes {
            if let Some(s) = current {
                end(&mut rows, s);
            }
            current = q.section.as_deref();
            if let Some(s) = current {
                group(&mut rows, s);
                used_sections.insert(s);
            }
        }
        if q.repeat.as_deref() != current_repeat {
            current_repeat = q.repeat.as_deref();
            if let Some(r) = current_repeat {
                begin_repeat(&mut rows, r);
            }
        }
        let mut row = BTreeMap::new();
        let unsupported = |message: String| ExportError::Unsupported {
            question: q.name.clone(),
            message,
        };
        let (ty, fv_type) = match q.kind {
            QuestionType::SingleChoice => (format!("select_one {}", q.name), None),
            QuestionType::MultiChoice => (format!("select_multiple {}", q.name), None),
            QuestionType::Integer => ("integer".into(), None),
            QuestionType::Nps => ("integer".into(), Some("nps")),
            QuestionType::Rating => ("integer".into(), Some("rating")),
            QuestionType::Consent => ("acknowledge".into(), Some("consent")),
            QuestionType::Decimal => ("decimal".into(), None),
            QuestionType::Acknowledge => ("acknowledge".into(), None),
            QuestionType::Text => ("text".into(), None),
            QuestionType::Date => ("date".into(), None),
            QuestionType::Geopoint => ("geopoint".into(), None),
            QuestionType::Note => ("note".into(), None),
            QuestionType::Calculate => ("calculate".into(), None),
            QuestionType::Time => ("time".into(), None),
            QuestionType::DateTime => ("datetime".into(), None),
            QuestionType::Metadata => (
                q.metadata.as_deref().unwrap_or_default().replace('_', "-"),
                None,
            ),
        };
        row.insert("type".into(), ty);
        row.insert("name".into(), q.name.clone());
        if let Some(f) = fv_type {
            row.insert("fv_type".into(), f.into());
        }
        texts(&mut row, "label", Some(&q.label));
        if let Some(c) = &q.calculation {
            row.insert("calculation".into(), c.clone());
        }
        texts(&mut row, "hint", q.hint.as_ref());
        texts(&mut row, "fv_short_label", q.short_label.as_ref());
        if q.required {
            row.insert("required".into(), "yes".into());
        }
        texts(&mut row, "required_message", q.required_message.as_ref());
        if q.read_only {
            row.insert("read_only".into(), "yes".into());
        }
        if q.pii {
            row.insert("fv_pii".into(), "yes".into());
        }
        if let Some(c) = &q.relevant {
            row.insert(
                "relevant".into(),
                xpath(c, None, &ack).map_err(unsupported)?,
            );
        }
        if let Some(c) = &q.constraint {
            row.insert(
                "constraint".into(),
                xpath(c, Some(&q.name), &ack).map_err(unsupported)?,
            );
        }
        texts(
            &mut row,
            "constraint_message",
            q.constraint_message.as_ref(),
        );
        let (meta, other): (Vec<&FilterTerm>, Vec<&FilterTerm>) = q
            .choice_filter
            .iter()
            .partition(|t| matches!(t.source, FilterSource::Meta { .. }));
        if !other.is_empty() {
            row.insert("choice_filter".into(), filter(&other).map_err(unsupported)?);
        }
        if !meta.is_empty() {
            // XLSForm has no interview metadata to filter on: a fieldvoice column.
            let pairs: Vec<String> = meta
                .iter()
                .filter_map(|t| match &t.source {
                    FilterSource::Meta { meta } => Some(format!("{}={meta}", t.attribute)),
                    _ => None,
                })
                .collect();
            row.insert("fv_choice_filter_meta".into(), pairs.join(","));
        }
        if q.multiline {
            row.insert("appearance".into(), "multiline".into());
        }
        if let Some(a) = &q.appearance {
            row.insert("appearance".into(), a.clone());
        }
        if let Some(d) = &q.default {
            row.insert("default".into(), default_text(d).map_err(unsupported)?);
        }
        let nums = [
            ("fv_min", q.min.map(|v| v.to_string())),
            ("fv_max", q.max.map(|v| v.to_string())),
            ("fv_min_selected", q.min_selected.map(|v| v.to_string())),
            ("fv_max_selected", q.max_selected.map(|v| v.to_string())),
            ("fv_max_length", q.max_length.map(|v| v.to_string())),
            ("fv_pattern", q.pattern.clone()),
            ("fv_min_date", q.min_date.clone()),
            ("fv_max_date", q.max_date.clone()),
            ("fv_choices_from", q.choices_from.clone()),
        ];
        for (k, v) in nums {
            if let Some(v) = v {
                row.insert(k.into(), v);
            }
        }
        texts(&mut row, "fv_pattern_message", q.pattern_message.as_ref());
        rows.push(row);
        for o in &q.options {
            let mut c = BTreeMap::new();
            c.insert("list_name".to_owned(), q.name.clone());
            c.insert("name".to_owned(), o.value.clone());
            for (l, v) in &o.label.0 {
                c.insert(lang_col("label", l), v.clone());
            }
            for (k, v) in &o.attributes {
                c.insert(k.clone(), v.clone());
            }
            choices.push(c);
        }
    }
    if current_repeat.is_some() {
        end_repeat(&mut rows);
    }
    if let Some(s) = current {
        end(&mut rows, s);
    }
    for s in &form.sections {
        if !used_sections.contains(s.id.as_str()) {
            group(&mut rows, &s.id);
            end(&mut rows, &s.id);
        }
    }

    let mut survey_cols: Vec<String> = Vec::new();
    for (base, per_language) in crate::SURVEY_COLUMNS {
        if *per_language {
            survey_cols.extend(langs.iter().map(|l| lang_col(base, l)));
        } else {
            survey_cols.push((*base).to_owned());
        }
    }
    // Keep label columns for every language (they carry the language list);
    // drop other columns nobody uses.
    let label_cols: BTreeSet<String> = langs.iter().map(|l| lang_col("label", l)).collect();
    survey_cols.retain(|c| {
        c == "type"
            || c == "name"
            || label_cols.contains(c)
            || rows.iter().any(|r| r.contains_key(c))
    });

    let mut choice_cols = vec!["list_name".to_owned(), "name".to_owned()];
    choice_cols.extend(langs.iter().map(|l| lang_col("label", l)));
    let attrs: BTreeSet<&String> = form
        .questions
        .iter()
        .flat_map(|q| q.options.iter().flat_map(|o| o.attributes.keys()))
        .collect();
    choice_cols.extend(attrs.into_iter().cloned());

    let mut settings_cols = vec!["form_id".to_owned(), "version".to_owned()];
    let mut settings = BTreeMap::new();
    settings.insert("form_id".to_owned(), form.form_id.clone());
    settings.insert("version".to_owned(), form.version.to_string());
    // A column for every language, even without a title in it: the import
    // reads the language order from the first headers it meets (settings).
    for l in &langs {
        let c = lang_col("form_title", l);
        if let Some(t) = form.title.0.get(*l) {
            settings.insert(c.clone(), t.clone());
        }
        settings_cols.push(c);
    }
    if !form.countries.is_empty() {
        settings_cols.push("fv_countries".into());
        settings.insert("fv_countries".into(), form.countries.join(","));
    }
    if form.coordinators_publish {
        settings_cols.push("fv_coordinators_publish".into());
        settings.insert("fv_coordinators_publish".into(), "yes".into());
    }
    settings_cols.push("default_language".into());
    settings.insert(
        "default_language".into(),
        format!(
            "{} ({})",
            language_name(&form.default_language),
            form.default_language
        ),
    );

    let mut wb = Workbook::new();
    for (name, cols, data) in [
        ("survey", &survey_cols, rows),
        ("choices", &choice_cols, choices),
        ("settings", &settings_cols, vec![settings]),
    ] {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        for (j, c) in cols.iter().enumerate() {
            ws.write_string(0, j as u16, c)?;
        }
        for (i, r) in data.iter().enumerate() {
            for (j, c) in cols.iter().enumerate() {
                if let Some(v) = r.get(c) {
                    ws.write_string(i as u32 + 1, j as u16, v)?;
                }
            }
        }
    }
    Ok(wb.save_to_buffer()?)
}

fn quote(s: &str) -> Result<String, String> {
    if !s.contains('\'') {
        Ok(format!("'{s}'"))
    } else if !s.contains('"') {
        Ok(format!("\"{s}\""))
    } else {
        Err(format!("the text `{s}` holds both quote marks"))
    }
}

fn number(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) => format!("{f:?}"),
        _ => n.to_string(),
    }
}

/// A condition as XLSForm XPath; `me` is the question `.` stands for, `ack`
/// the form's acknowledge questions.
fn xpath(c: &Condition, me: Option<&str>, ack: &BTreeSet<&str>) -> Result<String, String> {
    let r = |q: &str| {
        if Some(q) == me {
            ".".to_owned()
        } else {
            format!("${{{q}}}")
        }
    };
    let nested = |c: &Condition| -> Result<String, String> {
        let s = xpath(c, me, ack)?;
        Ok(match c {
            Condition::All { .. } | Condition::Any { .. } | Condition::Expr { .. } => {
                format!("({s})")
            }
            _ => s,
        })
    };
    Ok(match c {
        Condition::Answered { answered } => format!("{} != ''", r(answered)),
        Condition::Compare { q, op: o, value } => {
            let v = match value {
                // An acknowledge holds 'OK' in XLSForm; the import reads it as true.
                Json::Bool(true) if ack.contains(q.as_str()) => "'OK'".to_owned(),
                Json::String(s) => quote(s)?,
                Json::Number(n) => number(n),
                Json::Bool(b) => format!("{b}()"),
                other => match today_offset(other) {
                    Some(0) => "today()".into(),
                    _ => return Err(format!("the value {other} has no XLSForm form")),
                },
            };
            format!("{} {} {v}", r(q), o.as_str())
        }
        Condition::Selected { selected, option } => {
            format!("selected({}, {})", r(selected), quote(option)?)
        }
        Condition::All { all } | Condition::Any { any: all } => {
            if all.len() < 2 {
                return Err("an all/any with fewer than two conditions".into());
            }
            let sep = if matches!(c, Condition::All { .. }) {
                " and "
            } else {
                " or "
            };
            all.iter()
                .map(nested)
                .collect::<Result<Vec<_>, _>>()?
                .join(sep)
        }
        Condition::Not { not } => format!("not({})", xpath(not, me, ack)?),
        Condition::Length {
            length,
            op: o,
            value,
        } => format!("string-length({}) {} {value}", r(length), o.as_str()),
        Condition::Regex { regex, pattern } => format!("regex({}, {})", r(regex), quote(pattern)?),
        Condition::CountSelected {
            count_selected,
            op: o,
            value,
        } => format!(
            "count-selected({}) {} {value}",
            r(count_selected),
            o.as_str()
        ),
        // Written as the import renders it, so it reads back the same.
        Condition::Expr { expr } => expr.clone(),
    })
}

fn filter(terms: &[&FilterTerm]) -> Result<String, String> {
    let terms = terms
        .iter()
        .map(|t| {
            Ok(match &t.source {
                FilterSource::Question { question } => format!("{} = ${{{question}}}", t.attribute),
                FilterSource::Value { value } => format!("{} = {}", t.attribute, quote(value)?),
                FilterSource::Meta { meta } => {
                    return Err(format!("a choice filter on interview metadata (`{meta}`)"));
                }
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(terms.join(" and "))
}

fn default_text(v: &Json) -> Result<String, String> {
    Ok(match v {
        Json::String(s) => s.clone(),
        Json::Number(n) => number(n),
        Json::Bool(b) => b.to_string(),
        Json::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or("a list default of non-text")
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(" "),
        Json::Object(o) => {
            let n = |k: &str| o.get(k).and_then(Json::as_number).map(number);
            match (n("lat"), n("lon"), n("accuracy")) {
                (Some(a), Some(b), None) => format!("{a} {b}"),
                (Some(a), Some(b), Some(c)) => format!("{a} {b} {c}"),
                _ => return Err("a default object that is not a GPS point".into()),
            }
        }
        Json::Null => return Err("a null default".into()),
    })
}
