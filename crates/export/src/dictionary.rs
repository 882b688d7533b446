//! The data dictionary written beside every export: one row per column with
//! its type, source question, label and short label in the export language
//! and options.

use std::path::Path;

use crate::ExportError;
use crate::columns::{Column, Plan};

/// Dictionary columns.
pub const HEADER: [&str; 9] = [
    "column",
    "type",
    "question",
    "label",
    "options",
    "note",
    "versions",
    "short_label",
    "table",
];

/// One dictionary row of a column of `table` (`interviews`, or a repeat's
/// `repeat_<id>`); options as `value=label` joined by ` | `, the form
/// versions the column exists in as `form@version` joined by a space.
pub fn row(c: &Column, table: &str, _lang: &str) -> [String; 9] {
    let options = c
        .options
        .iter()
        .map(|(v, l)| format!("{v}={l}"))
        .collect::<Vec<_>>()
        .join(" | ");
    [
        c.name.clone(),
        c.ty.as_str().to_owned(),
        c.question.clone().unwrap_or_default(),
        c.label.clone(),
        options,
        c.note.clone(),
        c.versions.join(" "),
        c.short_label.clone(),
        table.to_owned(),
    ]
}

/// Every table of a plan (the interviews', then each repeat's) with its columns.
fn tables(plan: &Plan) -> impl Iterator<Item = (String, &Column)> {
    std::iter::once(plan)
        .chain(&plan.repeats)
        .flat_map(|p| p.columns.iter().map(move |c| (p.table(), c)))
}

/// Write `dictionary.csv` and `dictionary.json` into `dir`; returns their names.
pub fn write(plan: &Plan, dir: &Path, lang: &str) -> Result<Vec<String>, ExportError> {
    let csv_path = dir.join("dictionary.csv");
    let mut w = csv::Writer::from_path(&csv_path).map_err(|e| ExportError::Write(e.to_string()))?;
    w.write_record(HEADER)
        .map_err(|e| ExportError::Write(e.to_string()))?;
    for (table, c) in tables(plan) {
        let r = row(c, &table, lang);
        w.write_record(r.iter().map(|v| crate::writers::guard_text(v).into_owned()))
            .map_err(|e| ExportError::Write(e.to_string()))?;
    }
    w.flush().map_err(|e| ExportError::io(&csv_path, e))?;
    let json_path = dir.join("dictionary.json");
    let entries: Vec<serde_json::Value> = tables(plan)
        .map(|(table, c)| {
            serde_json::json!({
                "table": table,
                "column": c.name,
                "type": c.ty.as_str(),
                "question": c.question,
                "label": c.label,
                "short_label": c.short_label,
                "options": c.options.iter().map(|(v, l)| serde_json::json!({"value": v, "label": l})).collect::<Vec<_>>(),
                "note": c.note,
                "versions": c.versions,
            })
        })
        .collect();
    let table_list: Vec<serde_json::Value> = std::iter::once(plan)
        .chain(&plan.repeats)
        .map(|p| {
            serde_json::json!({
                "name": p.table(),
                "repeat": p.repeat,
                "key": if p.repeat.is_some() { vec!["interview_id", "instance"] } else { vec!["interview_id"] },
                "rows": if p.repeat.is_some() { "one per instance of the repeat in an interview (JSON Lines: nested in the interview under the repeat's id)" } else { "one per interview" },
            })
        })
        .collect();
    let text = serde_json::to_vec_pretty(
        &serde_json::json!({ "language": lang, "tables": table_list, "columns": entries }),
    )
    .map_err(|e| ExportError::Write(e.to_string()))?;
    std::fs::write(&json_path, text).map_err(|e| ExportError::io(&json_path, e))?;
    Ok(vec!["dictionary.csv".into(), "dictionary.json".into()])
}
