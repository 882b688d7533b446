//! The XPath subset of XLSForm `relevant`, `constraint` and `choice_filter`
//! cells: a small recursive-descent parser to an [`Expr`] tree. Total: any
//! input gives a tree or an error, never a panic; nesting deeper than
//! [`MAX_DEPTH`] and text longer than [`MAX_LEN`] are errors.

/// Deepest nesting of parentheses, function calls and `not()`.
pub const MAX_DEPTH: usize = 32;
/// Longest expression accepted, in bytes.
pub const MAX_LEN: usize = 8_192;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    /// The operator with its operands swapped (`1 < x` is `x > 1`).
    pub fn flipped(self) -> Op {
        match self {
            Op::Eq => Op::Eq,
            Op::Ne => Op::Ne,
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Cmp(Box<Expr>, Op, Box<Expr>),
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
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '=' => {
                out.push(Tok::Op(Op::Eq));
                i += 1;
            }
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
            c if c.is_ascii_digit() || c == '.' || c == '-' => {
                let start = i;
                i += 1;
                while cs.get(i).is_some_and(|d| d.is_ascii_digit() || *d == '.') {
                    i += 1;
                }
                let text: String = cs[start..i].iter().collect();
                if text == "-" {
                    return Err("arithmetic operators (`-`) are not supported".into());
                }
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
            '+' | '*' | '/' | '|' => {
                return Err(format!(
                    "arithmetic and node-set operators (`{c}`) are not supported"
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
    match p.toks.get(p.pos) {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {} after the expression", describe(t))),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Op(o) => format!("`{}`", o.as_str()),
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
        let left = self.primary()?;
        if let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            self.pos += 1;
            let right = self.primary()?;
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
            Tok::Name(n) if n == "and" || n == "or" => {
                Err(format!("`{n}` without an expression before it"))
            }
            Tok::Name(n) => Ok(Expr::Name(n)),
            other => Err(format!("unexpected {}", describe(&other))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn precedence_and_calls() {
        let e = parse("${a} = 'x' and not(selected(${b}, 'y')) or . >= 1.5").expect("parses");
        let Expr::Or(items) = e else {
            panic!("or at the top: {e:?}")
        };
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[0], Expr::And(v) if v.len() == 2));
        assert_eq!(
            items[1],
            Expr::Cmp(
                Box::new(Expr::Dot),
                Op::Ge,
                Box::new(Expr::Num("1.5".into()))
            )
        );
        assert_eq!(
            parse("(${a} != '')").expect("parses"),
            Expr::Cmp(
                Box::new(Expr::Ref("a".into())),
                Op::Ne,
                Box::new(Expr::Str(String::new()))
            )
        );
    }

    #[test]
    fn errors_are_values() {
        for bad in [
            "",
            "${a",
            "'open",
            "(${a} = 1",
            "${a} = 1 = 2",
            "${a} + 1",
            "and ${a}",
            "../x",
            "f(1,",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = format!("{}1{}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&deep).unwrap_err().contains("nested"));
        let deep_not = format!("{}1{}", "not(".repeat(40), ")".repeat(40));
        assert!(parse(&deep_not).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_xpath_like_text(
            s in "[ ${}()'\".,=!<>a-z0-9_-]{0,300}",
            depth in 0usize..80,
        ) {
            let _ = parse(&s);
            let nested = format!("{}{s}{}", "not(".repeat(depth), ")".repeat(depth));
            let r = parse(&nested);
            if depth > MAX_DEPTH {
                prop_assert!(r.is_err());
            }
        }
    }
}
