//! The theme classifier: one logistic regression per theme over the hashed
//! character n-gram features of [`crate::features`], trained by stochastic
//! gradient descent with per-feature AdaGrad steps on sparse vectors.
//!
//! Why not a linfa model: linfa's classifiers take dense `ndarray` matrices,
//! and 15,000 verbatims × 2^18 hashed features would be 15 GiB as `f32`;
//! the same one-vs-rest logistic regression on sparse vectors trains on them
//! in about a second on two cores (see `cargo bench -p themes`).

use std::collections::HashMap;

use serde::Serialize;

use crate::codebook::Codebook;
use crate::features::{BUCKETS, Idf, Lexicon, Sparse, counts_with};

/// How to train.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Passes over the examples.
    pub epochs: usize,
    /// AdaGrad base step.
    pub learning_rate: f32,
    /// A theme is suggested when its probability reaches this.
    pub threshold: f32,
    /// Seed of the example order (training is deterministic).
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            // Chosen by 5-fold cross-validation on the hand-labelled
            // training set (tests/data/themes/hand_train.jsonl), never on
            // the test set.
            epochs: 8,
            learning_rate: 0.1,
            threshold: 0.4,
            seed: 0x5eed,
        }
    }
}

/// A suggested theme with the model's confidence (a probability, 0-1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub theme: String,
    pub confidence: f32,
}

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct Classifier {
    themes: Vec<String>,
    /// Labelled examples per theme it learnt from.
    support: Vec<usize>,
    lexicon: Lexicon,
    idf: Idf,
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
    threshold: f32,
    examples: usize,
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

fn dot(w: &[f32], x: &Sparse) -> f32 {
    x.iter().map(|(k, v)| w[*k as usize] * v).sum()
}

/// A small deterministic generator for the example order.
fn shuffle(order: &mut [usize], seed: &mut u64) {
    for i in (1..order.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = (*seed % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

impl Classifier {
    /// Train on `examples` (text, theme codes) for `codebook` (its themes
    /// and their key terms); codes outside it are ignored. A theme without
    /// a positive example is never suggested.
    pub fn train<S: AsRef<str>>(
        codebook: &Codebook,
        examples: &[(S, Vec<String>)],
        opts: TrainOptions,
    ) -> Classifier {
        let themes = codebook.codes();
        let lexicon = Lexicon::new(codebook);
        let raw: Vec<HashMap<u32, f32>> = examples
            .iter()
            .map(|(t, _)| counts_with(t.as_ref(), &lexicon))
            .collect();
        let idf = Idf::fit(raw.iter());
        let xs: Vec<Sparse> = raw.iter().map(|c| idf.vector(c)).collect();
        let index: HashMap<&str, usize> = themes
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let ys: Vec<Vec<bool>> = examples
            .iter()
            .map(|(_, labels)| {
                let mut y = vec![false; themes.len()];
                for l in labels {
                    if let Some(i) = index.get(l.as_str()) {
                        y[*i] = true;
                    }
                }
                y
            })
            .collect();
        let support: Vec<usize> = (0..themes.len())
            .map(|k| ys.iter().filter(|y| y[k]).count())
            .collect();
        // Each theme is its own problem: train them on separate threads.
        let trained: Vec<(Vec<f32>, f32)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..themes.len())
                .map(|k| {
                    let (xs, ys) = (&xs, &ys);
                    let support = support[k];
                    s.spawn(move || {
                        if support == 0 {
                            return (Vec::new(), f32::NEG_INFINITY);
                        }
                        train_one(xs, |i| ys[i][k], opts)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((Vec::new(), f32::NEG_INFINITY)))
                .collect()
        });
        let (weights, bias) = trained.into_iter().unzip();
        Classifier {
            themes,
            support,
            lexicon,
            idf,
            weights,
            bias,
            threshold: opts.threshold,
            examples: examples.len(),
        }
    }

    /// The codebook it was trained for.
    pub fn themes(&self) -> &[String] {
        &self.themes
    }

    /// Labelled examples it learnt from, in all and per theme.
    pub fn examples(&self) -> usize {
        self.examples
    }
    pub fn support(&self, theme: &str) -> usize {
        self.themes
            .iter()
            .position(|t| t == theme)
            .map_or(0, |i| self.support[i])
    }

    /// The probability of every theme for `text`, in codebook order.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let x = self.idf.vector(&counts_with(text, &self.lexicon));
        self.weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| {
                if w.is_empty() {
                    0.0
                } else {
                    sigmoid(dot(w, &x) + b)
                }
            })
            .collect()
    }

    /// The themes to suggest for `text`, most confident first: those at or
    /// above the threshold, or else the single most likely one when it
    /// reaches half the threshold; none for a text the model cannot place.
    pub fn suggest(&self, text: &str) -> Vec<Suggestion> {
        let p = self.probabilities(text);
        let mut ranked: Vec<(usize, f32)> = p.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut out: Vec<Suggestion> = ranked
            .iter()
            .take_while(|(_, p)| *p >= self.threshold)
            .map(|(i, p)| Suggestion {
                theme: self.themes[*i].clone(),
                confidence: *p,
            })
            .collect();
        if out.is_empty()
            && let Some((i, p)) = ranked.first()
            && *p >= self.threshold / 2.0
        {
            out.push(Suggestion {
                theme: self.themes[*i].clone(),
                confidence: *p,
            });
        }
        out
    }
}

/// One theme's logistic regression: weights over the buckets and a bias.
fn train_one(xs: &[Sparse], y: impl Fn(usize) -> bool, opts: TrainOptions) -> (Vec<f32>, f32) {
    let mut w = vec![0f32; BUCKETS];
    let mut g2 = vec![0f32; BUCKETS];
    let (mut b, mut gb2) = (0f32, 0f32);
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut seed = opts.seed | 1;
    // Themes are rare (one verbatim in ten): positives weigh more, so the
    // model does not learn to say "no" to everything.
    let pos = (0..xs.len()).filter(|i| y(*i)).count().max(1);
    let up = (((xs.len() - pos) as f32 / pos as f32).sqrt()).max(1.0);
    for _ in 0..opts.epochs {
        shuffle(&mut order, &mut seed);
        for &i in &order {
            let x = &xs[i];
            let (target, weight) = if y(i) { (1.0, up) } else { (0.0, 1.0) };
            let g = (sigmoid(dot(&w, x) + b) - target) * weight;
            if g.abs() < 1e-4 {
                continue;
            }
            for (k, v) in x {
                let k = *k as usize;
                let gk = g * v;
                g2[k] += gk * gk;
                w[k] -= opts.learning_rate * gk / (g2[k].sqrt() + 1e-6);
            }
            gb2 += g * g;
            b -= opts.learning_rate * g / (gb2.sqrt() + 1e-6);
        }
    }
    (w, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(themes: &[&str]) -> Vec<String> {
        themes.iter().map(|t| (*t).to_owned()).collect()
    }

    /// A codebook of `codes` without key terms.
    fn bare(codes: &[&str]) -> Codebook {
        let mut c = Codebook::default();
        c.themes.retain(|t| codes.contains(&t.code.as_str()));
        for t in &mut c.themes {
            t.keywords = Default::default();
        }
        c
    }

    #[test]
    fn learns_themes_across_languages_and_spellings() {
        let themes = bare(&["network_coverage", "price", "praise"]);
        let ex = [
            ("pas de réseau au village", vec!["network_coverage"]),
            ("le réseau coupe le soir", vec!["network_coverage"]),
            ("no network in my area", vec!["network_coverage"]),
            ("الشبكة ضعيفة في القرية", vec!["network_coverage"]),
            ("a rede não funciona na aldeia", vec!["network_coverage"]),
            ("les forfaits sont trop chers", vec!["price"]),
            ("the bundles are too expensive", vec!["price"]),
            ("الأسعار غالية جدا", vec!["price"]),
            ("os preços são muito caros", vec!["price"]),
            ("merci, très satisfait", vec!["praise"]),
            ("very happy, thank you", vec!["praise"]),
            ("شكرا خدمة ممتازة", vec!["praise"]),
            ("muito obrigado, estou satisfeito", vec!["praise"]),
        ];
        let ex: Vec<(&str, Vec<String>)> = ex.iter().map(|(t, l)| (*t, set(l))).collect();
        let c = Classifier::train(&themes, &ex, TrainOptions::default());
        let top = |t: &str| c.suggest(t).first().map(|s| s.theme.clone());
        assert_eq!(
            top("resau coupé dans le village").as_deref(),
            Some("network_coverage")
        );
        assert_eq!(top("too expensive bundles").as_deref(), Some("price"));
        assert_eq!(top("شكرا جزيلا").as_deref(), Some("praise"));
        assert_eq!(c.support("price"), 4);
        let p = c.probabilities("no network");
        assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn a_theme_without_examples_is_never_suggested_and_training_is_deterministic() {
        let themes = bare(&["billing", "offers"]);
        let ex = vec![("double facturation", set(&["billing"]))];
        let c = Classifier::train(&themes, &ex, TrainOptions::default());
        assert!(
            c.suggest("nouvelle offre")
                .iter()
                .all(|s| s.theme != "offers")
        );
        let again = Classifier::train(&themes, &ex, TrainOptions::default());
        assert_eq!(c.probabilities("facture"), again.probabilities("facture"));
    }
}
