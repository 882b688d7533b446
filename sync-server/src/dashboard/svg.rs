//! Inline SVG charts (no script, no external files). Every SVG element is
//! closed explicitly: inside HTML, `<rect>` without `</rect>` would nest.

use central_store::dashboard::Tally;
use maud::{Markup, html};

use super::i18n::Lang;

const GREEN: &str = "#2f9e58";
const AMBER: &str = "#d8a300";
const RED: &str = "#d64533";
const BLUE: &str = "#2d6cb5";

/// Promoters / passives / detractors as one stacked bar, with the score.
/// The bar runs left to right in every language; the legend line follows the
/// language's direction.
pub fn nps_bar(lang: Lang, t: &Tally) -> Markup {
    let w = 360.0;
    let n = t.with_nps.max(1) as f64;
    let parts = [
        (t.promoters, GREEN, lang.band("promoter")),
        (t.passives, AMBER, lang.band("passive")),
        (t.detractors, RED, lang.band("detractor")),
    ];
    let mut x = 0.0;
    let bars: Vec<(f64, f64, u64, &str, &str)> = parts
        .iter()
        .map(|(count, color, label)| {
            let bw = w * *count as f64 / n;
            x += bw;
            (x - bw, bw, *count, *color, label.as_str())
        })
        .collect();
    // The legend starts at the left edge, or at the right one in Arabic.
    let legend_x = if lang.dir() == "rtl" { "360" } else { "0" };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width="100%" height="58" viewBox="0 0 360 58"
            direction="ltr" role="img" aria-label=(lang.t("svg.nps_split")) {
            @for (x, bw, count, color, label) in bars {
                rect x=(format!("{x:.1}")) y="0" width=(format!("{bw:.1}")) height="26" fill=(color) {
                    title { (lang.int(count)) " " (label) }
                }
                @if bw > 30.0 {
                    text x=(format!("{:.1}", x + bw / 2.0)) y="18" fill="#fff" font-size="12"
                        text-anchor="middle" { (lang.percent(100.0 * count as f64 / n)) }
                }
            }
            text x=(legend_x) y="46" font-size="12" fill="#1d2733" direction=(lang.dir()) {
                (lang.tf("svg.nps_legend", &[
                    ("promoters", &lang.int(t.promoters)),
                    ("passives", &lang.int(t.passives)),
                    ("detractors", &lang.int(t.detractors)),
                ]))
            }
        }
    }
}

/// Horizontal bars: `(label, value)` against `max`, value printed with one
/// decimal. Laid out left to right in every language (labels, then bars).
pub fn hbars(lang: Lang, items: &[(String, Option<f64>)], max: f64, color: Option<&str>) -> Markup {
    let row = 22.0;
    let h = row * items.len() as f64 + 4.0;
    let label_w = 130.0;
    let bar_w = 200.0;
    let color = color.unwrap_or(BLUE);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width="100%" height=(format!("{h:.0}"))
            viewBox=(format!("0 0 380 {h:.0}")) direction="ltr" role="img" {
            @for (i, (label, v)) in items.iter().enumerate() {
                @let y = i as f64 * row;
                text x=(format!("{:.0}", label_w - 6.0)) y=(format!("{:.0}", y + 15.0)) font-size="12"
                    text-anchor="end" fill="#1d2733" { (label) }
                rect x=(label_w) y=(format!("{:.0}", y + 3.0)) width=(bar_w) height="15" fill="#e8edf2" {}
                @if let Some(v) = v {
                    rect x=(label_w) y=(format!("{:.0}", y + 3.0))
                        width=(format!("{:.1}", bar_w * (v / max).clamp(0.0, 1.0))) height="15" fill=(color) {
                        title { (label) ": " (lang.fixed(*v, 2)) }
                    }
                    text x=(format!("{:.0}", label_w + bar_w + 6.0)) y=(format!("{:.0}", y + 15.0))
                        font-size="12" fill="#1d2733" { (lang.fixed(*v, 1)) }
                } @else {
                    text x=(format!("{:.0}", label_w + bar_w + 6.0)) y=(format!("{:.0}", y + 15.0))
                        font-size="12" fill="#6b7785" { "–" }
                }
            }
        }
    }
}

/// A small world map grid (equirectangular) with a marker at the point.
pub fn map_point(lang: Lang, lat: f64, lon: f64) -> Markup {
    let x = (lon + 180.0) / 360.0 * 240.0;
    let y = (90.0 - lat) / 180.0 * 120.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" viewBox="0 0 240 120"
            role="img" aria-label=(lang.t("svg.location")) {
            rect x="0" y="0" width="240" height="120" fill="#dbe7fb" {}
            @for i in 1..6 {
                line x1=(i * 40) y1="0" x2=(i * 40) y2="120" stroke="#fff" stroke-width="0.5" {}
            }
            @for i in 1..3 {
                line x1="0" y1=(i * 40) x2="240" y2=(i * 40) stroke="#fff" stroke-width="0.5" {}
            }
            line x1="0" y1="60" x2="240" y2="60" stroke="#9ab" stroke-width="0.8" {}
            circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="4" fill=(RED) stroke="#fff" {}
        }
    }
}
