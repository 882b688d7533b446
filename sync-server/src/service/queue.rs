//! The review queue: validated filters (country, place, segment, dates, NPS
//! band, review state, complaint category, quality check), scoped to the
//! caller, newest or most flagged first, [`PAGE_SIZE`] per page. Shared by the dashboard page and the JSON API.

use central_store::InterviewFilter;
use central_store::dashboard::{NpsBand, REVIEW_STATES, ReviewPage, ReviewQuery};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// Interviews per page.
pub const PAGE_SIZE: usize = 50;

/// Query parameters of the queue (HTML page and JSON API alike). Empty values
/// mean "any", as HTML forms send them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct QueueParams {
    pub country: Option<String>,
    pub city: Option<String>,
    pub place_code: Option<String>,
    pub segment: Option<String>,
    pub review_state: Option<String>,
    pub nps_band: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub complaint: Option<String>,
    /// A quality check name ([`survey_model::checks::CHECKS`]) or `any`.
    pub check: Option<String>,
    /// `flags`: most flagged first; else (or `newest`) newest first.
    pub sort: Option<String>,
    pub page: Option<usize>,
}

/// A filter value, `None` when absent or blank (as HTML forms send them).
pub fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn is_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl QueueParams {
    /// Validate and scope: the country must be readable by `p` (403 if not);
    /// without one, the caller's countries.
    pub fn to_query(&self, p: &Principal) -> Result<ReviewQuery, ApiError> {
        let countries = Scope::resolve(p, Purpose::Read, self.country.as_deref())?.filter();
        let review_state = given(&self.review_state);
        if let Some(s) = &review_state
            && !REVIEW_STATES.contains(&s.as_str())
        {
            return Err(ApiError::BadRequest(format!(
                "review_state must be one of {}",
                REVIEW_STATES.join(", ")
            )));
        }
        let nps_band = match given(&self.nps_band) {
            None => None,
            Some(b) => Some(NpsBand::parse(&b).ok_or_else(|| {
                ApiError::BadRequest("nps_band must be promoter, passive or detractor".into())
            })?),
        };
        for d in [&self.from, &self.to] {
            if let Some(d) = given(d)
                && !is_day(&d)
            {
                return Err(ApiError::BadRequest("dates look like 2026-11-30".into()));
            }
        }
        let complaint = given(&self.complaint);
        if let Some(c) = &complaint
            && !is_code(c)
        {
            return Err(ApiError::BadRequest(
                "complaint is a category code such as network_coverage".into(),
            ));
        }
        let check = given(&self.check);
        if let Some(c) = &check
            && c != "any"
            && survey_model::Check::parse(c).is_none()
        {
            return Err(ApiError::BadRequest(format!(
                "check must be any or one of {}",
                survey_model::checks::CHECKS.map(|c| c.as_str()).join(", ")
            )));
        }
        let by_checks = match given(&self.sort).as_deref() {
            None | Some("newest") => false,
            Some("flags") => true,
            Some(_) => {
                return Err(ApiError::BadRequest("sort must be newest or flags".into()));
            }
        };
        let page = self.page.unwrap_or(1).clamp(1, 100_000);
        Ok(ReviewQuery {
            base: InterviewFilter {
                countries,
                city: given(&self.city),
                place_code: given(&self.place_code),
                segment: given(&self.segment),
                limit: Some(PAGE_SIZE),
                offset: Some((page - 1) * PAGE_SIZE),
                ..InterviewFilter::default()
            },
            review_state,
            nps_band,
            date_from: given(&self.from),
            date_to: given(&self.to),
            complaint_category: complaint,
            check,
            by_checks,
        })
    }
}

/// One page of the queue for `p`.
pub async fn page(
    state: &AppState,
    p: &Principal,
    params: &QueueParams,
) -> Result<ReviewPage, ApiError> {
    let q = params.to_query(p)?;
    state
        .blocking(move |st| Ok(st.store.review_queue(&q)?))
        .await
}
