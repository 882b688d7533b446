//! Forms: the published versions, how many phones run each, and the upload
//! of a new version (fieldvoice JSON or an XLSForm workbook) shown as its
//! differences from the published one before anything is published. The
//! same service functions as `POST /api/v1/forms/preview` and
//! `POST /api/v1/forms` decide who may publish what.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{HtmlError, HtmlForm, HtmlQuery};
use super::layout::frame;
use super::{DashUser, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::scope::{Purpose, Scope};
use crate::service::forms::{FormBody, Publication, preview, publish};

/// Largest uploaded form file (JSON or XLSX).
const MAX_FORM_FILE: usize = 4 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
pub struct FormsQuery {
    /// `form@version` just published, for the confirmation line.
    pub published: Option<String>,
}

/// `GET /dashboard/forms`.
pub async fn page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlQuery(q): HtmlQuery<FormsQuery>,
) -> Result<Html<String>, HtmlError> {
    let scope = Scope::resolve(&who.principal, Purpose::Read, None)?;
    let forms = state.fresh_forms().await;
    let mut versions: BTreeMap<String, Vec<(u32, Vec<String>, bool)>> = BTreeMap::new();
    for f in forms.all() {
        let d = f.def();
        versions.entry(d.form_id.clone()).or_default().push((
            d.version,
            d.countries.clone(),
            d.coordinators_publish,
        ));
    }
    for v in versions.values_mut() {
        v.sort_by_key(|e| std::cmp::Reverse(e.0));
    }
    let devices = state
        .blocking(move |st| {
            let users = crate::service::users::users_in(st, &scope)?;
            Ok(super::progress::version_counts(
                &crate::service::users::devices_of(st, &users)?,
            ))
        })
        .await?;
    let body = html! {
        h1 { "Forms" }
        @if let Some(p) = &q.published { p.ok #published { "Published " (p) "." } }
        table #forms {
            tr { th { "Form" } th.n { "Version" } th { "Countries" } th { "Published by" } th.n { "Phones on it" } }
            @for (id, vs) in &versions {
                @for (i, (v, countries, coords)) in vs.iter().enumerate() {
                    tr {
                        td { @if i == 0 { b { (id) } } @else { span.muted { (id) } } }
                        td.n { (v) @if i == 0 { " (newest)" } }
                        td { @if countries.is_empty() { "all" } @else { (countries.join(", ")) } }
                        td { @if *coords { "admins and coordinators" } @else { "admins" } }
                        td.n { (devices.get(&(id.clone(), *v)).copied().unwrap_or(0)) }
                    }
                }
            }
        }
        section {
            h2 { "Upload a new version" }
            p.muted { "A fieldvoice form (.json) or an XLSForm (.xlsx). Nothing is published before you see what changes." }
            form method="post" action="/dashboard/forms/preview" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(who.csrf);
                input type="file" name="file" id="form-file" accept=".json,.xlsx,application/json";
                button type="submit" { "Check the differences" }
            }
        }
    };
    Ok(frame("Forms", Some(&who), None, body))
}

/// `POST /dashboard/forms/preview` (multipart: `csrf`, `file`): what
/// publishing the file would change, with a button to publish it.
pub async fn preview_upload(
    State(state): State<AppState>,
    who: DashUser,
    mut parts: Multipart,
) -> Result<Response, HtmlError> {
    let bad = |m: String| HtmlError(ApiError::BadRequest(m));
    let (mut csrf, mut file): (String, Option<(String, Bytes)>) = (String::new(), None);
    while let Some(field) = parts
        .next_field()
        .await
        .map_err(|e| bad(format!("unreadable upload: {e}")))?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|e| bad(e.to_string()))?,
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(|e| bad(e.to_string()))?;
                if bytes.len() > MAX_FORM_FILE {
                    return Err(HtmlError(ApiError::PayloadTooLarge(format!(
                        "a form file is at most {MAX_FORM_FILE} bytes"
                    ))));
                }
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    who.check_csrf(&csrf)?;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(bad("choose a .json or .xlsx file".into()));
    };
    // A workbook is a zip archive: "PK".
    let body = if bytes.starts_with(b"PK") {
        FormBody::Xlsx(bytes)
    } else {
        FormBody::Json(bytes)
    };
    let json = match tokio::task::spawn_blocking(move || body.into_json()).await {
        Ok(Ok(json)) => json,
        Ok(Err(ApiError::Problems(message, problems))) => {
            return Ok(problems_page(&who, &name, &message, &problems));
        }
        Ok(Err(e)) => return Err(HtmlError(e)),
        Err(e) => return Err(HtmlError(e.into())),
    };
    let publication = preview(
        &state,
        &who.principal,
        FormBody::Json(Bytes::from(json.clone())),
    )
    .await?;
    let body = changes_page(&who, &name, &publication, &json);
    Ok(frame("Form preview", Some(&who), None, body).into_response())
}

fn problems_page(
    who: &DashUser,
    name: &str,
    message: &str,
    problems: &[serde_json::Value],
) -> Response {
    let body = html! {
        h1 { "The workbook does not convert" }
        p { (name) ": " (message) ". Nothing was published." }
        table #problems {
            tr { th { "Sheet" } th.n { "Row" } th { "Column" } th { "Problem" } }
            @for p in problems {
                tr {
                    td { (p["sheet"].as_str().unwrap_or("")) }
                    td.n { (p["row"].as_u64().map(|r| r.to_string()).unwrap_or_default()) }
                    td { (p["column"].as_str().unwrap_or("")) }
                    td { (p["message"].as_str().unwrap_or("")) }
                }
            }
        }
        p { a href="/dashboard/forms" { "Back to the forms" } }
    };
    let page = frame("Form problems", Some(who), None, body);
    (axum::http::StatusCode::BAD_REQUEST, page).into_response()
}

fn list(items: &[String]) -> Markup {
    html! { @if items.is_empty() { span.muted { "none" } } @else { (items.join(", ")) } }
}

fn changes_page(who: &DashUser, name: &str, p: &Publication, json: &str) -> Markup {
    html! {
        h1 { "Version " (p.version) " of " (p.form_id) }
        p.muted { "From " (name) "." }
        @if p.already_published {
            p.ok #same { "This exact version is already published: publishing it again changes nothing." }
        } @else {
            @match (&p.changes, p.published_version) {
                (Some(c), Some(v)) => {
                    p { "Differences from the published version " (v) ":" }
                    table #changes {
                        tr { th { "Questions added" } td { (list(&c.added)) } }
                        tr { th { "Questions removed" } td { (list(&c.removed)) } }
                        tr { th { "Questions retyped" } td {
                            (list(&c.retyped.iter().map(|r| format!("{} ({:?} → {:?})", r.question, r.from, r.to)).collect::<Vec<_>>())) } }
                        tr { th { "Options added" } td {
                            (list(&c.options_added.iter().map(|o| format!("{}: {}", o.question, o.options.join(", "))).collect::<Vec<_>>())) } }
                        tr { th { "Options removed" } td {
                            (list(&c.options_removed.iter().map(|o| format!("{}: {}", o.question, o.options.join(", "))).collect::<Vec<_>>())) } }
                        tr { th { "Reworded" } td { (list(&c.reworded)) } }
                        tr { th { "Rules changed" } td { (list(&c.rules_changed)) } }
                    }
                    @if p.affects_collected_answers {
                        p.det #affects { "Interviews already collected keep their version, but lose a column, an option or a type in this one: analysts should know." }
                    }
                }
                _ => p { "A new form: nothing is published under this id yet." }
            }
            form method="post" action="/dashboard/forms/publish" {
                input type="hidden" name="csrf" value=(who.csrf);
                textarea name="json" hidden { (json) }
                button type="submit" #publish { "Publish version " (p.version) }
            }
        }
        p { a href="/dashboard/forms" { "Back to the forms" } }
    }
}

#[derive(Debug, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub json: String,
}

/// `POST /dashboard/forms/publish`: publish the previewed JSON.
pub async fn publish_form(
    State(state): State<AppState>,
    who: DashUser,
    HtmlForm(f): HtmlForm<PublishForm>,
) -> Result<Response, HtmlError> {
    who.check_csrf(&f.csrf)?;
    let p = publish(&state, &who.principal, FormBody::Json(Bytes::from(f.json))).await?;
    Ok(see_other(&format!(
        "/dashboard/forms?published={}@{}",
        p.form_id, p.version
    )))
}
