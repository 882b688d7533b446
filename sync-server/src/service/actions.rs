//! Hackathon actions: each country's team (its coordinators and analysts)
//! records what it will do about the root causes customers' complaints point
//! to, with the interviews that are the evidence, an owner, a due date, a
//! status with progress notes and the expected effect. The board puts each
//! root cause's share and NPS, this campaign and the one before, next to the
//! actions addressing it. Every create and update is audited and is an
//! `action.updated` webhook event (written by the store with the action).

use central_store::{ActionItem, ActionNote, unix_now};
use export::analysis::CampaignCauses;
use serde::{Deserialize, Serialize};
use survey_model::actions::{
    ActionStatus, MAX_LINKS, MAX_TEXT, MAX_TITLE, ROOT_CAUSE_QUESTION, is_date,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// Longest theme.
const MAX_THEME: usize = 100;

/// Which actions to list.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionQuery {
    /// Comma-separated countries; default: every country of the caller.
    pub country: Option<String>,
}

/// A new action.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    pub country: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub root_causes: Vec<String>,
    #[serde(default)]
    pub themes: Vec<String>,
    /// Interview ids of the country.
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(default)]
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// Default `planned`.
    pub status: Option<String>,
    #[serde(default)]
    pub expected_effect: String,
}

/// A change to an action; absent fields stay as they are.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionUpdate {
    /// The version read (a stale one is a 409).
    pub version: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    pub root_causes: Option<Vec<String>>,
    pub themes: Option<Vec<String>>,
    pub evidence: Option<Vec<String>>,
    pub owner: Option<String>,
    /// Empty: no due date.
    pub due_date: Option<String>,
    pub status: Option<String>,
    pub expected_effect: Option<String>,
    /// A progress note.
    pub note: Option<String>,
}

/// An action with its progress notes.
#[derive(Debug, Clone, Serialize)]
pub struct ActionView {
    #[serde(flatten)]
    pub action: ActionItem,
    pub notes: Vec<ActionNote>,
}

/// One country's board: its root causes this campaign and the one before,
/// and its actions.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub country: String,
    pub campaign: String,
    pub current: Option<CampaignCauses>,
    pub previous: Option<CampaignCauses>,
    pub actions: Vec<ActionItem>,
}

fn bad(m: String) -> ApiError {
    ApiError::BadRequest(m)
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("action {id} not found"))
}

/// Check an action against the rules; root causes must be options of the
/// root-cause question and every linked interview one of its country.
fn validate(st: &AppState, a: &ActionItem) -> Result<(), ApiError> {
    let title = a.title.trim();
    if title.is_empty() {
        return Err(bad("title is required".into()));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(bad(format!("title is at most {MAX_TITLE} characters")));
    }
    for (name, v) in [
        ("description", &a.description),
        ("expected_effect", &a.expected_effect),
        ("owner", &a.owner),
    ] {
        if v.chars().count() > MAX_TEXT {
            return Err(bad(format!("{name} is at most {MAX_TEXT} characters")));
        }
    }
    if ActionStatus::parse(&a.status).is_none() {
        return Err(bad(format!(
            "status {:?} is not planned, in_progress, done or dropped",
            a.status
        )));
    }
    if let Some(d) = &a.due_date
        && !is_date(d)
    {
        return Err(bad(format!("due_date {d:?} is not a date (YYYY-MM-DD)")));
    }
    for (name, list) in [
        ("root_causes", &a.root_causes),
        ("themes", &a.themes),
        ("evidence", &a.evidence),
    ] {
        if list.len() > MAX_LINKS {
            return Err(bad(format!("{name} has more than {MAX_LINKS} entries")));
        }
    }
    if let Some(t) = a.themes.iter().find(|t| t.chars().count() > MAX_THEME) {
        return Err(bad(format!(
            "theme {t:?} is longer than {MAX_THEME} characters"
        )));
    }
    let forms = st.forms();
    for c in &a.root_causes {
        let known = forms.all().any(|f| {
            f.question(ROOT_CAUSE_QUESTION)
                .is_some_and(|q| f.accepts_option(q, c))
        });
        if !known {
            return Err(bad(format!(
                "root cause {c:?} is not an option of {ROOT_CAUSE_QUESTION}"
            )));
        }
    }
    for id in &a.evidence {
        let found = Uuid::parse_str(id)
            .ok()
            .map(|u| st.store.interview(u))
            .transpose()?
            .flatten();
        if found.is_none_or(|r| r.country != a.country) {
            return Err(bad(format!("evidence: no interview {id} in {}", a.country)));
        }
    }
    Ok(())
}

/// Clean list entries: trimmed, no empty ones, no repeats, order kept.
fn clean(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        let s = s.trim().to_owned();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The actions of `p`'s countries (or those asked), by country and due date.
pub async fn list(
    state: &AppState,
    p: &Principal,
    q: &ActionQuery,
) -> Result<Vec<ActionItem>, ApiError> {
    let scope = Scope::resolve(p, Purpose::Actions, q.country.as_deref())?;
    state
        .blocking(move |st| Ok(st.store.list_actions(&scope.filter())?))
        .await
}

/// One country's board (the caller's first country by default).
pub async fn board(
    state: &AppState,
    p: &Principal,
    country: Option<&str>,
    lang: &str,
) -> Result<Board, ApiError> {
    let scope = Scope::resolve(p, Purpose::Actions, country)?;
    let asked = match scope.countries() {
        Some([one, ..]) => Some(one.clone()),
        _ => p.user.countries.first().cloned(),
    };
    let campaign = state.settings.campaign.clone();
    let lang = lang.to_owned();
    state
        .blocking(move |st| {
            // An admin who asked for none: the first country of the place list.
            let country = match asked {
                Some(c) => c,
                None => st
                    .store
                    .list_places()?
                    .into_iter()
                    .map(|p| p.country)
                    .min()
                    .unwrap_or_default(),
            };
            let countries: Vec<String> = if country.is_empty() {
                Vec::new()
            } else {
                vec![country.clone()]
            };
            let forms = st.forms();
            let by_campaign = export::analysis::root_causes_by_campaign(
                st.store.as_ref(),
                &forms,
                &countries,
                &lang,
            )?;
            let at = by_campaign.iter().position(|c| c.campaign == campaign);
            let current = at.map(|i| by_campaign[i].clone());
            let previous = match at {
                Some(i) if i > 0 => Some(by_campaign[i - 1].clone()),
                None => by_campaign.last().cloned(),
                _ => None,
            };
            Ok(Board {
                actions: st.store.list_actions(&countries)?,
                country,
                campaign,
                current,
                previous,
            })
        })
        .await
}

/// Record a new action for `n.country` (its coordinators and analysts).
pub async fn create(state: &AppState, p: &Principal, n: NewAction) -> Result<ActionItem, ApiError> {
    let country = n.country.trim().to_ascii_uppercase();
    if !crate::identity::is_country(&country) {
        return Err(bad(format!(
            "country {:?} is not an ISO 3166 alpha-2 code",
            n.country
        )));
    }
    authorize(p, Action::ManageActions { country: &country })?;
    let now = unix_now();
    let a = ActionItem {
        id: Uuid::new_v4().to_string(),
        campaign: state.settings.campaign.clone(),
        country,
        title: n.title.trim().to_owned(),
        description: n.description.trim().to_owned(),
        root_causes: clean(n.root_causes),
        themes: clean(n.themes),
        evidence: clean(n.evidence),
        owner: n.owner.trim().to_owned(),
        due_date: n
            .due_date
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
        status: n
            .status
            .unwrap_or_else(|| ActionStatus::Planned.as_str().to_owned()),
        expected_effect: n.expected_effect.trim().to_owned(),
        created_by: p.user.id.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let user = p.user.clone();
    state
        .blocking(move |st| {
            validate(st, &a)?;
            st.store.insert_action(&a)?;
            crate::audit::record(st, &user, "action.create", &a.id, &a.country);
            Ok(a)
        })
        .await
}

/// The action `id` if `p` may see its country's actions (else 404).
fn readable(st: &AppState, p: &Principal, id: &str) -> Result<ActionItem, ApiError> {
    let a = st.store.action(id)?.ok_or_else(|| not_found(id))?;
    if authorize(
        p,
        Action::ManageActions {
            country: &a.country,
        },
    )
    .is_err()
    {
        return Err(not_found(id));
    }
    Ok(a)
}

pub async fn detail(state: &AppState, p: &Principal, id: &str) -> Result<ActionView, ApiError> {
    let (p, id) = (p.clone(), id.to_owned());
    state
        .blocking(move |st| {
            let action = readable(st, &p, &id)?;
            let notes = st.store.action_notes(&id)?;
            Ok(ActionView { action, notes })
        })
        .await
}

/// Apply `u` to the action `id` (at the version read), with its note.
pub async fn update(
    state: &AppState,
    p: &Principal,
    id: &str,
    u: ActionUpdate,
) -> Result<ActionItem, ApiError> {
    let (p, id) = (p.clone(), id.to_owned());
    state
        .blocking(move |st| {
            let mut a = readable(st, &p, &id)?;
            if a.version != u.version {
                return Err(ApiError::Conflict(format!(
                    "action {id} changed meanwhile (version {} now)",
                    a.version
                )));
            }
            let trimmed = |s: String| s.trim().to_owned();
            if let Some(v) = u.title {
                a.title = trimmed(v);
            }
            if let Some(v) = u.description {
                a.description = trimmed(v);
            }
            if let Some(v) = u.root_causes {
                a.root_causes = clean(v);
            }
            if let Some(v) = u.themes {
                a.themes = clean(v);
            }
            if let Some(v) = u.evidence {
                a.evidence = clean(v);
            }
            if let Some(v) = u.owner {
                a.owner = trimmed(v);
            }
            if let Some(v) = u.due_date {
                a.due_date = Some(trimmed(v)).filter(|d| !d.is_empty());
            }
            if let Some(v) = u.status {
                a.status = trimmed(v);
            }
            if let Some(v) = u.expected_effect {
                a.expected_effect = trimmed(v);
            }
            validate(st, &a)?;
            let note = u.note.map(trimmed).filter(|n| !n.is_empty());
            if let Some(n) = &note
                && n.chars().count() > MAX_TEXT
            {
                return Err(bad(format!("a note is at most {MAX_TEXT} characters")));
            }
            a.updated_at = unix_now();
            if !st.store.update_action(&a)? {
                return Err(ApiError::Conflict(format!("action {id} changed meanwhile")));
            }
            a.version += 1;
            if let Some(text) = note {
                st.store.add_action_note(&ActionNote {
                    action_id: a.id.clone(),
                    at: a.updated_at,
                    author: p.user.id.clone(),
                    text,
                })?;
            }
            crate::audit::record(st, &p.user, "action.update", &a.id, &a.status);
            Ok(a)
        })
        .await
}
