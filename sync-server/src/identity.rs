//! Identity helpers: enrollment QR codes and bulk user import from CSV.

use central_store::Role;
use serde::Serialize;

/// The text a QR code carries: the server URL and the code, so a scan enrolls.
pub fn enrollment_link(public_url: &str, code: &str) -> String {
    format!(
        "fieldvoice://enroll?server={}&code={code}",
        public_url.trim_end_matches('/')
    )
}

/// An SVG QR code for `text`.
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// One valid row of a user import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: usize,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub country: String,
}

/// One rejected row of a user import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    pub line: usize,
    pub message: String,
}

/// Largest import accepted, in rows.
pub const MAX_IMPORT_ROWS: usize = 50_000;

/// Parse a CSV with a header row holding `login`, `name`, `country` and
/// optionally `role` (default employee). Columns may come in any order; a BOM
/// and `;` separators (Excel in French locales) are accepted. Bad rows are
/// reported with their line number; good rows are returned.
pub fn parse_user_csv(text: &str) -> Result<(Vec<ImportRow>, Vec<ImportProblem>), String> {
    const COLUMNS: [&str; 4] = ["login", "name", "country", "role"];
    let (records, read_problems) = crate::csvfile::read(text, &COLUMNS, 3, MAX_IMPORT_ROWS)
        .map_err(|p| p.first().map_or_else(String::new, |p| p.message.clone()))?;
    let mut rows = Vec::new();
    let mut problems: Vec<ImportProblem> = read_problems
        .into_iter()
        .map(|p| ImportProblem {
            line: p.row,
            message: p.message,
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for rec in records {
        let line = rec.row;
        let get = |c: &str| rec.get(c).to_owned();
        let (login, name, country) = (get("login"), get("name"), get("country").to_uppercase());
        let role_s = Some(get("role"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "employee".into());
        let mut bad = |m: String| problems.push(ImportProblem { line, message: m });
        if login.is_empty() || login.len() > 100 || login.chars().any(char::is_whitespace) {
            bad("login must be 1-100 characters without spaces".into());
            continue;
        }
        if name.is_empty() || name.chars().count() > 200 {
            bad("name must be 1-200 characters".into());
            continue;
        }
        if !is_country(&country) {
            bad(format!("country `{country}` is not a two-letter ISO code"));
            continue;
        }
        let Some(role) = Role::parse(&role_s.to_lowercase()) else {
            bad(format!(
                "role `{role_s}` is not admin, coordinator, employee or analyst"
            ));
            continue;
        };
        if !seen.insert(login.clone()) {
            bad(format!("login `{login}` appears twice in the file"));
            continue;
        }
        rows.push(ImportRow {
            line,
            login,
            name,
            role,
            country,
        });
    }
    Ok((rows, problems))
}

/// A two-letter upper-case country code.
pub fn is_country(c: &str) -> bool {
    c.len() == 2 && c.chars().all(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_import_reports_bad_rows_and_keeps_good_ones() {
        let text = "\u{feff}name;login;country;role\nAwa Traoré;awa.t;ci;\n;nobody;CI;\nBob;bob b;CI;\nCarl;carl;CIV;\nDan;dan;SN;boss\nEve;awa.t;CI;\nFay;fay;SN;coordinator\n";
        let (rows, problems) = parse_user_csv(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].login, "awa.t");
        assert_eq!(rows[0].country, "CI");
        assert_eq!(rows[0].role, Role::Employee);
        assert_eq!(rows[1].role, Role::Coordinator);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7]);
        assert!(problems[3].message.contains("boss"));
    }

    #[test]
    fn csv_without_required_columns_is_refused() {
        let err = parse_user_csv("a,b\n1,2\n").unwrap_err();
        assert!(err.contains("lacks login, name, country"), "{err}");
        assert!(parse_user_csv("").is_err());
    }

    #[test]
    fn qr_is_svg() {
        let svg = qr_svg(&enrollment_link("http://x:1/", "ABCDE-FGHJK")).unwrap();
        assert!(svg.contains("<svg"));
    }
}
