//! The command centre's numbers for one field day, scoped to the caller's
//! countries: per country, place and segment the target, what is done (the
//! submitted interviews the quota progress counts) and what is expected by
//! now on a linear schedule over the day's working hours (UTC, from the
//! server settings), interviews created per hour, flagged interviews per
//! place, assigned employees without any submitted interview, and devices
//! silent for more than N hours. [`assemble`] is pure (tested on its own);
//! [`load`] reads the store on a blocking thread.

use std::collections::{BTreeMap, HashMap, HashSet};

use central_store::fieldops::FieldTallies;
use central_store::{Assignment, Device, InterviewFilter, Quota, Role, User};
use serde::Serialize;
use survey_model::Place;
use survey_model::mcmb::SEGMENTS;

use crate::AppState;
use crate::error::ApiError;
use crate::scope::Scope;

/// One place's day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceDay {
    pub code: String,
    pub name: String,
    pub country: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Sum of the segment targets (a segment without a place target counts
    /// its employees' personal targets).
    pub target: u64,
    pub done: u64,
    /// `target` times the share of the working day past.
    pub expected: f64,
    /// Submitted interviews here with at least one quality check firing.
    pub flagged: u64,
    /// (segment, done, target), in [`SEGMENTS`] order.
    pub segments: Vec<(String, u64, u64)>,
    /// Employees assigned here, and how many of them have no interview yet.
    pub assigned: usize,
    pub idle: usize,
}

impl PlaceDay {
    /// done / expected (1 when nothing is expected yet).
    pub fn pace(&self) -> f64 {
        if self.expected < 0.5 {
            1.0
        } else {
            self.done as f64 / self.expected
        }
    }
}

/// A country's sums over its places.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CountryDay {
    pub country: String,
    pub places: usize,
    pub target: u64,
    pub done: u64,
    pub expected: f64,
    pub flagged: u64,
    pub idle: usize,
    pub silent_devices: usize,
}

/// An assigned employee with no submitted interview yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdleEmployee {
    pub name: String,
    pub login: String,
    pub place_code: String,
    pub team: String,
}

/// A device not synced for more than the threshold (or never).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SilentDevice {
    pub employee: String,
    pub country: String,
    pub label: String,
    pub last_sync_at: Option<i64>,
}

/// Everything the command centre shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandCentre {
    /// The field day, `YYYY-MM-DD`.
    pub day: String,
    /// Share of the working day past (0 before it starts, 1 after).
    pub elapsed: f64,
    pub countries: Vec<CountryDay>,
    /// Places with a target, an assignment or an interview, most behind first.
    pub places: Vec<PlaceDay>,
    /// Interviews created in each hour (UTC) of the day.
    pub hours: [u64; 24],
    pub idle: Vec<IdleEmployee>,
    pub silent: Vec<SilentDevice>,
    pub silent_hours: u32,
}

/// What the command centre is built from.
#[derive(Debug)]
pub struct Inputs {
    pub day: String,
    pub elapsed: f64,
    pub places: Vec<Place>,
    pub quotas: Vec<Quota>,
    pub assignments: Vec<Assignment>,
    pub tallies: FieldTallies,
    pub users: Vec<User>,
    pub devices: Vec<Device>,
    pub now: i64,
    pub silent_hours: u32,
}

/// Share of the working day `[start_h, end_h)` (UTC hours) of `day` past at
/// `now` (Unix seconds): 0 before, 1 after, linear in between.
pub fn elapsed_share(day: &str, start_h: u8, end_h: u8, now: i64) -> f64 {
    let Ok(date) = time::Date::parse(day, DAY_FORMAT) else {
        return 0.0;
    };
    let midnight = date.midnight().assume_utc().unix_timestamp();
    let start = midnight + i64::from(start_h) * 3600;
    let end = midnight + i64::from(end_h.max(start_h + 1)) * 3600;
    ((now - start) as f64 / (end - start) as f64).clamp(0.0, 1.0)
}

/// Build the command centre from what the store holds.
pub fn assemble(i: Inputs) -> CommandCentre {
    let in_scope: HashMap<&str, &Place> = i.places.iter().map(|p| (p.code.as_str(), p)).collect();
    // Done and flagged per (place, segment), per employee overall.
    let mut done: HashMap<(&str, &str), u64> = HashMap::new();
    let mut flagged: HashMap<&str, u64> = HashMap::new();
    let mut by_employee: HashMap<&str, u64> = HashMap::new();
    for d in &i.tallies.done {
        *done
            .entry((d.place_code.as_str(), d.segment.as_str()))
            .or_default() += d.count;
        *flagged.entry(d.place_code.as_str()).or_default() += d.flagged;
        *by_employee.entry(d.created_by.as_str()).or_default() += d.count;
    }
    // Targets per (place, segment): the place's own, else the sum of personal ones.
    let mut place_target: HashMap<(&str, &str), u64> = HashMap::new();
    let mut personal: HashMap<(&str, &str), u64> = HashMap::new();
    for q in &i.quotas {
        let slot = if q.user_id.is_empty() {
            &mut place_target
        } else {
            &mut personal
        };
        *slot
            .entry((q.place_code.as_str(), q.segment.as_str()))
            .or_default() += u64::from(q.target);
    }
    let users: HashMap<&str, &User> = i.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut assigned: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut idle = Vec::new();
    for a in &i.assignments {
        let Some(u) = users.get(a.user_id.as_str()) else {
            continue;
        };
        if !in_scope.contains_key(a.place_code.as_str()) {
            continue;
        }
        let e = assigned.entry(a.place_code.as_str()).or_default();
        e.0 += 1;
        if by_employee.get(a.user_id.as_str()).copied().unwrap_or(0) == 0 {
            e.1 += 1;
            idle.push(IdleEmployee {
                name: u.name.clone(),
                login: u.login.clone(),
                place_code: a.place_code.clone(),
                team: a.team.clone(),
            });
        }
    }
    let mut places = Vec::new();
    for p in &i.places {
        let code = p.code.as_str();
        let mut segments = Vec::new();
        let (mut target, mut done_here) = (0, 0);
        for s in SEGMENTS {
            let t = place_target
                .get(&(code, s))
                .or_else(|| personal.get(&(code, s)))
                .copied()
                .unwrap_or(0);
            let d = done.get(&(code, s)).copied().unwrap_or(0);
            target += t;
            done_here += d;
            segments.push((s.to_owned(), d, t));
        }
        // Interviews of a segment outside the four (none in MCMB) still count.
        done_here += done
            .iter()
            .filter(|((c, s), _)| *c == code && !SEGMENTS.contains(s))
            .map(|(_, n)| n)
            .sum::<u64>();
        let (n_assigned, n_idle) = assigned.get(code).copied().unwrap_or((0, 0));
        if target == 0 && done_here == 0 && n_assigned == 0 {
            continue;
        }
        places.push(PlaceDay {
            code: p.code.clone(),
            name: p.name.clone(),
            country: p.country.clone(),
            lat: p.lat,
            lon: p.lon,
            target,
            done: done_here,
            expected: target as f64 * i.elapsed,
            flagged: flagged.get(code).copied().unwrap_or(0),
            segments,
            assigned: n_assigned,
            idle: n_idle,
        });
    }
    places.sort_by(|a, b| {
        a.pace()
            .total_cmp(&b.pace())
            .then_with(|| a.country.cmp(&b.country))
            .then_with(|| a.name.cmp(&b.name))
    });
    let cutoff = i.now - i64::from(i.silent_hours) * 3600;
    let mut silent: Vec<SilentDevice> = i
        .devices
        .iter()
        .filter(|d| !d.revoked && d.last_sync_at.is_none_or(|t| t < cutoff))
        .filter_map(|d| {
            let u = users.get(d.user_id.as_str())?;
            (u.role == Role::Employee).then(|| SilentDevice {
                employee: u.name.clone(),
                country: u.countries.first().cloned().unwrap_or_default(),
                label: d.label.clone(),
                last_sync_at: d.last_sync_at,
            })
        })
        .collect();
    silent.sort_by_key(|s| (s.last_sync_at, s.employee.clone()));
    let mut countries: BTreeMap<&str, CountryDay> = BTreeMap::new();
    for p in &places {
        let c = countries.entry(p.country.as_str()).or_default();
        c.places += 1;
        c.target += p.target;
        c.done += p.done;
        c.expected += p.expected;
        c.flagged += p.flagged;
        c.idle += p.idle;
    }
    for s in &silent {
        if let Some(c) = countries.get_mut(s.country.as_str()) {
            c.silent_devices += 1;
        }
    }
    let countries = countries
        .into_iter()
        .map(|(k, mut v)| {
            v.country = k.to_owned();
            v
        })
        .collect();
    let mut hours = [0u64; 24];
    for (h, n) in &i.tallies.hours {
        if let Some(slot) = hours.get_mut(usize::from(*h)) {
            *slot += n;
        }
    }
    idle.sort_by(|a, b| (&a.place_code, &a.name).cmp(&(&b.place_code, &b.name)));
    CommandCentre {
        day: i.day,
        elapsed: i.elapsed,
        countries,
        places,
        hours,
        idle,
        silent,
        silent_hours: i.silent_hours,
    }
}

/// The command centre for `p`: `country` scoped like every read (403
/// outside the caller's countries), `day` `YYYY-MM-DD` (default today,
/// UTC), `silent_h` 1-240 hours (default 3); 400 for anything else.
pub async fn command_centre(
    state: &AppState,
    p: &crate::auth::Principal,
    country: Option<&str>,
    day: Option<&str>,
    silent_h: Option<u32>,
) -> Result<CommandCentre, ApiError> {
    let country = country.map(str::trim).filter(|c| !c.is_empty());
    let scope = Scope::resolve(p, crate::scope::Purpose::Read, country)?;
    let day = match day.map(str::trim).filter(|d| !d.is_empty()) {
        None => survey_model::now()
            .0
            .get(..10)
            .unwrap_or_default()
            .to_owned(),
        Some(d) if time::Date::parse(d, DAY_FORMAT).is_ok() => d.to_owned(),
        Some(_) => return Err(ApiError::BadRequest("day looks like 2026-12-04".into())),
    };
    let silent_h = silent_h.unwrap_or(3);
    if !(1..=240).contains(&silent_h) {
        return Err(ApiError::BadRequest(
            "silent_h is a number of hours from 1 to 240".into(),
        ));
    }
    state
        .blocking(move |st| load(st, &scope, &day, silent_h))
        .await
}

const DAY_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Read everything for `scope` and `day` and assemble it.
pub fn load(
    state: &AppState,
    scope: &Scope,
    day: &str,
    silent_hours: u32,
) -> Result<CommandCentre, ApiError> {
    let now = central_store::unix_now();
    let wanted: Option<HashSet<&str>> = scope
        .countries()
        .map(|cs| cs.iter().map(String::as_str).collect());
    let places: Vec<Place> = state
        .store
        .list_places()?
        .into_iter()
        .filter(|p| {
            wanted
                .as_ref()
                .is_none_or(|w| w.contains(p.country.as_str()))
        })
        .collect();
    let codes: HashSet<&str> = places.iter().map(|p| p.code.as_str()).collect();
    let quotas = state
        .store
        .list_quotas()?
        .into_iter()
        .filter(|q| codes.contains(q.place_code.as_str()))
        .collect();
    let assignments = state
        .store
        .list_assignments()?
        .into_iter()
        .filter(|a| codes.contains(a.place_code.as_str()))
        .collect();
    let filter = InterviewFilter {
        countries: scope.filter(),
        ..InterviewFilter::default()
    };
    let tallies = state.store.field_tallies(&filter, day)?;
    let users = crate::service::users::users_in(state, scope)?;
    let devices = crate::service::users::devices_of(state, &users)?;
    let s = &state.settings;
    Ok(assemble(Inputs {
        day: day.to_owned(),
        elapsed: elapsed_share(day, s.day_start_hour, s.day_end_hour, now),
        places,
        quotas,
        assignments,
        tallies,
        users,
        devices,
        now,
        silent_hours,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_working_day_is_linear_between_its_hours() {
        let day = "2026-12-04";
        let t0 = 1_796_342_400; // 2026-12-04T00:00:00Z
        assert_eq!(elapsed_share(day, 8, 17, t0 + 7 * 3600), 0.0);
        assert_eq!(elapsed_share(day, 8, 17, t0 + 8 * 3600), 0.0);
        assert!((elapsed_share(day, 8, 17, t0 + 12 * 3600 + 1800) - 0.5).abs() < 1e-9);
        assert_eq!(elapsed_share(day, 8, 17, t0 + 20 * 3600), 1.0);
        assert_eq!(elapsed_share("not a day", 8, 17, t0), 0.0);
    }
}
