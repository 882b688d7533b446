//! Verbatim themes: what the customers' own words are about. This crate owns
//! the theme codebook (codes, labels in the four campaign languages, the
//! default telecom codebook), text normalisation and language identification
//! of verbatims, and the machine-assisted coder: a multilingual classifier
//! trained from reviewers' theme tags (hashed character n-grams, one-vs-rest
//! logistic regression) that suggests themes with a confidence, plus its
//! evaluation (per-theme precision/recall, macro-F1, per language).
//!
//! It does no I/O and holds no state between calls: callers (the server, the
//! export, the CLI) bring the labelled examples and keep the trained model.

pub mod codebook;
pub mod eval;
pub mod features;
mod keywords;
pub mod lang;
pub mod model;

pub use codebook::{Codebook, CodebookError, DEFAULT_THEMES, Theme, ThemeKeywords, ThemeLabels};
pub use eval::{
    Evaluation, Example, ExampleError, ThemeScore, codebook_of, evaluate, read_examples,
};
pub use lang::{LANGUAGES, language_of, normalize};
pub use model::{Classifier, Suggestion, TrainOptions};

/// The tag prefix a reviewer's theme code carries on an interview
/// (`theme:network_coverage`).
pub const TAG_PREFIX: &str = "theme:";

/// The theme codes in an interview's tags.
pub fn themes_of_tags<'a>(tags: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    tags.into_iter()
        .filter_map(|t| t.strip_prefix(TAG_PREFIX))
        .map(str::to_owned)
        .collect()
}
