//! The review queue: filters (country, place, segment, dates, NPS band, review
//! state, complaint category), newest first, 50 per page.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;
use central_store::InterviewFilter;
use central_store::dashboard::{NpsBand, REVIEW_STATES, ReviewPage, ReviewQuery};
use maud::{Markup, html};
use serde::Deserialize;

use super::DashUser;
use super::layout::{frame, nps_class, rfc3339_short};
use super::progress::urlencode;
use crate::AppState;
use crate::auth::{Action, Principal, authorize, readable_countries};
use crate::error::ApiError;

/// Interviews per page.
pub const PAGE_SIZE: usize = 50;

/// Query parameters of the queue (HTML page and JSON API alike). Empty values
/// mean "any", as HTML forms send them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct QueueParams {
    pub country: Option<String>,
    pub city: Option<String>,
    pub segment: Option<String>,
    pub review_state: Option<String>,
    pub nps_band: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub complaint: Option<String>,
    pub page: Option<usize>,
}

fn given(v: &Option<String>) -> Option<String> {
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
        let countries = match given(&self.country) {
            Some(c) => {
                authorize(p, Action::ReadInterviews { country: &c })?;
                vec![c]
            }
            None => match readable_countries(p) {
                None => vec![],
                Some(cs) if cs.is_empty() => {
                    return Err(ApiError::Forbidden("no country assigned".into()));
                }
                Some(cs) => {
                    for c in &cs {
                        authorize(p, Action::ReadInterviews { country: c })?;
                    }
                    cs
                }
            },
        };
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
        let page = self.page.unwrap_or(1).clamp(1, 100_000);
        Ok(ReviewQuery {
            base: InterviewFilter {
                countries,
                city: given(&self.city),
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
        })
    }

    /// This query string with another page number.
    fn with_page(&self, page: usize) -> String {
        let mut q = Vec::new();
        for (k, v) in [
            ("country", &self.country),
            ("city", &self.city),
            ("segment", &self.segment),
            ("review_state", &self.review_state),
            ("nps_band", &self.nps_band),
            ("from", &self.from),
            ("to", &self.to),
            ("complaint", &self.complaint),
        ] {
            if let Some(v) = given(v) {
                q.push(format!("{k}={}", urlencode(&v)));
            }
        }
        q.push(format!("page={page}"));
        q.join("&")
    }
}

/// `GET /dashboard/reviews?...`.
pub async fn page(
    State(state): State<AppState>,
    who: DashUser,
    Query(params): Query<QueueParams>,
) -> Result<Html<String>, ApiError> {
    let q = params.to_query(&who.principal)?;
    let (result, names) = state
        .blocking(move |st| {
            let result = st.store.review_queue(&q)?;
            let mut names = HashMap::new();
            for r in &result.items {
                if !names.contains_key(&r.created_by)
                    && let Some(u) = st.store.user(&r.created_by)?
                {
                    names.insert(r.created_by.clone(), u.name);
                }
            }
            Ok((result, names))
        })
        .await?;
    let forms = state.forms();
    let (segments, categories) = forms
        .latest()
        .first()
        .map(|f| {
            let opts = |n: &str| {
                f.question(n)
                    .map(|q| {
                        q.options
                            .iter()
                            .map(|o| (o.value.clone(), o.label.get("en", "en").to_owned()))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            };
            (opts("segment"), opts("complaint_categories"))
        })
        .unwrap_or_default();
    let countries: Vec<String> = readable_countries(&who.principal).unwrap_or_default();
    let body = render(&params, &result, &names, &countries, &segments, &categories);
    Ok(page_frame(&who, body))
}

fn page_frame(who: &DashUser, body: Markup) -> Html<String> {
    frame("Review queue", Some(who), None, body)
}

fn select(name: &str, current: &Option<String>, options: &[(String, String)]) -> Markup {
    let cur = given(current).unwrap_or_default();
    html! {
        select name=(name) id=(name) {
            option value="" { "any" }
            @for (v, l) in options {
                option value=(v) selected[*v == cur] { (l) }
            }
        }
    }
}

fn render(
    p: &QueueParams,
    r: &ReviewPage,
    names: &HashMap<String, String>,
    countries: &[String],
    segments: &[(String, String)],
    categories: &[(String, String)],
) -> Markup {
    let page = p.page.unwrap_or(1).max(1);
    let pages = (r.total as usize).div_ceil(PAGE_SIZE).max(1);
    let states: Vec<(String, String)> = REVIEW_STATES
        .iter()
        .map(|s| ((*s).to_owned(), s.replace('_', " ")))
        .collect();
    let bands: Vec<(String, String)> = ["promoter", "passive", "detractor"]
        .iter()
        .map(|s| ((*s).to_owned(), format!("{s}s")))
        .collect();
    let country_opts: Vec<(String, String)> =
        countries.iter().map(|c| (c.clone(), c.clone())).collect();
    html! {
        h1 { "Review queue" }
        form.filters method="get" action="/dashboard/reviews" {
            label { "Country"
                @if country_opts.is_empty() {
                    input name="country" id="country" size="4" value=(given(&p.country).unwrap_or_default());
                } @else { (select("country", &p.country, &country_opts)) }
            }
            label { "City or village" input name="city" id="city" value=(given(&p.city).unwrap_or_default()); }
            label { "Segment" (select("segment", &p.segment, segments)) }
            label { "From" input type="date" name="from" id="from" value=(given(&p.from).unwrap_or_default()); }
            label { "To" input type="date" name="to" id="to" value=(given(&p.to).unwrap_or_default()); }
            label { "NPS" (select("nps_band", &p.nps_band, &bands)) }
            label { "Review state" (select("review_state", &p.review_state, &states)) }
            label { "Complaint" (select("complaint", &p.complaint, categories)) }
            button.primary type="submit" id="apply" { "Filter" }
            a href="/dashboard/reviews" { "Clear" }
        }
        p #count { (r.total) " interviews" @if pages > 1 { " · page " (page) " of " (pages) } }
        section {
            table #queue {
                tr { th { "Created" } th { "Country" } th { "Place" } th { "Segment" } th { "Employee" }
                     th.n { "NPS" } th { "Complaint" } th { "Review" } th { "Tags" } }
                @for it in &r.items {
                    tr {
                        td { a href=(format!("/dashboard/interviews/{}", it.interview_id)) { (rfc3339_short(&it.created_at)) } }
                        td { (it.country) }
                        td { (it.answer_str("city").unwrap_or("")) }
                        td { (it.answer_str("segment").unwrap_or("").replace('_', " ")) }
                        td { (names.get(&it.created_by).map_or(it.created_by.as_str(), String::as_str)) }
                        td.n { @if let Some(n) = it.answer_i64("nps") { span class=(nps_class(n)) { (n) } } }
                        td { (central_store::dashboard::complaint_categories_of(it).join(", ").replace('_', " ")) }
                        td { @let st = it.review_state.as_deref().unwrap_or("unreviewed");
                             span class=(format!("pill st-{st}")) { (st.replace('_', " ")) } }
                        td { (it.tags.join(", ")) }
                    }
                }
            }
        }
        div.pager {
            @if page > 1 { a rel="prev" href=(format!("/dashboard/reviews?{}", p.with_page(page - 1))) { "← newer" } }
            @if page < pages { a rel="next" href=(format!("/dashboard/reviews?{}", p.with_page(page + 1))) { "older →" } }
        }
    }
}
