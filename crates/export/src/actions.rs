//! `actions.csv`, written beside every export: the hackathon actions of the
//! exported countries (every campaign), one row each, joinable to the data
//! on `interview_id` through `evidence`. Text cells get the formula guard.

use std::path::Path;

use central_store::{ActionItem, CentralStore};

use crate::ExportError;

/// The file's columns.
pub const HEADER: [&str; 15] = [
    "action_id",
    "campaign",
    "country",
    "title",
    "description",
    "root_causes",
    "themes",
    "evidence_count",
    "evidence",
    "owner",
    "due_date",
    "status",
    "expected_effect",
    "created_at",
    "updated_at",
];

/// One row (lists joined by `;`, times as RFC 3339 UTC).
pub fn row(a: &ActionItem) -> [String; 15] {
    let time = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    };
    [
        a.id.clone(),
        a.campaign.clone(),
        a.country.clone(),
        a.title.clone(),
        a.description.clone(),
        a.root_causes.join(";"),
        a.themes.join(";"),
        a.evidence.len().to_string(),
        a.evidence.join(";"),
        a.owner.clone(),
        a.due_date.clone().unwrap_or_default(),
        a.status.clone(),
        a.expected_effect.clone(),
        time(a.created_at),
        time(a.updated_at),
    ]
}

/// Write `actions.csv` for `countries` (empty: all) into `dir`; its name.
pub fn write(
    store: &dyn CentralStore,
    countries: &[String],
    dir: &Path,
) -> Result<String, ExportError> {
    let path = dir.join("actions.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| ExportError::Write(e.to_string()))?;
    w.write_record(HEADER)
        .map_err(|e| ExportError::Write(e.to_string()))?;
    for a in store.list_actions(countries)? {
        w.write_record(
            row(&a)
                .iter()
                .map(|v| crate::writers::guard_text(v).into_owned()),
        )
        .map_err(|e| ExportError::Write(e.to_string()))?;
    }
    w.flush().map_err(|e| ExportError::io(&path, e))?;
    Ok("actions.csv".into())
}
