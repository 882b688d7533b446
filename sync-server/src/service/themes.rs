//! Theme coding of verbatims: the campaign's codebook (read by every
//! dashboard user, edited by admins and coordinators, versioned), the
//! classifier trained on reviewers' theme codes (cached per process, rebuilt
//! when codes or the codebook change, at most [`MODEL_TTL`] old), and its
//! suggestions for the verbatims no reviewer coded yet. Accepting or
//! correcting a suggestion is a normal tag edit ([`set_themes`]): the next
//! training learns from it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use central_store::{InterviewFilter, StoredCodebook, unix_now};
use export::coding::{ThemeCoding, coded_themes, verbatim_of};
use serde::{Deserialize, Serialize};
use survey_model::InterviewRecord;
use themes::{Codebook, Suggestion, Theme};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// Oldest a cached model may be (another replica may have coded verbatims).
pub const MODEL_TTL: Duration = Duration::from_secs(300);
/// Most suggestions one request returns.
pub const MAX_SUGGESTIONS: usize = 500;

/// The trained coding of the current campaign, shared by the requests of
/// this process.
#[derive(Debug, Default)]
pub struct CodingCache {
    slot: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    campaign: String,
    codebook_version: i64,
    built: Instant,
    coding: Arc<ThemeCoding>,
}

impl CodingCache {
    /// Forget the model: the next request trains again (a reviewer coded a
    /// verbatim, or the codebook changed).
    pub fn invalidate(&self) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl AppState {
    /// The campaign's codebook with a model trained on its coded verbatims;
    /// trains when none is cached or it is stale. Blocking.
    pub fn theme_coding(&self) -> Result<Arc<ThemeCoding>, ApiError> {
        let campaign = self.settings.campaign.clone();
        let (codebook, version) = export::coding::load_codebook(self.store.as_ref(), &campaign)?;
        // Held while training, so concurrent requests wait for one model.
        let mut slot = self
            .theme_cache
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = slot.as_ref()
            && c.campaign == campaign
            && c.codebook_version == version
            && c.built.elapsed() < MODEL_TTL
        {
            return Ok(c.coding.clone());
        }
        let forms = self.forms();
        let coding = Arc::new(export::coding::coding_from_store(
            self.store.as_ref(),
            &forms,
            &campaign,
            codebook,
        )?);
        tracing::info!(
            examples = coding.examples,
            train_ms = coding.train_ms,
            "theme model trained"
        );
        *slot = Some(Cached {
            campaign,
            codebook_version: version,
            built: Instant::now(),
            coding: coding.clone(),
        });
        Ok(coding)
    }
}

/// The codebook as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CodebookView {
    pub campaign: String,
    /// 0 while the default codebook is in use (nothing saved yet).
    pub version: i64,
    pub themes: Vec<Theme>,
}

/// A new codebook, saved over `version` (the one read).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodebookUpdate {
    pub version: i64,
    pub themes: Vec<Theme>,
}

/// The campaign's codebook (admins, coordinators, analysts).
pub async fn codebook(state: &AppState, p: &Principal) -> Result<CodebookView, ApiError> {
    authorize(p, Action::ReadCodebook)?;
    state
        .blocking(|st| {
            let campaign = st.settings.campaign.clone();
            let (c, version) = export::coding::load_codebook(st.store.as_ref(), &campaign)?;
            Ok(CodebookView {
                campaign,
                version,
                themes: c.themes,
            })
        })
        .await
}

/// Save a codebook (admins and coordinators). Codes already used in tags
/// stay valid only if kept: removing a theme hides its codes.
pub async fn save_codebook(
    state: &AppState,
    p: &Principal,
    u: CodebookUpdate,
) -> Result<CodebookView, ApiError> {
    authorize(p, Action::EditCodebook)?;
    let codebook = Codebook { themes: u.themes }
        .validated()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let user = p.user.clone();
    state
        .blocking(move |st| {
            let campaign = st.settings.campaign.clone();
            let stored = StoredCodebook {
                campaign: campaign.clone(),
                codebook: serde_json::to_string(&codebook)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
                version: u.version,
                updated_by: user.id.clone(),
                updated_at: unix_now(),
            };
            if !st.store.put_codebook(&stored)? {
                return Err(ApiError::Conflict(
                    "the codebook changed since it was read; reload it and edit again".into(),
                ));
            }
            st.theme_cache.invalidate();
            crate::audit::record(st, &user, "codebook.update", &campaign, "");
            Ok(CodebookView {
                campaign,
                version: u.version + 1,
                themes: codebook.themes,
            })
        })
        .await
}

/// Which verbatims to suggest themes for.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestQuery {
    /// Comma-separated countries; default: every country of the caller.
    pub country: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<usize>,
}

/// An uncoded verbatim with the model's suggestions.
#[derive(Debug, Clone, Serialize)]
pub struct Uncoded {
    pub interview_id: String,
    pub country: String,
    pub nps: Option<i64>,
    /// Detected language (`fr`, `en`, `ar`, `pt`, `other`).
    pub lang: String,
    pub text: String,
    pub suggestions: Vec<Suggestion>,
}

/// What the model is and what it suggests.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestions {
    /// Coded verbatims it learnt from (whole campaign).
    pub examples: usize,
    pub train_ms: u64,
    /// (code, coded examples) per theme.
    pub support: Vec<(String, usize)>,
    /// Uncoded verbatims in the caller's countries.
    pub uncoded: usize,
    /// Coded ones there.
    pub coded: usize,
    pub items: Vec<Uncoded>,
}

/// Suggestions for the uncoded verbatims of the caller's countries (those it
/// reviews), least confident first: where a reviewer's eye helps most.
pub async fn suggestions(
    state: &AppState,
    p: &Principal,
    q: &SuggestQuery,
) -> Result<Suggestions, ApiError> {
    let countries = Scope::resolve(p, Purpose::Review, q.country.as_deref())?.filter();
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_SUGGESTIONS);
    state
        .blocking(move |st| {
            let coding = st.theme_coding()?;
            let forms = st.forms();
            let campaign = st.settings.campaign.clone();
            let (mut uncoded, mut coded) = (Vec::new(), 0usize);
            st.store.for_each_interview(
                &InterviewFilter {
                    countries,
                    ..InterviewFilter::default()
                },
                &mut |rec: InterviewRecord, _| {
                    if rec.campaign != campaign
                        || !export::consented(&rec, forms.get(&rec.form_id, rec.form_version))
                    {
                        return Ok(());
                    }
                    let Some(text) = verbatim_of(&rec) else {
                        return Ok(());
                    };
                    if !coded_themes(&rec, &coding.codebook).is_empty() {
                        coded += 1;
                        return Ok(());
                    }
                    let suggestions = coding
                        .classifier
                        .as_ref()
                        .map(|c| c.suggest(text))
                        .unwrap_or_default();
                    let stated = rec
                        .answers
                        .get("verbatim_language")
                        .and_then(|v| v.as_str());
                    uncoded.push(Uncoded {
                        lang: themes::language_of(text, stated),
                        text: text.to_owned(),
                        interview_id: rec.interview_id.clone(),
                        country: rec.country.clone(),
                        nps: rec.answers.get("nps").and_then(|v| v.as_i64()),
                        suggestions,
                    });
                    Ok(())
                },
            )?;
            let total = uncoded.len();
            let top = |u: &Uncoded| u.suggestions.first().map_or(0.0, |s| s.confidence);
            uncoded.sort_by(|a, b| {
                top(a)
                    .total_cmp(&top(b))
                    .then_with(|| a.interview_id.cmp(&b.interview_id))
            });
            uncoded.truncate(limit);
            let support = coding
                .codebook
                .codes()
                .into_iter()
                .map(|c| {
                    let n = coding.classifier.as_ref().map_or(0, |m| m.support(&c));
                    (c, n)
                })
                .collect();
            Ok(Suggestions {
                examples: coding.examples,
                train_ms: coding.train_ms,
                support,
                uncoded: total,
                coded,
                items: uncoded,
            })
        })
        .await
}

/// Set an interview's themes to exactly `codes` (codebook codes): one
/// server edit of its `theme:*` tags, under the write policy and the
/// caller's review scope. Accepting a suggestion and correcting it are both
/// this edit.
pub async fn set_themes(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    codes: Vec<String>,
) -> Result<InterviewRecord, ApiError> {
    let codebook = state
        .blocking(|st| {
            Ok(export::coding::load_codebook(st.store.as_ref(), &st.settings.campaign)?.0)
        })
        .await?;
    if let Some(bad) = codes.iter().find(|c| codebook.theme(c).is_none()) {
        return Err(ApiError::BadRequest(format!(
            "theme {bad:?} is not in the campaign's codebook"
        )));
    }
    let rec = crate::service::interviews::server_edit(state, p, id, move |iv| {
        let existing = themes::themes_of_tags(&iv.tags());
        for code in codebook.codes().iter().chain(&existing) {
            let on = codes.contains(code);
            let tag = format!("{}{code}", themes::TAG_PREFIX);
            if on != existing.contains(code) {
                iv.set_tag(&tag, on)?;
            }
        }
        Ok(())
    })
    .await?
    .1;
    state.theme_cache.invalidate();
    Ok(rec)
}
