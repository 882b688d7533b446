//! The command centre (`/dashboard/command`): the field day at a glance for
//! the caller's countries. Target vs done vs expected by now per country and
//! place (with segments), interviews per hour, flags per place, employees
//! without an interview, silent devices, and a map per country. Server-rendered
//! and light (no script): it refreshes itself every minute.

use axum::extract::State;
use axum::response::Html;
use maud::{Markup, html};
use serde::Deserialize;

use super::DashUser;
use super::error::{HtmlError, HtmlQuery};
use super::i18n::Lang;
use super::layout::frame;
use super::map::{country_map, pace_class, pace_colour};
use super::progress::urlencode;
use crate::AppState;
use crate::service::command::{CommandCentre, PlaceDay, command_centre};

/// Rows shown in the long lists (the counts say how many there are).
const MAX_ROWS: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub struct CommandQuery {
    pub country: Option<String>,
    /// The field day, `YYYY-MM-DD` (default: today, UTC).
    pub day: Option<String>,
    /// Devices silent for more than this many hours are listed (default 3).
    pub silent_h: Option<u32>,
}

/// `GET /dashboard/command?country=CI&day=2026-12-04&silent_h=3`.
pub async fn page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlQuery(q): HtmlQuery<CommandQuery>,
) -> Result<Html<String>, HtmlError> {
    let country = q.country.as_deref().filter(|c| !c.trim().is_empty());
    let cc = command_centre(
        &state,
        &who.principal,
        country,
        q.day.as_deref(),
        q.silent_h,
    )
    .await?;
    let lang = who.lang;
    let title = match country {
        Some(c) => format!("{} · {c}", lang.t("command.title")),
        None => lang.t("command.title").to_owned(),
    };
    Ok(frame(
        lang,
        &title,
        Some(&who),
        Some(60),
        render(lang, &cc, &title, country),
    ))
}

fn pct(lang: Lang, share: f64) -> String {
    lang.percent(100.0 * share)
}

/// A done / target bar with the expected-by-now mark.
fn progress_bar(done: u64, target: u64, expected: f64) -> Markup {
    let w = 120.0;
    let t = target.max(1) as f64;
    let dw = (w * done as f64 / t).min(w);
    let ex = (w * expected / t).min(w);
    let pace = if expected < 0.5 {
        1.0
    } else {
        done as f64 / expected
    };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width="120" height="12" viewBox="0 0 120 12" role="img" {
            rect x="0" y="2" width="120" height="8" fill="#e8edf2" {}
            rect x="0" y="2" width=(format!("{dw:.1}")) height="8" fill=(pace_colour(pace)) {}
            line x1=(format!("{ex:.1}")) y1="0" x2=(format!("{ex:.1}")) y2="12" stroke="#1d2733" stroke-width="1.5" {}
        }
    }
}

/// Interviews per hour (UTC) over the day, as 24 bars.
fn hours_chart(lang: Lang, hours: &[u64; 24]) -> Markup {
    let max = hours.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (bw, h) = (15.0, 90.0);
    html! {
        svg #hours xmlns="http://www.w3.org/2000/svg" width="100%" height="120" viewBox="0 0 360 120" direction="ltr" role="img"
            aria-label=(lang.t("command.per_hour")) {
            @for (i, n) in hours.iter().enumerate() {
                @let bh = h * *n as f64 / max;
                rect x=(format!("{:.1}", i as f64 * bw)) y=(format!("{:.1}", h - bh)) width=(format!("{:.1}", bw - 2.0))
                    height=(format!("{bh:.1}")) fill="#2d6cb5" {
                    title { (format!("{i:02}:00")) " · " (lang.int(*n)) }
                }
                @if i % 3 == 0 {
                    text x=(format!("{:.1}", i as f64 * bw)) y="106" font-size="10" fill="#51606f" { (format!("{i:02}h")) }
                }
            }
            text x="0" y="118" font-size="10" fill="#51606f" { (lang.tf("command.hours_legend", &[("n", &lang.int(max as u64))])) }
        }
    }
}

fn place_row(lang: Lang, p: &PlaceDay) -> Markup {
    html! {
        tr {
            td { (p.name) " " span.muted { (p.code) } }
            td { (p.country) }
            // A native bar: 120 rows stay light (the pace column says the rest).
            td { progress value=(p.done.min(p.target)) max=(p.target.max(1)) {} }
            td.n { (lang.int(p.done)) " / " (lang.int(p.target)) }
            td.n { (lang.fixed(p.expected, 0)) }
            td.n { span class=(pace_class(p.pace())) { (pct(lang, p.pace())) } }
            @for (_, d, t) in &p.segments { td.n { (lang.int(*d)) "/" (lang.int(*t)) } }
            td.n {
                @if p.flagged > 0 {
                    a href=(format!("/dashboard/reviews?place_code={}&check=any", urlencode(&p.code))) { (p.flagged) }
                } @else { "0" }
            }
            td.n { (lang.int(p.idle)) " / " (lang.int(p.assigned)) }
        }
    }
}

fn render(lang: Lang, cc: &CommandCentre, title: &str, country: Option<&str>) -> Markup {
    let target: u64 = cc.countries.iter().map(|c| c.target).sum();
    let done: u64 = cc.countries.iter().map(|c| c.done).sum();
    let expected: f64 = cc.countries.iter().map(|c| c.expected).sum();
    let flagged: u64 = cc.countries.iter().map(|c| c.flagged).sum();
    let segments: Vec<&str> = cc
        .places
        .first()
        .map(|p| p.segments.iter().map(|(s, _, _)| s.as_str()).collect())
        .unwrap_or_default();
    html! {
        h1 { (title) " · " (cc.day) }
        form.filters method="get" action="/dashboard/command" {
            @if let Some(c) = country { input type="hidden" name="country" value=(c); }
            label { (lang.t("command.day")) input type="date" name="day" id="day" value=(cc.day); }
            label { (lang.t("command.silent_for")) input type="number" min="1" max="240" name="silent_h" value=(cc.silent_hours); }
            button.primary type="submit" { (lang.t("command.show")) }
        }
        div.cards #command-cards {
            div.card { b #cc-target { (lang.int(target)) } (lang.t("command.target")) }
            div.card { b #cc-done { (lang.int(done)) } (lang.t("command.done")) }
            div.card { b #cc-expected { (lang.fixed(expected, 0)) } (lang.tf("command.expected", &[("p", &pct(lang, cc.elapsed))])) }
            div.card { b #cc-pace class=(pace_class(if expected < 0.5 { 1.0 } else { done as f64 / expected })) {
                (if target == 0 { "–".to_owned() } else { pct(lang, done as f64 / target as f64) }) } (lang.t("command.of_target")) }
            div.card { b #cc-flagged { (lang.int(flagged)) } (lang.t("command.flagged")) }
            div.card { b #cc-idle { (lang.int(cc.idle.len())) } (lang.t("command.idle_card")) }
            div.card { b #cc-silent { (lang.int(cc.silent.len())) } (lang.tf("command.silent_card", &[("h", &cc.silent_hours)])) }
        }
        div.grid {
            section {
                h2 { (lang.t("command.per_hour")) }
                (hours_chart(lang, &cc.hours))
            }
            @if cc.countries.len() > 1 {
                section {
                    h2 { (lang.t("command.countries")) }
                    table #cc-countries {
                        tr { th { (lang.t("common.country")) } th { (lang.t("command.progress")) } th.n { (lang.t("command.done_target")) } th.n { (lang.t("command.expected_head")) }
                             th.n { (lang.t("command.flagged_head")) } th.n { (lang.t("command.idle_head")) } th.n { (lang.t("command.silent_head")) } }
                        @for c in &cc.countries {
                            tr {
                                td { a href=(format!("/dashboard/command?country={}&day={}", c.country, cc.day)) { (c.country) } }
                                td { (progress_bar(c.done, c.target, c.expected)) }
                                td.n { (lang.int(c.done)) " / " (lang.int(c.target)) }
                                td.n { (lang.fixed(c.expected, 0)) }
                                td.n { (lang.int(c.flagged)) }
                                td.n { (lang.int(c.idle)) }
                                td.n { (lang.int(c.silent_devices)) }
                            }
                        }
                    }
                }
            }
        }
        section #maps {
            h2 { (lang.t("command.places")) }
            p.muted { (lang.t("command.map_legend")) }
            div.maps {
                @for c in &cc.countries {
                    @let places: Vec<&PlaceDay> = cc.places.iter().filter(|p| p.country == c.country).collect();
                    figure { (country_map(&c.country, &places)) figcaption { (c.country) " · " (lang.int(c.done)) " / " (lang.int(c.target)) } }
                }
            }
        }
        section {
            h2 { (lang.t("command.places_behind")) }
            table #cc-places {
                tr { th { (lang.t("common.place")) } th { (lang.t("common.country")) } th { (lang.t("command.progress")) } th.n { (lang.t("command.done_target")) }
                     th.n { (lang.t("command.expected_head")) } th.n { (lang.t("command.pace")) }
                     @for s in &segments { th.n { (lang.segment(s)) } }
                     th.n { (lang.t("command.flagged_head")) } th.n { (lang.t("command.idle_assigned")) } }
                @for p in &cc.places { (place_row(lang, p)) }
            }
            @if cc.places.is_empty() { p.muted { (lang.t("command.no_places")) } }
        }
        div.grid {
            section {
                h2 { (lang.tf("command.idle_title", &[("n", &lang.int(cc.idle.len()))])) }
                table #idle-employees {
                    tr { th { (lang.t("common.employee")) } th { (lang.t("common.place")) } th { (lang.t("command.team")) } }
                    @for e in cc.idle.iter().take(MAX_ROWS) {
                        tr { td { (e.name) " " span.muted { (e.login) } } td { (e.place_code) } td { (e.team) } }
                    }
                }
            }
            section {
                h2 { (lang.tf("command.silent_title", &[("h", &cc.silent_hours), ("n", &lang.int(cc.silent.len()))])) }
                table #silent-devices {
                    tr { th { (lang.t("common.employee")) } th { (lang.t("common.country")) } th { (lang.t("command.device")) } th { (lang.t("command.last_sync")) } }
                    @for d in cc.silent.iter().take(MAX_ROWS) {
                        tr { td { (d.employee) } td { (d.country) } td { (d.label) }
                             td { (d.last_sync_at.map_or_else(|| lang.t("command.never").to_owned(), |t| lang.unix_time(t))) } }
                    }
                }
            }
        }
    }
}
