//! Theme coding of a campaign's verbatims: reviewers' `theme:*` tags are the
//! labelled examples; a classifier trained on them (all countries of the
//! campaign: themes are about words, not places) suggests themes for every
//! verbatim no reviewer coded. The report, the exports and the dashboard's
//! coding page all read an interview's themes through [`ThemeCoding::themes_of`].

use central_store::merge::FormRegistry;
use central_store::{CentralStore, InterviewFilter};
use serde_json::Value as Json;
use survey_model::InterviewRecord;
use themes::{Classifier, Codebook, TrainOptions};

use crate::{ExportError, consented};

/// The free-text question whose answer is coded with themes.
pub const THEME_QUESTION: &str = "verbatim";

/// A campaign's codebook with the classifier trained on its coded verbatims.
#[derive(Debug, Clone)]
pub struct ThemeCoding {
    pub codebook: Codebook,
    /// `None` while no verbatim is coded.
    pub classifier: Option<Classifier>,
    /// Coded verbatims it learnt from.
    pub examples: usize,
    pub train_ms: u64,
}

/// Where an interview's themes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A reviewer's tags.
    Coded,
    /// The classifier's suggestions.
    Suggested,
}

/// The verbatim of a record, if it has one worth coding.
pub fn verbatim_of(rec: &InterviewRecord) -> Option<&str> {
    rec.answers
        .get(THEME_QUESTION)
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The codebook's codes among a record's `theme:*` tags.
pub fn coded_themes(rec: &InterviewRecord, codebook: &Codebook) -> Vec<String> {
    themes::themes_of_tags(&rec.tags)
        .into_iter()
        .filter(|c| codebook.theme(c).is_some())
        .collect()
}

impl ThemeCoding {
    /// Train on `examples` (verbatim, codes) for `codebook`.
    pub fn train(codebook: Codebook, examples: &[(String, Vec<String>)]) -> ThemeCoding {
        let t0 = std::time::Instant::now();
        let classifier = (!examples.is_empty())
            .then(|| Classifier::train(&codebook, examples, TrainOptions::default()));
        ThemeCoding {
            codebook,
            classifier,
            examples: examples.len(),
            train_ms: t0.elapsed().as_millis() as u64,
        }
    }

    /// A record's themes: its reviewer's codes, or else the suggestions for
    /// its verbatim (none without a verbatim or a model).
    pub fn themes_of(&self, rec: &InterviewRecord) -> (Vec<String>, Source) {
        let coded = coded_themes(rec, &self.codebook);
        if !coded.is_empty() {
            return (coded, Source::Coded);
        }
        let suggested = match (verbatim_of(rec), &self.classifier) {
            (Some(text), Some(c)) => c.suggest(text).into_iter().map(|s| s.theme).collect(),
            _ => vec![],
        };
        (suggested, Source::Suggested)
    }
}

/// The labelled examples of `campaign`: consented interviews of every country
/// with a verbatim and at least one theme code of `codebook`.
pub fn training_examples(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    campaign: &str,
    codebook: &Codebook,
) -> Result<Vec<(String, Vec<String>)>, ExportError> {
    let mut out = Vec::new();
    store.for_each_interview(&InterviewFilter::default(), &mut |rec, _| {
        if rec.campaign != campaign || !consented(&rec, forms.get(&rec.form_id, rec.form_version)) {
            return Ok(());
        }
        let codes = coded_themes(&rec, codebook);
        if let (Some(text), false) = (verbatim_of(&rec), codes.is_empty()) {
            out.push((text.to_owned(), codes));
        }
        Ok(())
    })?;
    Ok(out)
}

/// [`training_examples`] then [`ThemeCoding::train`].
pub fn coding_from_store(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    campaign: &str,
    codebook: Codebook,
) -> Result<ThemeCoding, ExportError> {
    let examples = training_examples(store, forms, campaign, &codebook)?;
    Ok(ThemeCoding::train(codebook, &examples))
}

/// A campaign's codebook and its stored version (0 and the default
/// codebook when none was saved).
pub fn load_codebook(
    store: &dyn CentralStore,
    campaign: &str,
) -> Result<(Codebook, i64), ExportError> {
    match store.codebook(campaign)? {
        None => Ok((Codebook::default(), 0)),
        Some(s) => {
            let c: Codebook = serde_json::from_str(&s.codebook)
                .map_err(|e| ExportError::Invalid(format!("stored codebook of {campaign}: {e}")))?;
            Ok((c, s.version))
        }
    }
}
