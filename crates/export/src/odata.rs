//! The OData v4 feed's data side: the `Interviews` entity set as CSDL
//! (`$metadata`), the query options the feed supports (`$select`,
//! `$filter` with `eq ne gt ge lt le`, `and`, `or`, `not` and parentheses,
//! `$top`, `$skip`, `$count`, `$skiptoken`, `$orderby=interview_id`), and one
//! page of rows read with keyset paging on `interview_id`, so that paging
//! through any number of interviews keeps memory flat.
//!
//! The entity set is the export's column plan with its defaults (codes,
//! PII omitted, English labels in `Core.Description`) and the export's base
//! rule (submitted, consented, not rejected). The HTTP side (routes,
//! authentication, country scope, links) is the sync-server's.

use std::fmt::Write as _;

use central_store::merge::FormRegistry;
use central_store::{CentralStore, InterviewFilter, StoreError};

use crate::columns::{Cell, ColType, Plan, PlanOptions, parse_timestamp, timestamp_text};
use crate::report::esc;
use crate::{BaseRule, ExportError, PiiPolicy, registry_forms};

/// The CSDL namespace and entity container.
pub const NAMESPACE: &str = "fieldvoice";
/// The one entity set.
pub const ENTITY_SET: &str = "Interviews";
/// Its entity type.
pub const ENTITY_TYPE: &str = "Interview";
/// Rows per page unless the client asks for fewer (`Prefer: odata.maxpagesize`).
pub const PAGE_SIZE: usize = 1000;
/// Most rows per page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 5000;

fn invalid(m: impl Into<String>) -> ExportError {
    ExportError::Invalid(m.into())
}

/// The entity set's shape: the export plan and each column's EDM type.
#[derive(Debug)]
pub struct Feed {
    plan: Plan,
}

/// An EDM primitive type of a column.
pub fn edm_type(ty: ColType) -> &'static str {
    match ty {
        ColType::String => "Edm.String",
        ColType::Integer => "Edm.Int64",
        ColType::Boolean => "Edm.Boolean",
        ColType::Float => "Edm.Double",
        ColType::Date => "Edm.Date",
        ColType::Timestamp => "Edm.DateTimeOffset",
    }
}

/// A comparison operator of `$filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A `$filter` literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(time::Date),
    Timestamp(i64),
}

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// Column index, operator, literal.
    Cmp(usize, Op, Lit),
}

/// The query options of one request, checked against the entity type.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Column indexes to return (`None`: all).
    pub select: Option<Vec<usize>>,
    pub filter: Option<Expr>,
    pub top: Option<u64>,
    pub skip: u64,
    /// `$count=true`: add `@odata.count`.
    pub count: bool,
    /// Rows after this interview id (server-driven paging).
    pub skiptoken: Option<String>,
}

/// One page of rows, as JSON objects, with what the next page needs.
#[derive(Debug)]
pub struct Page {
    /// `{"...":...}` objects joined by commas, ready to go inside `"value":[...]`.
    pub json: Vec<u8>,
    pub rows: usize,
    /// The last row's interview id when the page is full (more may follow).
    pub next: Option<String>,
}

impl Feed {
    /// The feed of the registry's forms, with the place list for the place
    /// columns.
    pub fn new(forms: &FormRegistry, places: Vec<survey_model::Place>) -> Feed {
        let list = registry_forms(forms);
        let plan =
            Plan::build(&list, &PiiPolicy::Omit, "en", PlanOptions::default()).with_places(places);
        Feed { plan }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.plan.columns.iter().position(|c| c.name == name)
    }

    /// The `$metadata` document (CSDL XML, OData 4.0).
    pub fn metadata_xml(&self) -> String {
        let mut x = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <edmx:Edmx xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\" Version=\"4.0\">\n\
             <edmx:Reference Uri=\"https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml\">\n\
             <edmx:Include Namespace=\"Org.OData.Core.V1\" Alias=\"Core\"/>\n\
             </edmx:Reference>\n<edmx:DataServices>\n",
        );
        let _ = writeln!(
            x,
            "<Schema xmlns=\"http://docs.oasis-open.org/odata/ns/edm\" Namespace=\"{NAMESPACE}\">"
        );
        let _ = writeln!(
            x,
            "<EntityType Name=\"{ENTITY_TYPE}\">\n<Key><PropertyRef Name=\"interview_id\"/></Key>"
        );
        for c in &self.plan.columns {
            let nullable = if c.name == "interview_id" {
                " Nullable=\"false\""
            } else {
                ""
            };
            let _ = writeln!(
                x,
                "<Property Name=\"{}\" Type=\"{}\"{nullable}><Annotation Term=\"Core.Description\" String=\"{}\"/></Property>",
                esc(&c.name),
                edm_type(c.ty),
                esc(&c.label)
            );
        }
        let _ = writeln!(
            x,
            "</EntityType>\n<EntityContainer Name=\"{NAMESPACE}\">\n\
             <EntitySet Name=\"{ENTITY_SET}\" EntityType=\"{NAMESPACE}.{ENTITY_TYPE}\"/>\n\
             </EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>"
        );
        x
    }

    /// Check the query options of a request (`$`-prefixed keys; others are
    /// ignored as custom options).
    pub fn parse_query<'a>(
        &self,
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Query, ExportError> {
        let mut q = Query::default();
        for (k, v) in params {
            match k {
                "$select" => {
                    let mut cols = Vec::new();
                    for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if name == "*" {
                            cols = (0..self.plan.columns.len()).collect();
                            continue;
                        }
                        cols.push(self.column(name).ok_or_else(|| {
                            invalid(format!("$select: no property `{name}` in {ENTITY_TYPE}"))
                        })?);
                    }
                    q.select = Some(cols);
                }
                "$filter" => q.filter = Some(self.parse_filter(v)?),
                "$top" => {
                    q.top = Some(v.trim().parse().map_err(|_| {
                        invalid(format!("$top must be a non-negative integer (got `{v}`)"))
                    })?)
                }
                "$skip" => {
                    q.skip = v.trim().parse().map_err(|_| {
                        invalid(format!("$skip must be a non-negative integer (got `{v}`)"))
                    })?
                }
                "$count" => {
                    q.count = match v.trim() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(invalid(format!(
                                "$count must be true or false (got `{other}`)"
                            )));
                        }
                    }
                }
                "$skiptoken" => {
                    let id = uuid::Uuid::parse_str(v.trim())
                        .map_err(|_| invalid("$skiptoken is not one this server gave"))?;
                    q.skiptoken = Some(id.to_string());
                }
                "$orderby" => {
                    let v = v.trim();
                    if v != "interview_id" && v != "interview_id asc" {
                        return Err(invalid(
                            "$orderby: rows come in interview_id order (time order of the interviews); no other order is supported",
                        ));
                    }
                }
                "$format" if !v.trim().eq_ignore_ascii_case("json") => {
                    return Err(invalid("$format: only json is served"));
                }
                "$format" => {}
                other if other.starts_with('$') => {
                    return Err(invalid(format!(
                        "query option {other} is not supported (supported: $select, $filter, $top, $skip, $count, $orderby=interview_id, $format=json)"
                    )));
                }
                _ => {}
            }
        }
        Ok(q)
    }

    /// Parse a `$filter` expression.
    pub fn parse_filter(&self, text: &str) -> Result<Expr, ExportError> {
        let tokens = tokenize(text)?;
        let mut p = Parser {
            feed: self,
            tokens,
            at: 0,
        };
        let e = p.or()?;
        if p.at != p.tokens.len() {
            return Err(invalid(format!(
                "$filter: unexpected `{}`",
                p.tokens[p.at].text()
            )));
        }
        Ok(e)
    }

    /// The countries `filter` pins with `country eq '..'` at its top level
    /// (the store reads only those); `None` when it does not.
    fn pinned_countries(filter: &Expr, country_col: usize) -> Option<Vec<String>> {
        match filter {
            Expr::Cmp(c, Op::Eq, Lit::Str(v)) if *c == country_col => Some(vec![v.clone()]),
            Expr::And(a, b) => Self::pinned_countries(a, country_col)
                .or_else(|| Self::pinned_countries(b, country_col)),
            _ => None,
        }
    }

    /// The store filter of a request scoped to `countries` (empty: all).
    fn store_filter(&self, countries: &[String], q: &Query) -> InterviewFilter {
        let mut countries = countries.to_vec();
        if let (Some(f), Some(cc)) = (&q.filter, self.column("country"))
            && let Some(pinned) = Self::pinned_countries(f, cc)
        {
            countries = if countries.is_empty() {
                pinned
            } else {
                countries.retain(|c| pinned.contains(c));
                if countries.is_empty() {
                    // Nothing in scope matches: an impossible country.
                    vec![String::new()]
                } else {
                    countries
                }
            };
        }
        InterviewFilter {
            countries,
            after_id: q.skiptoken.clone(),
            ..InterviewFilter::default()
        }
    }

    /// Scan rows of the base that pass `q.filter`, in interview id order,
    /// calling `visit` with each row until it returns `false`.
    fn scan(
        &self,
        store: &dyn CentralStore,
        forms: &FormRegistry,
        countries: &[String],
        q: &Query,
        visit: &mut RowVisitor<'_>,
    ) -> Result<(), ExportError> {
        let base = BaseRule::default();
        let mut row = Vec::with_capacity(self.plan.columns.len());
        let mut stop: Option<Result<(), ExportError>> = None;
        let r = store.for_each_interview(&self.store_filter(countries, q), &mut |rec, _| {
            if base.left_out(&rec, forms).is_some() {
                return Ok(());
            }
            self.plan.row(&rec, &mut row);
            if q.filter.as_ref().is_some_and(|f| !eval(f, &row)) {
                return Ok(());
            }
            match visit(&rec.interview_id, &row) {
                Ok(true) => Ok(()),
                Ok(false) => {
                    stop = Some(Ok(()));
                    Err(StoreError::Db("odata page full".into()))
                }
                Err(e) => {
                    stop = Some(Err(e));
                    Err(StoreError::Db("odata page failed".into()))
                }
            }
        });
        match stop {
            Some(result) => result,
            None => r.map_err(ExportError::from),
        }
    }

    /// How many rows of the base in `countries` pass `q.filter`.
    pub fn count(
        &self,
        store: &dyn CentralStore,
        forms: &FormRegistry,
        countries: &[String],
        q: &Query,
    ) -> Result<u64, ExportError> {
        let mut n = 0u64;
        let q = Query {
            skiptoken: None,
            ..q.clone()
        };
        self.scan(store, forms, countries, &q, &mut |_, _| {
            n += 1;
            Ok(true)
        })?;
        Ok(n)
    }

    /// One page: after `q.skiptoken`, skipping `q.skip` rows, at most
    /// `page_size` rows and no more than `q.top`.
    pub fn page(
        &self,
        store: &dyn CentralStore,
        forms: &FormRegistry,
        countries: &[String],
        q: &Query,
        page_size: usize,
    ) -> Result<Page, ExportError> {
        let want = q
            .top
            .map_or(page_size, |t| (t.min(page_size as u64)) as usize);
        let mut page = Page {
            json: Vec::new(),
            rows: 0,
            next: None,
        };
        if want == 0 {
            return Ok(page);
        }
        let mut skip = q.skip;
        let all: Vec<usize> = (0..self.plan.columns.len()).collect();
        let cols = q.select.as_deref().unwrap_or(&all);
        self.scan(store, forms, countries, q, &mut |id, row| {
            if skip > 0 {
                skip -= 1;
                return Ok(true);
            }
            if page.rows > 0 {
                page.json.push(b',');
            }
            self.write_row(&mut page.json, row, cols)?;
            page.rows += 1;
            if page.rows == want {
                page.next = Some(id.to_owned());
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(page)
    }

    fn write_row(
        &self,
        out: &mut Vec<u8>,
        row: &[Cell],
        cols: &[usize],
    ) -> Result<(), ExportError> {
        let err = |e: serde_json::Error| ExportError::Write(e.to_string());
        out.push(b'{');
        for (k, &i) in cols.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, &self.plan.columns[i].name).map_err(err)?;
            out.push(b':');
            match &row[i] {
                Cell::Null => out.extend_from_slice(b"null"),
                Cell::Str(s) => serde_json::to_writer(&mut *out, s).map_err(err)?,
                Cell::Int(v) => serde_json::to_writer(&mut *out, v).map_err(err)?,
                Cell::Bool(b) => serde_json::to_writer(&mut *out, b).map_err(err)?,
                Cell::Float(f) => {
                    serde_json::to_writer(&mut *out, &serde_json::Number::from_f64(*f))
                        .map_err(err)?
                }
                Cell::Date(d) => serde_json::to_writer(&mut *out, &d.to_string()).map_err(err)?,
                Cell::Timestamp(t) => {
                    serde_json::to_writer(&mut *out, &timestamp_text(*t)).map_err(err)?
                }
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// The `$select` list as the context URL writes it.
    pub fn select_names(&self, q: &Query) -> Option<String> {
        q.select.as_ref().map(|cols| {
            cols.iter()
                .map(|&i| self.plan.columns[i].name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

/// What a scan calls with each row (its interview id and cells): `Ok(false)` stops.
type RowVisitor<'a> = dyn FnMut(&str, &[Cell]) -> Result<bool, ExportError> + 'a;

// --- $filter -------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Str(String),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::Word(w) => w.clone(),
            Token::Str(s) => format!("'{s}'"),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<Token>, ExportError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '\'' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            v.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => v.push(c),
                        None => return Err(invalid("$filter: a string is not closed with '")),
                    }
                }
                out.push(Token::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '\'' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    feed: &'a Feed,
    tokens: Vec<Token>,
    at: usize,
}

impl Parser<'_> {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(x)) if x == w)
    }

    fn or(&mut self) -> Result<Expr, ExportError> {
        let mut e = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, ExportError> {
        let mut e = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, ExportError> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            self.at += 1;
            let e = self.or()?;
            if self.tokens.get(self.at) != Some(&Token::Close) {
                return Err(invalid("$filter: a ( is not closed"));
            }
            self.at += 1;
            return Ok(e);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ExportError> {
        let name = match self.tokens.get(self.at) {
            Some(Token::Word(w)) => w.clone(),
            Some(t) => {
                return Err(invalid(format!(
                    "$filter: expected a property, got `{}`",
                    t.text()
                )));
            }
            None => return Err(invalid("$filter: expected a property, got the end")),
        };
        let col = self.feed.column(&name).ok_or_else(|| {
            invalid(format!(
                "$filter: no property `{name}` in {ENTITY_TYPE} (functions are not supported)"
            ))
        })?;
        self.at += 1;
        let op = match self.tokens.get(self.at) {
            Some(Token::Word(w)) => match w.as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                other => {
                    return Err(invalid(format!(
                        "$filter: unsupported operator `{other}` (use eq, ne, gt, ge, lt, le)"
                    )));
                }
            },
            _ => {
                return Err(invalid(format!(
                    "$filter: expected an operator after `{name}`"
                )));
            }
        };
        self.at += 1;
        let ty = self.feed.plan.columns[col].ty;
        let lit = match self.tokens.get(self.at) {
            Some(Token::Str(s)) => Lit::Str(s.clone()),
            Some(Token::Word(w)) => literal(w)?,
            _ => return Err(invalid(format!("$filter: expected a value after `{name}`"))),
        };
        self.at += 1;
        let lit = typed(lit, ty).ok_or_else(|| {
            invalid(format!(
                "$filter: `{name}` is {}: compare it with a value of that type",
                edm_type(ty)
            ))
        })?;
        if matches!(lit, Lit::Null | Lit::Bool(_)) && !matches!(op, Op::Eq | Op::Ne) {
            return Err(invalid(format!(
                "$filter: `{name}`: only eq and ne compare with null or a boolean"
            )));
        }
        Ok(Expr::Cmp(col, op, lit))
    }
}

/// A literal that is not a quoted string.
fn literal(w: &str) -> Result<Lit, ExportError> {
    Ok(match w {
        "null" => Lit::Null,
        "true" => Lit::Bool(true),
        "false" => Lit::Bool(false),
        _ => {
            if let Ok(i) = w.parse::<i64>() {
                Lit::Int(i)
            } else if let Some(d) = survey_model::answer::parse_date(w) {
                Lit::Date(d)
            } else if let Some(t) = parse_timestamp(w) {
                Lit::Timestamp(t)
            } else if let Ok(f) = w.parse::<f64>()
                && f.is_finite()
            {
                Lit::Float(f)
            } else {
                return Err(invalid(format!(
                    "$filter: `{w}` is not a value (strings go in single quotes)"
                )));
            }
        }
    })
}

/// `lit` as a value of a column of type `ty`, if it can be one.
fn typed(lit: Lit, ty: ColType) -> Option<Lit> {
    Some(match (ty, lit) {
        (_, Lit::Null) => Lit::Null,
        (ColType::String, Lit::Str(s)) => Lit::Str(s),
        (ColType::Integer, Lit::Int(i)) => Lit::Int(i),
        (ColType::Integer | ColType::Float, Lit::Float(f)) => Lit::Float(f),
        (ColType::Float, Lit::Int(i)) => Lit::Float(i as f64),
        (ColType::Boolean, Lit::Bool(b)) => Lit::Bool(b),
        (ColType::Date, Lit::Date(d)) => Lit::Date(d),
        (ColType::Timestamp, Lit::Timestamp(t)) => Lit::Timestamp(t),
        // A day compares with its first instant (UTC).
        (ColType::Timestamp, Lit::Date(d)) => {
            Lit::Timestamp((i64::from(d.to_julian_day()) - 2_440_588) * 86_400 * 1_000_000)
        }
        _ => return None,
    })
}

fn holds<T: PartialOrd>(a: &T, op: Op, b: &T) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Lt => a < b,
        Op::Le => a <= b,
    }
}

/// Whether `row` passes `e`. A comparison with an empty cell holds only for
/// `eq null` and for `ne` with a value.
pub fn eval(e: &Expr, row: &[Cell]) -> bool {
    match e {
        Expr::And(a, b) => eval(a, row) && eval(b, row),
        Expr::Or(a, b) => eval(a, row) || eval(b, row),
        Expr::Not(a) => !eval(a, row),
        Expr::Cmp(i, op, lit) => {
            let cell = &row[*i];
            match (cell, lit) {
                (Cell::Null, Lit::Null) => *op == Op::Eq,
                (Cell::Null, _) => *op == Op::Ne,
                (_, Lit::Null) => *op == Op::Ne,
                (Cell::Str(a), Lit::Str(b)) => holds(&a.as_str(), *op, &b.as_str()),
                (Cell::Int(a), Lit::Int(b)) => holds(a, *op, b),
                (Cell::Int(a), Lit::Float(b)) => holds(&(*a as f64), *op, b),
                (Cell::Float(a), Lit::Float(b)) => holds(a, *op, b),
                (Cell::Bool(a), Lit::Bool(b)) => holds(a, *op, b),
                (Cell::Date(a), Lit::Date(b)) => holds(a, *op, b),
                (Cell::Timestamp(a), Lit::Timestamp(b)) => holds(a, *op, b),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed() -> Feed {
        let form = survey_model::mcmb_form().unwrap();
        let mut reg = FormRegistry::default();
        reg.insert(form);
        Feed::new(&reg, Vec::new())
    }

    #[test]
    fn filters_parse_type_check_and_evaluate() {
        let f = feed();
        let e = f
            .parse_filter(
                "(nps ge 9) and (country eq 'CI' or country eq 'SN') and not (segment eq null)",
            )
            .unwrap();
        let col = |n: &str| f.column(n).unwrap();
        let mut row = vec![Cell::Null; f.plan.columns.len()];
        row[col("nps")] = Cell::Int(9);
        row[col("country")] = Cell::Str("SN".into());
        row[col("segment")] = Cell::Str("business".into());
        assert!(eval(&e, &row));
        row[col("nps")] = Cell::Int(8);
        assert!(!eval(&e, &row));
        let e = f
            .parse_filter("submitted_at ge 2026-11-30T00:00:00Z and created_at lt 2026-12-01")
            .unwrap();
        row[col("submitted_at")] =
            parse_timestamp("2026-11-30T09:00:00Z").map_or(Cell::Null, Cell::Timestamp);
        row[col("created_at")] = row[col("submitted_at")].clone();
        assert!(eval(&e, &row));
        let e = f.parse_filter("verbatim eq 'l''eau'").unwrap();
        assert_eq!(
            e,
            Expr::Cmp(col("verbatim"), Op::Eq, Lit::Str("l'eau".into()))
        );
        for (bad, says) in [
            ("nps ge 'nine'", "Edm.Int64"),
            ("nope eq 1", "no property `nope`"),
            ("nps like 3", "unsupported operator"),
            ("(nps eq 3", "not closed"),
            ("country eq 'CI", "not closed"),
            ("consent gt true", "only eq and ne"),
            ("nps eq 3 extra", "unexpected"),
        ] {
            let err = f.parse_filter(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn query_options_are_checked() {
        let f = feed();
        let q = f
            .parse_query([
                ("$select", "interview_id,nps"),
                ("$top", "5"),
                ("$count", "true"),
                ("x", "y"),
            ])
            .unwrap();
        assert_eq!(q.select.as_ref().map(Vec::len), Some(2));
        assert_eq!((q.top, q.count), (Some(5), true));
        assert!(
            f.parse_query([("$expand", "x")])
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
        assert!(f.parse_query([("$top", "-1")]).is_err());
        assert!(f.parse_query([("$skiptoken", "garbage")]).is_err());
        assert!(f.parse_query([("$orderby", "nps desc")]).is_err());
        let xml = f.metadata_xml();
        assert!(xml.contains("<Property Name=\"nps\" Type=\"Edm.Int64\">"));
        assert!(xml.contains("Type=\"Edm.DateTimeOffset\""));
    }
}
