//! The campaign's place list: import (admins everywhere, coordinators for
//! their countries) and reading (any signed-in person for the countries they
//! may see; a device for its employee's country).

use serde::Serialize;
use survey_model::places::PlaceList;

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;
use crate::places::parse_places_csv;

/// What an import did.
#[derive(Debug, Serialize)]
pub struct PlaceImport {
    /// Places in the file.
    pub places: usize,
    /// Places added or changed (the others were already as in the file).
    pub changed: usize,
    /// Countries of the file, sorted.
    pub countries: Vec<String>,
}

/// Import a place file (CSV): refused whole with every problem's row and
/// column, or for any country the caller may not manage.
pub async fn import(
    state: &AppState,
    p: &Principal,
    text: String,
) -> Result<PlaceImport, ApiError> {
    let places = parse_places_csv(&text).map_err(|problems| {
        ApiError::BadRequest(crate::csvfile::refusal("place file", &problems))
    })?;
    let mut countries: Vec<String> = places.iter().map(|p| p.country.clone()).collect();
    countries.sort();
    countries.dedup();
    for c in &countries {
        authorize(p, Action::ManagePlaces { country: c })?;
    }
    let actor = p.user.clone();
    let (changed, total) = state
        .blocking(move |st| {
            let changed = st.store.upsert_places(&places)?;
            st.forget_places_revisions();
            crate::audit::record(
                st,
                &actor,
                "places.import",
                "-",
                &format!("{} places, {changed} changed", places.len()),
            );
            Ok((changed, places.len()))
        })
        .await?;
    Ok(PlaceImport {
        places: total,
        changed,
        countries,
    })
}

/// The places of `country` (or, without one, of every country the caller may
/// read). A device reads its employee's country only.
pub async fn list(
    state: &AppState,
    p: &Principal,
    country: Option<String>,
) -> Result<PlaceList, ApiError> {
    let country = match (country.filter(|c| !c.is_empty()), &p.device) {
        (Some(c), _) => Some(c.to_uppercase()),
        (None, Some(_)) => Some(device_country(p)?.to_owned()),
        (None, None) => None,
    };
    if let Some(c) = &country {
        authorize(p, Action::ReadPlaces { country: c })?;
    }
    let user = p.user.clone();
    let all_countries = user.role == central_store::Role::Admin;
    state
        .blocking(move |st| {
            let key = country.clone().unwrap_or_default();
            let revision = st.store.places_revision(&key)?;
            let places = st
                .store
                .list_places()?
                .into_iter()
                .filter(|pl| match &country {
                    Some(c) => pl.country == *c,
                    None => all_countries || user.countries.contains(&pl.country),
                })
                .collect();
            Ok(PlaceList { revision, places })
        })
        .await
}

/// The country a device's places come from: its employee's first country.
pub fn device_country(p: &Principal) -> Result<&str, ApiError> {
    p.user
        .countries
        .first()
        .map(String::as_str)
        .ok_or_else(|| ApiError::Forbidden("this device's employee has no country".into()))
}
