//! The interview review API (JSON), country-scoped.

use axum::Json;
use axum::extract::State;
use central_store::InterviewFilter;
use central_store::merge::edit;
use serde::{Deserialize, Serialize};
use survey_model::{Comment, InterviewRecord, ReviewState};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Action, Principal, authorize, readable_countries};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// Largest `offset` of a list query (deeper pages: filter instead).
pub const MAX_OFFSET: usize = 1_000_000_000;
/// Largest `limit` of a list query.
pub const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub country: Option<String>,
    pub city: Option<String>,
    pub segment: Option<String>,
    pub review_state: Option<String>,
    pub status: Option<String>,
    pub created_by: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct Page {
    pub total: u64,
    pub items: Vec<InterviewRecord>,
}

/// `GET /api/v1/interviews`: only countries the caller may read.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    if q.offset.is_some_and(|o| o > MAX_OFFSET) {
        return Err(ApiError::BadRequest(format!(
            "offset must be between 0 and {MAX_OFFSET}"
        )));
    }
    let countries = match (&q.country, readable_countries(&principal)) {
        (Some(c), _) => {
            authorize(&principal, Action::ReadInterviews { country: c })?;
            vec![c.clone()]
        }
        (None, None) => Vec::new(),
        (None, Some(cs)) => {
            for c in &cs {
                authorize(&principal, Action::ReadInterviews { country: c })?;
            }
            cs
        }
    };
    if countries.is_empty() && readable_countries(&principal).is_some() {
        return Err(ApiError::Forbidden("no country assigned".into()));
    }
    let filter = InterviewFilter {
        countries,
        created_by: q.created_by,
        city: q.city,
        segment: q.segment,
        review_state: q.review_state,
        status: q.status,
        limit: Some(q.limit.unwrap_or(50).min(MAX_LIMIT)),
        offset: q.offset,
        since_seq: None,
    };
    let page = state
        .blocking(move |st| {
            Ok(Page {
                total: st.store.count_interviews(&filter)?,
                items: st.store.list_interviews(&filter)?,
            })
        })
        .await?;
    Ok(Json(page))
}

#[derive(Debug, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub record: InterviewRecord,
    pub comments: Vec<Comment>,
    pub conflicts: Vec<survey_model::Conflict>,
}

/// Load an interview the caller may act on for `action`; 404 hides other
/// countries' interviews from people without access to them.
pub(crate) async fn scoped(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    review: bool,
) -> Result<InterviewRecord, ApiError> {
    let rec = state
        .blocking(move |st| Ok(st.store.interview(id)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("interview {id}")))?;
    let action = if review {
        Action::Review {
            country: &rec.country,
        }
    } else {
        Action::ReadInterviews {
            country: &rec.country,
        }
    };
    authorize(principal, action).map_err(|_| ApiError::NotFound(format!("interview {id}")))?;
    Ok(rec)
}

/// `GET /api/v1/interviews/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Detail>, ApiError> {
    let record = scoped(&state, &principal, id, false).await?;
    let (comments, conflicts) = state
        .blocking(move |st| {
            let doc = st
                .store
                .load_doc(id)?
                .ok_or_else(|| ApiError::NotFound(format!("interview {id}")))?;
            let iv = survey_model::Interview::load(&doc.snapshot)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok((iv.comments(), iv.conflicts()))
        })
        .await?;
    Ok(Json(Detail {
        record,
        comments,
        conflicts,
    }))
}

#[derive(Debug, Deserialize)]
pub struct ReviewBody {
    pub state: String,
}

async fn server_edit<T: Send + 'static>(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    f: impl FnMut(&mut survey_model::Interview) -> Result<T, survey_model::ModelError> + Send + 'static,
) -> Result<(T, InterviewRecord), ApiError> {
    scoped(state, principal, id, true).await?;
    let actor = state.actor_for(&principal.user.id);
    let editor = principal.user.clone();
    let forms = state.forms();
    state
        .blocking(move |st| Ok(edit(st.store.as_ref(), &forms, &actor, &editor, id, f)?))
        .await
}

/// `POST /api/v1/interviews/{id}/review` `{"state": "has_issues"}`.
pub async fn review(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    let rs = ReviewState::parse(&body.state).ok_or_else(|| {
        ApiError::BadRequest("state must be received, has_issues, approved or rejected".into())
    })?;
    let by = principal.user.id.clone();
    let (_, rec) = server_edit(&state, &principal, id, move |iv| iv.set_review(rs, &by)).await?;
    let (st, actor) = (state.clone(), principal.user.clone());
    tokio::task::spawn_blocking(move || {
        crate::routes::users::audit(
            &st,
            &actor,
            "interview.review",
            &id.to_string(),
            rs.as_str(),
        );
    })
    .await?;
    Ok(Json(rec))
}

#[derive(Debug, Deserialize)]
pub struct CommentBody {
    pub text: String,
}

/// `POST /api/v1/interviews/{id}/comments` `{"text": "..."}`.
pub async fn comment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommentBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    let text = body.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > 4000 {
        return Err(ApiError::BadRequest(
            "a comment needs 1-4000 characters".into(),
        ));
    }
    let (by_id, by, role) = (
        principal.user.id.clone(),
        principal.user.name.clone(),
        principal.user.role.as_str().to_owned(),
    );
    let (_, rec) = server_edit(&state, &principal, id, move |iv| {
        iv.add_comment(&by_id, &by, &role, &text)
    })
    .await?;
    Ok(Json(rec))
}

#[derive(Debug, Deserialize)]
pub struct TagBody {
    pub tag: String,
    #[serde(default = "yes")]
    pub on: bool,
}

fn yes() -> bool {
    true
}

/// `POST /api/v1/interviews/{id}/tags` `{"tag": "root_cause:network", "on": true}`.
pub async fn tag(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TagBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    // Check what was sent, then lower-case: Unicode lower-casing maps some
    // non-ASCII letters to ASCII (the Kelvin sign U+212A becomes `k`).
    let raw = body.tag.trim();
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c));
    if !ok {
        return Err(ApiError::BadRequest(
            "a tag is 1-64 characters of a-z, 0-9, _ - :".into(),
        ));
    }
    let tag = raw.to_ascii_lowercase();
    let on = body.on;
    let (_, rec) = server_edit(&state, &principal, id, move |iv| iv.set_tag(&tag, on)).await?;
    Ok(Json(rec))
}
