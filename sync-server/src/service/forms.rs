//! Form versions: preview what a new version changes, then publish it.
//! Published versions are immutable: the same version again is accepted only
//! with the same content (an idempotent retry); a new version must carry a
//! higher number than the newest published one. Interviews keep the version
//! they were started with.

use axum::body::Bytes;
use serde::Serialize;
use survey_model::{Form, FormChanges, VersionError};

use crate::AppState;
use crate::auth::{Action, Principal, authorize};
use crate::error::ApiError;

/// What publishing a form would do (or did).
#[derive(Debug, Serialize)]
pub struct Publication {
    pub form_id: String,
    pub version: u32,
    /// The newest version published before this one, if any.
    pub published_version: Option<u32>,
    /// Differences from `published_version` (none for a new form or a retry).
    pub changes: Option<FormChanges>,
    /// Whether answers collected under earlier versions lose a column, an
    /// option or their type (they keep their version; analysts should know).
    pub affects_collected_answers: bool,
    /// This exact version is already published (publishing is a no-op).
    pub already_published: bool,
}

/// A form as uploaded: fieldvoice JSON, or an XLSForm workbook converted
/// first (`xlsform::import`; its problems become a 400 listing each one).
#[derive(Debug)]
pub enum FormBody {
    /// Fieldvoice JSON (UTF-8 text).
    Json(Bytes),
    Xlsx(Bytes),
}

impl FormBody {
    /// The fieldvoice JSON text of the form (blocking work for a workbook).
    pub fn into_json(self) -> Result<String, ApiError> {
        match self {
            FormBody::Json(bytes) => String::from_utf8(bytes.to_vec()).map_err(|_| {
                ApiError::BadRequest(format!(
                    "the body is not UTF-8 JSON; send a form as application/json or an XLSForm as {}",
                    xlsform::XLSX_CONTENT_TYPE
                ))
            }),
            FormBody::Xlsx(bytes) => match xlsform::import(&bytes) {
                Ok(imported) => serde_json::to_string(&imported.form)
                    .map_err(|e| ApiError::Internal(format!("form to JSON: {e}"))),
                Err(e) => Err(ApiError::Problems(
                    format!("the XLSForm has {} problem(s)", e.problems.len()),
                    e.problems
                        .iter()
                        .map(|p| {
                            serde_json::json!({
                                "sheet": p.sheet, "row": p.row,
                                "column": p.column, "message": p.message,
                            })
                        })
                        .collect(),
                )),
            },
        }
    }
}

fn parse(body: &str) -> Result<Form, ApiError> {
    Form::from_json(body).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Decide what publishing `new` means against the forms `state` knows.
fn plan(state: &AppState, new: &Form) -> Result<Publication, ApiError> {
    let forms = state.forms();
    let latest = forms.latest_of(new.id());
    let mut out = Publication {
        form_id: new.id().to_owned(),
        version: new.version(),
        published_version: latest.map(Form::version),
        changes: None,
        affects_collected_answers: false,
        already_published: false,
    };
    if let Some(same) = forms.get(new.id(), new.version()) {
        // `$schema` is an editor hint, not content (an XLSForm upload has none).
        let content = |f: &Form| survey_model::FormDef {
            schema: None,
            ..f.def().clone()
        };
        if content(same) == content(new) {
            out.already_published = true;
            return Ok(out);
        }
        return Err(ApiError::Conflict(format!(
            "version {} of `{}` is published and cannot change; upload it as version {}",
            new.version(),
            new.id(),
            latest.map_or(new.version(), Form::version) + 1
        )));
    }
    if let Some(old) = latest {
        let changes = survey_model::changes::compare(old, new).map_err(|e| match e {
            VersionError::NotNewer { .. } => ApiError::Conflict(e.to_string()),
            VersionError::OtherForm(..) => ApiError::BadRequest(e.to_string()),
        })?;
        out.affects_collected_answers = changes.affects_collected_answers();
        out.changes = Some(changes);
    }
    Ok(out)
}

/// Who may publish at all: admins, and coordinators (for the forms that let
/// them: [`may_publish`]). Checked before a body is converted.
fn may_publish_some(p: &Principal) -> Result<(), ApiError> {
    match p.user.role {
        central_store::Role::Coordinator if p.device.is_none() => Ok(()),
        _ => authorize(p, Action::Administer),
    }
}

/// Whether `p` may publish `new`: admins any form; a coordinator only a new
/// version of a form whose newest version sets `coordinators_publish`, for
/// countries all of which are theirs, and which keeps those countries and the
/// setting (a coordinator can neither widen a form's reach nor take it from
/// the admins).
fn may_publish(state: &AppState, p: &Principal, new: &Form) -> Result<(), ApiError> {
    if authorize(p, Action::Administer).is_ok() {
        return Ok(());
    }
    let forms = state.forms();
    let Some(latest) = forms.latest_of(new.id()) else {
        return Err(ApiError::Forbidden(format!(
            "only an admin publishes a new form (`{}`)",
            new.id()
        )));
    };
    let old = latest.def();
    if !old.coordinators_publish {
        return Err(ApiError::Forbidden(format!(
            "`{}` is published by admins only (its coordinators_publish is not set)",
            new.id()
        )));
    }
    for c in &old.countries {
        authorize(p, Action::PublishForm { country: c })?;
    }
    let def = new.def();
    if def.countries != old.countries || !def.coordinators_publish {
        return Err(ApiError::Forbidden(format!(
            "a coordinator's version of `{}` keeps countries {:?} and coordinators_publish",
            new.id(),
            old.countries
        )));
    }
    Ok(())
}

/// What publishing the form in `body` would change; publishes nothing.
pub async fn preview(
    state: &AppState,
    p: &Principal,
    body: FormBody,
) -> Result<Publication, ApiError> {
    may_publish_some(p)?;
    let p = p.clone();
    state
        .blocking(move |st| {
            let new = parse(&body.into_json()?)?;
            may_publish(st, &p, &new)?;
            plan(st, &new)
        })
        .await
}

/// Publish the form in `body` (validated, checked against the published
/// versions, audited). Returns what was done; `already_published` for a retry.
pub async fn publish(
    state: &AppState,
    p: &Principal,
    body: FormBody,
) -> Result<Publication, ApiError> {
    may_publish_some(p)?;
    let actor = p.user.clone();
    let p = p.clone();
    state
        .blocking(move |st| {
            let body = body.into_json()?;
            let new = parse(&body)?;
            may_publish(st, &p, &new)?;
            let publication = plan(st, &new)?;
            if !publication.already_published {
                let form = st.install_form(&body)?;
                crate::audit::record(
                    st,
                    &actor,
                    "form.put",
                    form.id(),
                    &form.version().to_string(),
                );
            }
            Ok(publication)
        })
        .await
}
