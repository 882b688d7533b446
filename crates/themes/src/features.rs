//! Features of a verbatim for the classifier: hashed character n-grams of
//! each normalised word (2 to 5 characters, word boundaries marked) and the
//! word itself, weighted by sublinear term frequency times inverse document
//! frequency and scaled to unit length. Character n-grams make one model work
//! across French, English, Arabic and Portuguese, with typos, missing accents
//! and inflections, and need no vocabulary or model download.

use std::collections::HashMap;

use crate::codebook::Codebook;
use crate::lang::{normalize, words};

/// Hash buckets (2^18): few collisions for a campaign's vocabulary, 1 MiB of
/// `f32` per theme.
pub const BUCKETS: usize = 1 << 18;
const MIN_N: usize = 3;
const MAX_N: usize = 5;

/// A sparse feature vector: (bucket, weight), buckets unique and sorted.
pub type Sparse = Vec<(u32, f32)>;

fn fnv1a(kind: u8, chars: &[char]) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    eat(kind);
    for c in chars {
        for b in u32::from(*c).to_le_bytes() {
            eat(b);
        }
    }
    (h % BUCKETS as u64) as u32
}

/// Raw count of a key-term hit (an n-gram counts 1; sublinear tf makes
/// this about twice an n-gram before IDF).
const KEYWORD_WEIGHT: f32 = 2000.0;

/// The codebook's key terms, normalised: a hit on any term of theme `i`
/// (whatever its language) is the same feature.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// (theme index, normalised term, how it matches)
    terms: Vec<(usize, String, Match)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// Several words: the phrase at word starts.
    Phrase,
    /// A word of up to four letters: that word exactly.
    Word,
    /// A longer word: words starting with it.
    Prefix,
    /// Arabic: inside a word (prefixes such as و، ال، ب are glued on).
    Inside,
}

impl Lexicon {
    pub fn new(codebook: &Codebook) -> Lexicon {
        let mut terms = Vec::new();
        for (i, t) in codebook.themes.iter().enumerate() {
            for term in t.keywords.all() {
                let norm: String = words(&normalize(term)).collect::<Vec<_>>().join(" ");
                if norm.is_empty() {
                    continue;
                }
                let how = if norm.contains(' ') {
                    Match::Phrase
                } else if norm.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
                    Match::Inside
                } else if norm.chars().count() <= 4 {
                    Match::Word
                } else {
                    Match::Prefix
                };
                terms.push((i, norm, how));
            }
        }
        Lexicon { terms }
    }

    /// The themes whose terms `words` (normalised) contain.
    fn hits(&self, words: &[&str]) -> Vec<usize> {
        let joined = format!(" {} ", words.join(" "));
        let mut out: Vec<usize> = Vec::new();
        for (i, term, how) in &self.terms {
            if out.contains(i) {
                continue;
            }
            let hit = match how {
                Match::Phrase => joined.contains(&format!(" {term}")),
                Match::Word => words.iter().any(|w| w == term),
                Match::Prefix => words.iter().any(|w| w.starts_with(term.as_str())),
                Match::Inside => words.iter().any(|w| w.contains(term.as_str())),
            };
            if hit {
                out.push(*i);
            }
        }
        out
    }
}

fn keyword_bucket(theme: usize) -> u32 {
    fnv1a(b'k', &[char::from_u32(theme as u32).unwrap_or('?')])
}

/// Raw counts of a text's features (before weighting), with a feature per
/// theme of `lexicon` whose key terms it contains. Digits-only words (phone
/// numbers, amounts) carry no theme and are skipped.
pub fn counts_with(text: &str, lexicon: &Lexicon) -> HashMap<u32, f32> {
    let norm = normalize(text);
    let kept: Vec<&str> = words(&norm)
        .filter(|w| !w.chars().all(|c| c.is_numeric()))
        .collect();
    let mut out = counts(text);
    for i in lexicon.hits(&kept) {
        *out.entry(keyword_bucket(i)).or_default() += KEYWORD_WEIGHT;
    }
    out
}

/// Raw counts of a text's n-gram features (before weighting). Digits-only
/// words (phone numbers, amounts) carry no theme and are skipped.
pub fn counts(text: &str) -> HashMap<u32, f32> {
    let norm = normalize(text);
    let mut out: HashMap<u32, f32> = HashMap::new();
    let kept: Vec<&str> = words(&norm)
        .filter(|w| !w.chars().all(|c| c.is_numeric()))
        .collect();
    // Two-word phrases ("pas de", "de reseau"): negation and short idioms.
    for pair in kept.windows(2) {
        let mut chars: Vec<char> = pair[0].chars().collect();
        chars.push(' ');
        chars.extend(pair[1].chars());
        *out.entry(fnv1a(b'b', &chars)).or_default() += 1.0;
    }
    for w in kept {
        let mut chars: Vec<char> = Vec::with_capacity(w.len() + 2);
        chars.push('<');
        chars.extend(w.chars());
        chars.push('>');
        *out.entry(fnv1a(b'w', &chars)).or_default() += 1.0;
        for n in MIN_N..=MAX_N {
            if chars.len() < n {
                break;
            }
            for g in chars.windows(n) {
                *out.entry(fnv1a(b'g', g)).or_default() += 1.0;
            }
        }
    }
    out
}

/// Inverse document frequencies learnt from a corpus.
#[derive(Debug, Clone)]
pub struct Idf {
    weights: Vec<f32>,
}

impl Idf {
    /// Learn from the features of `docs` (smoothed: `ln((1+N)/(1+df)) + 1`).
    pub fn fit<'a>(docs: impl IntoIterator<Item = &'a HashMap<u32, f32>>) -> Idf {
        let mut df = vec![0u32; BUCKETS];
        let mut n = 0u32;
        for d in docs {
            n += 1;
            for k in d.keys() {
                df[*k as usize] += 1;
            }
        }
        let weights = df
            .into_iter()
            .map(|d| (((1 + n) as f32) / ((1 + d) as f32)).ln() + 1.0)
            .collect();
        Idf { weights }
    }

    /// The weighted, unit-length vector of raw `counts`.
    pub fn vector(&self, counts: &HashMap<u32, f32>) -> Sparse {
        let mut v: Sparse = counts
            .iter()
            .map(|(k, c)| (*k, (1.0 + c.ln()) * self.weights[*k as usize]))
            .collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, w) in &mut v {
                *w /= norm;
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_variants_share_most_features() {
        let a = counts("Le réseau est très lent");
        let b = counts("le resau est tres lent");
        let shared = a.keys().filter(|k| b.contains_key(k)).count();
        assert!(shared * 10 >= a.len() * 6, "{shared} of {}", a.len());
        assert!(
            counts("0712345678 225").is_empty(),
            "numbers carry no theme"
        );
    }

    #[test]
    fn vectors_are_unit_length_and_rare_features_weigh_more() {
        let docs = [
            counts("réseau lent"),
            counts("réseau cher"),
            counts("réseau"),
        ];
        let idf = Idf::fit(docs.iter());
        let v = idf.vector(&docs[0]);
        let norm: f32 = v.iter().map(|(_, w)| w * w).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        let common = fnv1a(b'w', &"<reseau>".chars().collect::<Vec<_>>());
        let rare = fnv1a(b'w', &"<lent>".chars().collect::<Vec<_>>());
        let w = |k: u32| v.iter().find(|(b, _)| *b == k).map(|(_, w)| *w);
        assert!(w(rare) > w(common), "{:?} {:?}", w(rare), w(common));
    }
}
