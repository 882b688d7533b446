//! The XPath subset of XLSForm expressions (`calculation`, `relevant`,
//! `constraint`, `choice_filter`): a recursive-descent parser to an [`Expr`]
//! tree, a renderer back to text ([`render`]), a checker of functions and
//! arities ([`check`]) and a total evaluator ([`eval`]) with XPath 1.0
//! semantics (values are numbers, strings or booleans; a `${name}` reference
//! is the answer's string value, `""` when unanswered; dates convert to days
//! since 1970-01-01 as in ODK's JavaRosa).
//!
//! Total and bounded: any input gives a tree or an error, never a panic;
//! nesting deeper than [`MAX_DEPTH`], trees taller than [`MAX_HEIGHT`] and text
//! longer than [`MAX_LEN`] are errors, so evaluation is linear in the text and
//! its recursion is bounded; strings built by `concat()` stop at
//! [`MAX_STRING`] characters.

use crate::answer::Answer;

/// Deepest nesting of parentheses, function calls and unary minus.
pub const MAX_DEPTH: usize = 32;
/// Tallest expression tree (a chain `a + b + c …` is as tall as it is long).
pub const MAX_HEIGHT: usize = 128;
/// Longest expression accepted, in bytes.
pub const MAX_LEN: usize = 8_192;
/// Longest string an expression builds, in characters.
pub const MAX_STRING: usize = 10_000;

/// Comparison operators: the model's own ([`CompareOp`](crate::form::CompareOp)), which a
/// structured [`crate::form::Condition`] stores.
pub use crate::form::CompareOp as Op;

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl Arith {
    pub fn as_str(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "div",
            Arith::Mod => "mod",
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Cmp(Box<Expr>, Op, Box<Expr>),
    Arith(Box<Expr>, Arith, Box<Expr>),
    /// Unary minus of something that is not a number literal.
    Neg(Box<Expr>),
    /// A function call: `selected(${x}, 'a')`.
    Call(String, Vec<Expr>),
    /// `${name}`
    Ref(String),
    /// `.`, the current question (constraints).
    Dot,
    Str(String),
    /// A number as written (`12`, `-3.5`).
    Num(String),
    /// A bare name: a `choices` column in a choice filter, or a stray word.
    Name(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Op(Op),
    Plus,
    Minus,
    Star,
    Ref(String),
    Dot,
    Str(String),
    Num(String),
    Name(String),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = cs.get(i) {
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            '=' => Some(Tok::Op(Op::Eq)),
            '+' => Some(Tok::Plus),
            '-' => Some(Tok::Minus),
            '*' => Some(Tok::Star),
            _ => None,
        };
        if let Some(t) = single {
            out.push(t);
            i += 1;
            continue;
        }
        match c {
            c if c.is_whitespace() => i += 1,
            '!' if cs.get(i + 1) == Some(&'=') => {
                out.push(Tok::Op(Op::Ne));
                i += 2;
            }
            '<' | '>' => {
                let eq = cs.get(i + 1) == Some(&'=');
                out.push(Tok::Op(match (c, eq) {
                    ('<', true) => Op::Le,
                    ('<', false) => Op::Lt,
                    (_, true) => Op::Ge,
                    _ => Op::Gt,
                }));
                i += if eq { 2 } else { 1 };
            }
            '$' => {
                if cs.get(i + 1) != Some(&'{') {
                    return Err("`$` must start a `${name}` reference".into());
                }
                let start = i + 2;
                let end = cs[start..]
                    .iter()
                    .position(|&c| c == '}')
                    .map(|p| start + p)
                    .ok_or("`${` without a closing `}`")?;
                let name: String = cs[start..end].iter().collect();
                if name.trim().is_empty() {
                    return Err("empty `${}` reference".into());
                }
                out.push(Tok::Ref(name.trim().to_owned()));
                i = end + 1;
            }
            '\'' | '"' => {
                let start = i + 1;
                let end = cs[start..]
                    .iter()
                    .position(|&x| x == c)
                    .map(|p| start + p)
                    .ok_or("a string without its closing quote")?;
                out.push(Tok::Str(cs[start..end].iter().collect()));
                i = end + 1;
            }
            '.' if !cs.get(i + 1).is_some_and(char::is_ascii_digit) => {
                if cs.get(i + 1) == Some(&'.') {
                    return Err("`..` (parent step) is not supported".into());
                }
                out.push(Tok::Dot);
                i += 1;
            }
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                i += 1;
                while cs.get(i).is_some_and(|d| d.is_ascii_digit() || *d == '.') {
                    i += 1;
                }
                let text: String = cs[start..i].iter().collect();
                if text.matches('.').count() > 1 || text.ends_with('.') {
                    return Err(format!("`{text}` is not a number"));
                }
                out.push(Tok::Num(text));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while cs
                    .get(i)
                    .is_some_and(|d| d.is_alphanumeric() || matches!(d, '_' | '-' | ':'))
                {
                    i += 1;
                }
                out.push(Tok::Name(cs[start..i].iter().collect()));
            }
            '/' | '|' => {
                return Err(format!(
                    "paths and node-set operators (`{c}`) are not supported; use `${{name}}` and `div`"
                ));
            }
            other => {
                return Err(format!(
                    "`{other}` is not part of the supported XPath subset"
                ));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

/// Parse one expression.
pub fn parse(s: &str) -> Result<Expr, String> {
    if s.len() > MAX_LEN {
        return Err(format!("expression longer than {MAX_LEN} bytes"));
    }
    let toks = lex(s)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    if let Some(t) = p.toks.get(p.pos) {
        return Err(format!("unexpected {} after the expression", describe(t)));
    }
    if height(&e) > MAX_HEIGHT {
        return Err(format!(
            "expression more than {MAX_HEIGHT} operators tall; split it into calculations"
        ));
    }
    Ok(e)
}

/// The height of a tree, computed without recursion.
fn height(e: &Expr) -> usize {
    let mut max = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, h)) = stack.pop() {
        max = max.max(h);
        stack.extend(e.children().into_iter().map(|x| (x, h + 1)));
    }
    max
}

impl Expr {
    /// The expression's direct sub-expressions, in the order they are written.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Or(v) | Expr::And(v) | Expr::Call(_, v) => v.iter().collect(),
            Expr::Cmp(a, _, b) | Expr::Arith(a, _, b) => vec![a, b],
            Expr::Neg(a) => vec![a],
            Expr::Ref(_) | Expr::Dot | Expr::Str(_) | Expr::Num(_) | Expr::Name(_) => Vec::new(),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Op(o) => format!("`{}`", o.as_str()),
        Tok::Plus => "`+`".into(),
        Tok::Minus => "`-`".into(),
        Tok::Star => "`*`".into(),
        Tok::Ref(r) => format!("`${{{r}}}`"),
        Tok::Dot => "`.`".into(),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => format!("`{n}`"),
        Tok::Name(n) => format!("`{n}`"),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == w)
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("expression nested more than {MAX_DEPTH} deep"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.and()?];
        while self.is_word("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.cmp()?];
        while self.is_word("and") {
            self.pos += 1;
            items.push(self.cmp()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        let left = self.additive()?;
        if let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            self.pos += 1;
            let right = self.additive()?;
            if let Some(Tok::Op(o)) = self.peek() {
                return Err(format!(
                    "chained comparison (`{}` after `{}`) is not supported",
                    o.as_str(),
                    op.as_str()
                ));
            }
            return Ok(Expr::Cmp(Box::new(left), op, Box::new(right)));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, String> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Plus) => Arith::Add,
                Some(Tok::Minus) => Arith::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.multiplicative()?;
            left = Expr::Arith(Box::new(left), op, Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Star) => Arith::Mul,
                Some(Tok::Name(n)) if n == "div" => Arith::Div,
                Some(Tok::Name(n)) if n == "mod" => Arith::Mod,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::Arith(Box::new(left), op, Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek() != Some(&Tok::Minus) {
            return self.primary();
        }
        self.pos += 1;
        self.enter()?;
        let inner = self.unary()?;
        self.depth -= 1;
        Ok(match inner {
            Expr::Num(n) if !n.starts_with('-') => Expr::Num(format!("-{n}")),
            other => Expr::Neg(Box::new(other)),
        })
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let Some(t) = self.peek().cloned() else {
            return Err("the expression ends too early".into());
        };
        self.pos += 1;
        match t {
            Tok::LParen => {
                self.enter()?;
                let e = self.or()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err("missing `)`".into()),
                }
            }
            Tok::Ref(r) => Ok(Expr::Ref(r)),
            Tok::Dot => Ok(Expr::Dot),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Name(n) if self.peek() == Some(&Tok::LParen) => {
                self.pos += 1;
                self.enter()?;
                let mut args = Vec::new();
                if self.peek() == Some(&Tok::RParen) {
                    self.pos += 1;
                } else {
                    loop {
                        args.push(self.or()?);
                        match self.peek() {
                            Some(Tok::Comma) => self.pos += 1,
                            Some(Tok::RParen) => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(format!("missing `)` after the arguments of {n}()")),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Expr::Call(n, args))
            }
            Tok::Name(n) if matches!(n.as_str(), "and" | "or" | "div" | "mod") => {
                Err(format!("`{n}` without an expression before it"))
            }
            Tok::Name(n) => Ok(Expr::Name(n)),
            other => Err(format!("unexpected {}", describe(&other))),
        }
    }
}

/// The expression as text that [`parse`] reads back to the same tree (with
/// full parentheses around operators), `.` written as `${dot}` when given.
pub fn render(e: &Expr, dot: Option<&str>) -> String {
    let r = |x: &Expr| render(x, dot);
    let wrap = |x: &Expr| match x {
        Expr::Or(_) | Expr::And(_) | Expr::Cmp(..) | Expr::Arith(..) | Expr::Neg(_) => {
            format!("({})", r(x))
        }
        Expr::Num(n) if n.starts_with('-') => format!("({n})"),
        _ => r(x),
    };
    match e {
        Expr::Or(v) => v.iter().map(wrap).collect::<Vec<_>>().join(" or "),
        Expr::And(v) => v.iter().map(wrap).collect::<Vec<_>>().join(" and "),
        Expr::Cmp(a, op, b) => format!("{} {} {}", wrap(a), op.as_str(), wrap(b)),
        Expr::Arith(a, op, b) => format!("{} {} {}", wrap(a), op.as_str(), wrap(b)),
        Expr::Neg(a) => format!("-{}", wrap(a)),
        Expr::Call(f, args) => {
            format!("{f}({})", args.iter().map(r).collect::<Vec<_>>().join(", "))
        }
        Expr::Ref(n) => format!("${{{n}}}"),
        Expr::Dot => match dot {
            Some(n) => format!("${{{n}}}"),
            None => ".".into(),
        },
        Expr::Str(s) if s.contains('\'') => format!("\"{s}\""),
        Expr::Str(s) => format!("'{s}'"),
        Expr::Num(n) | Expr::Name(n) => n.clone(),
    }
}

/// Functions [`eval`] knows, with their least and most argument counts.
pub const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("if", 3, 3),
    ("coalesce", 2, 2),
    ("concat", 0, 64),
    ("round", 1, 2),
    ("int", 1, 1),
    ("number", 1, 1),
    ("string", 1, 1),
    ("boolean", 1, 1),
    ("string-length", 1, 1),
    ("selected", 2, 2),
    ("selected-at", 2, 2),
    ("count-selected", 1, 1),
    ("today", 0, 0),
    ("now", 0, 0),
    ("not", 1, 1),
    ("true", 0, 0),
    ("false", 0, 0),
    ("floor", 1, 1),
    ("ceiling", 1, 1),
    ("abs", 1, 1),
    ("pow", 2, 2),
    ("min", 1, 64),
    ("max", 1, 64),
    ("substr", 2, 3),
    ("contains", 2, 2),
    ("starts-with", 2, 2),
    ("ends-with", 2, 2),
    ("once", 1, 1),
    ("date", 1, 1),
    ("regex", 2, 2),
    ("count", 1, 1),
    ("sum", 1, 1),
    ("join", 2, 2),
];

/// Functions that read a repeat as a whole from outside it (XPath node-set
/// functions), with the index of that argument: `count(${repeat})` or
/// `count(${question})` (instances), `sum(${q})`, `max(${q})`, `min(${q})`
/// over the answered instances, `join(', ', ${q})`.
pub const AGGREGATES: &[(&str, usize)] = &[
    ("count", 0),
    ("sum", 0),
    ("max", 0),
    ("min", 0),
    ("join", 1),
];

/// Where an [`AGGREGATES`] call of `f` with `n` arguments takes its repeat.
fn aggregate_arg(f: &str, n: usize) -> Option<usize> {
    let at = AGGREGATES.iter().find(|(name, _)| *name == f)?.1;
    (!(matches!(f, "max" | "min") && n != 1)).then_some(at)
}

/// The `${name}`s an expression reads as a whole repeat (the argument of an
/// [`AGGREGATES`] function), and those it reads as one value.
pub fn split_references(e: &Expr) -> (Vec<String>, Vec<String>) {
    let (mut whole, mut one) = (Vec::new(), Vec::new());
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Call(f, args) => {
                let at = aggregate_arg(f, args.len());
                for (i, a) in args.iter().enumerate() {
                    match a {
                        Expr::Ref(r) if Some(i) == at => {
                            if !whole.contains(r) {
                                whole.push(r.clone());
                            }
                        }
                        _ => stack.push(a),
                    }
                }
            }
            Expr::Ref(r) if !one.contains(r) => one.push(r.clone()),
            other => stack.extend(other.children()),
        }
    }
    (whole, one)
}

/// Check a parsed expression for use outside choice filters: every function
/// known with a fitting number of arguments, no bare words, `.` only when
/// `dot_ok`, and `regex()` patterns given as quoted text (compiled once by the
/// form).
pub fn check(e: &Expr, dot_ok: bool) -> Result<(), String> {
    match e {
        Expr::Call(f, args) => {
            let Some(&(_, lo, hi)) = FUNCTIONS.iter().find(|(n, ..)| n == f) else {
                return Err(format!("function `{f}()` is not supported"));
            };
            if args.len() < lo || args.len() > hi {
                return Err(if lo == hi {
                    format!("{f}() takes {lo} argument(s), not {}", args.len())
                } else {
                    format!("{f}() takes {lo} to {hi} arguments, not {}", args.len())
                });
            }
            if f == "regex" && !matches!(args.get(1), Some(Expr::Str(_))) {
                return Err("regex() takes its pattern as quoted text".into());
            }
        }
        Expr::Dot if !dot_ok => {
            return Err("`.` (the question itself) is only for constraints".into());
        }
        Expr::Name(n) => {
            return Err(format!(
                "the word `{n}` is not a value: quote text ('{n}') or reference a question (${{{n}}})"
            ));
        }
        _ => {}
    }
    e.children().into_iter().try_for_each(|x| check(x, dot_ok))
}

/// Every `${name}` an expression reads, in order of appearance, once each.
pub fn references(e: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        if let Expr::Ref(r) = e
            && !out.contains(r)
        {
            out.push(r.clone());
        }
        stack.extend(e.children().into_iter().rev());
    }
    out
}

/// The `regex()` patterns of an expression (quoted text, see [`check`]).
pub fn patterns(e: &Expr) -> Vec<&str> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        if let Expr::Call(f, v) = e
            && let (true, Some(Expr::Str(p))) = (f == "regex", v.get(1))
        {
            out.push(p.as_str());
        }
        stack.extend(e.children());
    }
    out
}

/// A value of the XPath 1.0 data model (node-sets are answers' strings).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Str(String),
    Bool(bool),
}

impl Value {
    /// XPath `number()`: numbers as written (optional sign, digits, one
    /// point), dates and date-times as days since 1970-01-01, booleans as
    /// 1 and 0, anything else NaN.
    pub fn number(&self) -> f64 {
        match self {
            Value::Num(n) => *n,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Str(s) => str_number(s),
        }
    }

    /// XPath `string()`: whole numbers without a point.
    pub fn string(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Num(n) => num_string(*n),
        }
    }

    /// XPath `boolean()`.
    pub fn boolean(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Num(n) => *n != 0.0 && !n.is_nan(),
            Value::Str(s) => !s.is_empty(),
        }
    }
}

/// A number as XPath writes it.
pub fn num_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n == n.trunc() && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn str_number(s: &str) -> f64 {
    let t = s.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    let numeric = !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || c == '.')
        && body.matches('.').count() <= 1
        && body != ".";
    if numeric {
        return t.parse().unwrap_or(f64::NAN);
    }
    if let Some(d) = crate::answer::parse_date(t) {
        return f64::from(d.to_julian_day() - EPOCH_JULIAN);
    }
    let rfc = time::format_description::well_known::Rfc3339;
    if let Ok(dt) = time::OffsetDateTime::parse(t, &rfc) {
        return dt.unix_timestamp() as f64 / 86_400.0;
    }
    f64::NAN
}

/// The Julian day number of 1970-01-01.
const EPOCH_JULIAN: i32 = 2_440_588;

/// A calendar date as XLSForm writes it.
pub fn date_string(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// An answer's string value, as a `${name}` reference reads it: numbers as
/// written, a multi choice as its values separated by spaces (ODK), a GPS
/// point as `lat lon accuracy`, a yes/no as `true` or `false`.
pub fn answer_string(a: &Answer) -> String {
    match a {
        Answer::Bool(b) => b.to_string(),
        Answer::Int(i) => i.to_string(),
        Answer::Decimal(f) => num_string(*f),
        Answer::Text(s) | Answer::Choice(s) | Answer::Date(s) => s.clone(),
        Answer::Choices(set) => set.iter().cloned().collect::<Vec<_>>().join(" "),
        Answer::Geo(p) => p.encode(),
    }
}

/// What an expression reads besides its own text.
pub struct Env<'a> {
    /// The string value of `${name}` (see [`answer_string`]); `None` is unanswered.
    pub value: &'a dyn Fn(&str) -> Option<String>,
    /// What `.` stands for, and what `once()` keeps when it has a value.
    pub current: Option<String>,
    pub today: time::Date,
    /// `now()`, as an RFC 3339 timestamp.
    pub now: &'a str,
    /// Whether text matches a `regex()` pattern (`(pattern, text)`); the
    /// form compiles each pattern once, an unknown pattern never matches.
    pub regex: &'a dyn Fn(&str, &str) -> bool,
    /// The values of `${name}` across a repeat's instances, when `name` is a
    /// repeat (one `None` per instance) or a question in one (`None` per
    /// unanswered instance); `None` for anything else.
    pub instances: &'a dyn Fn(&str) -> Option<Vec<Option<String>>>,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("current", &self.current)
            .field("today", &self.today)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// Evaluate an expression. Total: unknown functions give `""`, impossible
/// arithmetic gives NaN, nothing panics.
pub fn eval(e: &Expr, env: &Env) -> Value {
    match e {
        Expr::Or(v) => Value::Bool(v.iter().any(|x| eval(x, env).boolean())),
        Expr::And(v) => Value::Bool(v.iter().all(|x| eval(x, env).boolean())),
        Expr::Cmp(a, op, b) => Value::Bool(compare(&eval(a, env), *op, &eval(b, env))),
        Expr::Arith(a, op, b) => {
            let (x, y) = (eval(a, env).number(), eval(b, env).number());
            Value::Num(match op {
                Arith::Add => x + y,
                Arith::Sub => x - y,
                Arith::Mul => x * y,
                Arith::Div => x / y,
                Arith::Mod => x % y,
            })
        }
        Expr::Neg(a) => Value::Num(-eval(a, env).number()),
        Expr::Ref(r) => Value::Str((env.value)(r).unwrap_or_default()),
        Expr::Dot => Value::Str(env.current.clone().unwrap_or_default()),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Num(n) => Value::Num(n.parse().unwrap_or(f64::NAN)),
        Expr::Name(_) => Value::Str(String::new()),
        Expr::Call(f, args) => call(f, args, env),
    }
}

/// XPath 1.0 comparison: `=`/`!=` compare booleans if either side is one,
/// else numbers if either side is one, else strings; `<`, `<=`, `>`, `>=`
/// compare numbers (dates as days).
pub fn compare(a: &Value, op: Op, b: &Value) -> bool {
    match op {
        Op::Eq | Op::Ne => {
            let eq = match (a, b) {
                (Value::Bool(_), _) | (_, Value::Bool(_)) => a.boolean() == b.boolean(),
                (Value::Num(_), _) | (_, Value::Num(_)) => a.number() == b.number(),
                (Value::Str(x), Value::Str(y)) => x == y,
            };
            eq == (op == Op::Eq)
        }
        Op::Lt => a.number() < b.number(),
        Op::Le => a.number() <= b.number(),
        Op::Gt => a.number() > b.number(),
        Op::Ge => a.number() >= b.number(),
    }
}

fn capped(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MAX_STRING) {
        s.truncate(i);
    }
    s
}

/// An [`AGGREGATES`] call over a repeat, if `args` name one.
fn aggregate(f: &str, args: &[Expr], env: &Env) -> Option<Value> {
    let at = aggregate_arg(f, args.len())?;
    let Some(Expr::Ref(name)) = args.get(at) else {
        return None;
    };
    let values = (env.instances)(name)?;
    let answered = || values.iter().flatten();
    let numbers = || answered().map(|v| Value::Str(v.clone()).number());
    Some(match f {
        "count" => Value::Num(values.len() as f64),
        "sum" => Value::Num(numbers().sum()),
        "max" | "min" => {
            let xs: Vec<f64> = numbers().collect();
            if xs.is_empty() || xs.iter().any(|x| x.is_nan()) {
                Value::Num(f64::NAN)
            } else if f == "max" {
                Value::Num(xs.into_iter().fold(f64::NEG_INFINITY, f64::max))
            } else {
                Value::Num(xs.into_iter().fold(f64::INFINITY, f64::min))
            }
        }
        _ => {
            let sep = args
                .first()
                .map_or(String::new(), |a| eval(a, env).string());
            let parts: Vec<&str> = answered().map(String::as_str).collect();
            Value::Str(capped(parts.join(&sep)))
        }
    })
}

fn call(f: &str, args: &[Expr], env: &Env) -> Value {
    if let Some(v) = aggregate(f, args, env) {
        return v;
    }
    let arg = |i: usize| {
        args.get(i)
            .map_or(Value::Str(String::new()), |x| eval(x, env))
    };
    let num = |i: usize| arg(i).number();
    let text = |i: usize| arg(i).string();
    let tokens = |s: String| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    match f {
        "if" => {
            if arg(0).boolean() {
                arg(1)
            } else {
                arg(2)
            }
        }
        "coalesce" => {
            let a = text(0);
            Value::Str(if a.is_empty() { text(1) } else { a })
        }
        "concat" => {
            let mut out = String::new();
            for i in 0..args.len() {
                out.push_str(&text(i));
                if out.len() > MAX_STRING * 4 {
                    break;
                }
            }
            Value::Str(capped(out))
        }
        "round" => {
            let x = num(0);
            let digits = if args.len() > 1 { num(1) } else { 0.0 };
            if digits.is_nan() {
                return Value::Num(f64::NAN);
            }
            let scale = 10f64.powi(digits.clamp(-15.0, 15.0) as i32);
            Value::Num((x * scale + 0.5).floor() / scale)
        }
        "int" => Value::Num(num(0).trunc()),
        "number" => Value::Num(num(0)),
        "string" => Value::Str(text(0)),
        "boolean" => Value::Bool(arg(0).boolean()),
        "string-length" => Value::Num(text(0).chars().count() as f64),
        "selected" => {
            let v = text(1);
            Value::Bool(tokens(text(0)).iter().any(|t| *t == v.trim()))
        }
        "selected-at" => {
            let n = num(1);
            let all = tokens(text(0));
            let pick = (n >= 0.0 && n.fract() == 0.0)
                .then(|| all.get(n as usize).cloned())
                .flatten();
            Value::Str(pick.unwrap_or_default())
        }
        "count-selected" => Value::Num(tokens(text(0)).len() as f64),
        "today" => Value::Str(date_string(env.today)),
        "now" => Value::Str(env.now.to_owned()),
        "not" => Value::Bool(!arg(0).boolean()),
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "floor" => Value::Num(num(0).floor()),
        "ceiling" => Value::Num(num(0).ceil()),
        "abs" => Value::Num(num(0).abs()),
        "pow" => Value::Num(num(0).powf(num(1))),
        "min" | "max" => {
            let xs: Vec<f64> = (0..args.len()).map(num).collect();
            if xs.iter().any(|x| x.is_nan()) {
                return Value::Num(f64::NAN);
            }
            let pick = if f == "min" { f64::min } else { f64::max };
            let init = if f == "min" {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            Value::Num(xs.into_iter().fold(init, pick))
        }
        "substr" => {
            let s: Vec<char> = text(0).chars().collect();
            let len = s.len() as f64;
            let start = num(1);
            let end = if args.len() > 2 { num(2) } else { len };
            if start.is_nan() || end.is_nan() {
                return Value::Str(String::new());
            }
            let start = start.clamp(0.0, len) as usize;
            let end = end.clamp(0.0, len) as usize;
            Value::Str(
                s.get(start..end.max(start))
                    .unwrap_or_default()
                    .iter()
                    .collect(),
            )
        }
        "contains" => Value::Bool(text(0).contains(&text(1))),
        "starts-with" => Value::Bool(text(0).starts_with(&text(1))),
        "ends-with" => Value::Bool(text(0).ends_with(&text(1))),
        "once" => match env.current.as_ref().filter(|c| !c.is_empty()) {
            Some(c) => Value::Str(c.clone()),
            None => arg(0),
        },
        "date" => {
            let v = arg(0);
            let days = v.number();
            match v {
                Value::Str(s) if crate::answer::parse_date(s.trim()).is_some() => {
                    Value::Str(s.trim().to_owned())
                }
                _ if days.is_finite() && days.abs() < 1e7 => {
                    let day = time::Date::from_julian_day(days.floor() as i32 + EPOCH_JULIAN);
                    Value::Str(day.map(date_string).unwrap_or_default())
                }
                _ => Value::Str(String::new()),
            }
        }
        // On one value (not a repeat): one node.
        "count" => Value::Num(1.0),
        "sum" => Value::Num(num(0)),
        "join" => Value::Str(text(1)),
        "regex" => {
            let s = text(0);
            let pattern = match args.get(1) {
                Some(Expr::Str(p)) => p.as_str(),
                _ => return Value::Bool(false),
            };
            Value::Bool((env.regex)(pattern, &s))
        }
        _ => Value::Str(String::new()),
    }
}

/// The `${name}`s in a label or hint (answer piping), as written.
pub fn piped(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else { break };
        out.push(after[..j].trim());
        rest = &after[j + 1..];
    }
    out
}

/// A label or hint with each `${name}` replaced by `value(name)` (empty when
/// unanswered).
pub fn pipe(text: &str, value: &dyn Fn(&str) -> Option<String>) -> String {
    if !text.contains("${") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else { break };
        out.push_str(&rest[..i]);
        out.push_str(&value(after[..j].trim()).unwrap_or_default());
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
