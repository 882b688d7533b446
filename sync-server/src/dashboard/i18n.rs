//! The dashboard's languages: one catalogue per language
//! (`i18n/{en,fr,ar,pt}.json`, flat key → text, English the reference) and
//! the formatting of numbers and dates, whose separators, month names and
//! patterns are catalogue entries too (`format.*`, `month.*`).
//!
//! A page gets its [`Lang`] from the [`super::DashUser`] (`who.lang`: the
//! language saved on the account, else the browser's `Accept-Language`, else
//! English) and writes `lang.t("key")`, `lang.tf("key", &[("n", &n)])`,
//! `lang.int(n)`, `lang.dec(v)`, `lang.unix_time(t)`. A key missing from a
//! language falls back to English, then to the key itself (and a warning);
//! the unit tests below keep every catalogue complete and every key the
//! sources use defined.
//!
//! Number conventions (CLDR, Latin digits everywhere):
//! - en: `12,345.6`
//! - fr: `12 345,6` with U+202F (narrow no-break space) between groups
//! - pt: `12 345,6` with U+00A0 (no-break space), as in Portugal, Angola and
//!   Mozambique (pt-PT; Brazil's `12.345,6` is not used)
//! - ar: `12,345.6` and `-3.5` (the minus after a left-to-right mark, so
//!   that it stays before the digits in right-to-left text), with Western
//!   (Latin) digits: the Arabic-speaking
//!   countries of the campaign write numbers differently (Egypt often uses
//!   Arabic-Indic digits, the Maghreb a decimal comma), the codes, ids,
//!   versions and dates on the same pages are in Latin digits, and CLDR's
//!   Latin-digit Arabic uses `,` and `.`; one convention every Arabic reader
//!   of the dashboard reads without ambiguity.
//!
//! Dates are `day month year time` in every language, with the language's
//! month names (UTC for server times; an interview's own time as written).

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::LazyLock;

use axum::http::StatusCode;
use central_store::Role;

/// A language the dashboard speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Fr,
    Ar,
    Pt,
}

/// The catalogues, in [`Lang::ALL`] order.
const SOURCES: [&str; 4] = [
    include_str!("i18n/en.json"),
    include_str!("i18n/fr.json"),
    include_str!("i18n/ar.json"),
    include_str!("i18n/pt.json"),
];

type Catalogue = HashMap<String, String>;

static CATALOGUES: LazyLock<[Catalogue; 4]> = LazyLock::new(|| {
    SOURCES.map(|src| {
        serde_json::from_str(src).unwrap_or_else(|e| {
            tracing::error!(error = %e, "unreadable dashboard catalogue");
            Catalogue::new()
        })
    })
});

impl Lang {
    /// Every language, English (the reference) first.
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Fr, Lang::Ar, Lang::Pt];

    /// ISO 639-1 code, as in `<html lang>` and as saved on the account.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ar => "ar",
            Lang::Pt => "pt",
        }
    }

    /// Writing direction, for `<html dir>`.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            _ => "ltr",
        }
    }

    /// The language's name in itself (for the language switcher).
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Ar => "العربية",
            Lang::Pt => "Português",
        }
    }

    /// A language code as saved or sent by a form (`fr`, case and
    /// surrounding blanks ignored); `None` for anything else.
    pub fn parse(code: &str) -> Option<Lang> {
        let code = code.trim();
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// The first supported language of an `Accept-Language` header, by
    /// quality (`fr-CI;q=0.9` counts as `fr`); `None` when none is.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            let primary = tag.split(['-', '_']).next().unwrap_or("");
            if let Some(lang) = Lang::parse(primary)
                && q > 0.0
                && best.is_none_or(|(_, b)| q > b)
            {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }

    /// The saved choice, else the browser's, else English.
    pub fn choose(saved: Option<&str>, accept_language: Option<&str>) -> Lang {
        saved
            .and_then(Lang::parse)
            .or_else(|| accept_language.and_then(Lang::from_accept_language))
            .unwrap_or_default()
    }

    fn catalogue(self) -> &'static Catalogue {
        &CATALOGUES[self as usize]
    }

    /// The text of `key` in this language (English, then the key itself, when
    /// missing).
    pub fn t(self, key: &str) -> &str {
        if let Some(s) = self.catalogue().get(key) {
            return s;
        }
        if let Some(s) = Lang::En.catalogue().get(key) {
            tracing::warn!(key, lang = self.code(), "dashboard text missing");
            return s;
        }
        tracing::warn!(key, "dashboard text not in the catalogue");
        key
    }

    /// The text of `key` with each `{name}` replaced by its argument.
    pub fn tf(self, key: &str, args: &[(&str, &dyn Display)]) -> String {
        fill(self.t(key), args)
    }

    /// An integer with the language's group separator.
    pub fn int<N: TryInto<i128>>(self, n: N) -> String {
        match n.try_into() {
            Ok(n) => {
                let digits = n.unsigned_abs().to_string();
                let sign = if n < 0 { self.t("format.minus") } else { "" };
                format!("{sign}{}", self.group(&digits))
            }
            Err(_) => "–".to_owned(),
        }
    }

    /// One decimal with the language's marks, or a dash.
    pub fn dec(self, v: Option<f64>) -> String {
        match v {
            Some(v) if v.is_finite() => self.fixed(v, 1),
            _ => "–".to_owned(),
        }
    }

    /// `v` with `places` decimals in the language's marks.
    pub fn fixed(self, v: f64, places: usize) -> String {
        let s = format!("{:.*}", places, v.abs());
        let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
        // "-0.0" is shown as "0.0".
        let sign = if v < 0.0 && s.bytes().any(|b| matches!(b, b'1'..=b'9')) {
            self.t("format.minus")
        } else {
            ""
        };
        let mut out = format!("{sign}{}", self.group(int));
        if !frac.is_empty() {
            out.push_str(self.t("format.decimal"));
            out.push_str(frac);
        }
        out
    }

    /// Items as a list (`a, b` or, in Arabic, `a، b`).
    pub fn list<S: AsRef<str>>(self, items: &[S]) -> String {
        let sep = self.t("format.list");
        let mut out = String::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(item.as_ref());
        }
        out
    }

    /// A whole percentage (`45%`, `45 %`).
    pub fn percent(self, v: f64) -> String {
        self.tf("format.percent", &[("n", &self.fixed(v, 0))])
    }

    fn group(self, digits: &str) -> String {
        let sep = self.t("format.group");
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 * sep.len());
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    fn date_time(self, year: i32, month: u8, day: u8, time: &str) -> String {
        let month = match month {
            1..=12 => self.t(MONTHS[usize::from(month) - 1]),
            _ => "?",
        };
        self.tf(
            "format.date_time",
            &[
                ("day", &day),
                ("month", &month),
                ("year", &year),
                ("time", &time),
            ],
        )
    }

    /// A Unix time (UTC), e.g. `30 Nov 2026 08:00`.
    pub fn unix_time(self, t: i64) -> String {
        time::OffsetDateTime::from_unix_timestamp(t).map_or_else(
            |_| t.to_string(),
            |d| {
                let hm = format!("{:02}:{:02}", d.hour(), d.minute());
                self.date_time(d.year(), u8::from(d.month()), d.day(), &hm)
            },
        )
    }

    /// Day and time of an RFC 3339 timestamp (as stored, in the time zone it
    /// was written in), else the text as is.
    pub fn rfc3339_short(self, s: &str) -> String {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let parsed = (|| {
            let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
            let (h, min) = (num(11..13)?, num(14..16)?);
            (s.get(4..5) == Some("-") && s.get(13..14) == Some(":") && h < 24 && min < 60)
                .then_some((y, m, d, h, min))
        })();
        match parsed {
            Some((y, m, d, h, min)) if (1..=12).contains(&m) && (1..=31).contains(&d) => self
                .date_time(
                    i32::try_from(y).unwrap_or(0),
                    u8::try_from(m).unwrap_or(0),
                    u8::try_from(d).unwrap_or(0),
                    &format!("{h:02}:{min:02}"),
                ),
            _ => s.to_owned(),
        }
    }

    /// A code shown as a label (`has_issues`, `mobile_money_user`) under
    /// `prefix.` in the catalogue; unknown codes are shown with spaces.
    fn label(self, prefix: &str, code: &str) -> String {
        let key = format!("{prefix}.{code}");
        match self
            .catalogue()
            .get(&key)
            .or(Lang::En.catalogue().get(&key))
        {
            Some(s) => s.clone(),
            None => code.replace('_', " "),
        }
    }

    /// A code of a family shown as a label (`case_status`, `case_reason`,
    /// `case_resolution`), under `prefix.` in the catalogue.
    pub fn label_of(self, prefix: &str, code: &str) -> String {
        self.label(prefix, code)
    }

    /// A quality check (`too_fast`, …).
    pub fn check(self, c: survey_model::Check) -> String {
        self.label("check", c.as_str())
    }

    /// A review state (`received`, `has_issues`, …, `unreviewed`).
    pub fn review_state(self, code: &str) -> String {
        self.label("state", code)
    }

    /// A customer segment (`individual`, `mobile_money_user`, …).
    pub fn segment(self, code: &str) -> String {
        self.label("segment", code)
    }

    /// An NPS band as a plural group (`promoter` → promoters).
    pub fn band(self, code: &str) -> String {
        self.label("band", code)
    }

    /// A touchpoint (`sat_network`, …).
    pub fn touchpoint(self, code: &str) -> String {
        self.label("touchpoint", code)
    }

    /// An interview status (`draft`, `submitted`).
    pub fn interview_status(self, code: &str) -> String {
        self.label("status", code)
    }

    /// A role as stored (`coordinator`).
    pub fn role_name(self, code: &str) -> String {
        self.label("role", code)
    }

    /// A role.
    pub fn role(self, role: Role) -> String {
        self.role_name(role.as_str())
    }

    /// The reason phrase of an HTTP status.
    pub fn status_reason(self, status: StatusCode) -> String {
        let key = format!("http.{}", status.as_u16());
        match self
            .catalogue()
            .get(&key)
            .or(Lang::En.catalogue().get(&key))
        {
            Some(s) => s.clone(),
            None => status.canonical_reason().unwrap_or("Error").to_owned(),
        }
    }
}

/// `lang.t(key)` as a function.
pub fn t(lang: Lang, key: &str) -> &str {
    lang.t(key)
}

const MONTHS: [&str; 12] = [
    "month.1", "month.2", "month.3", "month.4", "month.5", "month.6", "month.7", "month.8",
    "month.9", "month.10", "month.11", "month.12",
];

/// `text` with each `{name}` replaced by its argument (unknown ones kept).
fn fill(text: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(&v.to_string()),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

tokio::task_local! {
    /// The language of the request being answered (see [`current`]).
    static REQUEST_LANG: Cell<Lang>;
}

/// Run `f` with a request language that [`current`] reads and [`set_current`]
/// changes: the dashboard middleware starts it at the browser's language, the
/// [`super::DashUser`] extractor sets the account's, and error pages (which
/// are rendered without the request) read it.
pub async fn scope<F: Future>(lang: Lang, f: F) -> F::Output {
    REQUEST_LANG.scope(Cell::new(lang), f).await
}

/// The language of the request being answered (English outside a request).
pub fn current() -> Lang {
    REQUEST_LANG.try_with(Cell::get).unwrap_or_default()
}

/// Change the language of the request being answered.
pub fn set_current(lang: Lang) {
    let _ = REQUEST_LANG.try_with(|c| c.set(lang));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use super::*;

    fn keys(l: Lang) -> BTreeSet<&'static str> {
        l.catalogue().keys().map(String::as_str).collect()
    }

    fn placeholders(s: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            out.insert(after[..close].to_owned());
            rest = &after[close + 1..];
        }
        out
    }

    #[test]
    fn every_catalogue_parses_and_has_exactly_the_english_keys() {
        for (l, src) in Lang::ALL.iter().zip(SOURCES) {
            let parsed: HashMap<String, String> = serde_json::from_str(src)
                .unwrap_or_else(|e| panic!("{}.json does not parse: {e}", l.code()));
            assert_eq!(parsed.len(), l.catalogue().len());
        }
        let en = keys(Lang::En);
        assert!(en.len() > 150, "the English catalogue is loaded");
        for l in Lang::ALL {
            let have = keys(l);
            let missing: Vec<_> = en.difference(&have).collect();
            let extra: Vec<_> = have.difference(&en).collect();
            assert!(missing.is_empty(), "{}.json misses {missing:?}", l.code());
            assert!(
                extra.is_empty(),
                "{}.json has extra keys {extra:?}",
                l.code()
            );
            for (k, v) in l.catalogue() {
                // A group separator may be a (no-break) space; nothing else is blank.
                let blank = v.is_empty() || (!k.starts_with("format.") && v.trim().is_empty());
                assert!(!blank, "{}.json: {k} is empty", l.code());
                let en_text = &Lang::En.catalogue()[k];
                assert_eq!(
                    placeholders(v),
                    placeholders(en_text),
                    "{}.json: {k} has other placeholders than English ({v:?} vs {en_text:?})",
                    l.code()
                );
            }
        }
    }

    #[test]
    fn translations_are_translated() {
        // Keys whose text is the same in every language on purpose.
        let same = |k: &str| {
            k.starts_with("format.")
                || matches!(
                    k,
                    "common.nps" | "queue.tags_head" | "interview.hash" | "forms.head_version"
                )
        };
        for l in [Lang::Fr, Lang::Ar, Lang::Pt] {
            let untranslated: Vec<_> = l
                .catalogue()
                .iter()
                .filter(|(k, v)| !same(k) && Lang::En.catalogue()[*k] == **v)
                .map(|(k, _)| k.as_str())
                .collect();
            // A few words are the same in English and French or Portuguese
            // (Tags, Segment, Version, Total…): at most a handful.
            assert!(
                untranslated.len() <= 12,
                "{}.json copies English for {untranslated:?}",
                l.code()
            );
        }
        // Every Arabic text with words has Arabic words (not only NPS, or a
        // pattern of placeholders such as `{name} ({role})`).
        let arabic = |s: &str| s.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
        for (k, v) in Lang::Ar.catalogue() {
            let letters: String = placeholders(v)
                .iter()
                .fold(v.clone(), |t, p| t.replace(&format!("{{{p}}}"), ""));
            if letters.chars().any(char::is_alphabetic) && k != "common.nps" {
                assert!(arabic(v), "ar.json: {k} = {v:?} has no Arabic");
            }
        }
    }

    /// Every `t("key")`, `tf("key", …)` and `t(lang, "key")` in `src`.
    fn keys_used(src: &str) -> Vec<String> {
        let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let bytes = src.as_bytes();
        let mut out = Vec::new();
        for pat in ["t(", "tf("] {
            for (at, _) in src.match_indices(pat) {
                if at > 0 && ident(bytes[at - 1]) {
                    continue;
                }
                let mut rest = src[at + pat.len()..].trim_start();
                // `t(lang, "key")`: skip the language argument.
                if !rest.starts_with('"') {
                    let n = rest.bytes().take_while(|b| ident(*b) || *b == b'.').count();
                    rest = rest[n..].trim_start();
                    let Some(r) = rest.strip_prefix(',') else {
                        continue;
                    };
                    rest = r.trim_start();
                }
                let Some(r) = rest.strip_prefix('"') else {
                    continue;
                };
                let Some(end) = r.find('"') else { continue };
                let key = &r[..end];
                if !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._".contains(&b))
                {
                    out.push(key.to_owned());
                }
            }
        }
        out
    }

    fn dashboard_sources() -> Vec<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/dashboard");
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            // This file's own lookups are the formatting keys (and its tests' samples).
            if path.extension().is_some_and(|x| x == "rs") && !path.ends_with("i18n.rs") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
        out
    }

    #[test]
    fn the_key_scanner_finds_lookups_and_a_typo() {
        let src = r#"html! { (lang.t("nav.progress")) (who.lang.tf("queue.count", &[("n", &n)]))
            (t(lang, "queue.title")) (lang.t("nav.progres")) (x.split_at(3)) (format!("t(")) }"#;
        let used = keys_used(src);
        assert_eq!(
            used,
            ["nav.progress", "queue.title", "nav.progres", "queue.count"]
        );
        let en = keys(Lang::En);
        let unknown: Vec<_> = used.iter().filter(|k| !en.contains(k.as_str())).collect();
        assert_eq!(unknown, ["nav.progres"], "a typo'd key is caught");
    }

    /// Prefixes of keys built at run time from codes (each checked below).
    const DYNAMIC: &[&str] = &[
        "action_status.",
        "case_reason.",
        "case_resolution.",
        "case_status.",
        "check.",
        "state.",
        "segment.",
        "band.",
        "touchpoint.",
        "status.",
        "role.",
        "http.",
        "month.",
        "format.",
    ];

    #[test]
    fn every_key_the_dashboard_uses_is_in_english_and_every_english_key_is_used() {
        let en = keys(Lang::En);
        let mut used = BTreeSet::new();
        let mut unknown = Vec::new();
        for (file, src) in dashboard_sources() {
            for k in keys_used(&src) {
                if !en.contains(k.as_str()) {
                    unknown.push(format!("{file}: {k}"));
                }
                used.insert(k);
            }
        }
        assert!(used.len() > 100, "the scanner found the lookups: {used:?}");
        assert!(unknown.is_empty(), "keys not in en.json: {unknown:?}");
        let unused: Vec<_> = en
            .iter()
            .filter(|k| !used.contains(**k) && !DYNAMIC.iter().any(|p| k.starts_with(p)))
            .collect();
        assert!(unused.is_empty(), "en.json keys no page uses: {unused:?}");
    }

    #[test]
    fn every_code_shown_as_a_label_has_a_text() {
        let en = keys(Lang::En);
        let mut want: Vec<String> = Vec::new();
        want.extend(
            central_store::dashboard::REVIEW_STATES
                .iter()
                .map(|s| format!("state.{s}")),
        );
        want.extend(
            survey_model::mcmb::SEGMENTS
                .iter()
                .map(|s| format!("segment.{s}")),
        );
        want.extend(
            central_store::dashboard::TOUCHPOINTS
                .iter()
                .map(|s| format!("touchpoint.{s}")),
        );
        want.extend(
            ["promoter", "passive", "detractor"]
                .iter()
                .map(|s| format!("band.{s}")),
        );
        want.extend(["draft", "submitted"].iter().map(|s| format!("status.{s}")));
        want.extend(
            survey_model::checks::CHECKS
                .iter()
                .map(|c| format!("check.{}", c.as_str())),
        );
        want.extend(
            survey_model::cases::CASE_STATUSES
                .iter()
                .map(|c| format!("case_status.{}", c.as_str())),
        );
        want.extend(
            ["follow_up_requested", "unresolved_detractor", "manual"]
                .iter()
                .map(|c| format!("case_reason.{c}")),
        );
        want.extend(
            survey_model::cases::RESOLUTIONS
                .iter()
                .map(|c| format!("case_resolution.{c}")),
        );
        want.extend(
            survey_model::actions::ACTION_STATUSES
                .iter()
                .map(|c| format!("action_status.{}", c.as_str())),
        );
        want.extend(
            central_store::ROLES
                .iter()
                .map(|r| format!("role.{}", r.as_str())),
        );
        want.extend((1..=12).map(|m| format!("month.{m}")));
        want.extend(
            [
                400, 401, 403, 404, 405, 408, 409, 410, 413, 415, 422, 429, 500, 503,
            ]
            .iter()
            .map(|s| format!("http.{s}")),
        );
        for k in [
            "format.group",
            "format.decimal",
            "format.minus",
            "format.list",
            "format.percent",
            "format.date_time",
        ] {
            want.push(k.to_owned());
        }
        let missing: Vec<_> = want.iter().filter(|k| !en.contains(k.as_str())).collect();
        assert!(missing.is_empty(), "codes without a text: {missing:?}");
        // And nothing under a dynamic prefix that no code reaches.
        let stray: Vec<_> = en
            .iter()
            .filter(|k| DYNAMIC.iter().any(|p| k.starts_with(p)) && !want.contains(&k.to_string()))
            .collect();
        assert!(stray.is_empty(), "texts no code reaches: {stray:?}");
        assert_eq!(Lang::Fr.review_state("has_issues"), "à corriger");
        assert_eq!(Lang::Ar.segment("no_such_segment"), "no such segment");
    }

    #[test]
    fn codes_and_accept_language() {
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.code()), Some(l));
            assert_eq!(Lang::parse(&l.code().to_uppercase()), Some(l));
        }
        assert_eq!(Lang::Ar.dir(), "rtl");
        assert_eq!(Lang::Fr.dir(), "ltr");
        for bad in ["", "xx", "fr-CI", "français", "<script>", "e"] {
            assert_eq!(Lang::parse(bad), None, "{bad:?}");
        }
        let al = Lang::from_accept_language;
        assert_eq!(al("fr-CI,fr;q=0.9,en;q=0.8"), Some(Lang::Fr));
        assert_eq!(al("de-DE,de;q=0.9,pt-PT;q=0.8,en;q=0.5"), Some(Lang::Pt));
        assert_eq!(al("en;q=0.5, ar-MA;q=0.9"), Some(Lang::Ar));
        assert_eq!(al("de, es;q=0.5, *;q=0.1"), None);
        assert_eq!(
            al("fr;q=0, pt;q=0.2"),
            Some(Lang::Pt),
            "q=0 means not wanted"
        );
        assert_eq!(al(""), None);
        assert_eq!(al(";;;,,,q=,=;"), None);
        assert_eq!(Lang::choose(Some("ar"), Some("fr")), Lang::Ar);
        assert_eq!(Lang::choose(Some("zz"), Some("pt-BR")), Lang::Pt);
        assert_eq!(Lang::choose(None, None), Lang::En);
    }

    #[test]
    fn numbers_per_language() {
        assert_eq!(Lang::En.int(12_345_678u64), "12,345,678");
        assert_eq!(Lang::Fr.int(12_345usize), "12\u{202F}345");
        assert_eq!(Lang::Pt.int(12_345i64), "12\u{A0}345");
        assert_eq!(Lang::Ar.int(12_345u32), "12,345");
        assert_eq!(Lang::En.int(-1_234i64), "-1,234");
        assert_eq!(Lang::Fr.int(999u64), "999");
        assert_eq!(Lang::En.int(0u64), "0");
        assert_eq!(Lang::En.dec(Some(12_345.64)), "12,345.6");
        assert_eq!(Lang::Fr.dec(Some(12_345.64)), "12\u{202F}345,6");
        assert_eq!(Lang::Pt.dec(Some(12_345.64)), "12\u{A0}345,6");
        assert_eq!(Lang::Ar.dec(Some(12_345.64)), "12,345.6");
        assert_eq!(Lang::Fr.dec(Some(-33.33)), "-33,3");
        assert_eq!(Lang::Fr.dec(Some(-0.01)), "0,0");
        // A left-to-right mark keeps the minus sign before the digits in
        // right-to-left text.
        assert_eq!(Lang::Ar.dec(Some(-16.66)), "\u{200E}-16.7");
        assert_eq!(Lang::Ar.int(-5i64), "\u{200E}-5");
        assert_eq!(Lang::Ar.list(&["a", "b"]), "a، b");
        assert_eq!(Lang::En.list(&["a", "b"]), "a, b");
        assert_eq!(Lang::En.dec(None), "–");
        assert_eq!(Lang::En.dec(Some(f64::NAN)), "–");
        assert_eq!(Lang::En.percent(45.4), "45%");
        assert_eq!(Lang::Fr.percent(45.4), "45\u{202F}%");
    }

    #[test]
    fn dates_per_language() {
        // 2026-11-30 08:05 UTC
        let t = 1_796_025_900;
        assert_eq!(Lang::En.unix_time(t), "30 Nov 2026 08:05");
        assert_eq!(Lang::Fr.unix_time(t), "30 nov. 2026 08:05");
        assert_eq!(Lang::Pt.unix_time(t), "30 nov. 2026 08:05");
        assert_eq!(Lang::Ar.unix_time(t), "30 نوفمبر 2026، 08:05");
        assert_eq!(
            Lang::Fr.rfc3339_short("2026-02-03T10:07:00+01:00"),
            "3 févr. 2026 10:07"
        );
        assert_eq!(
            Lang::En.rfc3339_short("2026-08-01T23:59:59Z"),
            "1 Aug 2026 23:59"
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T10:00:00Z",
            "2026-11-30",
            "2026-1x-30T10:00",
        ] {
            assert_eq!(Lang::En.rfc3339_short(bad), bad);
        }
        assert_eq!(Lang::En.unix_time(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        assert_eq!(
            fill("{n} of {total}", &[("n", &3), ("total", &"9")]),
            "3 of 9"
        );
        assert_eq!(fill("{x} {", &[("n", &3)]), "{x} {");
        assert_eq!(Lang::En.t("no.such.key"), "no.such.key");
        assert_eq!(t(Lang::Pt, "forms.title"), "Formulários");
    }
}
