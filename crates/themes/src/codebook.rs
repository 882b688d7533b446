//! A campaign's theme codebook: the themes reviewers code verbatims with,
//! each a stable code and a label in the four campaign languages.

use serde::{Deserialize, Serialize};

/// A theme's label in each campaign language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeLabels {
    pub fr: String,
    pub en: String,
    pub ar: String,
    pub pt: String,
}

impl ThemeLabels {
    /// The label in `lang` (English for any other language).
    pub fn get(&self, lang: &str) -> &str {
        match lang {
            "fr" => &self.fr,
            "ar" => &self.ar,
            "pt" => &self.pt,
            _ => &self.en,
        }
    }
}

/// A theme's key terms in each campaign language (words or short phrases;
/// a word matches the words it starts, Arabic ones also inside words).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeKeywords {
    #[serde(default)]
    pub fr: Vec<String>,
    #[serde(default)]
    pub en: Vec<String>,
    #[serde(default)]
    pub ar: Vec<String>,
    #[serde(default)]
    pub pt: Vec<String>,
}

impl ThemeKeywords {
    /// Every language's terms.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.fr
            .iter()
            .chain(&self.en)
            .chain(&self.ar)
            .chain(&self.pt)
    }
}

/// One theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theme {
    /// Stable code (`[a-z0-9_]`, 1-40 characters), used in tags and exports.
    pub code: String,
    pub labels: ThemeLabels,
    /// Key terms: one classifier feature per theme across languages.
    #[serde(default)]
    pub keywords: ThemeKeywords,
}

/// An ordered list of themes with unique codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Codebook {
    pub themes: Vec<Theme>,
}

/// Why a codebook is refused (themes numbered from 1 in messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodebookError {
    #[error("a codebook has 1 to {MAX_THEMES} themes, not {0}")]
    Size(usize),
    #[error("theme {}: code {code:?} must be 1-40 characters of a-z, 0-9 and _", .index + 1)]
    Code { index: usize, code: String },
    #[error("theme {}: code {code:?} appears twice", .index + 1)]
    Duplicate { index: usize, code: String },
    #[error("theme {} ({code}): the {lang} label must be 1-{MAX_LABEL} characters", .index + 1)]
    Label {
        index: usize,
        code: String,
        lang: &'static str,
    },
    #[error("theme {} ({code}): at most {MAX_KEYWORDS} {lang} key terms of 2-{MAX_LABEL} characters", .index + 1)]
    Keywords {
        index: usize,
        code: String,
        lang: &'static str,
    },
}

/// Most themes a codebook may have.
pub const MAX_THEMES: usize = 50;
/// Longest label or key term, in characters.
pub const MAX_LABEL: usize = 80;
/// Most key terms per theme and language.
pub const MAX_KEYWORDS: usize = 100;

/// The default telecom codebook: (code, fr, en, ar, pt).
pub const DEFAULT_THEMES: [(&str, &str, &str, &str, &str); 10] = [
    (
        "network_coverage",
        "Couverture réseau",
        "Network coverage",
        "تغطية الشبكة",
        "Cobertura de rede",
    ),
    (
        "data_speed",
        "Débit internet",
        "Data speed",
        "سرعة الإنترنت",
        "Velocidade de dados",
    ),
    ("price", "Prix", "Price", "الأسعار", "Preço"),
    (
        "mobile_money",
        "Mobile Money",
        "Mobile money",
        "الأموال عبر الهاتف",
        "Dinheiro móvel",
    ),
    (
        "shops_agents",
        "Boutiques et agents",
        "Shops and agents",
        "المتاجر والوكلاء",
        "Lojas e agentes",
    ),
    (
        "call_centre",
        "Service client",
        "Call centre",
        "مركز الاتصال",
        "Centro de atendimento",
    ),
    ("billing", "Facturation", "Billing", "الفوترة", "Faturação"),
    (
        "sim_device",
        "SIM et terminaux",
        "SIM and devices",
        "الشريحة والأجهزة",
        "SIM e aparelhos",
    ),
    ("offers", "Offres", "Offers", "العروض", "Ofertas"),
    (
        "praise",
        "Satisfaction",
        "Praise",
        "الرضا والثناء",
        "Elogios",
    ),
];

impl Default for Codebook {
    fn default() -> Self {
        Codebook {
            themes: DEFAULT_THEMES
                .iter()
                .map(|(code, fr, en, ar, pt)| Theme {
                    code: (*code).to_owned(),
                    labels: ThemeLabels {
                        fr: (*fr).to_owned(),
                        en: (*en).to_owned(),
                        ar: (*ar).to_owned(),
                        pt: (*pt).to_owned(),
                    },
                    keywords: crate::keywords::DEFAULT_KEYWORDS
                        .iter()
                        .find(|k| k.0 == *code)
                        .map(|(_, fr, en, ar, pt)| {
                            let split = |s: &str| s.split('|').map(str::to_owned).collect();
                            ThemeKeywords {
                                fr: split(fr),
                                en: split(en),
                                ar: split(ar),
                                pt: split(pt),
                            }
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }
}

impl Codebook {
    /// Check sizes, codes and labels; labels are trimmed first.
    pub fn validated(mut self) -> Result<Codebook, CodebookError> {
        if self.themes.is_empty() || self.themes.len() > MAX_THEMES {
            return Err(CodebookError::Size(self.themes.len()));
        }
        let mut seen = std::collections::HashSet::new();
        for (index, t) in self.themes.iter_mut().enumerate() {
            let ok = (1..=40).contains(&t.code.len())
                && t.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(CodebookError::Code {
                    index,
                    code: t.code.clone(),
                });
            }
            if !seen.insert(t.code.clone()) {
                return Err(CodebookError::Duplicate {
                    index,
                    code: t.code.clone(),
                });
            }
            let l = &mut t.labels;
            for (lang, label) in [
                ("fr", &mut l.fr),
                ("en", &mut l.en),
                ("ar", &mut l.ar),
                ("pt", &mut l.pt),
            ] {
                *label = label.trim().to_owned();
                if !(1..=MAX_LABEL).contains(&label.chars().count()) {
                    return Err(CodebookError::Label {
                        index,
                        code: t.code.clone(),
                        lang,
                    });
                }
            }
            let k = &mut t.keywords;
            for (lang, terms) in [
                ("fr", &mut k.fr),
                ("en", &mut k.en),
                ("ar", &mut k.ar),
                ("pt", &mut k.pt),
            ] {
                for term in terms.iter_mut() {
                    *term = term.trim().to_owned();
                }
                terms.retain(|t| !t.is_empty());
                if terms.len() > MAX_KEYWORDS
                    || terms
                        .iter()
                        .any(|t| !(2..=MAX_LABEL).contains(&t.chars().count()))
                {
                    return Err(CodebookError::Keywords {
                        index,
                        code: t.code.clone(),
                        lang,
                    });
                }
            }
        }
        Ok(self)
    }

    /// The codes, in order.
    pub fn codes(&self) -> Vec<String> {
        self.themes.iter().map(|t| t.code.clone()).collect()
    }

    /// The theme with `code`.
    pub fn theme(&self, code: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.code == code)
    }

    /// The label of `code` in `lang`, or the code itself when unknown.
    pub fn label<'a>(&'a self, code: &'a str, lang: &str) -> &'a str {
        self.theme(code).map_or(code, |t| t.labels.get(lang))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_default_codebook_is_valid_and_labelled_in_four_languages() {
        let c = Codebook::default().validated().unwrap();
        assert_eq!(c.themes.len(), 10);
        assert_eq!(c.label("price", "ar"), "الأسعار");
        assert_eq!(c.label("unknown_code", "fr"), "unknown_code");
    }

    #[test]
    fn bad_codebooks_are_refused_with_the_theme_named() {
        let mut c = Codebook::default();
        c.themes[1].code = "Data Speed".into();
        assert!(matches!(
            c.clone().validated(),
            Err(CodebookError::Code { index: 1, .. })
        ));
        c.themes[1].code = "price".into();
        let e = c.clone().validated().unwrap_err();
        assert_eq!(e.to_string(), "theme 3: code \"price\" appears twice");
        let mut c = Codebook::default();
        c.themes[3].labels.ar = "  ".into();
        assert!(matches!(
            c.validated(),
            Err(CodebookError::Label { lang: "ar", .. })
        ));
        assert!(matches!(
            Codebook { themes: vec![] }.validated(),
            Err(CodebookError::Size(0))
        ));
    }
}
