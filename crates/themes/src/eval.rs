//! Labelled examples (JSON Lines `{"id","lang","text","themes":[...]}`) and
//! the evaluation of a classifier trained on one set and tested on another:
//! per-theme precision, recall and F1, macro-F1 over the themes, and
//! macro-F1 per language.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::codebook::{Codebook, Theme, ThemeLabels};
use crate::model::{Classifier, TrainOptions};

/// One labelled verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub id: String,
    pub lang: String,
    pub text: String,
    pub themes: Vec<String>,
}

/// A line that is not a labelled example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ExampleError {
    pub line: usize,
    pub message: String,
}

/// Parse JSON Lines of examples; blank lines are skipped. Every example needs
/// a non-empty id and text, ids are unique.
pub fn read_examples(text: &str) -> Result<Vec<Example>, ExampleError> {
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        if l.trim().is_empty() {
            continue;
        }
        let e: Example = serde_json::from_str(l).map_err(|e| ExampleError {
            line,
            message: e.to_string(),
        })?;
        let bad = |message: &str| ExampleError {
            line,
            message: message.to_owned(),
        };
        if e.id.trim().is_empty() {
            return Err(bad("the id is empty"));
        }
        if e.text.trim().is_empty() {
            return Err(bad("the text is empty"));
        }
        if !ids.insert(e.id.clone()) {
            return Err(bad(&format!("id {:?} appears twice", e.id)));
        }
        out.push(e);
    }
    Ok(out)
}

/// One theme's scores on the test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeScore {
    pub theme: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Test examples carrying the theme.
    pub support: usize,
    /// Training examples carrying the theme.
    pub trained_on: usize,
}

/// What [`evaluate`] measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub themes: Vec<ThemeScore>,
    /// Mean F1 over the themes present in the test set.
    pub macro_f1: f64,
    /// (language, macro-F1 over the themes present in that language, examples).
    pub languages: Vec<(String, f64, usize)>,
    pub train_examples: usize,
    pub test_examples: usize,
    pub train_s: f64,
    pub predict_s: f64,
    /// Share of test examples whose detected language is their labelled one.
    pub language_agreement: f64,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn scores(self) -> (f64, f64, f64) {
        let p = ratio(self.tp, self.tp + self.fp);
        let r = ratio(self.tp, self.tp + self.fn_);
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        (p, r, f)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The codebook of a training set: the themes of `codebook` it uses (with
/// their key terms), then any other code it carries (labelled by its code,
/// without key terms), alphabetically.
pub fn codebook_of(examples: &[Example], codebook: &Codebook) -> Codebook {
    let seen: BTreeSet<&str> = examples
        .iter()
        .flat_map(|e| e.themes.iter().map(String::as_str))
        .collect();
    let mut themes: Vec<Theme> = codebook
        .themes
        .iter()
        .filter(|t| seen.contains(t.code.as_str()))
        .cloned()
        .collect();
    for t in seen {
        if codebook.theme(t).is_none() {
            themes.push(Theme {
                code: t.to_owned(),
                labels: ThemeLabels {
                    fr: t.to_owned(),
                    en: t.to_owned(),
                    ar: t.to_owned(),
                    pt: t.to_owned(),
                },
                keywords: Default::default(),
            });
        }
    }
    Codebook { themes }
}

/// Train on `train` (the themes it uses, with `codebook`'s key terms),
/// predict every `test` text, and score the predictions against `test`'s themes.
pub fn evaluate(
    train: &[Example],
    test: &[Example],
    codebook: &Codebook,
    opts: TrainOptions,
) -> Evaluation {
    let codebook = codebook_of(train, codebook);
    let themes = codebook.codes();
    let t0 = Instant::now();
    let examples: Vec<(&str, Vec<String>)> = train
        .iter()
        .map(|e| (e.text.as_str(), e.themes.clone()))
        .collect();
    let model = Classifier::train(&codebook, &examples, opts);
    let train_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let predicted: Vec<BTreeSet<String>> = test
        .iter()
        .map(|e| {
            model
                .suggest(&e.text)
                .into_iter()
                .map(|s| s.theme)
                .collect()
        })
        .collect();
    let predict_s = t1.elapsed().as_secs_f64();
    let score = |subset: &[usize]| -> Vec<(String, Counts, usize)> {
        let mut all: Vec<String> = themes.clone();
        for i in subset {
            for t in &test[*i].themes {
                if !all.contains(t) {
                    all.push(t.clone());
                }
            }
        }
        all.into_iter()
            .map(|t| {
                let mut c = Counts::default();
                let mut support = 0;
                for i in subset {
                    let truth = test[*i].themes.contains(&t);
                    let guess = predicted[*i].contains(&t);
                    support += usize::from(truth);
                    match (truth, guess) {
                        (true, true) => c.tp += 1,
                        (false, true) => c.fp += 1,
                        (true, false) => c.fn_ += 1,
                        _ => {}
                    }
                }
                (t, c, support)
            })
            .collect()
    };
    let macro_f1 = |rows: &[(String, Counts, usize)]| {
        let present: Vec<f64> = rows
            .iter()
            .filter(|(_, _, s)| *s > 0)
            .map(|(_, c, _)| c.scores().2)
            .collect();
        present.iter().sum::<f64>() / present.len().max(1) as f64
    };
    let everyone: Vec<usize> = (0..test.len()).collect();
    let rows = score(&everyone);
    let mut by_lang: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in test.iter().enumerate() {
        by_lang.entry(e.lang.as_str()).or_default().push(i);
    }
    let agree = test
        .iter()
        .filter(|e| crate::language_of(&e.text, None) == e.lang)
        .count();
    Evaluation {
        macro_f1: macro_f1(&rows),
        themes: rows
            .iter()
            .filter(|(_, _, s)| *s > 0)
            .map(|(t, c, support)| {
                let (precision, recall, f1) = c.scores();
                ThemeScore {
                    theme: t.clone(),
                    precision,
                    recall,
                    f1,
                    support: *support,
                    trained_on: model.support(t),
                }
            })
            .collect(),
        languages: by_lang
            .into_iter()
            .map(|(l, idx)| (l.to_owned(), macro_f1(&score(&idx)), idx.len()))
            .collect(),
        train_examples: train.len(),
        test_examples: test.len(),
        train_s,
        predict_s,
        language_agreement: ratio(agree, test.len()),
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<18} {:>9} {:>7} {:>6} {:>8} {:>8}",
            "theme", "precision", "recall", "f1", "support", "trained"
        )?;
        for t in &self.themes {
            writeln!(
                f,
                "{:<18} {:>9.3} {:>7.3} {:>6.3} {:>8} {:>8}",
                t.theme, t.precision, t.recall, t.f1, t.support, t.trained_on
            )?;
        }
        for (lang, m, n) in &self.languages {
            writeln!(f, "lang {lang} macro_f1 {m:.3} examples {n}")?;
        }
        writeln!(
            f,
            "train_examples {} train_s {:.3} test_examples {} predict_s {:.3} language_id_agreement {:.3}",
            self.train_examples,
            self.train_s,
            self.test_examples,
            self.predict_s,
            self.language_agreement
        )?;
        write!(f, "macro_f1 {:.3}", self.macro_f1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bad_lines_are_named() {
        let ok = r#"{"id":"a","lang":"fr","text":"réseau","themes":["network_coverage"]}"#;
        assert_eq!(read_examples(&format!("{ok}\n\n")).unwrap().len(), 1);
        let e = read_examples(&format!("{ok}\n{ok}")).unwrap_err();
        assert_eq!(e.to_string(), "line 2: id \"a\" appears twice");
        let e = read_examples("{\"id\":\"b\"}").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("missing field"), "{e}");
        let e = read_examples(r#"{"id":"c","lang":"fr","text":" ","themes":[]}"#).unwrap_err();
        assert_eq!(e.to_string(), "line 1: the text is empty");
    }

    #[test]
    fn scores_are_the_textbook_ones() {
        let ex = |id: &str, lang: &str, text: &str, t: &[&str]| Example {
            id: id.into(),
            lang: lang.into(),
            text: text.into(),
            themes: t.iter().map(|s| (*s).to_owned()).collect(),
        };
        let train = vec![
            ex("1", "fr", "réseau coupé", &["net"]),
            ex("2", "fr", "pas de réseau", &["net"]),
            ex("3", "fr", "trop cher", &["price"]),
            ex("4", "fr", "prix trop cher", &["price"]),
        ];
        // A perfect model on its own training set.
        let none = Codebook { themes: vec![] };
        let e = evaluate(&train, &train, &none, TrainOptions::default());
        assert_eq!(e.macro_f1, 1.0, "{e}");
        assert_eq!(e.themes.len(), 2);
        assert_eq!(e.languages, vec![("fr".to_owned(), 1.0, 4)]);
        // A test theme the model never saw scores 0 and halves macro-F1.
        let test = vec![
            ex("5", "fr", "réseau coupé", &["net"]),
            ex("6", "fr", "facture fausse", &["billing"]),
        ];
        let e = evaluate(&train, &test, &none, TrainOptions::default());
        let billing = e.themes.iter().find(|t| t.theme == "billing").unwrap();
        assert_eq!(
            (billing.recall, billing.f1, billing.trained_on),
            (0.0, 0.0, 0)
        );
        assert!(e.macro_f1 <= 0.5 + 1e-9, "{e}");
        assert!(
            e.to_string()
                .ends_with(&format!("macro_f1 {:.3}", e.macro_f1))
        );
    }
}
