//! Streaming writers: each takes rows one at a time and keeps at most one
//! record batch (Parquet) or one row (the others) in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::columns::{Cell, ColType, Column, Plan, timestamp_text};
use crate::{ExportError, Format};

/// Rows per Parquet record batch (and row group flush unit).
pub const PARQUET_BATCH_ROWS: usize = 4096;
/// Rows per Parquet row group.
pub const PARQUET_ROW_GROUP_ROWS: usize = 64 * 1024;
/// Most data rows one XLSX sheet can hold (1,048,576 rows minus the header).
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

/// A streaming sink for rows of a [`Plan`].
pub trait RowSink {
    fn row(&mut self, row: &[Cell]) -> Result<(), ExportError>;
    /// The instance rows of the interview just written by [`RowSink::row`],
    /// one list per repeat plan ([`Plan::instance_rows`]). Formats without
    /// a place for them (GeoJSON) ignore them.
    fn instances(&mut self, _rows: &[Vec<Vec<Cell>>]) -> Result<(), ExportError> {
        Ok(())
    }
    /// Flush and close the file.
    fn finish(self: Box<Self>) -> Result<(), ExportError>;
}

/// The UTF-8 byte order mark `--excel` puts in front of a CSV file, so that
/// Excel reads it as UTF-8 (accents, Arabic) instead of the local code page.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Open the writer for `format` at `path`; `bom` puts [`UTF8_BOM`] in front
/// of a CSV file.
pub fn open(
    format: Format,
    plan: &Plan,
    path: &Path,
    lang: &str,
    bom: bool,
) -> Result<Box<dyn RowSink>, ExportError> {
    let main: Box<dyn RowSink> = match format {
        Format::Csv => Box::new(CsvSink::new(plan, path, bom)?),
        Format::Jsonl => Box::new(JsonlSink::new(plan, path)?),
        Format::Geojson => Box::new(GeoJsonSink::new(plan, path)?),
        Format::Parquet => Box::new(ParquetSink::new(plan, path)?),
        Format::Xlsx => Box::new(XlsxSink::new(plan, path, lang)?),
    };
    if !matches!(format, Format::Csv | Format::Parquet) || plan.repeats.is_empty() {
        return Ok(main);
    }
    // CSV and Parquet: one more file per repeat, beside the interviews'.
    let subs = plan
        .repeats
        .iter()
        .map(|p| {
            open(
                format,
                p,
                &path.with_file_name(table_file(p, format)),
                lang,
                bom,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(WithRepeats { main, subs }))
}

/// The file a repeat table goes to in `format` (CSV and Parquet): `repeat_<id>.<ext>`.
pub fn table_file(plan: &Plan, format: Format) -> String {
    format!("{}.{}", plan.table(), extension(format))
}

/// The interviews' sink and one sink per repeat table.
struct WithRepeats {
    main: Box<dyn RowSink>,
    subs: Vec<Box<dyn RowSink>>,
}

impl RowSink for WithRepeats {
    fn row(&mut self, row: &[Cell]) -> Result<(), ExportError> {
        self.main.row(row)
    }
    fn instances(&mut self, rows: &[Vec<Vec<Cell>>]) -> Result<(), ExportError> {
        for (sink, rows) in self.subs.iter_mut().zip(rows) {
            for r in rows {
                sink.row(r)?;
            }
        }
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<(), ExportError> {
        self.main.finish()?;
        for s in self.subs {
            s.finish()?;
        }
        Ok(())
    }
}

fn create(path: &Path) -> Result<BufWriter<File>, ExportError> {
    let f = File::create(path).map_err(|e| ExportError::io(path, e))?;
    Ok(BufWriter::with_capacity(256 * 1024, f))
}

fn io_err(e: std::io::Error) -> ExportError {
    ExportError::Write(e.to_string())
}

// --- CSV --------------------------------------------------------------------

struct CsvSink {
    w: csv::Writer<BufWriter<File>>,
    buf: Vec<String>,
}

// --- Formula guard (OWASP CSV injection) -------------------------------------

/// First characters that make a spreadsheet (Excel, LibreOffice, Google
/// Sheets) read a text cell as a formula: `=`, `+`, `-`, `@`, tab and
/// carriage return (OWASP, "CSV Injection").
pub const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The one formula-guard rule of every export. A *text* cell needs the guard
/// when, after any leading single quotes, it starts with one of
/// [`FORMULA_TRIGGERS`]. Typed cells (numbers, booleans, dates) never do: they
/// are written as numbers, so a negative integer stays a number.
///
/// Counting the quotes that are already there makes the rule reversible: a
/// value that itself starts with `'=` is guarded to `''=`, and
/// [`restore_text`] gives every original value back exactly.
pub fn needs_formula_guard(text: &str) -> bool {
    text.trim_start_matches('\'').starts_with(FORMULA_TRIGGERS)
}

/// A text cell as written to CSV: `'` + the value when
/// [`needs_formula_guard`], else the value unchanged. (XLSX keeps the value
/// and sets the cell's quote-prefix style instead, which is how spreadsheets
/// store a typed leading `'`.)
pub fn guard_text(text: &str) -> std::borrow::Cow<'_, str> {
    if needs_formula_guard(text) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The original value of a CSV text cell written by [`guard_text`]: drops
/// the one leading `'` the guard added, and nothing else.
pub fn restore_text(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_formula_guard(rest) => rest,
        _ => cell,
    }
}

/// CSV text of a cell: empty for null, `true`/`false` for booleans (as in
/// every other format), RFC 3339 UTC for timestamps; text through
/// [`guard_text`].
pub fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Null => String::new(),
        Cell::Str(s) => guard_text(s).into_owned(),
        Cell::Int(i) => i.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::Float(f) => f.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Timestamp(t) => timestamp_text(*t),
    }
}

impl CsvSink {
    fn new(plan: &Plan, path: &Path, bom: bool) -> Result<CsvSink, ExportError> {
        let mut out = create(path)?;
        if bom {
            out.write_all(UTF8_BOM).map_err(io_err)?;
        }
        let mut w = csv::Writer::from_writer(out);
        w.write_record(plan.columns.iter().map(|c| c.name.as_str()))
            .map_err(csv_err)?;
        Ok(CsvSink { w, buf: Vec::new() })
    }
}

fn csv_err(e: csv::Error) -> ExportError {
    ExportError::Write(e.to_string())
}

impl RowSink for CsvSink {
    fn row(&mut self, row: &[Cell]) -> Result<(), ExportError> {
        self.buf.clear();
        self.buf.extend(row.iter().map(cell_text));
        self.w.write_record(&self.buf).map_err(csv_err)
    }
    fn finish(self: Box<Self>) -> Result<(), ExportError> {
        let inner = self
            .w
            .into_inner()
            .map_err(|e| ExportError::Write(e.to_string()))?;
        finish_file(inner)
    }
}

fn finish_file(mut w: BufWriter<File>) -> Result<(), ExportError> {
    w.flush().map_err(io_err)?;
    let f = w
        .into_inner()
        .map_err(|e| ExportError::Write(e.to_string()))?;
    f.sync_all().map_err(io_err)
}

// --- JSON Lines and GeoJSON ---------------------------------------------------

fn write_json_value(out: &mut Vec<u8>, c: &Cell) -> Result<(), ExportError> {
    let r = match c {
        Cell::Null => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        Cell::Str(s) => serde_json::to_writer(&mut *out, s),
        Cell::Int(i) => serde_json::to_writer(&mut *out, i),
        Cell::Bool(b) => serde_json::to_writer(&mut *out, b),
        // Non-finite floats cannot occur (geopoints are checked) but map to null.
        Cell::Float(f) => serde_json::to_writer(&mut *out, &serde_json::Number::from_f64(*f)),
        Cell::Date(d) => serde_json::to_writer(&mut *out, &d.to_string()),
        Cell::Timestamp(t) => serde_json::to_writer(&mut *out, &timestamp_text(*t)),
    };
    r.map_err(|e| ExportError::Write(e.to_string()))
}

fn write_json_object(
    out: &mut Vec<u8>,
    columns: &[Column],
    row: &[Cell],
    skip: &[usize],
) -> Result<(), ExportError> {
    out.push(b'{');
    let mut first = true;
    for (i, (c, v)) in columns.iter().zip(row).enumerate() {
        if skip.contains(&i) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, &c.name).map_err(|e| ExportError::Write(e.to_string()))?;
        out.push(b':');
        write_json_value(out, v)?;
    }
    out.push(b'}');
    Ok(())
}

struct JsonlSink {
    w: BufWriter<File>,
    columns: Vec<Column>,
    /// Each repeat's key (its id) and columns: its instances are nested in
    /// the interview's object as an array under that key (without the
    /// `interview_id` column).
    repeats: Vec<(String, Vec<Column>)>,
    buf: Vec<u8>,
    /// `buf` holds an interview not written yet (its instances may follow).
    pending: bool,
}

impl JsonlSink {
    fn new(plan: &Plan, path: &Path) -> Result<JsonlSink, ExportError> {
        Ok(JsonlSink {
            w: create(path)?,
            columns: plan.columns.clone(),
            // Under the repeat's id, or its table name when a column of
            // the interviews has that name (`status`, `country`…).
            repeats: plan
                .repeats
                .iter()
                .map(|p| {
                    let id = p.repeat.clone().unwrap_or_default();
                    let key = if plan.columns.iter().any(|c| c.name == id) {
                        p.table()
                    } else {
                        id
                    };
                    (key, p.columns.clone())
                })
                .collect(),
            buf: Vec::with_capacity(4096),
            pending: false,
        })
    }

    fn flush_pending(&mut self) -> Result<(), ExportError> {
        if self.pending {
            self.buf.push(b'\n');
            self.w.write_all(&self.buf).map_err(io_err)?;
            self.pending = false;
        }
        Ok(())
    }
}

impl RowSink for JsonlSink {
    fn row(&mut self, row: &[Cell]) -> Result<(), ExportError> {
        self.flush_pending()?;
        self.buf.clear();
        write_json_object(&mut self.buf, &self.columns, row, &[])?;
        self.pending = true;
        Ok(())
    }
    fn instances(&mut self, rows: &[Vec<Vec<Cell>>]) -> Result<(), ExportError> {
        if !self.pending || self.buf.pop() != Some(b'}') {
            return Ok(());
        }
        for ((key, columns), rows) in self.repeats.iter().zip(rows) {
            self.buf.push(b',');
            serde_json::to_writer(&mut self.buf, key)
                .map_err(|e| ExportError::Write(e.to_string()))?;
            self.buf.extend_from_slice(b":[");
            let skip: Vec<usize> = columns
                .iter()
                .position(|c| c.name == "interview_id")
                .into_iter()
                .collect();
            for (i, r) in rows.iter().enumerate() {
                if i > 0 {
                    self.buf.push(b',');
                }
                write_json_object(&mut self.buf, columns, r, &skip)?;
            }
            self.buf.push(b']');
        }
        self.buf.push(b'}');
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.flush_pending()?;
        finish_file(self.w)
    }
}

/// A GeoJSON FeatureCollection of the interviews that have a location (the
/// first geopoint question exported); other columns become properties.
struct GeoJsonSink {
    w: BufWriter<File>,
    columns: Vec<Column>,
    /// The interview id column: the feature's `id`.
    id: Option<usize>,
    geo: Option<(usize, usize)>,
    skip: Vec<usize>,
    buf: Vec<u8>,
    first: bool,
}

impl GeoJsonSink {
    fn new(plan: &Plan, path: &Path) -> Result<GeoJsonSink, ExportError> {
        let mut w = create(path)?;
        w.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
            .map_err(io_err)?;
        let skip = plan
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                matches!(
                    c.source,
                    crate::columns::Source::Lat(_) | crate::columns::Source::Lon(_)
                )
            })
            .map(|(i, _)| i)
            .collect();
        Ok(GeoJsonSink {
            w,
            id: plan.columns.iter().position(|c| c.name == "interview_id"),
            columns: plan.columns.clone(),
            geo: plan.geo,
            skip,
            buf: Vec::with_capacity(4096),
            first: true,
        })
    }
}

impl RowSink for GeoJsonSink {
    fn row(&mut self, row: &[Cell]) -> Result<(), ExportError> {
        let Some((lat_i, lon_i)) = self.geo else {
            return Ok(());
        };
        let (Some(Cell::Float(lat)), Some(Cell::Float(lon))) = (row.get(lat_i), row.get(lon_i))
        else {
            return Ok(());
        };
        self.buf.clear();
        if !self.first {
            self.buf.extend_from_slice(b",\n");
        }
        self.first = false;
        self.buf.extend_from_slice(b"{\"type\":\"Feature\",");
        if let Some(Cell::Str(id)) = self.id.and_then(|i| row.get(i)) {
            self.buf.extend_from_slice(b"\"id\":");
            write_json_value(&mut self.buf, &Cell::Str(id.clone()))?;
            self.buf.push(b',');
        }
        self.buf
            .extend_from_slice(b"\"geometry\":{\"type\":\"Point\",\"coordinates\":[");
        write_json_value(&mut self.buf, &Cell::Float(*lon))?;
        self.buf.push(b',');
        write_json_value(&mut self.buf, &Cell::Float(*lat))?;
        self.buf.extend_from_slice(b"]},\"properties\":");
        write_json_object(&mut self.buf, &self.columns, row, &self.skip)?;
        self.buf.push(b'}');
        self.w.write_all(&self.buf).map_err(io_err)
    }
    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.w.write_all(b"\n]}\n").map_err(io_err)?;
        finish_file(self.w)
    }
}

// --- Parquet ------------------------------------------------------------------

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Bool(BooleanBuilder),
    Float(Float64Builder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(ty: ColType) -> Builder {
        let n = PARQUET_BATCH_ROWS;
        match ty {
            ColType::String => Builder::Str(StringBuilder::with_capacity(n, n * 16)),
            ColType::Integer => Builder::Int(Int64Builder::with_capacity(n)),
            ColType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(n)),
            ColType::Float => Builder::Float(Float64Builder::with_capacity(n)),
            ColType::Date => Builder::Date(Date32Builder::with_capacity(n)),
            ColType::Timestamp => {
                Builder::Ts(TimestampMicrosecondBuilder::with_capacity(n).with_timezone(UTC))
            }
        }
    }
    fn push(&mut self, c: &Cell) {
        match (self, c) {
            (Builder::Str(b), Cell::Str(s)) => b.append_value(s),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::Int(b), Cell::Int(i)) => b.append_value(*i),
            (Builder::Int(b), _) => b.append_null(),
            (Builder::Bool(b), Cell::Bool(v)) => b.append_value(*v),
            (Builder::Bool(b), _) => b.append_null(),
            (Builder::Float(b), Cell::Float(f)) => b.append_value(*f),
            (Builder::Float(b), _) => b.append_null(),
            (Builder::Date(b), Cell::Date(d)) => b.append_value(days_since_epoch(*d)),
            (Builder::Date(b), _) => b.append_null(),
            (Builder::Ts(b), Cell::Timestamp(t)) => b.append_value(*t),
            (Builder::Ts(b), _) => b.append_null(),
        }
    }
    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
        }
    }
}

fn days_since_epoch(d: time::Date) -> i32 {
    d.to_julian_day()
        - time::Date::from_ordinal_date(1970, 1).map_or(2_440_588, |e| e.to_julian_day())
}

/// The time zone of every timestamp column.
const UTC: &str = "UTC";

/// The Arrow schema of a plan, with pandas metadata naming the nullable
/// dtypes (`Int64`, `boolean`) so that `pandas.read_parquet` keeps integer
/// columns with gaps as integers and flags as booleans, not floats and objects.
pub fn arrow_schema(plan: &Plan) -> Schema {
    let fields = plan
        .columns
        .iter()
        .map(|c| {
            let dt = match c.ty {
                ColType::String => DataType::Utf8,
                ColType::Integer => DataType::Int64,
                ColType::Boolean => DataType::Boolean,
                ColType::Float => DataType::Float64,
                ColType::Date => DataType::Date32,
                ColType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            };
            Field::new(&c.name, dt, true)
        })
        .collect::<Vec<_>>();
    let pandas_columns: Vec<serde_json::Value> = plan
        .columns
        .iter()
        .map(|c| {
            let (pandas_type, numpy_type, meta) = match c.ty {
                ColType::String => ("unicode", "object", serde_json::Value::Null),
                ColType::Integer => ("int64", "Int64", serde_json::Value::Null),
                ColType::Boolean => ("boolean", "boolean", serde_json::Value::Null),
                ColType::Float => ("float64", "float64", serde_json::Value::Null),
                ColType::Date => ("date", "object", serde_json::Value::Null),
                ColType::Timestamp => (
                    "datetimetz",
                    "datetime64[us]",
                    serde_json::json!({ "timezone": UTC }),
                ),
            };
            serde_json::json!({
                "name": c.name, "field_name": c.name, "pandas_type": pandas_type,
                "numpy_type": numpy_type, "metadata": meta,
            })
        })
        .collect();
    let pandas = serde_json::json!({
        "index_columns": [], "column_indexes": [], "columns": pandas_columns,
        "creator": {"library": "fieldvoice-export", "version": env!("CARGO_PKG_VERSION")},
        "pandas_version": "2.0.0",
    });
    Schema::new(fields).with_metadata(
        [("pandas".to_owned(), pandas.to_string())]
            .into_iter()
            .collect(),
    )
}

struct ParquetSink {
    w: ArrowWriter<BufWriter<File>>,
    schema: Arc<Schema>,
    builders: Vec<Builder>,
    rows: usize,
}

fn pq_err(e: impl std::fmt::Display) -> ExportError {
    ExportError::Write(format!("parquet: {e}"))
}

impl ParquetSink {
    fn new(plan: &Plan, path: &Path) -> Result<ParquetSink, ExportError> {
        let schema = Arc::new(arrow_schema(plan));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(PARQUET_ROW_GROUP_ROWS)
            .set_created_by(format!("fieldvoice-export {}", env!("CARGO_PKG_VERSION")))
            .build();
        let w = ArrowWriter::try_new(create(path)?, schema.clone(), Some(props)).map_err(pq_err)?;
        Ok(ParquetSink {
            w,
            schema,
            builders: plan.columns.iter().map(|c| Builder::new(c.ty)).collect(),
            rows: 0,
        })
    }

    fn flush_batch(&mut self) -> Result<(), ExportError> {
        if self.rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(pq_err)?;
        self.w.write(&batch).map_err(pq_err)?;
        self.rows = 0;
        Ok(())
    }
}

impl RowSink for ParquetSink {
    fn row(&mut self, row: &[Cell]) -> Result<(), ExportError> {
        for (b, c) in self.builders.iter_mut().zip(row) {
            b.push(c);
        }
        self.rows += 1;
        if self.rows >= PARQUET_BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.flush_batch()?;
        let inner = self.w.into_inner().map_err(pq_err)?;
        finish_file(inner)
    }
}

// --- XLSX ---------------------------------------------------------------------

struct XlsxSink {
    workbook: rust_xlsxwriter::Workbook,
    path: std::path::PathBuf,
    /// Per sheet (the interviews', then one per repeat): its table name,
    /// columns and last row written.
    sheets: Vec<(String, Vec<Column>, u32)>,
    lang: String,
    date_format: rust_xlsxwriter::Format,
    time_format: rust_xlsxwriter::Format,
    /// Quote prefix: the text is kept as is and never read as a formula.
    text_format: rust_xlsxwriter::Format,
}

fn xl_err(e: rust_xlsxwriter::XlsxError) -> ExportError {
    ExportError::Write(format!("xlsx: {e}"))
}

impl XlsxSink {
    fn new(plan: &Plan, path: &Path, lang: &str) -> Result<XlsxSink, ExportError> {
        use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};
        let mut workbook = Workbook::new();
        // A fixed creation time keeps reruns byte-identical.
        let fixed = ExcelDateTime::from_ymd(2026, 1, 1).map_err(xl_err)?;
        workbook.set_properties(
            &DocProperties::new()
                .set_title("fieldvoice export")
                .set_creation_datetime(&fixed),
        );
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let mut sheets = Vec::new();
        // The interviews' sheet, then one per repeat (`repeat_<id>`, cut to
        // Excel's 31 characters).
        for p in std::iter::once(plan).chain(&plan.repeats) {
            let sheet = workbook.add_worksheet_with_constant_memory();
            let name: String = p.table().chars().take(31).collect();
            sheet.set_name(&name).map_err(xl_err)?;
            for (i, c) in p.columns.iter().enumerate() {
                let col = col_index(i)?;
                sheet
                    .write_string_with_format(0, col, &c.name, &bold)
                    .map_err(xl_err)?;
                sheet
                    .set_column_width(col, column_width(c))
                    .map_err(xl_err)?;
            }
            // The header stays in view while scrolling.
            sheet.set_freeze_panes(1, 0).map_err(xl_err)?;
            sheets.push((p.table(), p.columns.clone(), 0));
        }
        Ok(XlsxSink {
            workbook,
            path: path.to_owned(),
            sheets,
            lang: lang.to_owned(),
            date_format: rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd"),
            time_format: rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            text_format: rust_xlsxwriter::Format::new().set_quote_prefix(),
        })
    }

    /// Write `row` as the next row of sheet `index`.
    fn write_row(&mut self, index: usize, row: &[Cell]) -> Result<(), ExportError> {
        let last = self.sheets.get(index).map_or(0, |s| s.2);
        if u64::from(last) >= XLSX_MAX_ROWS {
            return Err(ExportError::Invalid(format!(
                "XLSX holds at most {XLSX_MAX_ROWS} rows per sheet: use csv or parquet for larger exports, or filter by country"
            )));
        }
        let r = last + 1;
        if let Some(s) = self.sheets.get_mut(index) {
            s.2 = r;
        }
        let sheet = self.workbook.worksheet_from_index(index).map_err(xl_err)?;
        for (i, c) in row.iter().enumerate() {
            let col = col_index(i)?;
            match c {
                Cell::Null => continue,
                Cell::Str(s) if needs_formula_guard(s) => sheet
                    .write_string_with_format(r, col, s, &self.text_format)
                    .map(|_| ()),
                Cell::Str(s) => sheet.write_string(r, col, s).map(|_| ()),
                Cell::Int(v) => sheet.write_number(r, col, *v as f64).map(|_| ()),
                Cell::Bool(b) => sheet.write_boolean(r, col, *b).map(|_| ()),
                Cell::Float(f) => sheet.write_number(r, col, *f).map(|_| ()),
                Cell::Timestamp(t) => {
                    let dt =
                        rust_xlsxwriter::ExcelDateTime::from_timestamp(t.div_euclid(1_000_000))
                            .map_err(xl_err)?;
                    sheet
                        .write_datetime_with_format(r, col, &dt, &self.time_format)
                        .map(|_| ())
                }
                Cell::Date(d) => {
                    let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(
                        u16::try_from(d.year()).unwrap_or(1900),
                        u8::from(d.month()),
                        d.day(),
                    )
                    .map_err(xl_err)?;
                    sheet
                        .write_datetime_with_format(r, col, &dt, &self.date_format)
                        .map(|_| ())
                }
            }
            .map_err(xl_err)?;
        }
        Ok(())
    }
}

/// An XLSX column's width in characters: its header or its typical value,
/// whichever is wider, at most 40.
fn column_width(c: &Column) -> f64 {
    let value = match c.ty {
        ColType::Timestamp => 19,
        ColType::Date => 10,
        ColType::Boolean => 6,
        ColType::Integer | ColType::Float => 8,
        ColType::String if c.name == "interview_id" => 36,
        ColType::String => 16,
    };
    (c.name.chars().count().max(value) + 2).min(40) as f64
}

fn col_index(i: usize) -> Result<u16, ExportError> {
    u16::try_from(i)
        .ok()
        .filter(|c| *c < 16_384)
        .ok_or_else(|| ExportError::Invalid("XLSX holds at most 16,384 columns".into()))
}

impl RowSink for XlsxSink {
    fn row(&mut self, row: &[Cell]) -> Result<(), ExportError> {
        self.write_row(0, row)
    }

    fn instances(&mut self, rows: &[Vec<Vec<Cell>>]) -> Result<(), ExportError> {
        for (k, rows) in rows.iter().enumerate() {
            for r in rows {
                self.write_row(k + 1, r)?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        for (index, (_, columns, last_row)) in self.sheets.iter().enumerate() {
            let last_col = col_index(columns.len().saturating_sub(1))?;
            self.workbook
                .worksheet_from_index(index)
                .and_then(|sheet| sheet.autofilter(0, 0, *last_row, last_col).map(|_| ()))
                .map_err(xl_err)?;
        }
        let dict = self.workbook.add_worksheet_with_constant_memory();
        dict.set_name("dictionary").map_err(xl_err)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let header = crate::dictionary::HEADER;
        for (i, h) in header.iter().enumerate() {
            dict.write_string_with_format(0, col_index(i)?, *h, &bold)
                .map_err(xl_err)?;
        }
        let entries = self
            .sheets
            .iter()
            .flat_map(|(table, columns, _)| columns.iter().map(move |c| (table, c)));
        for (r, (table, c)) in entries.enumerate() {
            let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (i, v) in crate::dictionary::row(c, table, &self.lang)
                .iter()
                .enumerate()
            {
                if needs_formula_guard(v) {
                    dict.write_string_with_format(r, col_index(i)?, v, &self.text_format)
                } else {
                    dict.write_string(r, col_index(i)?, v)
                }
                .map_err(xl_err)?;
            }
        }
        self.workbook.save(&self.path).map_err(xl_err)
    }
}

/// The file extension of a format.
pub fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Xlsx => "xlsx",
        Format::Parquet => "parquet",
        Format::Jsonl => "jsonl",
        Format::Geojson => "geojson",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_guard_quotes_only_triggering_text_and_is_reversible() {
        for (raw, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+225 07 11", "'+225 07 11"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=already", "''=already"),
            ("''-x", "'''-x"),
            ("plain", "plain"),
            ("'quoted", "'quoted"),
            ("a=b", "a=b"),
            ("", ""),
            ("'", "'"),
        ] {
            assert_eq!(guard_text(raw), written, "{raw:?}");
            assert_eq!(restore_text(written), raw, "{written:?}");
        }
        // Typed cells are never guarded: a negative number stays a number.
        assert_eq!(cell_text(&Cell::Int(-3)), "-3");
        assert_eq!(cell_text(&Cell::Float(-1.5)), "-1.5");
        assert_eq!(cell_text(&Cell::Str("-3".into())), "'-3");
    }

    /// JSON Lines nests each interview's instances under the repeat's id,
    /// or under its table name when a column of the interviews has that
    /// name, so no object carries a key twice.
    #[test]
    fn jsonl_nests_instances_under_a_key_of_their_own() {
        let form = survey_model::Form::from_json(
            &serde_json::json!({
                "form_id": "f", "version": 1, "title": {"en": "F"},
                "languages": ["en"], "default_language": "en",
                "repeats": [{"id": "country", "label": {"en": "Countries visited"}}],
                "questions": [
                    {"name": "ok", "type": "consent", "label": {"en": "OK?"}},
                    {"name": "land", "type": "text", "label": {"en": "Land"}, "repeat": "country"}
                ]
            })
            .to_string(),
        )
        .unwrap();
        let plan = Plan::new(&[&form], &crate::PiiPolicy::Omit, "en");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("interviews.jsonl");
        let mut sink = open(Format::Jsonl, &plan, &path, "en", false).unwrap();
        let mut iv = survey_model::Interview::create(
            &form,
            survey_model::sample::meta(&form, "CI", "u", "d", "2026-12-05T09:00:00Z"),
            survey_model::actor_from_uuid(uuid::Uuid::new_v4()),
        )
        .unwrap();
        iv.set_answer_json(&form, "ok", &serde_json::json!(true))
            .unwrap();
        for land in ["Ghana", "Mali"] {
            let i = iv.add_instance(&form, "country").unwrap();
            iv.set_instance_answer_json(&form, i, "land", &serde_json::json!(land))
                .unwrap();
        }
        let rec = iv.project(Some(&form));
        let mut row = Vec::new();
        plan.row(&rec, &mut row);
        sink.row(&row).unwrap();
        sink.instances(&plan.instance_rows(&rec)).unwrap();
        sink.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let obj: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(obj["country"], "CI", "the interview's own column");
        let lands: Vec<&str> = obj["repeat_country"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["land"].as_str().unwrap())
            .collect();
        assert_eq!(lands, ["Ghana", "Mali"]);
        assert_eq!(obj["repeat_country"][1]["instance"], 2);
        assert_eq!(text.matches("\"country\":").count(), 1);
    }
}
