//! The analysis summary, computed in one streaming pass over consented
//! interviews: NPS overall and by country / segment / area type with 95%
//! confidence intervals, satisfaction by touchpoint (rating questions),
//! complaint categories and root causes, and verbatim themes per language.
//!
//! NPS = 100 (p − d) with p, d the promoter and detractor shares (the bands of
//! `survey_model::nps`: 9–10 and 0–6);
//! its standard error is 100 √((p + d − (p − d)²) / n), and the interval is
//! NPS ± 1.96 SE, clamped to [−100, 100].

use std::collections::BTreeMap;

use central_store::merge::FormRegistry;
use central_store::{CentralStore, InterviewFilter, StoreError};
use serde::Serialize;
use serde_json::Value as Json;
use survey_model::nps::{self, Band};
use survey_model::{Form, Question, QuestionType};

use crate::coding::ThemeCoding;
use crate::text::{Term, ThemeCounter};
use crate::theme_stats::{Respondent, ThemeAcc, ThemeSection};
use crate::{DatasetHasher, ExportError, registry_forms};

/// Questions whose answers feed the summary (MCMB names by default).
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    pub nps: String,
    /// Grouping dimensions besides `country`.
    pub dimensions: Vec<String>,
    pub complaint_categories: String,
    pub root_causes: String,
    pub has_complaint: String,
    /// Free-text questions mined for themes.
    pub verbatims: Vec<String>,
    /// The single-choice question giving the verbatims' language.
    pub verbatim_language: String,
    /// Terms mentioned by fewer distinct respondents are not shown (they
    /// could identify someone).
    pub min_term_count: u64,
    pub top_terms: usize,
    /// Figures on fewer respondents are greyed and marked (`low_n`).
    pub min_n: u64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            nps: "nps".into(),
            // `place`: the place code of the place list (MCMB v2), named from it.
            dimensions: vec![
                "segment".into(),
                "area_type".into(),
                survey_model::mcmb::PLACE_QUESTION.into(),
            ],
            complaint_categories: "complaint_categories".into(),
            root_causes: "complaint_root_cause".into(),
            has_complaint: "has_complaint".into(),
            verbatims: vec![
                "verbatim".into(),
                "nps_reason".into(),
                "complaint_detail".into(),
            ],
            verbatim_language: "verbatim_language".into(),
            min_term_count: 5,
            top_terms: 15,
            min_n: 30,
        }
    }
}

/// NPS of one group.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NpsStat {
    pub group: String,
    pub label: String,
    pub n: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    pub nps: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Fewer respondents than the report's minimum: shown greyed.
    pub low_n: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct NpsAcc {
    promoters: u64,
    passives: u64,
    detractors: u64,
}

impl NpsAcc {
    /// Those of `self` not in `part` (a subset of it).
    fn minus(&self, part: &NpsAcc) -> NpsAcc {
        NpsAcc {
            promoters: self.promoters.saturating_sub(part.promoters),
            passives: self.passives.saturating_sub(part.passives),
            detractors: self.detractors.saturating_sub(part.detractors),
        }
    }

    fn add(&mut self, score: i64) {
        match nps::band(score) {
            Some(Band::Promoter) => self.promoters += 1,
            Some(Band::Passive) => self.passives += 1,
            Some(Band::Detractor) => self.detractors += 1,
            None => {}
        }
    }
    fn stat(&self, group: &str, label: &str) -> Option<NpsStat> {
        let n = self.promoters + self.passives + self.detractors;
        if n == 0 {
            return None;
        }
        let (p, d) = (
            self.promoters as f64 / n as f64,
            self.detractors as f64 / n as f64,
        );
        let nps = 100.0 * (p - d);
        let se = 100.0 * ((p + d - (p - d).powi(2)).max(0.0) / n as f64).sqrt();
        Some(NpsStat {
            group: group.to_owned(),
            label: label.to_owned(),
            n,
            promoters: self.promoters,
            passives: self.passives,
            detractors: self.detractors,
            nps,
            se,
            ci_low: (nps - 1.96 * se).max(-100.0),
            ci_high: (nps + 1.96 * se).min(100.0),
            low_n: false,
        })
    }
}

/// NPS broken down by one dimension.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub dimension: String,
    pub label: String,
    pub groups: Vec<NpsStat>,
}

/// Average rating of one touchpoint, with its 95% interval
/// (mean ± 1.96 · sd / √n, sd the sample standard deviation).
#[derive(Debug, Clone, Serialize)]
pub struct Touchpoint {
    pub question: String,
    /// The question's short label (its label when the form gives none).
    pub label: String,
    pub n: u64,
    pub mean: f64,
    pub sd: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub min: i64,
    pub max: i64,
    pub low_n: bool,
}

/// What moves NPS: the NPS of the customers with a root cause (or who rated
/// a touchpoint 1-2) against the others', and the gap with its 95% interval
/// (the two groups are disjoint: SE = √(SE₁² + SE₂²)).
#[derive(Debug, Clone, Serialize)]
pub struct Driver {
    /// `root_cause` or `touchpoint`.
    pub kind: String,
    pub value: String,
    pub label: String,
    pub with: NpsStat,
    pub without: NpsStat,
    /// `with.nps - without.nps`: negative when it pulls NPS down.
    pub gap: f64,
    pub gap_low: f64,
    pub gap_high: f64,
    pub low_n: bool,
}

/// Which interviews a report covers besides its countries. Every report
/// counts submitted interviews with consent; rejected ones only when asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ReportFilter {
    /// This campaign only (none: every campaign).
    pub campaign: Option<String>,
    /// Place codes (the `place` answer); empty: all.
    #[serde(default)]
    pub places: Vec<String>,
    #[serde(default)]
    pub segments: Vec<String>,
    /// First and last day (`YYYY-MM-DD`, on the interview's creation time).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Review states (`none` for not reviewed yet); empty: all.
    #[serde(default)]
    pub review_states: Vec<String>,
    #[serde(default)]
    pub include_rejected: bool,
}

pub use crate::base::LeftOut;

/// Review states a filter may name (`none`: not reviewed yet).
pub const FILTER_REVIEW_STATES: [&str; 5] =
    ["none", "received", "has_issues", "approved", "rejected"];

impl ReportFilter {
    /// Split comma-separated lists, trim, and check the dates and review
    /// states; `campaign` `all` (or empty) means every campaign.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        campaign: Option<&str>,
        places: &str,
        segments: &str,
        from: Option<&str>,
        to: Option<&str>,
        review_states: &str,
        include_rejected: bool,
    ) -> Result<ReportFilter, ExportError> {
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let day = |name: &str, d: Option<&str>| -> Result<Option<String>, ExportError> {
            match d.map(str::trim).filter(|d| !d.is_empty()) {
                None => Ok(None),
                Some(d) if survey_model::actions::is_date(d) => Ok(Some(d.to_owned())),
                Some(d) => Err(ExportError::Invalid(format!(
                    "{name} must be a date YYYY-MM-DD (got {d:?})"
                ))),
            }
        };
        let review_states = list(review_states);
        if let Some(bad) = review_states
            .iter()
            .find(|r| !FILTER_REVIEW_STATES.contains(&r.as_str()))
        {
            return Err(ExportError::Invalid(format!(
                "review_state {bad:?} is not one of {}",
                FILTER_REVIEW_STATES.join(", ")
            )));
        }
        Ok(ReportFilter {
            campaign: campaign
                .map(str::trim)
                .filter(|c| !c.is_empty() && *c != "all")
                .map(str::to_owned),
            places: list(places),
            segments: list(segments),
            from: day("from", from)?,
            to: day("to", to)?,
            review_states,
            include_rejected,
        })
    }

    /// Why `rec` is outside a report's base, if it is: [`crate::base::BaseRule`]
    /// without drafts (campaign and filters aside).
    pub fn left_out(
        &self,
        rec: &survey_model::InterviewRecord,
        forms: &FormRegistry,
    ) -> Option<LeftOut> {
        crate::base::BaseRule {
            include_drafts: false,
            include_rejected: self.include_rejected,
        }
        .left_out(rec, forms)
    }

    /// Whether `rec` is in a report's base ([`ReportFilter::left_out`]).
    pub fn counts(&self, rec: &survey_model::InterviewRecord, forms: &FormRegistry) -> bool {
        self.left_out(rec, forms).is_none()
    }

    /// Whether `rec` passes the place, segment, date and review filters
    /// (not the campaign, not the base rules).
    pub fn admits(&self, rec: &survey_model::InterviewRecord) -> bool {
        let answer = |q: &str| rec.answers.get(q).and_then(Json::as_str).unwrap_or("");
        let day = rec.created_at.get(..10).unwrap_or("");
        let review = rec.review_state.as_deref().unwrap_or("none");
        (self.places.is_empty()
            || self
                .places
                .iter()
                .any(|p| p == answer(survey_model::mcmb::PLACE_QUESTION)))
            && (self.segments.is_empty() || self.segments.iter().any(|x| x == answer("segment")))
            && self.from.as_deref().is_none_or(|f| day >= f)
            && self.to.as_deref().is_none_or(|t| day <= t)
            && (self.review_states.is_empty() || self.review_states.iter().any(|r| r == review))
    }
}

/// What the report was computed from.
#[derive(Debug, Clone, Serialize)]
pub struct Base {
    pub filter: ReportFilter,
    /// Interviews of the campaign (and filter) left out: drafts, without
    /// consent, rejected in review.
    pub drafts: u64,
    pub without_consent: u64,
    pub rejected: u64,
    /// Figures on fewer respondents are marked `low_n`.
    pub min_n: u64,
}

/// How often one option was chosen, and its share of the question's respondents.
#[derive(Debug, Clone, Serialize)]
pub struct CountShare {
    pub value: String,
    pub label: String,
    pub count: u64,
    pub share: f64,
}

/// Option counts of a multi-choice question.
#[derive(Debug, Clone, Serialize)]
pub struct OptionCounts {
    pub question: String,
    pub label: String,
    /// Interviews that selected at least one option.
    pub respondents: u64,
    pub options: Vec<CountShare>,
}

/// Themes of one language.
#[derive(Debug, Clone, Serialize)]
pub struct Themes {
    pub language: String,
    pub texts: u64,
    /// Respondents with a text in this language (terms count respondents).
    pub respondents: u64,
    pub keywords: Vec<Term>,
    pub phrases: Vec<Term>,
}

/// The analysis summary (serialised as the JSON form of the report).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub language: String,
    pub countries: Vec<String>,
    pub dataset_version: String,
    /// Consented interviews analysed.
    pub interviews: u64,
    pub excluded_without_consent: u64,
    /// Analysed interviews with answers the projection left out (invalid or
    /// hidden by skip logic; see `InterviewRecord::quality_flags`). Those
    /// answers are in no figure of the summary.
    pub with_quality_flags: u64,
    pub with_complaint: u64,
    pub nps_question: String,
    pub nps_overall: Option<NpsStat>,
    pub nps_by: Vec<Breakdown>,
    pub satisfaction: Vec<Touchpoint>,
    pub complaint_categories: Option<OptionCounts>,
    pub root_causes: Option<OptionCounts>,
    pub themes: Vec<Themes>,
    /// What moves NPS most, most negative gap first.
    pub drivers: Vec<Driver>,
    /// The interviews counted and those left out.
    pub base: Base,
    /// Codebook themes in the verbatims (coded, else suggested).
    pub theme_section: ThemeSection,
    /// Root causes per campaign, oldest first: the year-over-year view.
    pub by_campaign: Vec<CampaignCauses>,
    /// The hackathon actions of these countries, every campaign.
    pub actions: Vec<central_store::ActionItem>,
}

/// One root cause in one campaign.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CauseStat {
    pub value: String,
    pub label: String,
    /// Interviews citing it.
    pub count: u64,
    /// `count` over the campaign's interviews with a root cause recorded.
    pub share: f64,
    /// NPS of the interviews citing it.
    pub nps: Option<NpsStat>,
}

/// The root causes of one campaign, most cited first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CampaignCauses {
    pub campaign: String,
    /// Consented interviews.
    pub interviews: u64,
    /// Of those, with at least one root cause recorded.
    pub respondents: u64,
    pub nps: Option<NpsStat>,
    pub causes: Vec<CauseStat>,
}

/// Root causes per campaign, accumulated one interview at a time.
#[derive(Default)]
struct CausesAcc {
    /// campaign -> (interviews, respondents, NPS, cause -> (count, NPS)).
    campaigns: BTreeMap<String, CampaignAcc>,
}

#[derive(Default)]
struct CampaignAcc {
    interviews: u64,
    respondents: u64,
    nps: NpsAcc,
    causes: BTreeMap<String, (u64, NpsAcc)>,
}

impl CausesAcc {
    /// Add a consented interview.
    fn add(&mut self, rec: &survey_model::InterviewRecord, cfg: &AnalysisConfig) {
        let c = self.campaigns.entry(rec.campaign.clone()).or_default();
        c.interviews += 1;
        let score = rec.answers.get(&cfg.nps).and_then(Json::as_i64);
        if let Some(s) = score {
            c.nps.add(s);
        }
        let Some(sel) = rec.answers.get(&cfg.root_causes).and_then(Json::as_array) else {
            return;
        };
        if sel.is_empty() {
            return;
        }
        c.respondents += 1;
        for v in sel.iter().filter_map(Json::as_str) {
            let e = c.causes.entry(v.to_owned()).or_default();
            e.0 += 1;
            if let Some(s) = score {
                e.1.add(s);
            }
        }
    }

    /// Oldest campaign first (campaign ids sort by year: `mcmb-2025` < `mcmb-2026`).
    fn finish(self, list: &[&Form], q: &str, lang: &str) -> Vec<CampaignCauses> {
        self.campaigns
            .into_iter()
            .map(|(campaign, c)| {
                let mut causes: Vec<CauseStat> = c
                    .causes
                    .into_iter()
                    .map(|(v, (count, nps))| CauseStat {
                        label: option_label(list, q, &v, lang),
                        share: if c.respondents == 0 {
                            0.0
                        } else {
                            count as f64 / c.respondents as f64
                        },
                        nps: nps.stat(&v, &v),
                        value: v,
                        count,
                    })
                    .collect();
                causes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                CampaignCauses {
                    nps: c.nps.stat(&campaign, &campaign),
                    campaign,
                    interviews: c.interviews,
                    respondents: c.respondents,
                    causes,
                }
            })
            .collect()
    }
}

/// Root causes per campaign (oldest first) of the consented interviews of
/// `countries` (empty = all): each cause's count, share and NPS.
pub fn root_causes_by_campaign(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    countries: &[String],
    lang: &str,
) -> Result<Vec<CampaignCauses>, ExportError> {
    let lang = crate::parse_lang(lang)?;
    let cfg = AnalysisConfig::default();
    let list = registry_forms(forms);
    let mut acc = CausesAcc::default();
    let filter = InterviewFilter {
        countries: countries.to_vec(),
        ..InterviewFilter::default()
    };
    let base = ReportFilter::default();
    store.for_each_interview(&filter, &mut |rec, _seq| {
        if base.counts(&rec, forms) {
            acc.add(&rec, &cfg);
        }
        Ok(())
    })?;
    Ok(acc.finish(&list, &cfg.root_causes, &lang))
}

#[derive(Default)]
struct MultiAcc {
    respondents: u64,
    counts: BTreeMap<String, u64>,
}

fn question<'a>(forms: &[&'a Form], name: &str) -> Option<&'a Question> {
    forms.iter().find_map(|f| f.question(name))
}

/// Whether `q` reads the place list in any of `forms`.
fn is_place_question(forms: &[&Form], q: &str) -> bool {
    forms.iter().any(|f| {
        f.question(q).and_then(|q| q.choices_from.as_deref())
            == Some(survey_model::places::PLACES_LIST)
    })
}

fn option_label(forms: &[&Form], q: &str, value: &str, lang: &str) -> String {
    forms
        .iter()
        .find_map(|f| {
            f.question(q)?
                .options
                .iter()
                .find(|o| o.value == value)
                .map(|o| o.label.get(lang, &f.def().default_language).to_owned())
        })
        .unwrap_or_else(|| value.to_owned())
}

/// Summarise the consented interviews of `countries` (empty = all).
/// `progress` gets the number read so far; `false` cancels.
/// Themes come from `coding` (a reviewer's codes, else its suggestions).
pub fn summarize(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    countries: &[String],
    lang: &str,
    filter: &ReportFilter,
    coding: &ThemeCoding,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<Summary, ExportError> {
    summarize_with(
        store,
        forms,
        countries,
        lang,
        filter,
        &AnalysisConfig::default(),
        coding,
        progress,
    )
}

/// [`summarize`] with explicit question names.
#[allow(clippy::too_many_arguments)]
pub fn summarize_with(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    countries: &[String],
    lang: &str,
    filter: &ReportFilter,
    cfg: &AnalysisConfig,
    coding: &ThemeCoding,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<Summary, ExportError> {
    let lang = crate::parse_lang(lang)?;
    let mut theme_acc = ThemeAcc::default();
    let list = registry_forms(forms);
    let ratings: Vec<String> = {
        let mut seen = Vec::new();
        for f in &list {
            for q in f.questions() {
                if q.kind == QuestionType::Rating && !seen.contains(&q.name) {
                    seen.push(q.name.clone());
                }
            }
        }
        seen
    };
    let mut overall = NpsAcc::default();
    let mut dims: Vec<BTreeMap<String, NpsAcc>> = vec![BTreeMap::new(); cfg.dimensions.len() + 1];
    // (n, sum, sum of squares) per rating question.
    let mut sat: Vec<(u64, i64, i64)> = vec![(0, 0, 0); ratings.len()];
    // Drivers: NPS of those citing each root cause; per touchpoint, of
    // those who rated it 1-2 and of all who rated it.
    let mut cause_nps: BTreeMap<String, NpsAcc> = BTreeMap::new();
    let mut low_nps: Vec<(NpsAcc, NpsAcc)> = vec![Default::default(); ratings.len()];
    let (mut drafts, mut rejected) = (0u64, 0u64);
    let mut cats = MultiAcc::default();
    let mut causes = MultiAcc::default();
    let mut by_campaign = CausesAcc::default();
    let mut themes: BTreeMap<String, ThemeCounter> = BTreeMap::new();
    let (mut n, mut excluded, mut seen, mut with_complaint) = (0u64, 0u64, 0u64, 0u64);
    let mut with_quality_flags = 0u64;
    let mut hasher = DatasetHasher::default();
    let mut cancelled = false;
    let scope = InterviewFilter {
        countries: countries.to_vec(),
        ..InterviewFilter::default()
    };
    let scan = store.for_each_interview(&scope, &mut |rec, _seq| {
        seen += 1;
        if seen.is_multiple_of(1000) && !progress(seen) {
            cancelled = true;
            return Err(StoreError::Db("cancelled".into()));
        }
        if !filter.admits(&rec) {
            return Ok(());
        }
        let left_out = filter.left_out(&rec, forms);
        if left_out.is_none() {
            // Every campaign: the year-over-year view.
            by_campaign.add(&rec, cfg);
        }
        if filter
            .campaign
            .as_deref()
            .is_some_and(|c| c != rec.campaign)
        {
            return Ok(());
        }
        match left_out {
            Some(LeftOut::Draft) => drafts += 1,
            Some(LeftOut::WithoutConsent) => excluded += 1,
            Some(LeftOut::Rejected) => rejected += 1,
            None => n += 1,
        }
        if left_out.is_some() {
            return Ok(());
        }
        if !rec.quality_flags.is_empty() {
            with_quality_flags += 1;
        }
        hasher.add(&rec.interview_id, &rec.heads);
        let a = &rec.answers;
        let text = |q: &str| a.get(q).and_then(Json::as_str);
        if let Some(score) = a.get(&cfg.nps).and_then(Json::as_i64) {
            overall.add(score);
            dims[0].entry(rec.country.clone()).or_default().add(score);
            for (i, d) in cfg.dimensions.iter().enumerate() {
                if let Some(v) = text(d) {
                    dims[i + 1].entry(v.to_owned()).or_default().add(score);
                }
            }
        }
        let score = a.get(&cfg.nps).and_then(Json::as_i64);
        for (i, q) in ratings.iter().enumerate() {
            if let Some(v) = a.get(q).and_then(Json::as_i64) {
                sat[i].0 += 1;
                sat[i].1 += v;
                sat[i].2 += v * v;
                if let Some(sc) = score {
                    low_nps[i].1.add(sc);
                    if v <= 2 {
                        low_nps[i].0.add(sc);
                    }
                }
            }
        }
        if let (Some(sc), Some(sel)) = (score, a.get(&cfg.root_causes).and_then(Json::as_array)) {
            for v in sel.iter().filter_map(Json::as_str) {
                cause_nps.entry(v.to_owned()).or_default().add(sc);
            }
        }
        if text(&cfg.has_complaint) == Some("yes") {
            with_complaint += 1;
        }
        for (q, acc) in [
            (&cfg.complaint_categories, &mut cats),
            (&cfg.root_causes, &mut causes),
        ] {
            if let Some(sel) = a.get(q).and_then(Json::as_array)
                && !sel.is_empty()
            {
                acc.respondents += 1;
                for v in sel.iter().filter_map(Json::as_str) {
                    *acc.counts.entry(v.to_owned()).or_default() += 1;
                }
            }
        }
        // Themes are counted on scrubbed text (a customer's name or number
        // never becomes a term), once per respondent and language.
        let mut scrubber = None;
        let mut by_lang: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for q in &cfg.verbatims {
            if let Some(t) = text(q) {
                let sc = scrubber.get_or_insert_with(|| {
                    survey_model::scrub::Scrubber::for_record(
                        forms.get(&rec.form_id, rec.form_version),
                        &rec,
                    )
                });
                let tl = crate::text::language_of(t, text(&cfg.verbatim_language));
                by_lang
                    .entry(tl)
                    .or_default()
                    .push(sc.scrub(t).into_owned());
            }
        }
        if let Some(t) = crate::coding::verbatim_of(&rec) {
            let sc = scrubber.get_or_insert_with(|| {
                survey_model::scrub::Scrubber::for_record(
                    forms.get(&rec.form_id, rec.form_version),
                    &rec,
                )
            });
            let (codes, source) = coding.themes_of(&rec);
            let scrubbed = sc.scrub(t);
            let tl = crate::text::language_of(t, text(&cfg.verbatim_language));
            theme_acc.add(&Respondent {
                country: &rec.country,
                segment: text("segment"),
                nps: a.get(&cfg.nps).and_then(Json::as_i64),
                text: &scrubbed,
                lang: &tl,
                themes: &codes,
                source,
            });
        }
        for (tl, texts) in by_lang {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            themes
                .entry(tl.clone())
                .or_insert_with(|| ThemeCounter::new(&tl))
                .add_respondent(&texts);
        }
        Ok(())
    });
    if cancelled {
        return Err(ExportError::Cancelled);
    }
    scan?;
    progress(seen);

    let place_names: BTreeMap<String, String> = store
        .list_places()?
        .into_iter()
        .map(|p| (p.code, p.name))
        .collect();
    let dim_names: Vec<String> = std::iter::once("country".to_owned())
        .chain(cfg.dimensions.iter().cloned())
        .collect();
    let nps_by = dim_names
        .iter()
        .zip(&dims)
        .map(|(d, groups)| Breakdown {
            dimension: d.clone(),
            label: if d == "country" {
                country_label(&lang).to_owned()
            } else {
                short_of(&list, d, &lang)
            },
            groups: {
                let mut v: Vec<NpsStat> = groups
                    .iter()
                    .filter_map(|(g, acc)| {
                        let label = match place_names.get(g.as_str()) {
                            _ if d == "country" => crate::countries::name(g, &lang),
                            Some(name) if is_place_question(&list, d) => format!("{name} ({g})"),
                            _ => option_label(&list, d, g, &lang),
                        };
                        acc.stat(g, &label).map(|s| low(s, cfg.min_n))
                    })
                    .collect();
                // Ranked by NPS, best first.
                v.sort_by(|a, b| b.nps.total_cmp(&a.nps).then_with(|| a.group.cmp(&b.group)));
                v
            },
        })
        .collect();
    let satisfaction = ratings
        .iter()
        .zip(&sat)
        .filter(|(_, (count, _, _))| *count > 0)
        .map(|(q, (count, sum, sumsq))| {
            let (min, max) = question(&list, q).map_or((1, 5), Question::numeric_range);
            let n = *count as f64;
            let mean = *sum as f64 / n;
            let sd = if *count > 1 {
                ((*sumsq as f64 - n * mean * mean) / (n - 1.0))
                    .max(0.0)
                    .sqrt()
            } else {
                0.0
            };
            let half = 1.96 * sd / n.sqrt();
            Touchpoint {
                question: q.clone(),
                label: short_of(&list, q, &lang),
                n: *count,
                mean,
                sd,
                ci_low: mean - half,
                ci_high: mean + half,
                min,
                max,
                low_n: *count < cfg.min_n,
            }
        })
        .collect();
    let driver = |kind: &str, value: &str, label: String, with: &NpsAcc, all: &NpsAcc| {
        let without = all.minus(with);
        let (w, wo) = (with.stat(value, &label)?, without.stat(value, &label)?);
        let gap = w.nps - wo.nps;
        let se = (w.se * w.se + wo.se * wo.se).sqrt();
        Some(Driver {
            kind: kind.to_owned(),
            value: value.to_owned(),
            label,
            gap,
            gap_low: gap - 1.96 * se,
            gap_high: gap + 1.96 * se,
            low_n: w.n < cfg.min_n || wo.n < cfg.min_n,
            with: low(w, cfg.min_n),
            without: low(wo, cfg.min_n),
        })
    };
    let mut drivers: Vec<Driver> = cause_nps
        .iter()
        .filter_map(|(v, acc)| {
            let label = option_label(&list, &cfg.root_causes, v, &lang);
            driver("root_cause", v, label, acc, &overall)
        })
        .chain(ratings.iter().zip(&low_nps).filter_map(|(q, (lo, rated))| {
            driver("touchpoint", q, short_of(&list, q, &lang), lo, rated)
        }))
        .collect();
    drivers.sort_by(|a, b| a.gap.total_cmp(&b.gap).then_with(|| a.value.cmp(&b.value)));
    let counts = |q: &str, acc: MultiAcc| -> Option<OptionCounts> {
        question(&list, q)?;
        let mut options: Vec<CountShare> = acc
            .counts
            .into_iter()
            .map(|(v, c)| CountShare {
                label: option_label(&list, q, &v, &lang),
                share: if acc.respondents == 0 {
                    0.0
                } else {
                    c as f64 / acc.respondents as f64
                },
                value: v,
                count: c,
            })
            .collect();
        options.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        Some(OptionCounts {
            question: q.to_owned(),
            label: short_of(&list, q, &lang),
            respondents: acc.respondents,
            options,
        })
    };
    let actions = store.list_actions(countries)?;
    Ok(Summary {
        by_campaign: by_campaign.finish(&list, &cfg.root_causes, &lang),
        actions,
        language: lang.clone(),
        countries: countries.to_vec(),
        dataset_version: hasher.finish(),
        interviews: n,
        excluded_without_consent: excluded,
        with_quality_flags,
        with_complaint,
        nps_question: cfg.nps.clone(),
        nps_overall: overall.stat("all", "all").map(|s| low(s, cfg.min_n)),
        drivers,
        base: Base {
            filter: filter.clone(),
            drafts,
            without_consent: excluded,
            rejected,
            min_n: cfg.min_n,
        },
        nps_by,
        satisfaction,
        complaint_categories: counts(&cfg.complaint_categories, cats),
        root_causes: counts(&cfg.root_causes, causes),
        themes: themes
            .into_iter()
            .map(|(l, c)| Themes {
                keywords: c.top_keywords(cfg.top_terms, cfg.min_term_count),
                phrases: c.top_phrases(cfg.top_terms, cfg.min_term_count),
                texts: c.texts,
                respondents: c.respondents,
                language: l,
            })
            .collect(),
        theme_section: {
            let mut t = theme_acc.finish(coding, &lang, cfg.min_term_count);
            for th in &mut t.themes {
                for g in &mut th.by_segment {
                    g.label = option_label(&list, "segment", &g.group, &lang);
                }
            }
            t
        },
    })
}

/// `s` marked when it counts fewer than `min` respondents.
fn low(mut s: NpsStat, min: u64) -> NpsStat {
    s.low_n = s.n < min;
    s
}

/// A question's short label in `lang` (its label when the form has none).
fn short_of(forms: &[&Form], name: &str, lang: &str) -> String {
    forms
        .iter()
        .find_map(|f| {
            f.question(name)
                .map(|q| q.short(lang, &f.def().default_language).to_owned())
        })
        .unwrap_or_else(|| name.to_owned())
}

fn country_label(lang: &str) -> &'static str {
    match lang {
        "fr" => "Pays",
        "pt" => "País",
        "ar" => "البلد",
        _ => "Country",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_and_its_interval() {
        let mut a = NpsAcc::default();
        for s in [10, 10, 9, 8, 7, 6, 3, 0, 10, 9] {
            a.add(s);
        }
        let s = a.stat("x", "x").unwrap();
        assert_eq!((s.promoters, s.passives, s.detractors, s.n), (5, 2, 3, 10));
        assert!((s.nps - 20.0).abs() < 1e-9);
        // p = .5, d = .3: var = (.8 - .04) / 10 = .076
        assert!((s.se - 100.0 * 0.076f64.sqrt()).abs() < 1e-9);
        assert!((s.ci_low - (20.0 - 1.96 * s.se)).abs() < 1e-9);
        let mut all = NpsAcc::default();
        all.add(10);
        let s = all.stat("y", "y").unwrap();
        assert_eq!((s.nps, s.se, s.ci_high), (100.0, 0.0, 100.0));
        assert!(NpsAcc::default().stat("z", "z").is_none());
    }
}
