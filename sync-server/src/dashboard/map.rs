//! Country maps for the command centre: the country's outline (Natural Earth
//! 1:110m, public domain, `schemas/geo/countries-110m.json`, about 12 KB for
//! the campaign's 17 countries) with the places as points sized by target and
//! coloured by pace, all inline SVG (no tiles, no script). A country without
//! an outline is drawn as the frame around its places.

use std::collections::HashMap;
use std::sync::LazyLock;

use maud::{Markup, html};
use serde::Deserialize;

use crate::service::command::PlaceDay;

#[derive(Deserialize)]
struct Outlines {
    countries: HashMap<String, Vec<Vec<[f64; 2]>>>,
}

/// Outer rings (lon, lat) by two-letter country code.
static OUTLINES: LazyLock<HashMap<String, Vec<Vec<[f64; 2]>>>> = LazyLock::new(|| {
    serde_json::from_str::<Outlines>(include_str!("../../../schemas/geo/countries-110m.json"))
        .map(|o| o.countries)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "country outlines do not parse");
            HashMap::new()
        })
});

const WIDTH: f64 = 280.0;

/// The three pace bands (done / expected by now): on pace from 0.9, behind
/// from 0.6, far behind below; as (colour, CSS class of `layout::STYLE`).
fn pace_band(pace: f64) -> (&'static str, &'static str) {
    if pace >= 0.9 {
        ("#2f9e58", "pace-ok")
    } else if pace >= 0.6 {
        ("#d8a300", "pace-behind")
    } else {
        ("#d64533", "pace-far")
    }
}

/// Colour of a pace, for SVG fills.
pub fn pace_colour(pace: f64) -> &'static str {
    pace_band(pace).0
}

/// CSS class of a pace, for text (the CSP allows no inline style).
pub fn pace_class(pace: f64) -> &'static str {
    pace_band(pace).1
}

/// One country's map with `places` on it.
pub fn country_map(country: &str, places: &[&PlaceDay]) -> Markup {
    let rings = OUTLINES.get(country);
    let pts: Vec<(f64, f64)> = places
        .iter()
        .filter_map(|p| Some((p.lon?, p.lat?)))
        .collect();
    let all = rings
        .into_iter()
        .flatten()
        .flatten()
        .map(|c| (c[0], c[1]))
        .chain(pts.iter().copied());
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return html! {};
    }
    let pad = 0.4;
    let (x0, x1, y0, y1) = (x0 - pad, x1 + pad, y0 - pad, y1 + pad);
    // Equirectangular, longitudes shrunk by the cosine of the middle latitude.
    let k = ((y0 + y1) / 2.0).to_radians().cos().max(0.2);
    let scale = WIDTH / ((x1 - x0) * k);
    let height = ((y1 - y0) * scale).clamp(80.0, 360.0);
    let scale = scale.min(height / (y1 - y0));
    let px = |lon: f64, lat: f64| ((lon - x0) * k * scale, (y1 - lat) * scale);
    let path: String = rings
        .into_iter()
        .flatten()
        .map(|ring| {
            let mut d = String::new();
            for (i, c) in ring.iter().enumerate() {
                let (x, y) = px(c[0], c[1]);
                d.push_str(&format!("{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" }));
            }
            d.push('Z');
            d
        })
        .collect();
    let max_target = places.iter().map(|p| p.target).max().unwrap_or(1).max(1) as f64;
    html! {
        svg.map xmlns="http://www.w3.org/2000/svg" width=(format!("{WIDTH:.0}")) height=(format!("{height:.0}"))
            viewBox=(format!("0 0 {WIDTH:.0} {height:.0}")) role="img" aria-label=(country) {
            @if path.is_empty() {
                rect x="0" y="0" width=(format!("{WIDTH:.0}")) height=(format!("{height:.0}")) fill="#eef3f8" stroke="#b8c4d0" {}
            } @else {
                path d=(path) fill="#eef3f8" stroke="#8fa1b3" stroke-width="0.8" {}
            }
            @for p in places {
                @if let (Some(lat), Some(lon)) = (p.lat, p.lon) {
                    @let (x, y) = px(lon, lat);
                    @let r = 3.0 + 8.0 * (p.target as f64 / max_target).sqrt();
                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(format!("{r:.1}"))
                        fill=(pace_colour(p.pace())) fill-opacity="0.8" stroke="#fff" {
                        title { (p.name) ": " (p.done) " / " (p.target) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_campaign_country_has_an_outline() {
        for line in survey_model::MCMB_PLACES_CSV.lines().skip(1) {
            let country = line.split(',').nth(1).unwrap_or_default();
            assert!(OUTLINES.contains_key(country), "{country}");
        }
    }
}
