//! Campaign progress: counts per country / place / employee, devices, NPS and
//! satisfaction by touchpoint and segment. Refreshes itself every 30 s.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use central_store::dashboard::{CampaignStats, TOUCHPOINTS, Tally};
use central_store::{Device, InterviewFilter, User, unix_now};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{HtmlError, HtmlQuery};
use super::i18n::Lang;
use super::layout::frame;
use super::{DashUser, svg};
use crate::AppState;
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

const MAX_ROWS: usize = 30;

#[derive(Debug, Deserialize)]
pub struct ProgressQuery {
    pub country: Option<String>,
}

/// Everything the progress page shows.
struct Progress {
    stats: CampaignStats,
    users: HashMap<String, User>,
    employees: usize,
    devices: Vec<Device>,
    /// The newest published version of each form.
    latest: BTreeMap<String, u32>,
    /// Place names by code.
    place_names: HashMap<String, String>,
}

/// The forms a device reported holding that are older than the newest
/// published version (`(form, held, newest)`).
fn outdated(d: &Device, latest: &BTreeMap<String, u32>) -> Vec<(String, u32, u32)> {
    survey_protocol::parse_form_versions(&d.forms)
        .into_iter()
        .filter_map(|(id, v)| {
            let newest = *latest.get(&id)?;
            (v < newest).then_some((id, v, newest))
        })
        .collect()
}

/// Devices per (form, reported version), for the versions table.
pub(super) fn version_counts<'a>(
    devices: impl IntoIterator<Item = &'a Device>,
) -> BTreeMap<(String, u32), usize> {
    let mut out = BTreeMap::new();
    for d in devices {
        for fv in survey_protocol::parse_form_versions(&d.forms) {
            *out.entry(fv).or_insert(0) += 1;
        }
    }
    out
}

fn load(
    state: &AppState,
    scope: &Scope,
    latest: BTreeMap<String, u32>,
) -> Result<Progress, ApiError> {
    let filter = InterviewFilter {
        countries: scope.filter(),
        ..InterviewFilter::default()
    };
    let stats = state.store.campaign_stats(&filter)?;
    let users = crate::service::users::users_in(state, scope)?;
    let employees = users
        .iter()
        .filter(|u| u.role == central_store::Role::Employee)
        .count();
    let mut devices = crate::service::users::devices_of(state, &users)?;
    // Never synced first, then those on an old form version, then the longest silent.
    devices.sort_by_key(|d| {
        (
            d.last_sync_at.is_some(),
            outdated(d, &latest).is_empty(),
            d.last_sync_at,
            d.created_at,
        )
    });
    Ok(Progress {
        stats,
        users: users.into_iter().map(|u| (u.id.clone(), u)).collect(),
        employees,
        devices,
        latest,
        place_names: state
            .store
            .list_places()?
            .into_iter()
            .map(|p| (p.code, p.name))
            .collect(),
    })
}

/// `GET /dashboard/?country=CI`.
pub async fn page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlQuery(q): HtmlQuery<ProgressQuery>,
) -> Result<Response, HtmlError> {
    // Agents work cases: their dashboard is the case queue.
    if who.principal.user.role == central_store::Role::Agent {
        return Ok(Redirect::to("/dashboard/cases").into_response());
    }
    // Analysts (the hackathon teams) turn the dataset into actions.
    if who.principal.user.role == central_store::Role::Analyst {
        return Ok(Redirect::to("/dashboard/actions").into_response());
    }
    let scope = Scope::resolve(&who.principal, Purpose::Read, q.country.as_deref())?;
    let countries = scope.countries().map(<[String]>::to_vec);
    let forms = state.fresh_forms().await;
    let lang = who.lang;
    let touchpoints: Vec<String> = TOUCHPOINTS
        .iter()
        .map(|tp| touchpoint_label(&forms, tp, lang))
        .collect();
    let latest: BTreeMap<String, u32> = forms
        .latest()
        .iter()
        .map(|f| (f.id().to_owned(), f.version()))
        .collect();
    let p = state.blocking(move |st| load(st, &scope, latest)).await?;
    let title = match &q.country {
        Some(c) if !c.is_empty() => lang.tf("progress.title_country", &[("country", c)]),
        _ => lang.t("progress.title").to_owned(),
    };
    let body = render(&p, &title, &who, countries.as_deref(), &touchpoints);
    Ok(frame(lang, &title, Some(&who), Some(30), body).into_response())
}

fn tally_cells(lang: Lang, t: &Tally) -> Markup {
    html! {
        td.n { (lang.int(t.interviews)) }
        td.n { (lang.dec(t.nps_score())) }
        @for i in 0..TOUCHPOINTS.len() { td.n { (lang.dec(t.sat_avg(i))) } }
    }
}

/// A touchpoint's short label from the newest form that asks it (the form
/// is the one home of charted labels, as in the report and the exports'
/// dictionary), else the dashboard catalogue's.
fn touchpoint_label(forms: &central_store::merge::FormRegistry, tp: &str, lang: Lang) -> String {
    forms
        .latest()
        .iter()
        .find_map(|f| {
            let q = f.question(tp)?;
            let short = q.short_label.as_ref()?;
            Some(short.get(lang.code(), &f.def().default_language).to_owned())
        })
        .unwrap_or_else(|| lang.touchpoint(tp))
}

fn tally_head(lang: Lang, first: &str, touchpoints: &[String]) -> Markup {
    html! {
        tr {
            th { (first) } th.n { (lang.t("common.interviews")) } th.n { (lang.t("common.nps")) }
            @for tp in touchpoints { th.n { (tp) } }
        }
    }
}

fn render(
    p: &Progress,
    title: &str,
    who: &DashUser,
    countries: Option<&[String]>,
    touchpoints: &[String],
) -> Markup {
    let lang = who.lang;
    let s = &p.stats;
    let now = unix_now();
    let day_ago = now - 24 * 3600;
    let never = p
        .devices
        .iter()
        .filter(|d| d.last_sync_at.is_none())
        .count();
    let on_old = p
        .devices
        .iter()
        .filter(|d| !outdated(d, &p.latest).is_empty())
        .count();
    let recent = p
        .devices
        .iter()
        .filter(|d| d.last_sync_at.is_some_and(|t| t >= day_ago))
        .count();
    let sat_items: Vec<(String, Option<f64>)> = TOUCHPOINTS
        .iter()
        .enumerate()
        .map(|(i, _)| (touchpoints[i].clone(), s.total.sat_avg(i)))
        .collect();
    let country_items: Vec<(String, Option<f64>)> = s
        .by_country
        .iter()
        .map(|k| (k.key.clone(), Some(k.tally.interviews as f64)))
        .collect();
    let max_country = s
        .by_country
        .iter()
        .map(|k| k.tally.interviews)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let name = |id: &str| {
        p.users
            .get(id)
            .map_or_else(|| id.to_owned(), |u| u.name.clone())
    };
    let active_employees = s.by_employee.len();
    let country_links: Vec<String> = match countries {
        Some(cs) if cs.len() == 1 => vec![],
        Some(cs) => cs.to_vec(),
        None => s.by_country.iter().map(|k| k.key.clone()).collect(),
    };
    html! {
        h1 { (title) }
        @if !country_links.is_empty() {
            p { (lang.t("progress.countries")) " "
                @for c in &country_links { a href=(format!("/dashboard/?country={c}")) { (c) } " " }
            }
        }
        div.cards {
            div.card { b #total { (lang.int(s.total.interviews)) } (lang.t("progress.card_interviews")) }
            div.card { b { (lang.dec(s.total.nps_score())) } (lang.t("common.nps")) }
            div.card { b { (lang.int(s.total.complaints)) } (lang.t("progress.card_complaints")) }
            div.card { b { (lang.int(active_employees)) " / " (lang.int(p.employees)) } (lang.t("progress.card_employees")) }
            div.card { b { (lang.int(p.devices.len())) } (lang.t("progress.card_devices")) }
            div.card { b #never-synced { (lang.int(never)) } (lang.t("progress.card_never")) }
            div.card { b { (lang.int(recent)) } (lang.t("progress.card_recent")) }
            div.card { b #old-forms { (lang.int(on_old)) } (lang.t("progress.card_old_forms")) }
        }
        div.grid {
            section {
                h2 { (lang.t("common.nps")) }
                (svg::nps_bar(lang, &s.total))
            }
            section {
                h2 { (lang.t("progress.satisfaction")) }
                (svg::hbars(lang, &sat_items, 5.0, None))
            }
            @if country_items.len() > 1 {
                section {
                    h2 { (lang.t("progress.by_country_chart")) }
                    (svg::hbars(lang, &country_items, max_country, Some("#12355b")))
                }
            }
            section {
                h2 { (lang.t("progress.review_states")) }
                table {
                    @for (st, n) in &s.by_review_state {
                        tr { td { span class=(format!("pill st-{st}")) { (lang.review_state(st)) } }
                             td.n { a href=(format!("/dashboard/reviews?review_state={st}")) { (lang.int(*n)) } } }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("progress.by_country")) }
            table #by-country {
                (tally_head(lang, lang.t("common.country"), touchpoints))
                @for k in &s.by_country {
                    tr { td { a href=(format!("/dashboard/?country={}", k.key)) { (k.key) } } (tally_cells(lang, &k.tally)) }
                }
            }
        }
        section {
            h2 { (lang.t("progress.by_segment")) }
            table #by-segment {
                (tally_head(lang, lang.t("common.segment"), touchpoints))
                @for k in &s.by_segment {
                    tr { td { @if k.key.is_empty() { span.muted { (lang.t("common.none")) } } @else { (lang.segment(&k.key)) } } (tally_cells(lang, &k.tally)) }
                }
            }
        }
        div.grid {
            section {
                h2 { (lang.t("progress.by_place")) @if s.by_place.len() > MAX_ROWS { span.muted { " " (top_of(lang, s.by_place.len())) } } }
                table #by-place {
                    tr { th { (lang.t("common.country")) } th { (lang.t("common.place")) } th.n { (lang.t("common.interviews")) } th.n { (lang.t("common.nps")) } }
                    @for pl in top_places(s) {
                        tr {
                            td { (pl.country) }
                            td {
                                @if pl.place_code.is_empty() {
                                    a href=(format!("/dashboard/reviews?country={}&city={}", pl.country, urlencode(&pl.city))) {
                                        @if pl.city.is_empty() { span.muted { (lang.t("progress.unknown_city")) } } @else { (pl.city) } }
                                    span.muted { " " (lang.t("progress.typed_city")) }
                                } @else {
                                    a href=(format!("/dashboard/reviews?country={}&place_code={}", pl.country, urlencode(&pl.place_code))) {
                                        @match (pl.place_code.as_str(), p.place_names.get(&pl.place_code)) {
                                            ("other", _) => strong.det { (lang.t("progress.place_other")) },
                                            (_, Some(name)) => (name),
                                            (code, None) => strong.det { (lang.tf("progress.place_unknown", &[("code", &code)])) },
                                        }
                                    }
                                    @if pl.place_code != "other" { span.muted { " " (pl.place_code) } }
                                }
                            }
                            td.n { (lang.int(pl.tally.interviews)) }
                            td.n { (lang.dec(pl.tally.nps_score())) }
                        }
                    }
                }
            }
            section {
                h2 { (lang.t("progress.by_employee")) @if s.by_employee.len() > MAX_ROWS { span.muted { " " (top_of(lang, s.by_employee.len())) } } }
                table #by-employee {
                    tr { th { (lang.t("common.employee")) } th.n { (lang.t("common.interviews")) } }
                    @for (id, n) in s.by_employee.iter().take(MAX_ROWS) {
                        tr { td { (name(id)) } td.n { (lang.int(*n)) } }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("progress.devices")) span.muted { " (" (lang.t("progress.devices_order")) @if p.devices.len() > MAX_ROWS { "; " (lang.tf("progress.n_of", &[("n", &lang.int(MAX_ROWS)), ("total", &lang.int(p.devices.len()))])) } ")" } }
            table #devices {
                tr { th { (lang.t("common.employee")) } th { (lang.t("progress.device")) } th { (lang.t("progress.enrolled")) } th { (lang.t("progress.last_sync")) } th { (lang.t("forms.title")) } }
                @for d in p.devices.iter().take(MAX_ROWS) {
                    @let old = outdated(d, &p.latest);
                    tr {
                        td { (name(&d.user_id)) }
                        td { (d.label) }
                        td { (lang.unix_time(d.created_at)) }
                        td { @match d.last_sync_at { Some(t) => (lang.unix_time(t)), None => strong.det { (lang.t("progress.never")) } } }
                        td {
                            @if d.forms.is_empty() { span.muted { (lang.t("progress.forms_not_reported")) } }
                            @else if old.is_empty() { (d.forms) }
                            @else {
                                strong.det { (d.forms) }
                                @for (id, _, newest) in &old { " · " (lang.tf("progress.not_yet_received", &[("form", id), ("version", newest)])) }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("progress.form_versions")) span.muted { " (" (lang.t("progress.form_versions_note")) ")" } }
            table #form-versions {
                tr { th { (lang.t("common.form")) } th.n { (lang.t("forms.head_version")) } th.n { (lang.t("progress.devices")) } th { "" } }
                @for ((id, v), n) in version_counts(&p.devices) {
                    tr {
                        td { (id) } td.n { (v) } td.n { (lang.int(n)) }
                        td { @match p.latest.get(&id) {
                            Some(newest) if *newest > v => strong.det { (lang.tf("progress.version_old", &[("version", newest)])) },
                            Some(_) => (lang.t("progress.version_current")),
                            None => span.muted { (lang.t("progress.version_unpublished")) },
                        } }
                    }
                }
            }
        }
        p.muted { (lang.tf("progress.updated", &[("time", &lang.unix_time(now)), ("login", &who.user().login)])) }
    }
}

/// `(top 30 of 45)`.
fn top_of(lang: Lang, total: usize) -> String {
    lang.tf(
        "progress.top_of",
        &[("n", &lang.int(MAX_ROWS)), ("total", &lang.int(total))],
    )
}

fn top_places(s: &CampaignStats) -> Vec<&central_store::dashboard::PlaceTally> {
    let mut v: Vec<_> = s.by_place.iter().collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.tally.interviews));
    v.truncate(MAX_ROWS);
    v
}

/// Percent-encode a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
