//! Campaign progress: counts per country / place / employee, devices, NPS and
//! satisfaction by touchpoint and segment. Refreshes itself every 30 s.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::response::Html;
use central_store::dashboard::{CampaignStats, TOUCHPOINTS, Tally};
use central_store::{Device, InterviewFilter, User, unix_now};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{HtmlError, HtmlQuery};
use super::layout::{dec, frame, unix_time};
use super::{DashUser, svg};
use crate::AppState;
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// Touchpoint labels, in [`TOUCHPOINTS`] order.
pub const TOUCHPOINT_LABELS: [&str; 5] =
    ["Network", "Shops", "Call centre", "Billing", "Mobile Money"];

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
) -> Result<Html<String>, HtmlError> {
    let scope = Scope::resolve(&who.principal, Purpose::Read, q.country.as_deref())?;
    let countries = scope.countries().map(<[String]>::to_vec);
    let latest: BTreeMap<String, u32> = state
        .fresh_forms()
        .await
        .latest()
        .iter()
        .map(|f| (f.id().to_owned(), f.version()))
        .collect();
    let p = state.blocking(move |st| load(st, &scope, latest)).await?;
    let title = match &q.country {
        Some(c) if !c.is_empty() => format!("Campaign progress · {c}"),
        _ => "Campaign progress".to_owned(),
    };
    let body = render(&p, &title, &who, countries.as_deref());
    Ok(frame(&title, Some(&who), Some(30), body))
}

fn tally_cells(t: &Tally) -> Markup {
    html! {
        td.n { (t.interviews) }
        td.n { (dec(t.nps_score())) }
        @for i in 0..TOUCHPOINTS.len() { td.n { (dec(t.sat_avg(i))) } }
    }
}

fn tally_head(first: &str) -> Markup {
    html! {
        tr {
            th { (first) } th.n { "Interviews" } th.n { "NPS" }
            @for l in TOUCHPOINT_LABELS { th.n { (l) } }
        }
    }
}

fn render(p: &Progress, title: &str, who: &DashUser, countries: Option<&[String]>) -> Markup {
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
    let sat_items: Vec<(String, Option<f64>)> = TOUCHPOINT_LABELS
        .iter()
        .enumerate()
        .map(|(i, l)| ((*l).to_owned(), s.total.sat_avg(i)))
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
            p { "Countries: "
                @for c in &country_links { a href=(format!("/dashboard/?country={c}")) { (c) } " " }
            }
        }
        div.cards {
            div.card { b #total { (s.total.interviews) } "interviews synced" }
            div.card { b { (dec(s.total.nps_score())) } "NPS" }
            div.card { b { (s.total.complaints) } "with a complaint" }
            div.card { b { (active_employees) " / " (p.employees) } "employees with interviews" }
            div.card { b { (p.devices.len()) } "devices enrolled" }
            div.card { b #never-synced { (never) } "never synced" }
            div.card { b { (recent) } "synced in 24 h" }
            div.card { b #old-forms { (on_old) } "on an old form version" }
        }
        div.grid {
            section {
                h2 { "NPS" }
                (svg::nps_bar(&s.total))
            }
            section {
                h2 { "Satisfaction by touchpoint (1–5)" }
                (svg::hbars(&sat_items, 5.0, None))
            }
            @if country_items.len() > 1 {
                section {
                    h2 { "Interviews by country" }
                    (svg::hbars(&country_items, max_country, Some("#12355b")))
                }
            }
            section {
                h2 { "Review states" }
                table {
                    @for (st, n) in &s.by_review_state {
                        tr { td { span class=(format!("pill st-{st}")) { (st.replace('_', " ")) } }
                             td.n { a href=(format!("/dashboard/reviews?review_state={st}")) { (n) } } }
                    }
                }
            }
        }
        section {
            h2 { "By country" }
            table #by-country {
                (tally_head("Country"))
                @for k in &s.by_country {
                    tr { td { a href=(format!("/dashboard/?country={}", k.key)) { (k.key) } } (tally_cells(&k.tally)) }
                }
            }
        }
        section {
            h2 { "By segment" }
            table #by-segment {
                (tally_head("Segment"))
                @for k in &s.by_segment {
                    tr { td { @if k.key.is_empty() { span.muted { "none" } } @else { (k.key.replace('_', " ")) } } (tally_cells(&k.tally)) }
                }
            }
        }
        div.grid {
            section {
                h2 { "By place" @if s.by_place.len() > MAX_ROWS { span.muted { " (top " (MAX_ROWS) " of " (s.by_place.len()) ")" } } }
                table #by-place {
                    tr { th { "Country" } th { "Place" } th.n { "Interviews" } th.n { "NPS" } }
                    @for pl in top_places(s) {
                        tr {
                            td { (pl.country) }
                            td {
                                @if pl.place_code.is_empty() {
                                    a href=(format!("/dashboard/reviews?country={}&city={}", pl.country, urlencode(&pl.city))) {
                                        @if pl.city.is_empty() { span.muted { "unknown" } } @else { (pl.city) } }
                                    span.muted { " (typed, form v1)" }
                                } @else {
                                    a href=(format!("/dashboard/reviews?country={}&place_code={}", pl.country, urlencode(&pl.place_code))) {
                                        @match (pl.place_code.as_str(), p.place_names.get(&pl.place_code)) {
                                            ("other", _) => strong.det { "Other (typed by hand, to review)" },
                                            (_, Some(name)) => (name),
                                            (code, None) => strong.det { (code) " (not in the place list)" },
                                        }
                                    }
                                    @if pl.place_code != "other" { span.muted { " " (pl.place_code) } }
                                }
                            }
                            td.n { (pl.tally.interviews) }
                            td.n { (dec(pl.tally.nps_score())) }
                        }
                    }
                }
            }
            section {
                h2 { "By employee" @if s.by_employee.len() > MAX_ROWS { span.muted { " (top " (MAX_ROWS) " of " (s.by_employee.len()) ")" } } }
                table #by-employee {
                    tr { th { "Employee" } th.n { "Interviews" } }
                    @for (id, n) in s.by_employee.iter().take(MAX_ROWS) {
                        tr { td { (name(id)) } td.n { (n) } }
                    }
                }
            }
        }
        section {
            h2 { "Devices" span.muted { " (never synced first, then old form versions" @if p.devices.len() > MAX_ROWS { "; " (MAX_ROWS) " of " (p.devices.len()) } ")" } }
            table #devices {
                tr { th { "Employee" } th { "Device" } th { "Enrolled" } th { "Last sync" } th { "Forms" } }
                @for d in p.devices.iter().take(MAX_ROWS) {
                    @let old = outdated(d, &p.latest);
                    tr {
                        td { (name(&d.user_id)) }
                        td { (d.label) }
                        td { (unix_time(d.created_at)) }
                        td { @match d.last_sync_at { Some(t) => (unix_time(t)), None => strong.det { "never" } } }
                        td {
                            @if d.forms.is_empty() { span.muted { "not reported" } }
                            @else if old.is_empty() { (d.forms) }
                            @else {
                                strong.det { (d.forms) }
                                @for (id, _, newest) in &old { " · " (id) " v" (newest) " not yet received" }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Form versions on devices" span.muted { " (reported at each sync; a version received in one sync is reported at the next)" } }
            table #form-versions {
                tr { th { "Form" } th.n { "Version" } th.n { "Devices" } th { "" } }
                @for ((id, v), n) in version_counts(&p.devices) {
                    tr {
                        td { (id) } td.n { (v) } td.n { (n) }
                        td { @match p.latest.get(&id) {
                            Some(newest) if *newest > v => strong.det { "old (newest is v" (newest) ")" },
                            Some(_) => "current",
                            None => span.muted { "not published here" },
                        } }
                    }
                }
            }
        }
        p.muted { "Updated " (unix_time(now)) " UTC · refreshes every 30 s · signed in as " (who.user().login) }
    }
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
