//! The campaign's place list as a CSV file: parsing with a named row and
//! column for every problem (a file with any problem is refused whole, so a
//! half-imported list never reaches devices).

use serde::Serialize;
use survey_model::Place;

/// The columns of a place file, in the order `admin export` and the demo file use.
pub const PLACE_COLUMNS: [&str; 8] = [
    "code", "country", "name", "region", "kind", "setting", "lat", "lon",
];
/// Columns a file must have (the others are optional).
const REQUIRED: [&str; 5] = ["code", "country", "name", "kind", "setting"];

/// Largest place file accepted, in rows.
pub const MAX_PLACES: usize = 20_000;

/// One problem of a place file: the spreadsheet row (the header is row 1) and
/// the column, when one is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceProblem {
    pub row: usize,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for PlaceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "row {}, column {c}: {}", self.row, self.message),
            None => write!(f, "row {}: {}", self.row, self.message),
        }
    }
}

/// Parse a place file: a header row naming at least code, country, name, kind
/// and setting (any order, any case; region, lat, lon optional), `,` or `;`
/// separated, with or without a BOM. Codes must be unique in the file.
pub fn parse_places_csv(text: &str) -> Result<Vec<Place>, Vec<PlaceProblem>> {
    let problem = |row: usize, column: Option<&str>, message: String| PlaceProblem {
        row,
        column: column.map(str::to_owned),
        message,
    };
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
        .map_err(|e| vec![problem(1, None, format!("cannot read the header row: {e}"))])?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let missing: Vec<&str> = REQUIRED.into_iter().filter(|c| col(c).is_none()).collect();
    if !missing.is_empty() {
        return Err(vec![problem(
            1,
            None,
            format!(
                "the header row lacks {}; a place file has the columns {}",
                missing.join(", "),
                PLACE_COLUMNS.join(", ")
            ),
        )]);
    }
    let idx: Vec<Option<usize>> = PLACE_COLUMNS.iter().map(|c| col(c)).collect();
    let mut places = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        if i >= MAX_PLACES {
            return Err(vec![problem(
                row,
                None,
                format!("more than {MAX_PLACES} places; split the file"),
            )]);
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(row, None, format!("unreadable row: {e}")));
                continue;
            }
        };
        let get = |c: usize| idx[c].and_then(|i| rec.get(i)).unwrap_or("").to_owned();
        let mut coord = |c: usize| -> Option<f64> {
            let s = get(c).replace(',', ".");
            if s.is_empty() {
                return None;
            }
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    problems.push(problem(
                        row,
                        Some(PLACE_COLUMNS[c]),
                        format!("`{}` is not a number", get(c)),
                    ));
                    None
                }
            }
        };
        let (lat, lon) = (coord(6), coord(7));
        let place = Place {
            code: get(0),
            country: get(1).to_uppercase(),
            name: get(2),
            region: get(3),
            kind: get(4).to_lowercase().replace('-', "_"),
            setting: get(5).to_lowercase().replace(['-', ' '], "_"),
            lat,
            lon,
        };
        for (field, message) in place.problems() {
            problems.push(problem(row, Some(field), message));
        }
        if let Some(first) = seen.insert(place.code.clone(), row) {
            problems.push(problem(
                row,
                Some("code"),
                format!("`{}` is also the code of row {first}", place.code),
            ));
        }
        places.push(place);
    }
    if places.is_empty() && problems.is_empty() {
        problems.push(problem(2, None, "the file has no place".into()));
    }
    if problems.is_empty() {
        Ok(places)
    } else {
        Err(problems)
    }
}

/// The place list as CSV text ([`PLACE_COLUMNS`]), read back by [`parse_places_csv`].
pub fn places_csv(places: &[Place]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    // Writing to a Vec cannot fail.
    let _ = w.write_record(PLACE_COLUMNS);
    for p in places {
        let _ = w.write_record([
            p.code.as_str(),
            &p.country,
            &p.name,
            &p.region,
            &p.kind,
            &p.setting,
            &num(p.lat),
            &num(p.lon),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_french_excel_file_reads() {
        let text = "\u{feff}Code;Country;Name;Region;Kind;Setting;Lat;Lon\n\
                    CI-BKE;ci;Bouaké;Gbêkê;City;Urban;7,6899;-5,0318\n\
                    CI-KANI;CI;Kani;;village;peri-urban;;\n";
        let p = parse_places_csv(text).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].country.as_str(), p[0].lat), ("CI", Some(7.6899)));
        assert_eq!(p[1].setting, "peri_urban");
        assert_eq!(parse_places_csv(&places_csv(&p)).unwrap(), p, "round trip");
    }

    #[test]
    fn every_problem_names_its_row_and_column() {
        let text = "code,country,name,kind,setting,lat,lon\n\
                    CI-BKE,CI,Bouaké,city,urban,north,-5\n\
                    CI BAD,CIV,,town,urban,,\n\
                    CI-BKE,CI,Bouaké 2,city,rural,,\n";
        let errs: Vec<String> = parse_places_csv(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "row 2, column lat: `north` is not a number",
                "row 2, column lat: give both latitude and longitude, or neither",
                "row 3, column code: `CI BAD` must be 1-64 letters, digits, `_`, `-` or `.`",
                "row 3, column country: `CIV` is not a two-letter ISO code",
                "row 3, column name: must be 1-120 characters",
                "row 3, column kind: `town` is not one of city, village, district",
                "row 4, column code: `CI-BKE` is also the code of row 2",
            ]
        );
        let e = parse_places_csv("code,name\nX,Y\n").unwrap_err();
        assert!(
            e[0].message.contains("lacks country, kind, setting"),
            "{e:?}"
        );
        assert!(parse_places_csv("").is_err());
    }
}
