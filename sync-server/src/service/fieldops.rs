//! Field operations: who works where (assignments) and the quota targets
//! per place and segment, imported from CSV by admins and by coordinators
//! for their countries, and the quota progress of the countries a caller may
//! read. A file with any problem is refused whole, each problem named by
//! row and column.

use std::collections::{BTreeSet, HashMap};

use central_store::fieldops::progress;
use central_store::{Assignment, Quota, Role, User};
use serde::Serialize;
use survey_model::Place;

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::csvfile::{CsvProblem, CsvRow, read, refusal};
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// Columns of an assignment file (`login` and `place_code` required).
pub const ASSIGNMENT_COLUMNS: [&str; 3] = ["login", "place_code", "team"];
/// Columns of a quota file (`place_code`, `segment`, `target` required; a
/// `login` makes the target that employee's).
pub const QUOTA_COLUMNS: [&str; 4] = ["place_code", "segment", "target", "login"];
/// Largest assignment or quota file, in rows (10,000 volunteers).
const MAX_ROWS: usize = 50_000;
/// Largest quota target.
const MAX_TARGET: u32 = 100_000;

/// What an import did.
#[derive(Debug, Serialize)]
pub struct Imported {
    pub rows: usize,
    /// Rows added or changed (the others were already as in the file).
    pub changed: usize,
    pub countries: Vec<String>,
}

/// What an import needs to check rows: the places and the users by login.
struct Lookup {
    places: HashMap<String, Place>,
    users: HashMap<String, User>,
}

impl Lookup {
    fn load(state: &AppState) -> Result<Lookup, ApiError> {
        Ok(Lookup {
            places: state
                .store
                .list_places()?
                .into_iter()
                .map(|p| (p.code.clone(), p))
                .collect(),
            users: state
                .store
                .list_users(None)?
                .into_iter()
                .map(|u| (u.login.clone(), u))
                .collect(),
        })
    }

    /// The place of `r`'s `place_code`, or a problem.
    fn place(&self, r: &CsvRow, problems: &mut Vec<CsvProblem>) -> Option<&Place> {
        let code = r.get("place_code");
        let p = self.places.get(code);
        if p.is_none() {
            problems.push(CsvProblem::new(
                r.row,
                Some("place_code"),
                format!("`{code}` is not in the place list"),
            ));
        }
        p
    }

    /// The employee of `r`'s `login` working in `country`, or a problem.
    fn employee(&self, r: &CsvRow, country: &str, problems: &mut Vec<CsvProblem>) -> Option<&User> {
        let login = r.get("login");
        let mut bad = |m: String| problems.push(CsvProblem::new(r.row, Some("login"), m));
        match self.users.get(login) {
            None => bad(format!("no user with login `{login}`")),
            Some(u) if u.role != Role::Employee => bad(format!(
                "`{login}` is a {}, not an employee",
                u.role.as_str()
            )),
            Some(u) if !u.countries.iter().any(|c| c == country) => {
                bad(format!("`{login}` does not work in {country}"))
            }
            Some(u) => return Some(u),
        }
        None
    }
}

/// Admins and coordinators import; anyone else is refused before the file
/// is read (nothing about places or people is told to them).
fn may_import(p: &Principal) -> Result<(), ApiError> {
    match p.user.role {
        Role::Coordinator if p.device.is_none() => Ok(()),
        _ => authorize(p, Action::Administer),
    }
}

fn refused(what: &str, problems: &mut [CsvProblem]) -> ApiError {
    problems.sort_by_key(|p| p.row);
    ApiError::BadRequest(refusal(what, problems))
}

/// How one checked row of a file becomes a value: `(key unique in the
/// file, value)`, or `None` after pushing the row's problems.
type RowFn<T> = fn(&Lookup, &CsvRow, &Place, &mut Vec<CsvProblem>) -> Option<(String, T)>;

/// One kind of import: its file, how a row becomes a value (with the key
/// that must be unique in the file), and how the values are stored.
struct Kind<T> {
    what: &'static str,
    audit: &'static str,
    columns: &'static [&'static str],
    required: usize,
    row: RowFn<T>,
    store: fn(&dyn central_store::CentralStore, &[T]) -> central_store::Result<usize>,
}

/// Read, check and store a file of `kind`, refused whole on any problem.
async fn import<T: Send + 'static>(
    state: &AppState,
    p: &Principal,
    text: String,
    kind: Kind<T>,
) -> Result<Imported, ApiError> {
    may_import(p)?;
    let p = p.clone();
    state
        .blocking(move |st| {
            let (rows, mut problems) = read(&text, kind.columns, kind.required, MAX_ROWS)
                .map_err(|mut e| refused(kind.what, &mut e))?;
            let look = Lookup::load(st)?;
            let mut out = Vec::new();
            let mut countries = BTreeSet::new();
            let mut seen = HashMap::new();
            for r in &rows {
                let Some(place) = look.place(r, &mut problems) else {
                    continue;
                };
                // Before anything about the country's people is looked at.
                authorize(
                    &p,
                    Action::ManagePlaces {
                        country: &place.country,
                    },
                )?;
                let Some((key, value)) = (kind.row)(&look, r, place, &mut problems) else {
                    continue;
                };
                if let Some(first) = seen.insert(key, r.row) {
                    problems.push(CsvProblem::new(
                        r.row,
                        None,
                        format!("the same as row {first}"),
                    ));
                }
                countries.insert(place.country.clone());
                out.push(value);
            }
            if !problems.is_empty() {
                return Err(refused(kind.what, &mut problems));
            }
            let changed = (kind.store)(st.store.as_ref(), &out)?;
            crate::audit::record(
                st,
                &p.user,
                kind.audit,
                "-",
                &format!("{} rows, {changed} changed", out.len()),
            );
            Ok(Imported {
                rows: out.len(),
                changed,
                countries: countries.into_iter().collect(),
            })
        })
        .await
}

/// Import an assignment file (`login,place_code[,team]`); an employee is
/// assigned once per file.
pub async fn import_assignments(
    state: &AppState,
    p: &Principal,
    text: String,
) -> Result<Imported, ApiError> {
    let kind = Kind {
        what: "assignment file",
        audit: "assignments.import",
        columns: &ASSIGNMENT_COLUMNS,
        required: 2,
        row: |look, r, place, problems| {
            let user = look.employee(r, &place.country, problems)?;
            Some((
                user.id.clone(),
                Assignment {
                    user_id: user.id.clone(),
                    place_code: place.code.clone(),
                    team: r.get("team").to_owned(),
                },
            ))
        },
        store: |s, rows| s.upsert_assignments(rows),
    };
    import(state, p, text, kind).await
}

/// Import a quota file (`place_code,segment,target[,login]`).
pub async fn import_quotas(
    state: &AppState,
    p: &Principal,
    text: String,
) -> Result<Imported, ApiError> {
    let kind = Kind {
        what: "quota file",
        audit: "quotas.import",
        columns: &QUOTA_COLUMNS,
        required: 3,
        row: |look, r, place, problems| {
            let segment = r.get("segment").to_lowercase();
            let known = survey_model::mcmb::SEGMENTS.contains(&segment.as_str());
            if !known {
                problems.push(CsvProblem::new(
                    r.row,
                    Some("segment"),
                    format!(
                        "`{segment}` is not one of {}",
                        survey_model::mcmb::SEGMENTS.join(", ")
                    ),
                ));
            }
            let target = match r.get("target").parse::<u32>() {
                Ok(t) if t <= MAX_TARGET => Some(t),
                _ => {
                    problems.push(CsvProblem::new(
                        r.row,
                        Some("target"),
                        format!(
                            "`{}` is not a whole number 0..={MAX_TARGET}",
                            r.get("target")
                        ),
                    ));
                    None
                }
            };
            let user_id = if r.get("login").is_empty() {
                Some(String::new())
            } else {
                look.employee(r, &place.country, problems)
                    .map(|u| u.id.clone())
            };
            let (Some(target), Some(user_id), true) = (target, user_id, known) else {
                return None;
            };
            Some((
                format!("{}\n{segment}\n{user_id}", place.code),
                Quota {
                    place_code: place.code.clone(),
                    segment,
                    user_id,
                    target,
                },
            ))
        },
        store: |s, rows| s.upsert_quotas(rows),
    };
    import(state, p, text, kind).await
}

/// One quota target with its progress, named.
#[derive(Debug, Serialize)]
pub struct QuotaRow {
    pub country: String,
    pub place_code: String,
    pub place_name: String,
    pub segment: String,
    /// Empty for the place's own target.
    pub user_id: String,
    pub user_name: String,
    pub target: u32,
    pub done: u64,
}

/// The quota progress of the countries `p` may read (`country`, or all of theirs).
pub async fn quota_progress(
    state: &AppState,
    p: &Principal,
    country: Option<&str>,
) -> Result<Vec<QuotaRow>, ApiError> {
    let scope = Scope::resolve(p, Purpose::Read, country)?;
    state
        .blocking(move |st| {
            let places: HashMap<String, Place> = st
                .store
                .list_places()?
                .into_iter()
                .map(|p| (p.code.clone(), p))
                .collect();
            let names: HashMap<String, String> = st
                .store
                .list_users(None)?
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect();
            let rows = progress(&st.store.list_quotas()?, &st.store.done_counts()?);
            Ok(rows
                .into_iter()
                .filter_map(|q| {
                    let place = places.get(&q.place_code)?;
                    scope.allows(&place.country).then(|| QuotaRow {
                        country: place.country.clone(),
                        place_name: place.name.clone(),
                        user_name: names.get(&q.user_id).cloned().unwrap_or_default(),
                        place_code: q.place_code,
                        segment: q.segment,
                        user_id: q.user_id,
                        target: q.target,
                        done: q.done,
                    })
                })
                .collect())
        })
        .await
}

/// The field day of `user` as their phone gets it (blocking): the place,
/// team and targets per segment, with a revision that changes when any of
/// them does. `None` without an assignment.
pub fn assignment_for(
    state: &AppState,
    user: &User,
) -> Result<Option<survey_model::places::FieldAssignment>, ApiError> {
    let assigned = state.store.assignment_of(&user.id)?;
    Ok(assignment_and_place(state, user, assigned)?.0)
}

/// [`assignment_for`] from the user's assignment as read already (a device's
/// comes with its token: `Principal::assignment`), and the assigned place as
/// a push judges interviews by it ([`central_store::merge::push_knowing`]):
/// every sync reads both.
pub fn assignment_and_place(
    state: &AppState,
    user: &User,
    assigned: Option<central_store::Assignment>,
) -> Result<
    (
        Option<survey_model::places::FieldAssignment>,
        central_store::merge::KnownPlace,
    ),
    ApiError,
> {
    use sha2::Digest;
    use survey_model::places::{FieldAssignment, SegmentTarget};
    let Some(a) = assigned else {
        return Ok((None, central_store::merge::KnownPlace::default()));
    };
    // Every sync asks this: one place by its code, not the whole list.
    let place = state.store.place(&a.place_code)?;
    let known = central_store::merge::KnownPlace {
        code: Some(a.place_code.clone()),
        at: place.as_ref().and_then(survey_model::Place::coordinates),
    };
    let place_name = place.map(|p| p.name).unwrap_or_default();
    let mut targets: Vec<SegmentTarget> = Vec::new();
    for q in state.store.quotas_at(&a.place_code)? {
        if !(q.user_id.is_empty() || q.user_id == user.id) {
            continue;
        }
        let t = match targets.iter_mut().find(|t| t.segment == q.segment) {
            Some(t) => t,
            None => {
                targets.push(SegmentTarget {
                    segment: q.segment.clone(),
                    place: None,
                    mine: None,
                });
                targets.last_mut().expect("just pushed")
            }
        };
        if q.user_id.is_empty() {
            t.place = Some(q.target);
        } else {
            t.mine = Some(q.target);
        }
    }
    let mut out = FieldAssignment {
        revision: String::new(),
        place_code: a.place_code,
        place_name,
        team: a.team,
        targets,
    };
    let body = serde_json::to_vec(&out).map_err(|e| ApiError::Internal(e.to_string()))?;
    out.revision = hex::encode(&sha2::Sha256::digest(&body)[..8]);
    Ok((Some(out), known))
}

/// `GET /api/v1/me/assignment` for a device: its employee's field day.
pub async fn my_assignment(
    state: &AppState,
    p: &Principal,
) -> Result<Option<survey_model::places::FieldAssignment>, ApiError> {
    let user = p.user.clone();
    state.blocking(move |st| assignment_for(st, &user)).await
}
