//! The campaign's place list as a CSV file: parsing with a named row and
//! column for every problem (a file with any problem is refused whole, so a
//! half-imported list never reaches devices).

use survey_model::Place;

use crate::csvfile::{CsvProblem, read};

/// The columns of a place file, in the order `admin export` and the demo file
/// use; the first five are required.
pub const PLACE_COLUMNS: [&str; 8] = [
    "code", "country", "name", "kind", "setting", "region", "lat", "lon",
];

/// Largest place file accepted, in rows.
pub const MAX_PLACES: usize = 20_000;

/// A problem of a place file (row and column).
pub type PlaceProblem = CsvProblem;

/// Parse a place file: a header row naming at least code, country, name, kind
/// and setting (any order, any case; region, lat, lon optional), `,` or `;`
/// separated, with or without a BOM. Codes must be unique in the file.
pub fn parse_places_csv(text: &str) -> Result<Vec<Place>, Vec<PlaceProblem>> {
    let (rows, mut problems) = read(text, &PLACE_COLUMNS, 5, MAX_PLACES)?;
    let mut places = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for r in rows {
        let row = r.row;
        let mut coord = |c: &str| -> Option<f64> {
            let s = r.get(c).replace(',', ".");
            if s.is_empty() {
                return None;
            }
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    problems.push(CsvProblem::new(
                        row,
                        Some(c),
                        format!("`{}` is not a number", r.get(c)),
                    ));
                    None
                }
            }
        };
        let (lat, lon) = (coord("lat"), coord("lon"));
        let place = Place {
            code: r.get("code").to_owned(),
            country: r.get("country").to_uppercase(),
            name: r.get("name").to_owned(),
            region: r.get("region").to_owned(),
            kind: r.get("kind").to_lowercase().replace('-', "_"),
            setting: r.get("setting").to_lowercase().replace(['-', ' '], "_"),
            lat,
            lon,
        };
        for (field, message) in place.problems() {
            problems.push(CsvProblem::new(row, Some(field), message));
        }
        if let Some(first) = seen.insert(place.code.clone(), row) {
            problems.push(CsvProblem::new(
                row,
                Some("code"),
                format!("`{}` is also the code of row {first}", place.code),
            ));
        }
        places.push(place);
    }
    if places.is_empty() && problems.is_empty() {
        problems.push(CsvProblem::new(2, None, "the file has no place".into()));
    }
    if problems.is_empty() {
        Ok(places)
    } else {
        problems.sort_by_key(|p| p.row);
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
            &p.kind,
            &p.setting,
            &p.region,
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
