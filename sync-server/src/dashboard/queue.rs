//! The review queue: filters (country, place, segment, dates, NPS band, review
//! state, complaint category, quality flag), newest or most flagged first, 50
//! per page, with a bulk review of the ticked interviews ([`super::bulk`]).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Html;
use central_store::dashboard::{REVIEW_STATES, ReviewPage};
use maud::{Markup, html};

use super::DashUser;
use super::error::{HtmlError, HtmlQuery};
use super::layout::{frame, nps_class, rfc3339_short};
use super::progress::urlencode;
use crate::AppState;
use crate::scope::{Purpose, Scope};
use crate::service::queue::{self as service, QueueParams, given};

impl QueueParams {
    /// This query string with another page number.
    fn with_page(&self, page: usize) -> String {
        let mut q = Vec::new();
        for (k, v) in [
            ("country", &self.country),
            ("city", &self.city),
            ("place_code", &self.place_code),
            ("segment", &self.segment),
            ("review_state", &self.review_state),
            ("nps_band", &self.nps_band),
            ("from", &self.from),
            ("to", &self.to),
            ("complaint", &self.complaint),
            ("check", &self.check),
            ("sort", &self.sort),
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
    HtmlQuery(params): HtmlQuery<QueueParams>,
) -> Result<Html<String>, HtmlError> {
    let result = service::page(&state, &who.principal, &params).await?;
    let ids: Vec<String> = result.items.iter().map(|r| r.created_by.clone()).collect();
    let names = crate::service::users::names(&state, ids).await?;
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
    let countries = Scope::resolve(&who.principal, Purpose::Read, None)?.filter();
    let body = render(
        &params,
        &result,
        &names,
        &countries,
        &segments,
        &categories,
        &who.csrf,
    );
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
    csrf: &str,
) -> Markup {
    let page = p.page.unwrap_or(1).max(1);
    let pages = (r.total as usize).div_ceil(service::PAGE_SIZE).max(1);
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
            label { "Place code" input name="place_code" id="place_code" value=(given(&p.place_code).unwrap_or_default()); }
            label { "Segment" (select("segment", &p.segment, segments)) }
            label { "From" input type="date" name="from" id="from" value=(given(&p.from).unwrap_or_default()); }
            label { "To" input type="date" name="to" id="to" value=(given(&p.to).unwrap_or_default()); }
            label { "NPS" (select("nps_band", &p.nps_band, &bands)) }
            label { "Review state" (select("review_state", &p.review_state, &states)) }
            label { "Complaint" (select("complaint", &p.complaint, categories)) }
            label { "Quality flag" (select("check", &p.check, &check_options())) }
            label { "Sort" (select_sort(&p.sort)) }
            button.primary type="submit" id="apply" { "Filter" }
            a href="/dashboard/reviews" { "Clear" }
        }
        p #count { (r.total) " interviews" @if pages > 1 { " · page " (page) " of " (pages) } }
        form #bulk method="post" action="/dashboard/reviews/bulk" {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="back" value=(format!("/dashboard/reviews?{}", p.with_page(page)));
        section {
            table #queue {
                tr { th { "✓" } th { "Created" } th { "Country" } th { "Place" } th { "Segment" } th { "Employee" }
                     th.n { "NPS" } th { "Complaint" } th { "Review" } th { "Tags" } th { "Flags" } }
                @for it in &r.items {
                    tr {
                        td { input type="checkbox" name="ids" value=(it.interview_id) aria-label="select"; }
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
                        td.flags { @for c in &it.checks { span.pill.flag { (c.as_str().replace('_', " ")) } " " } }
                    }
                }
            }
        }
        @if !r.items.is_empty() {
            div.bulk {
                label { "Set the ticked interviews to" (select_state()) }
                button.primary type="submit" id="bulk-apply" { "Apply" }
            }
        }
        }
        div.pager {
            @if page > 1 { a rel="prev" href=(format!("/dashboard/reviews?{}", p.with_page(page - 1))) { "← newer" } }
            @if page < pages { a rel="next" href=(format!("/dashboard/reviews?{}", p.with_page(page + 1))) { "older →" } }
        }
    }
}

/// The quality-check filter: any flag, or one check.
fn check_options() -> Vec<(String, String)> {
    let mut out = vec![("any".to_owned(), "any flag".to_owned())];
    out.extend(
        survey_model::checks::CHECKS
            .iter()
            .map(|c| (c.as_str().to_owned(), c.as_str().replace('_', " "))),
    );
    out
}

fn select_sort(current: &Option<String>) -> Markup {
    let flags = given(current).as_deref() == Some("flags");
    html! {
        select name="sort" id="sort" {
            option value="newest" selected[!flags] { "newest first" }
            option value="flags" selected[flags] { "most flags first" }
        }
    }
}

fn select_state() -> Markup {
    html! {
        select name="state" id="bulk-state" {
            @for s in REVIEW_STATES.iter().filter(|s| **s != "unreviewed") {
                option value=(s) { (s.replace('_', " ")) }
            }
        }
    }
}
