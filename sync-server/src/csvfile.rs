//! Reading the CSV files people upload (place lists, assignments, quotas):
//! a header row naming the columns in any order and case, `,` or `;`
//! separators (Excel in French locales), an optional BOM, and every problem
//! named by its spreadsheet row (the header is row 1) and column.

use serde::Serialize;

/// One problem of an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsvProblem {
    pub row: usize,
    pub column: Option<String>,
    pub message: String,
}

impl CsvProblem {
    pub fn new(row: usize, column: Option<&str>, message: String) -> CsvProblem {
        CsvProblem {
            row,
            column: column.map(str::to_owned),
            message,
        }
    }
}

impl std::fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "row {}, column {c}: {}", self.row, self.message),
            None => write!(f, "row {}: {}", self.row, self.message),
        }
    }
}

/// One data row: its spreadsheet row number and the cells of the known
/// columns (trimmed; `""` for a missing optional column).
#[derive(Debug, Clone)]
pub struct CsvRow {
    pub row: usize,
    cells: Vec<String>,
    names: &'static [&'static str],
}

impl CsvRow {
    /// The cell of column `name` (one of the columns the file was read with).
    pub fn get(&self, name: &str) -> &str {
        self.names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.cells.get(i))
            .map_or("", String::as_str)
    }
}

/// Read `text` whose header must name every column of `required`; the
/// columns of `optional` may be there. At most `max_rows` data rows.
pub fn read(
    text: &str,
    columns: &'static [&'static str],
    required: usize,
    max_rows: usize,
) -> Result<(Vec<CsvRow>, Vec<CsvProblem>), Vec<CsvProblem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let delim = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| {
            vec![CsvProblem::new(
                1,
                None,
                format!("cannot read the header row: {e}"),
            )]
        })?
        .clone();
    let idx: Vec<Option<usize>> = columns
        .iter()
        .map(|c| headers.iter().position(|h| h.eq_ignore_ascii_case(c)))
        .collect();
    let missing: Vec<&str> = columns[..required]
        .iter()
        .zip(&idx)
        .filter(|(_, i)| i.is_none())
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(vec![CsvProblem::new(
            1,
            None,
            format!(
                "the header row lacks {}; the file has the columns {}",
                missing.join(", "),
                columns.join(", ")
            ),
        )]);
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        if i >= max_rows {
            return Err(vec![CsvProblem::new(
                row,
                None,
                format!("more than {max_rows} rows; split the file"),
            )]);
        }
        match rec {
            Ok(rec) => rows.push(CsvRow {
                row,
                cells: idx
                    .iter()
                    .map(|i| i.and_then(|i| rec.get(i)).unwrap_or("").to_owned())
                    .collect(),
                names: columns,
            }),
            Err(e) => problems.push(CsvProblem::new(row, None, format!("unreadable row: {e}"))),
        }
    }
    Ok((rows, problems))
}

/// Problems as one message for a 400: "N problem(s); nothing was imported: ...".
pub fn refusal(what: &str, problems: &[CsvProblem]) -> String {
    let n = problems.len();
    let shown: Vec<String> = problems.iter().take(50).map(ToString::to_string).collect();
    format!(
        "the {what} has {n} problem(s); nothing was imported: {}{}",
        shown.join("; "),
        if n > shown.len() { "; ..." } else { "" }
    )
}
