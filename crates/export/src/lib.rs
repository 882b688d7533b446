//! export owns what leaves fieldvoice for analysts: streaming exports of the
//! merged interview projection (CSV, XLSX, Parquet, JSON Lines, GeoJSON) with a
//! data dictionary and a `manifest.json` naming the dataset version, the PII
//! policy applied to them (omit, keyed pseudonym, or raw on an admin's request),
//! the consent rule (no consent, no export), and the analysis summary (NPS with
//! confidence intervals, satisfaction, complaints, verbatim themes) as JSON and
//! as a self-contained HTML report.
//!
//! It reads interviews only through [`CentralStore::for_each_interview`], so
//! memory stays flat whatever the dataset size. It must not decide who may
//! export (the sync-server's `authorize` does), write the audit log, read the
//! environment or configuration (the pseudonym key is handed in), or put
//! wall-clock time into data files: the same data gives the same bytes.

pub mod actions;
pub mod analysis;
pub mod base;
pub mod codebook;
pub mod coding;
pub mod columns;
pub mod countries;
pub mod dictionary;
pub mod odata;
pub mod report;
pub mod text;
pub mod theme_stats;
pub mod writers;

use std::path::{Path, PathBuf};

use central_store::merge::FormRegistry;
use central_store::{CentralStore, InterviewFilter, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use base::{BaseRule, LeftOut, LeftOutCounts};
pub use columns::{
    Cell, ColType, Column, Labels, PiiPolicy, Plan, PlanOptions, PseudonymKey, consented,
};
pub use writers::{guard_text, needs_formula_guard, restore_text};

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("writing the export: {0}")]
    Write(String),
    #[error("{0}")]
    Invalid(String),
    #[error("export cancelled")]
    Cancelled,
}

impl ExportError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> ExportError {
        ExportError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Xlsx,
    Parquet,
    Jsonl,
    Geojson,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Csv,
        Format::Xlsx,
        Format::Parquet,
        Format::Jsonl,
        Format::Geojson,
    ];
    pub fn as_str(self) -> &'static str {
        writers::extension(self)
    }
    pub fn parse(s: &str) -> Result<Format, ExportError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                ExportError::Invalid(format!(
                    "unknown export format `{s}` (use csv, xlsx, parquet, jsonl or geojson)"
                ))
            })
    }
    /// The file name of the data file.
    pub fn file_name(self) -> String {
        format!("interviews.{}", self.as_str())
    }
    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Jsonl => "application/jsonl; charset=utf-8",
            Format::Geojson => "application/geo+json",
        }
    }
}

/// Languages labels can be exported in.
pub const LANGUAGES: [&str; 4] = ["en", "fr", "ar", "pt"];

/// Check a label language.
pub fn parse_lang(s: &str) -> Result<String, ExportError> {
    let l = s.to_ascii_lowercase();
    if LANGUAGES.contains(&l.as_str()) {
        Ok(l)
    } else {
        Err(ExportError::Invalid(format!(
            "unknown language `{s}` (use en, fr, ar or pt)"
        )))
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: Format,
    /// Countries to export (empty = all).
    pub countries: Vec<String>,
    /// Only interviews changed after this log position.
    pub since_seq: Option<u64>,
    pub pii: PiiPolicy,
    /// Label language: en, fr, ar or pt.
    pub lang: String,
    /// Codes, label columns beside them, or labels instead.
    pub labels: Labels,
    /// CSV for Excel: a UTF-8 byte order mark in front.
    pub excel: bool,
    /// Add the review comments' text (scrubbed unless PII is included).
    pub comments: bool,
    /// Which interviews count (drafts and rejected ones on request).
    pub base: BaseRule,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: Format::Csv,
            countries: Vec::new(),
            since_seq: None,
            pii: PiiPolicy::Omit,
            lang: "en".into(),
            labels: Labels::Codes,
            excel: false,
            comments: false,
            base: BaseRule::default(),
        }
    }
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `manifest.json`: what was exported, from which dataset version. It holds
/// no wall-clock time, so a rerun on the same data gives the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub format: Format,
    /// SHA-256 over the sorted `(interview_id, sorted heads)` of the exported interviews.
    pub dataset_version: String,
    pub rows: u64,
    /// Interviews matched by the filter but left out for lack of consent.
    pub excluded_without_consent: u64,
    /// Which interviews count ([`BaseRule::describe`]).
    #[serde(default)]
    pub base: String,
    /// Interviews matched by the filter but left out, by reason.
    #[serde(default)]
    pub left_out: LeftOutCounts,
    /// Interviews listed in `removed.csv` (incremental exports only): changed
    /// since `since_seq` and no longer in the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<u64>,
    /// Rows whose location is empty (not in the GeoJSON file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_without_location: Option<u64>,
    /// Countries exported (empty = all).
    pub countries: Vec<String>,
    pub since_seq: Option<u64>,
    /// The log's top when the export began: every change at or below it is
    /// in this export. Pass it as `--since` to get only what changes next
    /// (an interview changed while the export ran may come again).
    pub max_seq: u64,
    pub pii: String,
    pub language: String,
    /// codes, columns or values ([`Labels`]).
    #[serde(default)]
    pub labels: String,
    /// How types, booleans and empty cells are written, in every format.
    #[serde(default)]
    pub conventions: Vec<String>,
    /// Forms the columns come from, as `id@version`.
    pub forms: Vec<String>,
    pub columns: usize,
    /// How text cells a spreadsheet would read as a formula are written
    /// ([`formula_guard_note`], rule in [`writers::needs_formula_guard`]).
    #[serde(default)]
    pub formula_guard: String,
    pub files: Vec<FileEntry>,
}

/// The manifest's description of the formula guard (OWASP CSV injection) as
/// applied to an export in `format`.
pub fn formula_guard_note(format: Format) -> String {
    let cells = "text cells whose value, after any leading single quotes, starts with \
                 = + - @ tab or carriage return";
    let csv = "are written with one more ' in front (drop that one ' to get the value back)";
    let rest = "numbers, booleans and dates are never changed";
    match format {
        Format::Csv => format!("interviews.csv and dictionary.csv: {cells} {csv}; {rest}"),
        Format::Xlsx => format!(
            "interviews.xlsx: {cells} keep their value and get the quote-prefix cell style, so \
             spreadsheets show them as text and never evaluate them; dictionary.csv: such \
             cells {csv}; {rest}"
        ),
        Format::Parquet | Format::Jsonl | Format::Geojson => {
            format!(
                "data file unchanged (typed, not a spreadsheet format); dictionary.csv: {cells} {csv}"
            )
        }
    }
}

/// Streaming hash of the dataset version.
#[derive(Debug, Default, Clone)]
pub struct DatasetHasher {
    h: Sha256,
}

impl DatasetHasher {
    /// Add one interview; call in increasing `interview_id` order.
    pub fn add(&mut self, interview_id: &str, heads: &[String]) {
        let mut heads: Vec<&str> = heads.iter().map(String::as_str).collect();
        heads.sort_unstable();
        self.h.update(interview_id.as_bytes());
        self.h.update(b"\t");
        self.h.update(heads.join(",").as_bytes());
        self.h.update(b"\n");
    }
    pub fn finish(self) -> String {
        hex::encode(self.h.finalize())
    }
}

/// The forms of a registry, latest first per id, as a plan input.
pub fn registry_forms(forms: &FormRegistry) -> Vec<&survey_model::Form> {
    let mut v: Vec<&survey_model::Form> = forms.all().collect();
    v.sort_by(|a, b| a.id().cmp(b.id()).then(b.version().cmp(&a.version())));
    v
}

/// The conventions every format follows, as the manifest and the codebook
/// state them.
pub const CONVENTIONS: [&str; 5] = [
    "Empty cells (null in typed formats): the question was not asked when its name is in the \
     row's not_asked column (skip logic, or not in the interview's form version); otherwise \
     it was asked and left unanswered.",
    "Booleans, multi-choice flags (<question>__<option>) and tag flags (tag__<tag>) are \
     booleans in every format: true/false in CSV and JSON Lines, TRUE/FALSE in XLSX, boolean \
     in Parquet; a flag is empty when its question was not answered.",
    "Timestamps are UTC: RFC 3339 text (2026-11-30T09:00:00Z) in CSV and JSON Lines, date-times \
     in XLSX, timestamp[us, tz=UTC] in Parquet; dates are YYYY-MM-DD (date32 in Parquet).",
    "Ratings, NPS and counts are integers that may be empty (Int64 in pandas).",
    "Codes are the options' values; the codebook gives their labels in en, fr, ar and pt.",
];

/// The plan options an export needs: its label mode and comment choice,
/// the review tags present in what it will read (one column each, found by
/// the database), and logins when PII is included.
fn plan_options(
    store: &dyn CentralStore,
    opts: &ExportOptions,
    filter: &InterviewFilter,
) -> Result<PlanOptions, ExportError> {
    let tags = store.review_tags(filter)?;
    let logins = if matches!(opts.pii, PiiPolicy::Include) {
        store
            .list_users(None)?
            .into_iter()
            .map(|u| (u.id, u.login))
            .collect()
    } else {
        Default::default()
    };
    Ok(PlanOptions {
        labels: opts.labels,
        comments: opts.comments,
        tags,
        logins,
    })
}

/// Export into `dir` (created if missing): the data file (for forms with
/// repeats, each repeat's instances in a second table keyed by
/// `interview_id` and `instance`: `repeat_<id>.csv` / `.parquet`, a
/// `repeat_<id>` sheet in XLSX, an array under the repeat's id in each JSON
/// Lines object; GeoJSON carries the interviews only), `dictionary.csv`,
/// `dictionary.json`, `codebook.csv`, `codebook.json`, `actions.csv`, for an
/// incremental export `removed.csv`, and `manifest.json`. `progress` is
/// called with the number of interviews read so far (every 1,000 and at the
/// end); returning `false` cancels the export.
pub fn export_to_dir(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    opts: &ExportOptions,
    dir: &Path,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<Manifest, ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
    let lang = parse_lang(&opts.lang)?;
    let form_list = registry_forms(forms);
    let filter = InterviewFilter {
        countries: opts.countries.clone(),
        since_seq: opts.since_seq,
        ..InterviewFilter::default()
    };
    let plan = Plan::build(
        &form_list,
        &opts.pii,
        &lang,
        plan_options(store, opts, &filter)?,
    )
    .with_places(store.list_places()?);
    let data_name = opts.format.file_name();
    let mut sink = writers::open(opts.format, &plan, &dir.join(&data_name), &lang, opts.excel)?;
    let mut removed = match opts.since_seq {
        Some(_) => Some(removed::Writer::create(dir)?),
        None => None,
    };
    let mut hasher = DatasetHasher::default();
    let (mut rows, mut seen, mut no_location) = (0u64, 0u64, 0u64);
    let mut left_out = LeftOutCounts::default();
    // The next increment's cursor is the log's top before the scan, not the
    // highest seq the scan saw: the scan reads page by page, so of two
    // interviews changed while it runs it may see the later change and not
    // the earlier one (on a page it had read), and a cursor past both would
    // lose the earlier one for good. Every change at or below the top is
    // committed before the first page is read; changes after it come again
    // in the next increment (an analyst's copy replaces rows by id).
    let max_seq = opts.since_seq.unwrap_or(0).max(store.stats()?.max_seq);
    let mut row = Vec::with_capacity(plan.columns.len());
    let mut sink_err: Option<ExportError> = None;
    let scan = store.for_each_interview(&filter, &mut |rec, seq| {
        seen += 1;
        if seen.is_multiple_of(1000) && !progress(seen) {
            sink_err = Some(ExportError::Cancelled);
            return Err(StoreError::Db("cancelled".into()));
        }
        if let Some(why) = opts.base.left_out(&rec, forms) {
            left_out.add(why);
            if let Some(w) = removed.as_mut()
                && let Err(e) = w.add(&rec.interview_id, why, seq)
            {
                sink_err = Some(e);
                return Err(StoreError::Db("export writer failed".into()));
            }
            return Ok(());
        }
        plan.row(&rec, &mut row);
        if let Some((lat, lon)) = plan.geo
            && (row[lat] == Cell::Null || row[lon] == Cell::Null)
        {
            no_location += 1;
        }
        let written = sink.row(&row).and_then(|()| {
            if plan.repeats.is_empty() {
                Ok(())
            } else {
                sink.instances(&plan.instance_rows(&rec))
            }
        });
        if let Err(e) = written {
            sink_err = Some(e);
            return Err(StoreError::Db("export writer failed".into()));
        }
        hasher.add(&rec.interview_id, &rec.heads);
        rows += 1;
        Ok(())
    });
    if let Some(e) = sink_err {
        return Err(e);
    }
    scan?;
    progress(seen);
    sink.finish()?;
    let mut files = vec![data_name];
    // CSV and Parquet: a file per repeat table (XLSX: a sheet; JSON Lines: nested).
    if matches!(opts.format, Format::Csv | Format::Parquet) {
        files.extend(
            plan.repeats
                .iter()
                .map(|p| writers::table_file(p, opts.format)),
        );
    }
    files.extend(dictionary::write(&plan, dir, &lang)?);
    files.extend(codebook::write(&plan, &form_list, dir)?);
    files.push(actions::write(store, &opts.countries, dir)?);
    let removed_count = match removed {
        Some(w) => {
            let (name, n) = w.finish()?;
            files.push(name);
            Some(n)
        }
        None => None,
    };
    let files = files
        .into_iter()
        .map(|name| file_entry(dir, name))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = Manifest {
        tool: format!("fieldvoice-export {}", env!("CARGO_PKG_VERSION")),
        format: opts.format,
        dataset_version: hasher.finish(),
        rows,
        excluded_without_consent: left_out.without_consent,
        base: opts.base.describe(),
        left_out,
        removed: removed_count,
        rows_without_location: plan.geo.map(|_| no_location),
        countries: opts.countries.clone(),
        since_seq: opts.since_seq,
        max_seq,
        pii: opts.pii.as_str().into(),
        language: lang,
        labels: opts.labels.as_str().into(),
        conventions: CONVENTIONS.iter().map(|c| (*c).to_owned()).collect(),
        forms: form_list
            .iter()
            .map(|f| format!("{}@{}", f.id(), f.version()))
            .collect(),
        columns: plan.columns.len(),
        formula_guard: formula_guard_note(opts.format),
        files,
    };
    let path = dir.join("manifest.json");
    let mut text =
        serde_json::to_vec_pretty(&manifest).map_err(|e| ExportError::Write(e.to_string()))?;
    text.push(b'\n');
    std::fs::write(&path, text).map_err(|e| ExportError::io(&path, e))?;
    tracing::info!(
        format = opts.format.as_str(),
        rows,
        excluded_without_consent = left_out.without_consent,
        dataset_version = %manifest.dataset_version,
        "export written"
    );
    Ok(manifest)
}

/// `removed.csv` of an incremental export.
mod removed {
    use std::io::Write;
    use std::path::Path;

    use crate::{ExportError, LeftOut};

    /// The file's name.
    pub const NAME: &str = "removed.csv";

    pub struct Writer {
        w: csv::Writer<std::io::BufWriter<std::fs::File>>,
        n: u64,
    }

    fn err(e: impl std::fmt::Display) -> ExportError {
        ExportError::Write(format!("{NAME}: {e}"))
    }

    impl Writer {
        pub fn create(dir: &Path) -> Result<Writer, ExportError> {
            let path = dir.join(NAME);
            let f = std::fs::File::create(&path).map_err(|e| ExportError::io(&path, e))?;
            let mut w = csv::Writer::from_writer(std::io::BufWriter::new(f));
            w.write_record(["interview_id", "reason", "seq"])
                .map_err(err)?;
            Ok(Writer { w, n: 0 })
        }
        pub fn add(&mut self, id: &str, why: LeftOut, seq: u64) -> Result<(), ExportError> {
            self.n += 1;
            self.w
                .write_record([id, why.as_str(), &seq.to_string()])
                .map_err(err)
        }
        pub fn finish(self) -> Result<(String, u64), ExportError> {
            let mut inner = self.w.into_inner().map_err(err)?;
            inner.flush().map_err(err)?;
            Ok((NAME.to_owned(), self.n))
        }
    }
}

/// The size and SHA-256 of file `name` in `dir`.
pub fn file_entry(dir: &Path, name: String) -> Result<FileEntry, ExportError> {
    use std::io::Read;
    let path = dir.join(&name);
    let mut f = std::fs::File::open(&path).map_err(|e| ExportError::io(&path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| ExportError::io(&path, e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        h.update(&buf[..n]);
    }
    Ok(FileEntry {
        name,
        bytes,
        sha256: hex::encode(h.finalize()),
    })
}
