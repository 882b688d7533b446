//! Scrubbing personal data out of free text (verbatims, complaint details)
//! before it leaves in an export or a report without PII: e-mail addresses,
//! identity-document-like codes, phone numbers in local and international
//! formats (any script's digits), and the tokens of the interview's own
//! customer name become `[email]`, `[id]`, `[phone]` and `[name]`.
//!
//! What is not scrubbed on purpose: dates (`2026-08-01`, `01/08/2026`),
//! years, and amounts written in groups of three before a currency
//! (`10 000 000 FCFA`); short numbers (fewer than 8 digits).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

/// Placeholders.
pub const EMAIL: &str = "[email]";
pub const ID: &str = "[id]";
pub const PHONE: &str = "[phone]";
pub const NAME: &str = "[name]";

/// Fewest digits of a phone number (local numbers in the campaign's
/// countries have 8 to 10; international ones more).
const MIN_PHONE_DIGITS: usize = 8;

static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.\w{2,}").unwrap_or_else(|_| unreachable!())
});
/// Capitals then at least six digits (passport, national ID, SIM serial),
/// or digits then capitals: `CI0123456`, `AB 123456`, `123456789X`.
static ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:\p{Lu}{1,3}[ -]?\d{6,}|\d{6,}[ -]?\p{Lu}{1,2})\b")
        .unwrap_or_else(|_| unreachable!())
});
/// A run of digits with the separators phones are written with (`+`,
/// spaces, dots, dashes, parentheses); digits of any script.
static PHONE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|00)?\(?\d[\d\s().\-]{6,}\d").unwrap_or_else(|_| unreachable!())
});
static DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})$")
        .unwrap_or_else(|_| unreachable!())
});
/// An amount: groups of three after the first, then a currency.
static AMOUNT_RE: LazyLock<Regex> = LazyLock::new(|| {
    RegexBuilder::new(r"^\s*(?:fcfa|cfa|xof|xaf|f\b|francs?|mzn|mt\b|kz|aoa|gnf|usd|\$|€|eur|dh|mad|dzd|da\b|tnd|ghs|ngn|kes|tsh|ugx|rwf|cdf)")
        .case_insensitive(true)
        .build()
        .unwrap_or_else(|_| unreachable!())
});
static THOUSANDS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{1,3}(?:[ .\u{a0}\u{202f}]\d{3})+$").unwrap_or_else(|_| unreachable!())
});

/// A scrubber for one interview's texts: the generic patterns plus the
/// tokens of its customer's name. The name pattern is compiled only for a
/// text that holds one of the tokens (case-insensitively): most texts do not
/// name the customer, and a regex per interview dominated a 1,000,000-row
/// export.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    /// Name tokens, regex-escaped.
    tokens: Vec<String>,
    /// The same tokens, lowercase and unescaped, for the quick test.
    lower: Vec<String>,
    names: std::sync::OnceLock<Option<Regex>>,
}

impl Scrubber {
    /// `names`: the interview's own customer name(s) (any of its PII
    /// answers); tokens of three characters or more with a letter are
    /// replaced wherever they stand as words.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut raw: Vec<&str> = names
            .into_iter()
            .flat_map(|n| n.split(|c: char| !c.is_alphanumeric() && c != '\''))
            .filter(|t| t.chars().count() >= 3 && t.chars().any(char::is_alphabetic))
            .collect();
        raw.sort_unstable();
        raw.dedup();
        Scrubber {
            tokens: raw.iter().map(|t| regex::escape(t)).collect(),
            lower: raw.iter().map(|t| t.to_lowercase()).collect(),
            names: std::sync::OnceLock::new(),
        }
    }

    /// The name pattern, compiled on first use.
    fn names(&self) -> Option<&Regex> {
        self.names
            .get_or_init(|| {
                (!self.tokens.is_empty())
                    .then(|| {
                        RegexBuilder::new(&format!(r"\b(?:{})\b", self.tokens.join("|")))
                            .case_insensitive(true)
                            .build()
                            .ok()
                    })
                    .flatten()
            })
            .as_ref()
    }

    /// The scrubber of one interview's texts: its text answers to `form`'s
    /// PII questions are the names (no form: only the generic patterns).
    pub fn for_record(form: Option<&crate::Form>, r: &crate::InterviewRecord) -> Scrubber {
        Scrubber::new(
            form.into_iter()
                .flat_map(crate::Form::pii_questions)
                .filter_map(|q| r.answer_str(&q.name)),
        )
    }

    /// `text` with personal data replaced (borrowed when there was none).
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        if EMAIL_RE.is_match(&out) {
            out = Cow::Owned(EMAIL_RE.replace_all(&out, EMAIL).into_owned());
        }
        if ID_RE.is_match(&out) {
            out = Cow::Owned(ID_RE.replace_all(&out, ID).into_owned());
        }
        if PHONE_RE.is_match(&out) {
            out = Cow::Owned(scrub_phones(&out));
        }
        let may_name = !self.lower.is_empty() && {
            let lower = out.to_lowercase();
            self.lower.iter().any(|t| lower.contains(t.as_str()))
        };
        if may_name
            && let Some(re) = self.names()
            && re.is_match(&out)
        {
            out = Cow::Owned(re.replace_all(&out, NAME).into_owned());
        }
        out
    }
}

fn scrub_phones(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in PHONE_RE.find_iter(text) {
        let candidate = m.as_str().trim_end_matches(['(', ' ', '.', '-']);
        let digits = candidate.chars().filter(char::is_ascii_digit).count()
            + candidate
                .chars()
                .filter(|c| c.is_numeric() && !c.is_ascii_digit())
                .count();
        let core = candidate.trim();
        let keep = digits < MIN_PHONE_DIGITS
            || DATE_RE.is_match(core)
            || (THOUSANDS_RE.is_match(core) && AMOUNT_RE.is_match(&text[m.end()..]));
        out.push_str(&text[last..m.start()]);
        if keep {
            out.push_str(m.as_str());
        } else {
            out.push_str(PHONE);
            // Keep what the match swallowed after the number (a space).
            out.push_str(&m.as_str()[candidate.len()..]);
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(names: &[&str], text: &str) -> String {
        Scrubber::new(names.iter().copied())
            .scrub(text)
            .into_owned()
    }

    #[test]
    fn phones_in_the_formats_people_write_them() {
        for (text, want) in [
            (
                "Appelez-moi au 07 12 34 56 78 svp",
                "Appelez-moi au [phone] svp",
            ),
            ("mon numéro +225 0712345678.", "mon numéro [phone]."),
            ("call (+351) 912 345 678 after 5", "call ([phone] after 5"),
            ("tel: 77-123-45-67, merci", "tel: [phone], merci"),
            ("00221 77 123 45 67", "[phone]"),
            ("رقمي ٠٧١٢٣٤٥٦٧٨ شكرا", "رقمي [phone] شكرا"),
            ("ligue para 84.123.4567", "ligue para [phone]"),
        ] {
            assert_eq!(s(&[], text), want, "{text}");
        }
    }

    #[test]
    fn dates_amounts_and_short_numbers_stay() {
        for text in [
            "Depuis le 2026-08-01, pas de réseau",
            "le 01/08/2026 à 18 h",
            "J'ai payé 10 000 000 FCFA pour rien",
            "recarreguei 1 500 000 MZN",
            "forfait de 5000 F, 3 jours",
            "in 2025 the network was better",
        ] {
            assert_eq!(s(&[], text), text, "{text}");
        }
    }

    #[test]
    fn emails_ids_and_the_customers_own_name() {
        assert_eq!(
            s(&[], "écrivez à awa.traore+mm@orange-ci.example.com demain"),
            "écrivez à [email] demain"
        );
        assert_eq!(
            s(&[], "ma CNI CI0123456789 et passeport AB 1234567"),
            "ma CNI [id] et passeport [id]"
        );
        assert_eq!(
            s(
                &["Awa Traoré"],
                "Je suis Awa TRAORÉ, cliente depuis 6 ans; Awa attend"
            ),
            "Je suis [name] [name], cliente depuis 6 ans; [name] attend"
        );
        // Short tokens and other people's names stay.
        assert_eq!(
            s(&["Li Na"], "Li Na et Fatou sont venues"),
            "Li Na et Fatou sont venues"
        );
        assert_eq!(
            s(&["محمد علي"], "قال محمد إن الشبكة ضعيفة"),
            "قال [name] إن الشبكة ضعيفة"
        );
        assert_eq!(
            s(&["João Silva"], "O João Silva pediu reembolso"),
            "O [name] [name] pediu reembolso"
        );
    }

    #[test]
    fn text_without_personal_data_is_borrowed() {
        let sc = Scrubber::new(["Awa Traoré"]);
        assert!(matches!(
            sc.scrub("Le réseau coupe le soir."),
            Cow::Borrowed(_)
        ));
    }
}
