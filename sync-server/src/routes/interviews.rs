//! The interview review API (JSON), country-scoped.

use axum::Json;
use axum::extract::{Path, Query, State};
use central_store::InterviewFilter;
use central_store::merge::edit;
use serde::{Deserialize, Serialize};
use survey_model::{Comment, InterviewRecord, ReviewState};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Action, Principal, authorize, readable_countries};
use crate::error::ApiError;

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
    Query(q): Query<ListQuery>,
) -> Result<Json<Page>, ApiError> {
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
        limit: Some(q.limit.unwrap_or(50).min(1000)),
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
    Path(id): Path<Uuid>,
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
    let source = format!("server:{}", principal.user.id);
    let forms = state.forms();
    state
        .blocking(move |st| Ok(edit(st.store.as_ref(), &forms, &actor, &source, id, f)?))
        .await
}

/// `POST /api/v1/interviews/{id}/review` `{"state": "has_issues"}`.
pub async fn review(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Json(body): Json<ReviewBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    let rs = ReviewState::parse(&body.state).ok_or_else(|| {
        ApiError::BadRequest("state must be received, has_issues, approved or rejected".into())
    })?;
    let by = principal.user.id.clone();
    let (_, rec) = server_edit(&state, &principal, id, move |iv| iv.set_review(rs, &by)).await?;
    crate::routes::users::audit(
        &state,
        &principal.user,
        "interview.review",
        &id.to_string(),
        rs.as_str(),
    );
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
    Path(id): Path<Uuid>,
    Json(body): Json<CommentBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    let text = body.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > 4000 {
        return Err(ApiError::BadRequest(
            "a comment needs 1-4000 characters".into(),
        ));
    }
    let (by, role) = (
        principal.user.name.clone(),
        principal.user.role.as_str().to_owned(),
    );
    let (_, rec) = server_edit(&state, &principal, id, move |iv| {
        iv.add_comment(&by, &role, &text)
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
    Path(id): Path<Uuid>,
    Json(body): Json<TagBody>,
) -> Result<Json<InterviewRecord>, ApiError> {
    let tag = body.tag.trim().to_lowercase();
    let ok = !tag.is_empty()
        && tag.len() <= 64
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c));
    if !ok {
        return Err(ApiError::BadRequest(
            "a tag is 1-64 characters of a-z, 0-9, _ - :".into(),
        ));
    }
    let on = body.on;
    let (_, rec) = server_edit(&state, &principal, id, move |iv| iv.set_tag(&tag, on)).await?;
    Ok(Json(rec))
}
