//! Interviews: the scoped list, one interview, and the coordinator's edits
//! (review, comment, tag) as Automerge changes under the write policy.

use central_store::InterviewFilter;
use central_store::merge::{Erase, edit, rewrite};
use serde::{Deserialize, Serialize};
use survey_model::{Comment, Conflict, Interview, InterviewRecord, ModelError, ReviewState};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Principal, authorize};
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};

/// Largest `offset` of a list query (deeper pages: filter instead).
pub const MAX_OFFSET: usize = 1_000_000_000;
/// Largest `limit` of a list query.
pub const MAX_LIMIT: usize = 1000;
/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// Filters of the interview list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub country: Option<String>,
    pub city: Option<String>,
    pub place_code: Option<String>,
    pub segment: Option<String>,
    pub review_state: Option<String>,
    pub status: Option<String>,
    pub created_by: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// One page of the list and the total matching.
#[derive(Debug, Serialize)]
pub struct Page {
    pub total: u64,
    pub items: Vec<InterviewRecord>,
}

/// One interview with its comments and open conflicts.
#[derive(Debug, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub record: InterviewRecord,
    pub comments: Vec<Comment>,
    pub conflicts: Vec<Conflict>,
}

/// Interviews of the countries `p` may read (403 for one they may not).
pub async fn list(state: &AppState, p: &Principal, q: ListQuery) -> Result<Page, ApiError> {
    if q.offset.is_some_and(|o| o > MAX_OFFSET) {
        return Err(ApiError::BadRequest(format!(
            "offset must be between 0 and {MAX_OFFSET}"
        )));
    }
    let scope = Scope::resolve(p, Purpose::Read, q.country.as_deref())?;
    let filter = InterviewFilter {
        countries: scope.filter(),
        created_by: q.created_by,
        city: q.city,
        place_code: q.place_code,
        segment: q.segment,
        review_state: q.review_state,
        status: q.status,
        limit: Some(q.limit.unwrap_or(50).min(MAX_LIMIT)),
        offset: q.offset,
        since_seq: None,
        after_id: None,
    };
    state
        .blocking(move |st| {
            Ok(Page {
                total: st.store.count_interviews(&filter)?,
                items: st.store.list_interviews(&filter)?,
            })
        })
        .await
}

/// Load an interview the caller may act on for `purpose`; 404 hides other
/// countries' interviews from people without access to them.
pub async fn scoped(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    purpose: Purpose,
) -> Result<InterviewRecord, ApiError> {
    let not_found = || ApiError::NotFound(format!("interview {id}"));
    let rec = state
        .blocking(move |st| Ok(st.store.interview(id)?))
        .await?
        .ok_or_else(not_found)?;
    authorize(p, purpose.action(&rec.country)).map_err(|_| not_found())?;
    Ok(rec)
}

/// One interview with comments and conflicts.
pub async fn detail(state: &AppState, p: &Principal, id: Uuid) -> Result<Detail, ApiError> {
    let record = scoped(state, p, id, Purpose::Read).await?;
    let (comments, conflicts) = state
        .blocking(move |st| {
            let doc = st
                .store
                .load_doc(id)?
                .ok_or_else(|| ApiError::NotFound(format!("interview {id}")))?;
            let iv =
                Interview::load(&doc.snapshot).map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok((iv.comments(), iv.conflicts()))
        })
        .await?;
    Ok(Detail {
        record,
        comments,
        conflicts,
    })
}

/// Apply `f` as the caller's server-side change, under the write policy.
pub(crate) async fn server_edit<T: Send + 'static>(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    f: impl FnMut(&mut Interview) -> Result<T, ModelError> + Send + 'static,
) -> Result<(T, InterviewRecord), ApiError> {
    scoped(state, p, id, Purpose::Review).await?;
    let actor = state.actor_for(&p.user.id);
    let editor = p.user.clone();
    let forms = state.forms();
    state
        .blocking(move |st| Ok(edit(st.store.as_ref(), &forms, &actor, &editor, id, f)?))
        .await
}

/// Set the review state (`received`, `has_issues`, `approved`, `rejected`).
pub async fn review(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    review_state: &str,
) -> Result<InterviewRecord, ApiError> {
    let rs = ReviewState::parse(review_state).ok_or_else(|| {
        ApiError::BadRequest("state must be received, has_issues, approved or rejected".into())
    })?;
    let by = p.user.id.clone();
    let (_, rec) = server_edit(state, p, id, move |iv| iv.set_review(rs, &by)).await?;
    let (st, actor) = (state.clone(), p.user.clone());
    tokio::task::spawn_blocking(move || {
        crate::audit::record(
            &st,
            &actor,
            "interview.review",
            &id.to_string(),
            rs.as_str(),
        );
    })
    .await?;
    Ok(rec)
}

/// Most interviews one bulk review may set.
pub const MAX_BULK: usize = 200;

/// What a bulk review did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BulkOutcome {
    /// Items now as asked (interviews reviewed, cases assigned).
    pub changed: usize,
    /// Interviews left as they were, with the reason (not found or not in the
    /// caller's countries, refused by the write policy).
    pub failed: Vec<(Uuid, String)>,
}

impl BulkOutcome {
    /// Count one item's result: done, or a per-item refusal (kept with its
    /// reason); any other error stops the whole request.
    pub fn record(
        &mut self,
        id: Uuid,
        result: Result<(), ApiError>,
        first_error: &mut Option<ApiError>,
    ) -> Result<(), ApiError> {
        match result {
            Ok(()) => self.changed += 1,
            Err(
                e @ (ApiError::NotFound(_)
                | ApiError::Forbidden(_)
                | ApiError::BadRequest(_)
                | ApiError::Conflict(_)),
            ) => {
                self.failed.push((id, e.to_string()));
                first_error.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The outcome; when nothing changed, the request as a whole failed, for
    /// the first item's reason.
    pub fn finish(self, first_error: Option<ApiError>) -> Result<BulkOutcome, ApiError> {
        match first_error {
            Some(e) if self.changed == 0 => Err(e),
            _ => Ok(self),
        }
    }
}

/// Set the review state of many interviews, each as its own audited server
/// edit (exactly as one review each: the same scope, write policy and
/// change that reaches the device). The state is checked before any edit;
/// when none of the interviews could be changed, the first one's error is
/// the answer (e.g. 404 for another country's).
pub async fn review_many(
    state: &AppState,
    p: &Principal,
    ids: &[Uuid],
    review_state: &str,
) -> Result<BulkOutcome, ApiError> {
    if ReviewState::parse(review_state).is_none() {
        return Err(ApiError::BadRequest(
            "state must be received, has_issues, approved or rejected".into(),
        ));
    }
    if ids.is_empty() {
        return Err(ApiError::BadRequest("select at least one interview".into()));
    }
    if ids.len() > MAX_BULK {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_BULK} interviews at once"
        )));
    }
    let mut out = BulkOutcome::default();
    let mut first_error = None;
    for id in ids {
        let result = review(state, p, *id, review_state).await.map(|_| ());
        out.record(*id, result, &mut first_error)?;
    }
    out.finish(first_error)
}

/// Add a comment signed with the caller's id, name and role.
pub async fn comment(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    text: &str,
) -> Result<InterviewRecord, ApiError> {
    let text = text.trim().to_owned();
    if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a comment needs 1-{MAX_COMMENT_CHARS} characters"
        )));
    }
    let (by_id, by, role) = (
        p.user.id.clone(),
        p.user.name.clone(),
        p.user.role.as_str().to_owned(),
    );
    let (_, rec) = server_edit(state, p, id, move |iv| {
        iv.add_comment(&by_id, &by, &role, &text)
    })
    .await?;
    Ok(rec)
}

/// Set (`on`) or clear a tag such as `root_cause:network`.
pub async fn tag(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    tag: &str,
    on: bool,
) -> Result<InterviewRecord, ApiError> {
    // Check what was sent, then lower-case: Unicode lower-casing maps some
    // non-ASCII letters to ASCII (the Kelvin sign U+212A becomes `k`).
    let raw = tag.trim();
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
    let theme = tag.starts_with(themes::TAG_PREFIX);
    let (_, rec) = server_edit(state, p, id, move |iv| iv.set_tag(&tag, on)).await?;
    if theme {
        // A reviewer's theme code is a new labelled example.
        state.theme_cache.invalidate();
    }
    Ok(rec)
}

/// What an erasure removes: the form's personal-data answers, or the whole
/// interview's content (every answer and comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EraseScope {
    Pii,
    Interview,
}

/// What an erasure did (names of questions, never values).
#[derive(Debug, Clone, Serialize)]
pub struct Erased {
    pub interview_id: Uuid,
    pub scope: EraseScope,
    /// Every answer erased from this interview so far, by question name.
    pub erased: Vec<String>,
}

/// Erase personal data of one interview for good, on a customer's request:
/// the document is rewritten without it and without history
/// ([`central_store::merge::rewrite`]), the devices holding it replace their
/// copy at their next sync, the database drops the old bytes, and the audit
/// log records who erased what (question names, never values). Admins only.
pub async fn erase(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    scope: EraseScope,
) -> Result<Erased, ApiError> {
    authorize(p, crate::auth::Action::ErasePersonalData)?;
    let rec = scoped(state, p, id, Purpose::Review).await?;
    let forms = state.forms();
    let pii = forms.pii_names(&rec.form_id, rec.form_version);
    let actor = state.actor_for(&p.user.id);
    let editor = p.user.clone();
    let erased = state
        .blocking(move |st| {
            let names: Vec<&str> = pii.iter().map(String::as_str).collect();
            let what = match scope {
                EraseScope::Pii => Erase::Answers(&names),
                EraseScope::Interview => Erase::Everything,
            };
            let (erased, _) = rewrite(st.store.as_ref(), &forms, &actor, &editor, id, what)?;
            let detail = format!(
                "scope={} answers={}",
                match scope {
                    EraseScope::Pii => "pii",
                    EraseScope::Interview => "interview",
                },
                erased.join(",")
            );
            crate::audit::record_first(st, &editor, "interview.erased", &id.to_string(), &detail)?;
            if let Err(e) = st.store.scrub_free_space() {
                tracing::warn!(error = %e, "free space not scrubbed after an erasure; retried at the next");
            }
            Ok(erased)
        })
        .await?;
    Ok(Erased {
        interview_id: id,
        scope,
        erased,
    })
}
