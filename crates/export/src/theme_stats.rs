//! The report's themes: per codebook theme, the respondents whose verbatim
//! has it (a reviewer's codes, else the classifier's suggestions), its share
//! among detractors and promoters, by country and segment, and up to three
//! scrubbed example quotes. A theme, or a country or segment figure of it,
//! is shown only when at least `min_respondents` distinct respondents share
//! it (fewer could identify someone).

use std::collections::BTreeMap;

use serde::Serialize;
use survey_model::nps::{self, Band};

use crate::coding::{Source, ThemeCoding};

/// Most quotes per theme.
pub const QUOTES: usize = 3;
/// Quote candidates kept per theme while scanning.
const CANDIDATES: usize = 40;

/// A theme's figure in one group (a country or a segment).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupShare {
    pub group: String,
    /// The group's name in the report's language (the code until named).
    pub label: String,
    /// Respondents of the group with a verbatim.
    pub base: u64,
    /// Of those, with the theme.
    pub respondents: u64,
    pub share: f64,
}

/// A scrubbed example quote.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quote {
    pub text: String,
    pub lang: String,
    pub country: String,
}

/// One theme in the verbatims.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ThemeStat {
    pub code: String,
    pub label: String,
    /// Respondents whose verbatim has the theme.
    pub respondents: u64,
    /// Of those, coded by a reviewer (the rest suggested by the model).
    pub coded: u64,
    /// Share among respondents with a verbatim.
    pub share: f64,
    /// Share among detractors (0-6) with a verbatim.
    pub detractor_share: f64,
    /// Share among promoters (9-10) with a verbatim.
    pub promoter_share: f64,
    pub by_country: Vec<GroupShare>,
    pub by_segment: Vec<GroupShare>,
    pub quotes: Vec<Quote>,
}

/// The themes section: its base and the themes shown.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ThemeSection {
    /// Respondents with a verbatim.
    pub verbatims: u64,
    pub detractors: u64,
    pub promoters: u64,
    /// Verbatims with a reviewer's codes; the others' themes are suggested.
    pub coded: u64,
    /// Coded verbatims the model learnt from (whole campaign).
    pub model_examples: usize,
    pub min_respondents: u64,
    pub themes: Vec<ThemeStat>,
}

#[derive(Debug, Default)]
struct Acc {
    respondents: u64,
    coded: u64,
    detractors: u64,
    promoters: u64,
    by_country: BTreeMap<String, u64>,
    by_segment: BTreeMap<String, u64>,
    /// (coded, themes of the verbatim, quote)
    candidates: Vec<(bool, usize, Quote)>,
}

/// Accumulates [`ThemeSection`] one respondent at a time.
#[derive(Debug, Default)]
pub struct ThemeAcc {
    section: ThemeSection,
    base_country: BTreeMap<String, u64>,
    base_segment: BTreeMap<String, u64>,
    themes: BTreeMap<String, Acc>,
}

/// One respondent's verbatim, ready to count.
#[derive(Debug)]
pub struct Respondent<'a> {
    pub country: &'a str,
    pub segment: Option<&'a str>,
    pub nps: Option<i64>,
    /// Scrubbed verbatim.
    pub text: &'a str,
    pub lang: &'a str,
    pub themes: &'a [String],
    pub source: Source,
}

impl ThemeAcc {
    pub fn add(&mut self, r: &Respondent<'_>) {
        let band = r.nps.and_then(nps::band);
        let s = &mut self.section;
        s.verbatims += 1;
        match band {
            Some(Band::Detractor) => s.detractors += 1,
            Some(Band::Promoter) => s.promoters += 1,
            _ => {}
        }
        if r.source == Source::Coded {
            s.coded += 1;
        }
        *self.base_country.entry(r.country.to_owned()).or_default() += 1;
        if let Some(seg) = r.segment {
            *self.base_segment.entry(seg.to_owned()).or_default() += 1;
        }
        for code in r.themes {
            let a = self.themes.entry(code.clone()).or_default();
            a.respondents += 1;
            if r.source == Source::Coded {
                a.coded += 1;
            }
            match band {
                Some(Band::Detractor) => a.detractors += 1,
                Some(Band::Promoter) => a.promoters += 1,
                _ => {}
            }
            *a.by_country.entry(r.country.to_owned()).or_default() += 1;
            if let Some(seg) = r.segment {
                *a.by_segment.entry(seg.to_owned()).or_default() += 1;
            }
            let len = r.text.chars().count();
            if a.candidates.len() < CANDIDATES && (25..=220).contains(&len) {
                a.candidates.push((
                    r.source == Source::Coded,
                    r.themes.len(),
                    Quote {
                        text: r.text.to_owned(),
                        lang: r.lang.to_owned(),
                        country: r.country.to_owned(),
                    },
                ));
            }
        }
    }

    /// The section in `lang`: themes by respondents (most first), each shown
    /// only with `min` respondents or more; a quote serves one theme only.
    pub fn finish(self, coding: &ThemeCoding, lang: &str, min: u64) -> ThemeSection {
        let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let groups = |counts: BTreeMap<String, u64>, base: &BTreeMap<String, u64>| {
            let mut v: Vec<GroupShare> = counts
                .into_iter()
                .filter(|(_, c)| *c >= min)
                .map(|(g, c)| {
                    let b = base.get(&g).copied().unwrap_or(0);
                    GroupShare {
                        label: g.clone(),
                        share: share(c, b),
                        base: b,
                        respondents: c,
                        group: g,
                    }
                })
                .collect();
            v.sort_by(|a, b| {
                b.share
                    .total_cmp(&a.share)
                    .then_with(|| a.group.cmp(&b.group))
            });
            v
        };
        let mut section = self.section;
        let mut accs: Vec<(String, Acc)> = self
            .themes
            .into_iter()
            .filter(|(_, a)| a.respondents >= min)
            .collect();
        accs.sort_by(|a, b| {
            b.1.respondents
                .cmp(&a.1.respondents)
                .then_with(|| a.0.cmp(&b.0))
        });
        // Each quote illustrates one theme: the biggest themes choose first.
        let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
        let stats: Vec<ThemeStat> = accs
            .into_iter()
            .map(|(code, mut a)| {
                // In the reader's language, about this theme alone, coded by
                // a reviewer, of middling length, first.
                a.candidates.sort_by_key(|(coded, themes, q)| {
                    (
                        q.lang != lang,
                        *themes,
                        !coded,
                        (q.text.chars().count() as i64 - 90).abs(),
                    )
                });
                let quotes: Vec<Quote> = a
                    .candidates
                    .into_iter()
                    .map(|(_, _, q)| q)
                    .filter(|q| used.insert(q.text.clone()))
                    .take(QUOTES)
                    .collect();
                ThemeStat {
                    label: coding.codebook.label(&code, lang).to_owned(),
                    share: share(a.respondents, section.verbatims),
                    detractor_share: share(a.detractors, section.detractors),
                    promoter_share: share(a.promoters, section.promoters),
                    by_country: groups(a.by_country, &self.base_country),
                    by_segment: groups(a.by_segment, &self.base_segment),
                    quotes,
                    respondents: a.respondents,
                    coded: a.coded,
                    code,
                }
            })
            .collect();
        section.themes = stats;
        section.model_examples = coding.examples;
        section.min_respondents = min;
        section
    }
}
