//! The interview projection (`interviews` table), written down once: every
//! column derived from an [`InterviewRecord`], its type, whether an upsert
//! rewrites it, and how its value is computed. Both backends build their
//! projection upsert from [`PROJECTION`], the dashboards their touchpoint
//! aggregates from [`TOUCHPOINTS`], and the SQLite -> PostgreSQL copy its
//! column list from [`INTERVIEW_COLUMNS`]. The migrations that created the
//! columns stay literal SQL (they are history); a unit test and the
//! conformance tests check the migrated schemas against this table.

use survey_model::InterviewRecord;

/// The satisfaction questions (ratings 1-5), in display order (their home is
/// survey-model); each is also a projection column of the same name.
pub use survey_model::mcmb::TOUCHPOINTS;

/// How a column is typed in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Float,
    Bool,
    Bytes,
    Uuid,
}

/// Complaint categories of a record.
pub fn complaint_categories_of(r: &InterviewRecord) -> Vec<String> {
    r.answers
        .get("complaint_categories")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The stored form of a record's complaint categories: `,a,b,` (so one
/// category matches as a substring `,a,`), `None` without any.
pub fn complaint_key(r: &InterviewRecord) -> Option<String> {
    let cats = complaint_categories_of(r);
    (!cats.is_empty()).then(|| format!(",{},", cats.join(",")))
}

/// A projection value, as bound to a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

/// One column of the projection derived from the record.
pub(crate) struct Column {
    pub name: &'static str,
    /// [`Kind::Text`] or [`Kind::Int`].
    pub kind: Kind,
    /// Set when the interview is first stored, never rewritten (who, where
    /// and when it was created); the others follow every merge.
    pub fixed: bool,
    pub value: fn(&InterviewRecord) -> Value,
}

const fn text(name: &'static str, fixed: bool, value: fn(&InterviewRecord) -> Value) -> Column {
    Column {
        name,
        kind: Kind::Text,
        fixed,
        value,
    }
}

const fn int(name: &'static str, value: fn(&InterviewRecord) -> Value) -> Column {
    Column {
        name,
        kind: Kind::Int,
        fixed: false,
        value,
    }
}

fn answer_text(r: &InterviewRecord, name: &str) -> Value {
    Value::Text(r.answer_str(name).map(str::to_owned))
}

fn touchpoint<const I: usize>(r: &InterviewRecord) -> Value {
    Value::Int(r.answer_i64(TOUCHPOINTS[I]))
}

/// The columns derived from the record, in the order the upsert binds them.
pub(crate) const PROJECTION: &[Column] = &[
    text("campaign", true, |r| Value::Text(Some(r.campaign.clone()))),
    text("country", true, |r| Value::Text(Some(r.country.clone()))),
    text("form_id", true, |r| Value::Text(Some(r.form_id.clone()))),
    Column {
        name: "form_version",
        kind: Kind::Int,
        fixed: true,
        value: |r| Value::Int(Some(i64::from(r.form_version))),
    },
    text("created_by", true, |r| {
        Value::Text(Some(r.created_by.clone()))
    }),
    text("device_id", true, |r| {
        Value::Text(Some(r.device_id.clone()))
    }),
    text("created_at", true, |r| {
        Value::Text(Some(r.created_at.clone()))
    }),
    text("status", false, |r| Value::Text(Some(r.status.clone()))),
    text("submitted_at", false, |r| {
        Value::Text(r.submitted_at.clone())
    }),
    text("review_state", false, |r| {
        Value::Text(r.review_state.clone())
    }),
    text("city", false, |r| answer_text(r, "city")),
    text("segment", false, |r| answer_text(r, "segment")),
    text("area_type", false, |r| answer_text(r, "area_type")),
    int("nps", |r| Value::Int(r.answer_i64("nps"))),
    text("has_complaint", false, |r| answer_text(r, "has_complaint")),
    int(TOUCHPOINTS[0], touchpoint::<0>),
    int(TOUCHPOINTS[1], touchpoint::<1>),
    int(TOUCHPOINTS[2], touchpoint::<2>),
    int(TOUCHPOINTS[3], touchpoint::<3>),
    int(TOUCHPOINTS[4], touchpoint::<4>),
    text("complaint_categories", false, |r| {
        Value::Text(complaint_key(r))
    }),
    text("place_code", false, |r| {
        answer_text(r, survey_model::mcmb::PLACE_QUESTION)
    }),
    int("duration_s", |r| Value::Int(r.paradata.duration_s)),
    int("edits", |r| Value::Int(Some(i64::from(r.paradata.edits)))),
    int("submitted_dev", |r| Value::Int(r.paradata.submitted_at)),
    text("phone_key", false, |r| {
        Value::Text(survey_model::checks::phone_key(&r.campaign, r))
    }),
    text("checks", false, |r| {
        Value::Text(Some(check_list(&r.checks)))
    }),
    int("check_count", |r| Value::Int(Some(r.checks.len() as i64))),
];

/// A list of checks as stored (`,a,b,`; `,` without any), so that one
/// matches as the substring `,name,`.
pub(crate) fn check_list(checks: &[survey_model::Check]) -> String {
    let mut s = String::from(",");
    for c in checks {
        s.push_str(c.as_str());
        s.push(',');
    }
    s
}

/// Every column of `interviews`: the key, the record-derived ones, and the
/// bookkeeping (`updated_at` Unix seconds of the last write, `updated_seq`
/// the log position of the last change, `record` the whole record as JSON,
/// and the cross-interview checks the store keeps: `cross_checks` as
/// [`check_list`] and `cross_count`).
pub const INTERVIEW_COLUMNS: [(&str, Kind); PROJECTION.len() + 6] = {
    let mut out = [("doc_id", Kind::Uuid); PROJECTION.len() + 6];
    let mut i = 0;
    while i < PROJECTION.len() {
        out[i + 1] = (PROJECTION[i].name, PROJECTION[i].kind);
        i += 1;
    }
    out[i + 1] = ("updated_at", Kind::Int);
    out[i + 2] = ("updated_seq", Kind::Int);
    out[i + 3] = ("record", Kind::Text);
    out[i + 4] = ("cross_checks", Kind::Text);
    out[i + 5] = ("cross_count", Kind::Int);
    out
};

/// The SQL expression a read selects for one interview (`alias` the table's
/// alias, or empty): the cross-interview checks, then the record JSON, read
/// back by [`crate::record_from_json`].
pub(crate) fn record_expr(alias: &str) -> String {
    let a = if alias.is_empty() {
        String::new()
    } else {
        format!("{alias}.")
    };
    format!("({a}cross_checks || {a}record)")
}

/// The record-derived values of `r`, in [`PROJECTION`] order.
pub(crate) fn values(r: &InterviewRecord) -> impl Iterator<Item = Value> + '_ {
    PROJECTION.iter().map(move |c| (c.value)(r))
}

/// How `updated_seq` is written by a backend's projection upsert. Either
/// way it is rewritten on conflict: an interview's seq is its document's
/// newest, which incremental exports (`InterviewFilter::since_seq`) select by.
pub(crate) enum SeqWrite<'a> {
    /// Bound as the last parameter.
    Param,
    /// This SQL expression (read in the statement, after the document's
    /// write).
    Expr(&'a str),
}

/// The projection upsert. Parameters, numbered by `mark`: 1 the document id,
/// then [`values`] in order, then `updated_at`, `record`, and with
/// [`SeqWrite::Param`] `updated_seq`.
pub(crate) fn upsert_sql(mark: impl Fn(usize) -> String, seq: &SeqWrite<'_>) -> String {
    let n = PROJECTION.len();
    let mut cols: Vec<&str> = vec!["doc_id"];
    cols.extend(PROJECTION.iter().map(|c| c.name));
    cols.extend(["updated_at", "record", "updated_seq"]);
    let mut vals: Vec<String> = (1..=n + 3).map(&mark).collect();
    let mut set: Vec<&str> = PROJECTION
        .iter()
        .filter(|c| !c.fixed)
        .map(|c| c.name)
        .collect();
    set.extend(["updated_at", "record", "updated_seq"]);
    match seq {
        SeqWrite::Param => vals.push(mark(n + 4)),
        SeqWrite::Expr(e) => vals.push((*e).to_owned()),
    }
    let set: Vec<String> = set.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    format!(
        "INSERT INTO interviews({}) VALUES ({}) ON CONFLICT(doc_id) DO UPDATE SET {}",
        cols.join(", "),
        vals.join(", "),
        set.join(", ")
    )
}

/// The SQL type a backend's schema gives a column of kind `k`, as its catalog
/// reports it (`sqlite`: `PRAGMA table_info`; otherwise PostgreSQL's
/// `information_schema.columns.data_type`).
pub fn sql_type(k: Kind, sqlite: bool) -> &'static str {
    match (k, sqlite) {
        (Kind::Text, true) | (Kind::Uuid, true) => "TEXT",
        (Kind::Int, true) | (Kind::Bool, true) => "INTEGER",
        (Kind::Bytes, true) => "BLOB",
        (Kind::Float, true) => "REAL",
        (Kind::Float, false) => "double precision",
        (Kind::Text, false) => "text",
        (Kind::Int, false) => "bigint",
        (Kind::Bool, false) => "boolean",
        (Kind::Bytes, false) => "bytea",
        (Kind::Uuid, false) => "uuid",
    }
}

/// The `interviews` columns as (name, catalog type), sorted by name, for
/// checking a migrated schema against this table.
pub fn interview_schema(sqlite: bool) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<_> = INTERVIEW_COLUMNS
        .iter()
        .map(|(n, k)| (*n, sql_type(*k, sqlite)))
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_binds_every_column_and_keeps_fixed_ones() {
        let sql = upsert_sql(|i| format!("?{i}"), &SeqWrite::Param);
        // Every column but the two the store keeps across interviews.
        let n = INTERVIEW_COLUMNS.len() - 2;
        assert!(!sql.contains("cross_"));
        assert!(sql.contains(&format!("?{n})")) && !sql.contains(&format!("?{}", n + 1)));
        for c in PROJECTION {
            let set = sql.contains(&format!("{0} = excluded.{0}", c.name));
            assert_eq!(set, !c.fixed, "{}", c.name);
        }
    }
}
