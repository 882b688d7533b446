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
use super::i18n::Lang;
use super::layout::{frame, nps_class};
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
                            .map(|o| {
                                (
                                    o.value.clone(),
                                    o.label.get(who.lang.code(), "en").to_owned(),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            };
            (opts("segment"), opts("complaint_categories"))
        })
        .unwrap_or_default();
    let countries = Scope::resolve(&who.principal, Purpose::Read, None)?.filter();
    let body = render(
        &who,
        &params,
        &result,
        &names,
        &countries,
        &segments,
        &categories,
    );
    Ok(page_frame(&who, body))
}

fn page_frame(who: &DashUser, body: Markup) -> Html<String> {
    frame(who.lang, who.lang.t("queue.title"), Some(who), None, body)
}

fn select(
    lang: Lang,
    name: &str,
    current: &Option<String>,
    options: &[(String, String)],
) -> Markup {
    let cur = given(current).unwrap_or_default();
    html! {
        select name=(name) id=(name) {
            option value="" { (lang.t("queue.any")) }
            @for (v, l) in options {
                option value=(v) selected[*v == cur] { (l) }
            }
        }
    }
}

/// The labels of `codes` among `options` (the code itself when unknown).
fn labels(lang: Lang, codes: &[String], options: &[(String, String)]) -> String {
    let labels: Vec<String> = codes
        .iter()
        .map(|c| {
            options
                .iter()
                .find(|(v, _)| v == c)
                .map_or_else(|| c.replace('_', " "), |(_, l)| l.clone())
        })
        .collect();
    lang.list(&labels)
}

fn render(
    who: &DashUser,
    p: &QueueParams,
    r: &ReviewPage,
    names: &HashMap<String, String>,
    countries: &[String],
    segments: &[(String, String)],
    categories: &[(String, String)],
) -> Markup {
    let (lang, csrf) = (who.lang, who.csrf.as_str());
    let page = p.page.unwrap_or(1).max(1);
    let pages = (r.total as usize).div_ceil(service::PAGE_SIZE).max(1);
    let states: Vec<(String, String)> = REVIEW_STATES
        .iter()
        .map(|s| ((*s).to_owned(), lang.review_state(s)))
        .collect();
    let bands: Vec<(String, String)> = ["promoter", "passive", "detractor"]
        .iter()
        .map(|s| ((*s).to_owned(), lang.band(s)))
        .collect();
    let country_opts: Vec<(String, String)> =
        countries.iter().map(|c| (c.clone(), c.clone())).collect();
    // The analysis report of the same selection (the report takes these
    // filters; city and the quality filters are the queue's own).
    let report: Vec<(&str, String)> = [
        ("lang", Some(lang.code().to_owned())),
        ("country", given(&p.country)),
        ("place", given(&p.place_code)),
        ("segment", given(&p.segment)),
        ("from", given(&p.from)),
        ("to", given(&p.to)),
        ("review_state", given(&p.review_state)),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let report = format!(
        "/api/v1/report?{}",
        serde_urlencoded::to_string(&report).unwrap_or_default()
    );
    html! {
        h1 { (lang.t("queue.title")) }
        p { a #queue-report href=(report) { (lang.t("queue.report")) } }
        form.filters method="get" action="/dashboard/reviews" {
            label { (lang.t("common.country"))
                @if country_opts.is_empty() {
                    input name="country" id="country" size="4" value=(given(&p.country).unwrap_or_default());
                } @else { (select(lang, "country", &p.country, &country_opts)) }
            }
            label { (lang.t("queue.city")) input name="city" id="city" value=(given(&p.city).unwrap_or_default()); }
            label { (lang.t("queue.place_code")) input name="place_code" id="place_code" value=(given(&p.place_code).unwrap_or_default()); }
            label { (lang.t("common.segment")) (select(lang, "segment", &p.segment, segments)) }
            label { (lang.t("queue.from")) input type="date" name="from" id="from" value=(given(&p.from).unwrap_or_default()); }
            label { (lang.t("queue.to")) input type="date" name="to" id="to" value=(given(&p.to).unwrap_or_default()); }
            label { (lang.t("common.nps")) (select(lang, "nps_band", &p.nps_band, &bands)) }
            label { (lang.t("common.review_state")) (select(lang, "review_state", &p.review_state, &states)) }
            label { (lang.t("queue.complaint")) (select(lang, "complaint", &p.complaint, categories)) }
            label { (lang.t("queue.check")) (select(lang, "check", &p.check, &check_options(lang))) }
            label { (lang.t("queue.sort")) (select_sort(lang, &p.sort)) }
            button.primary type="submit" id="apply" { (lang.t("queue.filter")) }
            a href="/dashboard/reviews" { (lang.t("queue.clear")) }
        }
        p #count { (lang.tf("queue.count", &[("n", &lang.int(r.total))])) @if pages > 1 { " · " (lang.tf("queue.page", &[("page", &lang.int(page)), ("pages", &lang.int(pages))])) } }
        form #bulk method="post" action="/dashboard/reviews/bulk" {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="back" value=(format!("/dashboard/reviews?{}", p.with_page(page)));
        section {
            table #queue {
                tr { th { "✓" } th { (lang.t("queue.created")) } th { (lang.t("common.country")) } th { (lang.t("common.place")) } th { (lang.t("common.segment")) } th { (lang.t("common.employee")) }
                     th.n { (lang.t("common.nps")) } th { (lang.t("queue.complaint")) } th { (lang.t("queue.review")) } th { (lang.t("queue.tags_head")) } th { (lang.t("queue.flags_head")) } }
                @for it in &r.items {
                    tr {
                        td { input type="checkbox" name="ids" value=(it.interview_id) aria-label=(lang.t("queue.select")); }
                        td { a href=(format!("/dashboard/interviews/{}", it.interview_id)) { (lang.rfc3339_short(&it.created_at)) } }
                        td { (it.country) }
                        td { (it.answer_str("city").unwrap_or("")) }
                        td { (it.answer_str("segment").map(|s| lang.segment(s)).unwrap_or_default()) }
                        td { (names.get(&it.created_by).map_or(it.created_by.as_str(), String::as_str)) }
                        td.n { @if let Some(n) = it.answer_i64("nps") { span class=(nps_class(n)) { (n) } } }
                        td { (labels(lang, &central_store::dashboard::complaint_categories_of(it), categories)) }
                        td { @let st = it.review_state.as_deref().unwrap_or("unreviewed");
                             span class=(format!("pill st-{st}")) { (lang.review_state(st)) } }
                        td { (it.tags.join(", ")) }
                        td.flags { @for c in &it.checks { span.pill.flag title=(c.as_str()) { (lang.check(*c)) } " " } }
                    }
                }
            }
        }
        @if !r.items.is_empty() {
            div.bulk {
                label { (lang.t("queue.bulk_set")) (select_state(lang)) }
                button.primary type="submit" id="bulk-apply" { (lang.t("queue.bulk_apply")) }
            }
        }
        }
        div.pager {
            @if page > 1 { a rel="prev" href=(format!("/dashboard/reviews?{}", p.with_page(page - 1))) { (lang.t("queue.newer")) } }
            @if page < pages { a rel="next" href=(format!("/dashboard/reviews?{}", p.with_page(page + 1))) { (lang.t("queue.older")) } }
        }
    }
}

/// The quality-check filter: any flag, or one check.
fn check_options(lang: Lang) -> Vec<(String, String)> {
    let mut out = vec![("any".to_owned(), lang.t("queue.any_flag").to_owned())];
    out.extend(
        survey_model::checks::CHECKS
            .iter()
            .map(|c| (c.as_str().to_owned(), lang.check(*c))),
    );
    out
}

fn select_sort(lang: Lang, current: &Option<String>) -> Markup {
    let flags = given(current).as_deref() == Some("flags");
    html! {
        select name="sort" id="sort" {
            option value="newest" selected[!flags] { (lang.t("queue.sort_newest")) }
            option value="flags" selected[flags] { (lang.t("queue.sort_flags")) }
        }
    }
}

fn select_state(lang: Lang) -> Markup {
    html! {
        select name="state" id="bulk-state" {
            @for s in REVIEW_STATES.iter().filter(|s| **s != "unreviewed") {
                option value=(s) { (lang.review_state(s)) }
            }
        }
    }
}
