//! Follow-up cases: the agents' and coordinators' work on what customers
//! asked for. Cases open by rule when an interview arrives (central-store)
//! or by hand (coordinators); agents and coordinators of the country list
//! them by due date, take or get assigned one, record contacts, resolve with
//! a category and the customer's satisfaction, and close. The customer's
//! contact details are shown only to the case's owner and the country's
//! coordinators, and every such view is in the audit log before the details
//! leave the server.

use central_store::cases::new_case;
use central_store::{Case, CaseFilter, CaseNote, Role, ServiceLevel, unix_now};
use serde::{Deserialize, Serialize};
use survey_model::cases::{CaseReason, CaseStatus, RESOLUTIONS};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// Cases per page.
pub const PAGE_SIZE: usize = 50;
/// Longest note.
const MAX_NOTE: usize = 4000;

/// Query of the case queue.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CaseQuery {
    pub country: Option<String>,
    pub status: Option<String>,
    /// `me`, or a user id.
    pub owner: Option<String>,
    pub page: Option<usize>,
}

/// A case with what its worker needs of the interview (no contact details).
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: Case,
    pub nps: Option<i64>,
    pub segment: Option<String>,
    pub place_code: Option<String>,
    pub complaint_categories: Vec<String>,
    /// The customer's own words.
    pub verbatim: Option<String>,
    pub notes: Vec<CaseNote>,
}

/// The customer's contact details (owner and coordinators only, audited).
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub case_id: String,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    /// How the customer asked to be contacted.
    pub follow_up_contact: Option<String>,
}

/// A change to a case; absent fields stay as they are.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdate {
    /// The version read (a stale one is a 409).
    pub version: i64,
    pub status: Option<String>,
    /// A user id, `me`, or empty to unassign.
    pub owner: Option<String>,
    pub resolution: Option<String>,
    pub satisfaction: Option<i64>,
    pub note: Option<String>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("case {id} not found"))
}

/// The case `id` if `p` may work cases of its country (else 404: another
/// country's cases do not exist for the caller).
fn readable(state: &AppState, p: &Principal, id: &str) -> Result<Case, ApiError> {
    let case = state.store.case(id)?.ok_or_else(|| not_found(id))?;
    authorize(
        p,
        Action::WorkCases {
            country: &case.country,
        },
    )
    .map_err(|_| not_found(id))?;
    Ok(case)
}

/// The case queue of `p`'s countries, by due date.
pub async fn list(state: &AppState, p: &Principal, q: &CaseQuery) -> Result<Vec<Case>, ApiError> {
    let scope = Scope::resolve(p, Purpose::WorkCases, q.country.as_deref())?;
    let status = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = status
        && CaseStatus::parse(s).is_none()
    {
        return Err(ApiError::BadRequest(
            "status must be open, contacted, resolved, not_reachable or closed".into(),
        ));
    }
    let owner = match q.owner.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some("me") => Some(p.user.id.clone()),
        other => other.map(str::to_owned),
    };
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let f = CaseFilter {
        countries: scope.filter(),
        status: status.map(str::to_owned),
        owner,
        limit: Some(PAGE_SIZE),
        offset: Some((page - 1) * PAGE_SIZE),
    };
    state.blocking(move |st| Ok(st.store.list_cases(&f)?)).await
}

/// One case with its interview's summary and notes.
pub async fn detail(state: &AppState, p: &Principal, id: &str) -> Result<CaseView, ApiError> {
    let (p, id) = (p.clone(), id.to_owned());
    state
        .blocking(move |st| {
            let case = readable(st, &p, &id)?;
            let iv_id = Uuid::parse_str(&case.interview_id).map_err(|_| not_found(&id))?;
            let r = st.store.interview(iv_id)?;
            let notes = st.store.case_notes(&case.id)?;
            let answer = |q: &str| r.as_ref().and_then(|r| r.answer_str(q)).map(str::to_owned);
            Ok(CaseView {
                nps: r.as_ref().and_then(|r| r.answer_i64("nps")),
                segment: answer("segment"),
                place_code: answer(survey_model::mcmb::PLACE_QUESTION),
                complaint_categories: r
                    .as_ref()
                    .map(central_store::dashboard::complaint_categories_of)
                    .unwrap_or_default(),
                // The case view carries no contact details, not even typed
                // into the customer's words.
                verbatim: r.as_ref().and_then(|r| {
                    let forms = st.forms();
                    let v = r.answer_str("verbatim")?;
                    let sc = survey_model::scrub::Scrubber::for_record(
                        forms.get(&r.form_id, r.form_version),
                        r,
                    );
                    Some(sc.scrub(v).into_owned())
                }),
                notes,
                case,
            })
        })
        .await
}

/// The customer's contact details: for the case's owner and the country's
/// coordinators (403 for anyone else who may see the case), audited first.
pub async fn contact(state: &AppState, p: &Principal, id: &str) -> Result<Contact, ApiError> {
    let (p, id) = (p.clone(), id.to_owned());
    state
        .blocking(move |st| {
            let case = readable(st, &p, &id)?;
            let owner = case.owner.as_deref() == Some(p.user.id.as_str());
            let coordinator = p.user.role == Role::Coordinator
                && authorize(
                    &p,
                    Action::ManageCases {
                        country: &case.country,
                    },
                )
                .is_ok();
            if !(owner || coordinator) {
                return Err(ApiError::Forbidden(
                    "contact details are for the case's owner and the country's coordinators"
                        .into(),
                ));
            }
            if let Some(t) = case.contact_erased_at {
                return Err(ApiError::Rejected(
                    axum::http::StatusCode::GONE,
                    format!(
                        "the contact details were erased at {t} (unix time): the case closed and its retention period ended"
                    ),
                ));
            }
            crate::audit::record_first(st, &p.user, "case.contact_view", &case.id, &case.country)?;
            let iv_id = Uuid::parse_str(&case.interview_id).map_err(|_| not_found(&id))?;
            let r = st.store.interview(iv_id)?;
            let answer = |q: &str| r.as_ref().and_then(|r| r.answer_str(q)).map(str::to_owned);
            Ok(Contact {
                case_id: case.id,
                customer_name: answer("customer_name"),
                customer_phone: answer("customer_phone"),
                follow_up_contact: answer("follow_up_contact"),
            })
        })
        .await
}

/// Open a case by hand for interview `interview_id` (coordinators of its
/// country): 201 with the case, 409 when the interview has one.
pub async fn open(state: &AppState, p: &Principal, interview_id: Uuid) -> Result<Case, ApiError> {
    let p = p.clone();
    state
        .blocking(move |st| {
            let gone = || ApiError::NotFound(format!("interview {interview_id} not found"));
            let r = st.store.interview(interview_id)?.ok_or_else(gone)?;
            authorize(
                &p,
                Action::ReadInterviews {
                    country: &r.country,
                },
            )
            .map_err(|_| gone())?;
            authorize(
                &p,
                Action::ManageCases {
                    country: &r.country,
                },
            )?;
            if st.store.case_of_interview(&r.interview_id)?.is_some() {
                return Err(ApiError::Conflict(format!(
                    "interview {interview_id} already has a case"
                )));
            }
            let case = new_case(
                st.store.as_ref(),
                &r,
                CaseReason::Manual,
                &p.user.id,
                unix_now(),
            )?;
            if !st.store.open_case(&case)? {
                return Err(ApiError::Conflict(format!(
                    "interview {interview_id} already has a case"
                )));
            }
            crate::audit::record(st, &p.user, "case.open", &case.id, &case.country);
            Ok(case)
        })
        .await
}

/// Apply `u` to case `id` as `p`:
/// - taking an unassigned case for oneself needs only to work the country's
///   cases; any other change of owner needs to manage them, and the new
///   owner must be an agent or coordinator of the country;
/// - a status change is for the owner (or a manager) and must follow the
///   workflow; `contacted` stamps the first contact, `resolved` needs a
///   resolution category and may carry the customer's satisfaction (1-5);
/// - a note is added by anyone who may work the case.
pub async fn update(
    state: &AppState,
    p: &Principal,
    id: &str,
    u: CaseUpdate,
) -> Result<Case, ApiError> {
    let (p, id) = (p.clone(), id.to_owned());
    let actor = state.actor_for(&p.user.id);
    let forms = state.forms();
    state
        .blocking(move |st| {
            let mut case = readable(st, &p, &id)?;
            if case.version != u.version {
                return Err(ApiError::Conflict(format!(
                    "case {id} changed (version {}, you sent {})",
                    case.version, u.version
                )));
            }
            let manager = authorize(&p, Action::ManageCases { country: &case.country }).is_ok();
            let now = unix_now();
            if let Some(o) = u.owner.as_deref().map(str::trim) {
                let new = match o {
                    "" => None,
                    "me" => Some(p.user.id.clone()),
                    other => Some(other.to_owned()),
                };
                let taking = case.owner.is_none() && new.as_deref() == Some(p.user.id.as_str());
                if !(manager || taking) {
                    return Err(ApiError::Forbidden(
                        "only the country's coordinators assign cases; an agent may take an unassigned one"
                            .into(),
                    ));
                }
                if let Some(uid) = &new {
                    let ok = st.store.user(uid)?.is_some_and(|w| {
                        w.active
                            && matches!(w.role, Role::Agent | Role::Coordinator)
                            && w.countries.contains(&case.country)
                    });
                    if !ok {
                        return Err(ApiError::BadRequest(
                            "a case's owner is an active agent or coordinator of its country".into(),
                        ));
                    }
                }
                case.owner = new;
            }
            if let Some(s) = u.status.as_deref() {
                let next = CaseStatus::parse(s).ok_or_else(|| {
                    ApiError::BadRequest(
                        "status must be open, contacted, resolved, not_reachable or closed".into(),
                    )
                })?;
                let current = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Open);
                let owner = case.owner.as_deref() == Some(p.user.id.as_str());
                if !(owner || manager) {
                    return Err(ApiError::Forbidden(
                        "only the case's owner or a coordinator moves it".into(),
                    ));
                }
                if !current.may_become(next) {
                    return Err(ApiError::Conflict(format!(
                        "a {} case cannot become {}",
                        current.as_str(),
                        next.as_str()
                    )));
                }
                match next {
                    CaseStatus::Contacted => {
                        case.first_contact_at.get_or_insert(now);
                    }
                    CaseStatus::Resolved => {
                        let r = u.resolution.as_deref().unwrap_or_default();
                        if !RESOLUTIONS.contains(&r) {
                            return Err(ApiError::BadRequest(format!(
                                "a resolved case needs a resolution: one of {}",
                                RESOLUTIONS.join(", ")
                            )));
                        }
                        if let Some(sat) = u.satisfaction
                            && !(1..=5).contains(&sat)
                        {
                            return Err(ApiError::BadRequest(
                                "satisfaction is 1 to 5".into(),
                            ));
                        }
                        case.resolution = Some(r.to_owned());
                        case.satisfaction = u.satisfaction;
                        case.resolved_at = Some(now);
                        case.first_contact_at.get_or_insert(now);
                    }
                    CaseStatus::Closed => case.closed_at = Some(now),
                    CaseStatus::NotReachable | CaseStatus::Open => {}
                }
                case.status = next.as_str().to_owned();
            } else if u.resolution.is_some() || u.satisfaction.is_some() {
                return Err(ApiError::BadRequest(
                    "a resolution and a satisfaction go with status resolved".into(),
                ));
            }
            let note = u.note.as_deref().map(str::trim).filter(|t| !t.is_empty());
            if let Some(text) = note
                && text.chars().count() > MAX_NOTE
            {
                return Err(ApiError::BadRequest(format!(
                    "a note is at most {MAX_NOTE} characters"
                )));
            }
            case.updated_at = now;
            if !st.store.update_case(&case)? {
                return Err(ApiError::Conflict(format!("case {id} changed meanwhile")));
            }
            case.version += 1;
            // Only once the update is in: a refused one leaves no note.
            if let Some(text) = note {
                st.store.add_case_note(&CaseNote {
                    case_id: case.id.clone(),
                    at: now,
                    author: p.user.id.clone(),
                    text: text.to_owned(),
                })?;
            }
            crate::audit::record(st, &p.user, "case.update", &case.id, &case.status);
            // The interviewer's device learns the outcome with its next sync.
            if let (Some(_), Some(status)) = (u.status.as_deref(), CaseStatus::parse(&case.status))
                && let Ok(iv_id) = Uuid::parse_str(&case.interview_id)
            {
                let resolution = case.resolution.clone();
                central_store::merge::edit(st.store.as_ref(), &forms, &actor, &p.user, iv_id, |iv| {
                    iv.set_followup(status, resolution.as_deref())
                })?;
            }
            Ok(case)
        })
        .await
}

/// The service levels of `p`'s countries.
pub async fn service_levels(
    state: &AppState,
    p: &Principal,
) -> Result<Vec<ServiceLevel>, ApiError> {
    let scope = Scope::resolve(p, Purpose::WorkCases, None)?;
    state
        .blocking(move |st| {
            Ok(st
                .store
                .list_service_levels()?
                .into_iter()
                .filter(|s| scope.countries().is_none_or(|cs| cs.contains(&s.country)))
                .collect())
        })
        .await
}

/// Set service levels (coordinators for their countries); hours 1 to 2,000.
pub async fn set_service_levels(
    state: &AppState,
    p: &Principal,
    rows: Vec<ServiceLevel>,
) -> Result<usize, ApiError> {
    for r in &rows {
        if !crate::identity::is_country(&r.country) {
            return Err(ApiError::BadRequest(format!(
                "{:?} is not a country code",
                r.country
            )));
        }
        authorize(
            p,
            Action::ManageCases {
                country: &r.country,
            },
        )?;
        let ok = |h: u32| (1..=2000).contains(&h);
        if !ok(r.first_contact_hours)
            || !ok(r.resolution_hours)
            || r.resolution_hours < r.first_contact_hours
        {
            return Err(ApiError::BadRequest(format!(
                "{}: hours are 1 to 2000, resolution no sooner than first contact",
                r.country
            )));
        }
    }
    let p = p.clone();
    state
        .blocking(move |st| {
            let n = st.store.upsert_service_levels(&rows)?;
            let countries: Vec<&str> = rows.iter().map(|r| r.country.as_str()).collect();
            crate::audit::record(
                st,
                &p.user,
                "cases.service_levels",
                &countries.join(","),
                "",
            );
            Ok(n)
        })
        .await
}

/// The service-level figures of `p`'s countries (or `country`), per country
/// and per root cause.
pub async fn stats(
    state: &AppState,
    p: &Principal,
    country: Option<&str>,
) -> Result<Vec<central_store::cases::CaseStats>, ApiError> {
    let scope = Scope::resolve(p, Purpose::WorkCases, country)?;
    state
        .blocking(move |st| {
            let page = 10_000;
            let mut cases = Vec::new();
            loop {
                let batch = st.store.list_cases(&CaseFilter {
                    countries: scope.filter(),
                    limit: Some(page),
                    offset: Some(cases.len()),
                    ..CaseFilter::default()
                })?;
                let done = batch.len() < page;
                cases.extend(batch);
                if done {
                    break;
                }
            }
            let levels = st.store.list_service_levels()?;
            Ok(central_store::cases::case_stats(
                &cases,
                &levels,
                unix_now(),
            ))
        })
        .await
}

/// Give many cases to `owner` (`me`, or a user id), each as its own
/// [`update`] at its current version: the same rules (coordinators assign;
/// an agent takes unassigned ones for itself). Returns how many changed and,
/// for the others, why. At most [`crate::service::interviews::MAX_BULK`].
pub async fn assign_many(
    state: &AppState,
    p: &Principal,
    ids: &[Uuid],
    owner: &str,
) -> Result<crate::service::interviews::BulkOutcome, ApiError> {
    use crate::service::interviews::{BulkOutcome, MAX_BULK};
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(ApiError::BadRequest(format!(
            "select 1 to {MAX_BULK} cases"
        )));
    }
    let mut out = BulkOutcome::default();
    let mut first_error = None;
    for id in ids {
        let key = id.to_string();
        let version = {
            let (p2, k) = (p.clone(), key.clone());
            state
                .blocking(move |st| Ok(readable(st, &p2, &k)?.version))
                .await
        };
        let result = match version {
            Ok(version) => {
                let u = CaseUpdate {
                    version,
                    owner: Some(owner.to_owned()),
                    ..CaseUpdate::default()
                };
                update(state, p, &key, u).await.map(|_| ())
            }
            Err(e) => Err(e),
        };
        out.record(*id, result, &mut first_error)?;
    }
    out.finish(first_error)
}

/// The account the retention sweep writes as (server edits and the audit log).
pub(crate) fn retention_user() -> central_store::User {
    central_store::User {
        id: "system:retention".into(),
        login: "system:retention".into(),
        name: "fieldvoice retention".into(),
        role: Role::Admin,
        countries: Vec::new(),
        active: true,
        created_at: 0,
        language: None,
    }
}

/// Erase the contact details (the form's PII answers) of the interviews of
/// cases closed for longer than the retention period: a server edit each
/// (`Interview::erase_answers`, which the write policy allows the server
/// and nothing else), then the case records when. Returns how many cases.
pub fn erase_due_contacts(st: &AppState, now: i64) -> Result<usize, ApiError> {
    let retention = i64::try_from(st.settings.contact_retention.as_secs()).unwrap_or(i64::MAX);
    let due = st.store.cases_to_erase(now.saturating_sub(retention))?;
    if due.is_empty() {
        return Ok(0);
    }
    let user = retention_user();
    let actor = st.actor_for(&user.id);
    let forms = st.forms();
    let mut done = 0;
    for mut case in due {
        if let Ok(iv_id) = Uuid::parse_str(&case.interview_id)
            && let Some(r) = st.store.interview(iv_id)?
        {
            let names = forms.pii_names(&r.form_id, r.form_version);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            // By rewrite: the old values leave the history too.
            central_store::merge::rewrite(
                st.store.as_ref(),
                &forms,
                &actor,
                &user,
                iv_id,
                central_store::merge::Erase::Answers(&names),
            )?;
        }
        case.contact_erased_at = Some(now);
        case.updated_at = now;
        if st.store.update_case(&case)? {
            crate::audit::record(st, &user, "case.contact_erased", &case.id, &case.country);
            done += 1;
        }
    }
    if done > 0
        && let Err(e) = st.store.scrub_free_space()
    {
        tracing::warn!(error = %e, "free space not scrubbed after erasing contacts");
    }
    Ok(done)
}
