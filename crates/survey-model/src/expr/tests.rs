use super::*;
use proptest::prelude::*;

/// Evaluate `e` on 2026-12-05 with answers from `value` and `.` as `current`.
fn eval_on(e: &Expr, value: &dyn Fn(&str) -> Option<String>, current: Option<String>) -> Value {
    let env = Env {
        value,
        current,
        today: time::macros::date!(2026 - 12 - 05),
        now: "2026-12-05T10:00:00Z",
        regex: &|_, _| false,
        instances: &|n: &str| match n {
            "members" => Some(vec![None, None, None]),
            "age" => Some(vec![Some("41".into()), None, Some("9".into())]),
            _ => None,
        },
    };
    eval(e, &env)
}

/// Evaluate `text` with answers `vars` on 2026-12-05.
fn run(text: &str, vars: &[(&str, &str)]) -> Value {
    let e = parse(text).unwrap_or_else(|m| panic!("{text}: {m}"));
    check(&e, true).unwrap_or_else(|m| panic!("{text}: {m}"));
    let value = |n: &str| {
        vars.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| (*v).to_owned())
    };
    eval_on(&e, &value, None)
}

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
    // `*` binds tighter than `+`, `-` is left-associative, `-3` is a number.
    assert_eq!(run("1 + 2 * 3", &[]), Value::Num(7.0));
    assert_eq!(run("10 - 4 - 3", &[]), Value::Num(3.0));
    assert_eq!(run("7 mod 4 * 2", &[]), Value::Num(6.0));
    assert_eq!(run("-3 + 1", &[]), Value::Num(-2.0));
    assert_eq!(run("-(2 * 3)", &[]), Value::Num(-6.0));
    assert_eq!(
        parse(". > -3").expect("parses"),
        parse(". > (-3)").expect("p")
    );
}

#[test]
fn what_real_forms_compute() {
    // Age from a birth date (dates are days since 1970-01-01).
    let age = "int((today() - ${dob}) div 365.25)";
    assert_eq!(run(age, &[("dob", "1990-06-15")]), Value::Num(36.0));
    // An unanswered reference is '' and its number NaN.
    assert!(run(age, &[]).number().is_nan());
    let bmi = "round(${weight} div (${height} * ${height}), 1)";
    assert_eq!(
        run(bmi, &[("weight", "70"), ("height", "1.75")]),
        Value::Num(22.9)
    );
    let band = "if(${nps} >= 9, 'promoter', if(${nps} >= 7, 'passive', 'detractor'))";
    assert_eq!(run(band, &[("nps", "10")]).string(), "promoter");
    assert_eq!(run(band, &[("nps", "7")]).string(), "passive");
    assert_eq!(run(band, &[("nps", "2")]).string(), "detractor");
    let greet = "concat('Hello ', coalesce(${name}, 'customer'), '!')";
    assert_eq!(run(greet, &[]).string(), "Hello customer!");
    assert_eq!(run(greet, &[("name", "Awa")]).string(), "Hello Awa!");
    let picks = [("c", "network price")];
    assert_eq!(run("count-selected(${c})", &picks), Value::Num(2.0));
    assert_eq!(run("selected(${c}, 'price')", &picks), Value::Bool(true));
    assert_eq!(run("selected(${c}, 'pri')", &picks), Value::Bool(false));
    assert_eq!(run("selected-at(${c}, 1)", &picks).string(), "price");
    assert_eq!(run("selected-at(${c}, 5)", &picks).string(), "");
    assert_eq!(run("string-length('héllo')", &[]), Value::Num(5.0));
    assert_eq!(run("number('12.5') + 1", &[]), Value::Num(13.5));
    assert!(run("number('inf')", &[]).number().is_nan());
    assert_eq!(run("${a} > 5", &[("a", "12")]), Value::Bool(true));
    // Text equality stays text; a number on either side compares numbers.
    assert_eq!(run("${a} = '05'", &[("a", "5")]), Value::Bool(false));
    assert_eq!(run("${a} = 5", &[("a", "05")]), Value::Bool(true));
    assert_eq!(run("today()", &[]).string(), "2026-12-05");
    assert_eq!(run("date(today() + 30)", &[]).string(), "2027-01-04");
    assert_eq!(run("1 div 0", &[]).string(), "Infinity");
    assert_eq!(run("0 div 0", &[]).string(), "NaN");
    assert_eq!(run("2.50 * 2", &[]).string(), "5");
    assert_eq!(run("substr('abcdef', 1, 3)", &[]).string(), "bc");
    assert_eq!(run("max(1, ${x}, 3)", &[("x", "9")]), Value::Num(9.0));
    assert_eq!(run("pow(2, 10)", &[]), Value::Num(1024.0));
    // A repeat read as a whole (the test's three members, two ages given).
    assert_eq!(run("count(${members})", &[]), Value::Num(3.0));
    assert_eq!(run("count(${age})", &[]), Value::Num(3.0));
    assert_eq!(run("sum(${age})", &[]), Value::Num(50.0));
    assert_eq!(run("max(${age})", &[]), Value::Num(41.0));
    assert_eq!(run("min(${age})", &[]), Value::Num(9.0));
    assert_eq!(run("join(' / ', ${age})", &[]).string(), "41 / 9");
    // On one value, one node.
    assert_eq!(run("count(${x})", &[("x", "7")]), Value::Num(1.0));
    assert_eq!(run("sum(${x})", &[("x", "7")]), Value::Num(7.0));
    let e = parse("sum(${age}) + ${age} + count(${members})").expect("parses");
    let (mut whole, one) = split_references(&e);
    whole.sort();
    assert_eq!(whole, ["age", "members"]);
    assert_eq!(one, ["age"]);
}

#[test]
fn render_reads_back_to_the_same_tree() {
    for text in [
        "${a} = 'x' and not(selected(${b}, 'y')) or . >= 1.5",
        "int((today() - ${dob}) div 365.25)",
        "-(${a} - -2) * 3 mod 2",
        "if(${a} != '', concat(\"it's \", ${a}), 'none')",
    ] {
        let e = parse(text).expect("parses");
        assert_eq!(parse(&render(&e, None)).expect("reparses"), e, "{text}");
    }
    let e = parse(". > 3 and . < 10").expect("parses");
    assert_eq!(render(&e, Some("age")), "(${age} > 3) and (${age} < 10)");
}

#[test]
fn errors_are_values() {
    for bad in [
        "",
        "${a",
        "'open",
        "(${a} = 1",
        "${a} = 1 = 2",
        "${a} +",
        "and ${a}",
        "../x",
        "/data/x",
        "f(1,",
        "div 2",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    let deep = format!("{}1{}", "(".repeat(40), ")".repeat(40));
    assert!(parse(&deep).unwrap_err().contains("nested"));
    let deep_not = format!("{}1{}", "not(".repeat(40), ")".repeat(40));
    assert!(parse(&deep_not).is_err());
    let tall = vec!["1"; 300].join(" + ");
    assert!(parse(&tall).unwrap_err().contains("tall"));
    let e = parse("pulldata('f', 'x', 'y', ${a})").expect("parses");
    assert!(check(&e, false).unwrap_err().contains("pulldata"));
    let e = parse("round()").expect("parses");
    assert!(
        check(&e, false)
            .unwrap_err()
            .contains("round() takes 1 to 2")
    );
    let e = parse(". > 2").expect("parses");
    assert!(check(&e, false).is_err());
    assert!(check(&e, true).is_ok());
    let e = parse("${a} = yes").expect("parses");
    assert!(check(&e, true).unwrap_err().contains("`yes`"));
}

#[test]
fn strings_stay_bounded() {
    let long = "x".repeat(5_000);
    let text = format!("concat({})", vec!["${s}"; 60].join(", "));
    let v = run(&text, &[("s", &long)]);
    assert_eq!(v.string().chars().count(), MAX_STRING);
}

#[test]
fn piping_replaces_references_in_texts() {
    let value = |n: &str| (n == "name").then(|| "Awa".to_owned());
    assert_eq!(
        pipe("Hello ${name}, age ${age}.", &value),
        "Hello Awa, age ."
    );
    assert_eq!(piped("${ a } and ${b"), vec!["a"]);
    assert_eq!(pipe("no refs", &value), "no refs");
}

// ---- A reference interpretation of the grammar, written from XPath 1.0 ----

/// A generated expression: the supported grammar over three answers.
#[derive(Debug, Clone)]
enum G {
    Int(i32),
    Dec(i32, u8),
    Text(String),
    Var(usize),
    Bin(Box<G>, &'static str, Box<G>),
    Neg(Box<G>),
    Fun(&'static str, Vec<G>),
}

const VARS: [&str; 3] = ["a", "b", "c"];

fn gen_expr() -> impl Strategy<Value = G> {
    let leaf = prop_oneof![
        (-50i32..50).prop_map(G::Int),
        (-500i32..500, 1u8..3).prop_map(|(n, d)| G::Dec(n, d)),
        "[a-c0-9 ]{0,4}".prop_map(G::Text),
        (0usize..3).prop_map(G::Var),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        let ops = prop::sample::select(vec![
            "+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or",
        ]);
        prop_oneof![
            (inner.clone(), ops, inner.clone()).prop_map(|(a, op, b)| G::Bin(
                Box::new(a),
                op,
                Box::new(b)
            )),
            inner.clone().prop_map(|a| G::Neg(Box::new(a))),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| G::Fun("if", vec![a, b, c])),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| G::Fun("concat", v)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| G::Fun("coalesce", vec![a, b])),
            inner.clone().prop_map(|a| G::Fun("round", vec![a])),
            inner.clone().prop_map(|a| G::Fun("int", vec![a])),
            inner.clone().prop_map(|a| G::Fun("string-length", vec![a])),
            inner.clone().prop_map(|a| G::Fun("not", vec![a])),
            inner
                .clone()
                .prop_map(|a| G::Fun("count-selected", vec![a])),
            (inner.clone(), inner).prop_map(|(a, b)| G::Fun("selected", vec![a, b])),
        ]
    })
}

/// The text of a generated expression, every operation in parentheses.
fn text_of(g: &G) -> String {
    match g {
        G::Int(n) => format!("({n})"),
        G::Dec(n, d) => {
            let s = format!(
                "{:.*}",
                usize::from(*d),
                f64::from(*n) / 10f64.powi(i32::from(*d))
            );
            format!("({s})")
        }
        G::Text(s) => format!("'{s}'"),
        G::Var(i) => format!("${{{}}}", VARS[*i]),
        G::Bin(a, op, b) => format!("({} {op} {})", text_of(a), text_of(b)),
        G::Neg(a) => format!("(-{})", text_of(a)),
        G::Fun(f, args) => format!(
            "{f}({})",
            args.iter().map(text_of).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[derive(Debug, Clone)]
enum R {
    N(f64),
    S(String),
    B(bool),
}

fn r_num(v: &R) -> f64 {
    match v {
        R::N(n) => *n,
        R::B(b) => {
            if *b {
                1.0
            } else {
                0.0
            }
        }
        R::S(s) => {
            let t = s.trim();
            let ok = !t.is_empty()
                && t.trim_start_matches('-')
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.')
                && t.trim_start_matches('-')
                    .chars()
                    .filter(|&c| c == '.')
                    .count()
                    <= 1
                && t.trim_start_matches('-') != "."
                && !t.trim_start_matches('-').is_empty()
                && t.matches('-').count() <= 1;
            if ok {
                t.parse().unwrap_or(f64::NAN)
            } else {
                f64::NAN
            }
        }
    }
}

fn r_str(v: &R) -> String {
    match v {
        R::S(s) => s.clone(),
        R::B(b) => if *b { "true" } else { "false" }.to_owned(),
        R::N(n) if n.is_nan() => "NaN".into(),
        R::N(n) if n.is_infinite() => if *n > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        R::N(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        R::N(n) => n.to_string(),
    }
}

fn r_bool(v: &R) -> bool {
    match v {
        R::B(b) => *b,
        R::N(n) => !(n.is_nan() || *n == 0.0),
        R::S(s) => !s.is_empty(),
    }
}

fn reference(g: &G, vars: &[String; 3]) -> R {
    let ev = |x: &G| reference(x, vars);
    match g {
        G::Int(n) => R::N(f64::from(*n)),
        G::Dec(..) => R::N(
            text_of(g)
                .trim_matches(['(', ')'])
                .parse()
                .unwrap_or(f64::NAN),
        ),
        G::Text(s) => R::S(s.clone()),
        G::Var(i) => R::S(vars[*i].clone()),
        G::Neg(a) => R::N(-r_num(&ev(a))),
        G::Bin(a, op, b) => {
            let (x, y) = (ev(a), ev(b));
            let eq = || match (&x, &y) {
                (R::B(_), _) | (_, R::B(_)) => r_bool(&x) == r_bool(&y),
                (R::N(_), _) | (_, R::N(_)) => r_num(&x) == r_num(&y),
                (R::S(p), R::S(q)) => p == q,
            };
            match *op {
                "+" => R::N(r_num(&x) + r_num(&y)),
                "-" => R::N(r_num(&x) - r_num(&y)),
                "*" => R::N(r_num(&x) * r_num(&y)),
                "div" => R::N(r_num(&x) / r_num(&y)),
                "mod" => R::N(r_num(&x) % r_num(&y)),
                "=" => R::B(eq()),
                "!=" => R::B(!eq()),
                "<" => R::B(r_num(&x) < r_num(&y)),
                "<=" => R::B(r_num(&x) <= r_num(&y)),
                ">" => R::B(r_num(&x) > r_num(&y)),
                ">=" => R::B(r_num(&x) >= r_num(&y)),
                "and" => R::B(r_bool(&x) && r_bool(&y)),
                _ => R::B(r_bool(&x) || r_bool(&y)),
            }
        }
        G::Fun(f, args) => {
            let v: Vec<R> = args.iter().map(ev).collect();
            match *f {
                "if" => {
                    if r_bool(&v[0]) {
                        v[1].clone()
                    } else {
                        v[2].clone()
                    }
                }
                "concat" => R::S(v.iter().map(r_str).collect()),
                "coalesce" => {
                    let a = r_str(&v[0]);
                    R::S(if a.is_empty() { r_str(&v[1]) } else { a })
                }
                "round" => R::N((r_num(&v[0]) + 0.5).floor()),
                "int" => R::N(r_num(&v[0]).trunc()),
                "string-length" => R::N(r_str(&v[0]).chars().count() as f64),
                "not" => R::B(!r_bool(&v[0])),
                "count-selected" => R::N(r_str(&v[0]).split_whitespace().count() as f64),
                _ => {
                    let want = r_str(&v[1]);
                    R::B(r_str(&v[0]).split_whitespace().any(|t| t == want.trim()))
                }
            }
        }
    }
}

fn same(a: &Value, b: &R) -> bool {
    match (a, b) {
        (Value::Num(x), R::N(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Str(x), R::S(y)) => x == y,
        (Value::Bool(x), R::B(y)) => x == y,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn agrees_with_the_reference_interpretation(
        g in gen_expr(),
        vars in prop::array::uniform3("[a-c0-9 .-]{0,4}"),
    ) {
        let text = text_of(&g);
        let e = parse(&text).map_err(|m| TestCaseError::fail(format!("{text}: {m}")))?;
        prop_assert!(check(&e, false).is_ok(), "{}", text);
        let value = |n: &str| VARS.iter().position(|v| *v == n).map(|i| vars[i].clone());
        let got = eval_on(&e, &value, None);
        let want = reference(&g, &vars);
        prop_assert!(same(&got, &want), "{} gave {:?}, reference {:?}", text, got, want);
        // What render writes reads back to the same tree.
        prop_assert_eq!(parse(&render(&e, None)).ok(), Some(e));
    }

    #[test]
    fn never_panics_on_any_text(s in "\\PC{0,200}") {
        if let Ok(e) = parse(&s) {
            let _ = check(&e, true);
            let value = |_: &str| Some("1 2".to_owned());
            let _ = eval_on(&e, &value, Some("x".into()));
        }
    }

    #[test]
    fn never_panics_on_xpath_like_text(
        s in "[ ${}()'\".,=!<>+*a-z0-9_-]{0,300}",
        depth in 0usize..80,
    ) {
        let nested = format!("{}{s}{}", "not(".repeat(depth), ")".repeat(depth));
        for text in [&s, &nested] {
            if let Ok(e) = parse(text) {
                let value = |_: &str| Some("2026-01-01".to_owned());
                let _ = eval_on(&e, &value, None);
            }
        }
        if depth > MAX_DEPTH {
            prop_assert!(parse(&nested).is_err());
        }
    }
}
