//! XLSForm workbooks as people write them, built here with rust_xlsxwriter
//! (the reader side is under test): the cell writer and the household roster
//! that the xlsform tests convert and the field app E2E fills.

/// Rows of one sheet, cell texts.
pub type Rows<'a> = &'a [&'a [&'a str]];

/// A workbook with these sheets. A cell `#n:12` is written as a number and
/// `#b:TRUE` as a boolean (what Excel stores when a person types them);
/// everything else as text; empty cells are left out.
pub fn workbook(sheets: &[(&str, Rows<'_>)]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*name).unwrap();
        for (i, row) in rows.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                let (r, c) = (i as u32, j as u16);
                if let Some(n) = cell.strip_prefix("#n:") {
                    ws.write_number(r, c, n.parse::<f64>().unwrap()).unwrap();
                } else if let Some(b) = cell.strip_prefix("#b:") {
                    ws.write_boolean(r, c, b == "TRUE").unwrap();
                } else if !cell.is_empty() {
                    ws.write_string(r, c, *cell).unwrap();
                }
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

/// A household roster in the KoboToolbox style: consent first (exports keep
/// only consenting interviews); the household size sets the
/// number of member blocks (`repeat_count`); per member a name, an age whose
/// label pipes in the name, a school question in a group shown for children
/// only, an `adult` calculation; a spending total calculated and piped into a
/// note; shop visits the interviewer adds by hand, summed (`sum()`) with
/// the members counted (`count()`) into a second note.
pub const ROSTER_SURVEY: Rows<'static> = &[
    &[
        "type",
        "name",
        "label",
        "relevant",
        "constraint",
        "calculation",
        "repeat_count",
        "required",
        "fv_type",
    ],
    &[
        "acknowledge",
        "consent",
        "The household agrees to answer",
        "",
        "",
        "",
        "",
        "yes",
        "consent",
    ],
    &[
        "integer",
        "hh_size",
        "People in the household",
        "",
        ". > 0 and . <= 20",
        "",
        "",
        "yes",
    ],
    &[
        "begin repeat",
        "members",
        "Member",
        "",
        "",
        "",
        "${hh_size}",
    ],
    &["text", "member_name", "Name", "", "", "", "", "yes"],
    &[
        "integer",
        "member_age",
        "Age of ${member_name}",
        "",
        ". < 120",
        "",
        "",
        "yes",
    ],
    &["begin group", "school", "School", "${member_age} < 18"],
    &[
        "select_one yn",
        "in_school",
        "Does ${member_name} go to school?",
    ],
    &["end group"],
    &[
        "calculate",
        "adult",
        "",
        "",
        "",
        "if(${member_age} >= 18, 'yes', 'no')",
    ],
    &["end repeat"],
    &["decimal", "food", "Food spending last month"],
    &["decimal", "rent", "Rent last month"],
    &["calculate", "total", "", "", "", "${food} + ${rent}"],
    &["note", "total_note", "Total: ${total}", "${total} > 0"],
    &["begin repeat", "visits", "Shop visit"],
    &["text", "shop", "Shop"],
    &["decimal", "spent", "Spent"],
    &["end repeat"],
    &["calculate", "people", "", "", "", "count(${members})"],
    &["calculate", "visits_total", "", "", "", "sum(${spent})"],
    &[
        "note",
        "visits_note",
        "Shop visits: ${visits_total} spent by ${people} people",
        "${visits_total} > 0",
    ],
];

/// The roster's choice lists.
pub const ROSTER_CHOICES: Rows<'static> = &[
    &["list_name", "name", "label"],
    &["yn", "yes", "Yes"],
    &["yn", "no", "No"],
];

/// The roster's settings: form `household-roster`, version 1.
pub const ROSTER_SETTINGS: Rows<'static> = &[
    &["form_id", "version", "form_title"],
    &["household-roster", "1", "Household roster"],
];

/// The roster as an .xlsx workbook.
pub fn roster() -> Vec<u8> {
    workbook(&[
        ("survey", ROSTER_SURVEY),
        ("choices", ROSTER_CHOICES),
        ("settings", ROSTER_SETTINGS),
    ])
}
