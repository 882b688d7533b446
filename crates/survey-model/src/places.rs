//! The campaign's place list: where interviews happen (a city, village or
//! district of a country, with a stable code). Questions read it through
//! `choices_from: "places"` (see [`crate::form`]); a place becomes a choice
//! option whose value is its code and whose attributes (`country`, `region`,
//! `kind`, `setting`) a `choice_filter` can match.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::form::{ChoiceOption, Localized};

/// The name of the place list for `choices_from`.
pub const PLACES_LIST: &str = "places";

/// What a place is.
pub const PLACE_KINDS: [&str; 3] = ["city", "village", "district"];
/// Urban / peri-urban / rural.
pub const PLACE_SETTINGS: [&str; 3] = ["urban", "peri_urban", "rural"];

/// One place of the campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Stable code, unique in the campaign, e.g. `CI-ABJ-PLATEAU` (1..=64 of
    /// `[A-Za-z0-9_.-]`); what interviews, exports and dashboards carry.
    pub code: String,
    /// Two-letter ISO country code.
    pub country: String,
    pub name: String,
    /// Region or province (free text, may be empty); a cascade level.
    #[serde(default)]
    pub region: String,
    /// One of [`PLACE_KINDS`].
    pub kind: String,
    /// One of [`PLACE_SETTINGS`].
    pub setting: String,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
}

impl Place {
    /// Latitude and longitude, when both are known.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        Some((self.lat?, self.lon?))
    }

    /// Every problem of this place, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !crate::form::is_list_code(&self.code) {
            out.push((
                "code",
                format!(
                    "`{}` must be 1-64 letters, digits, `_`, `-` or `.`",
                    self.code
                ),
            ));
        }
        if !(self.country.len() == 2 && self.country.chars().all(|c| c.is_ascii_uppercase())) {
            out.push((
                "country",
                format!("`{}` is not a two-letter ISO code", self.country),
            ));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 120 {
            out.push(("name", "must be 1-120 characters".into()));
        }
        if self.region.chars().count() > 120 {
            out.push(("region", "must be at most 120 characters".into()));
        }
        if !PLACE_KINDS.contains(&self.kind.as_str()) {
            out.push((
                "kind",
                format!("`{}` is not one of {}", self.kind, PLACE_KINDS.join(", ")),
            ));
        }
        if !PLACE_SETTINGS.contains(&self.setting.as_str()) {
            out.push((
                "setting",
                format!(
                    "`{}` is not one of {}",
                    self.setting,
                    PLACE_SETTINGS.join(", ")
                ),
            ));
        }
        match (self.lat, self.lon) {
            (None, None) => {}
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    out.push(("lat", format!("{lat} is outside -90..90")));
                }
                if !(-180.0..=180.0).contains(&lon) {
                    out.push(("lon", format!("{lon} is outside -180..180")));
                }
            }
            _ => out.push(("lat", "give both latitude and longitude, or neither".into())),
        }
        out
    }

    /// The place as a choice option: value = code, label = name, attributes
    /// `country`, `region`, `kind`, `setting` for choice filters.
    pub fn to_option(&self) -> ChoiceOption {
        ChoiceOption {
            value: self.code.clone(),
            label: Localized(BTreeMap::from([("en".to_owned(), self.name.clone())])),
            attributes: BTreeMap::from([
                ("country".to_owned(), self.country.clone()),
                ("region".to_owned(), self.region.clone()),
                ("kind".to_owned(), self.kind.clone()),
                ("setting".to_owned(), self.setting.clone()),
            ]),
        }
    }
}

/// A country's place list as the server hands it out (`GET /api/v1/places`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceList {
    /// The revision the sync response header names (`X-Fieldvoice-Places`).
    pub revision: String,
    pub places: Vec<Place>,
}

/// What a phone knows of its employee's field day (`GET /api/v1/me/assignment`):
/// the place, the team and the targets per segment. The phone counts what is
/// done itself, offline, from its own submitted interviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldAssignment {
    /// The revision the sync response header names (`X-Fieldvoice-Assignment`).
    pub revision: String,
    pub place_code: String,
    pub place_name: String,
    pub team: String,
    pub targets: Vec<SegmentTarget>,
}

/// The targets of one segment at the employee's place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentTarget {
    pub segment: String,
    /// The place's target (every employee there together), if set.
    pub place: Option<u32>,
    /// This employee's own target, if set.
    pub mine: Option<u32>,
}

/// The options of a place list, for [`crate::Form::attach_list`].
pub fn as_options(places: &[Place]) -> std::sync::Arc<Vec<ChoiceOption>> {
    std::sync::Arc::new(places.iter().map(Place::to_option).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            code: "CI-BKE".into(),
            country: "CI".into(),
            name: "Bouaké".into(),
            region: "Gbêkê".into(),
            kind: "city".into(),
            setting: "urban".into(),
            lat: Some(7.69),
            lon: Some(-5.03),
        }
    }

    #[test]
    fn a_good_place_has_no_problem_and_becomes_an_option() {
        let p = place();
        assert!(p.problems().is_empty());
        let o = p.to_option();
        assert_eq!(o.value, "CI-BKE");
        assert_eq!(o.label.get("ar", "fr"), "Bouaké");
        assert_eq!(o.attributes["country"], "CI");
    }

    #[test]
    fn every_bad_field_is_named() {
        let p = Place {
            code: "CI BKE".into(),
            country: "ci".into(),
            name: " ".into(),
            kind: "town".into(),
            setting: "suburb".into(),
            lat: Some(91.0),
            lon: None,
            ..place()
        };
        let fields: Vec<&str> = p.problems().iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["code", "country", "name", "kind", "setting", "lat"]
        );
    }
}
