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
use super::i18n::Lang;
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
    let lang = who.lang;
    let body = html! {
        h1 { (lang.t("forms.title")) }
        @if let Some(p) = &q.published { p.ok #published { (lang.tf("forms.published", &[("form", p)])) } }
        table #forms {
            tr { th { (lang.t("common.form")) } th.n { (lang.t("forms.head_version")) } th { (lang.t("forms.countries")) } th { (lang.t("forms.published_by")) } th.n { (lang.t("forms.phones")) } }
            @for (id, vs) in &versions {
                @for (i, (v, countries, coords)) in vs.iter().enumerate() {
                    tr {
                        td { @if i == 0 { b { (id) } } @else { span.muted { (id) } } }
                        td.n { (v) @if i == 0 { " " (lang.t("forms.newest")) } }
                        td { @if countries.is_empty() { (lang.t("forms.all_countries")) } @else { (countries.join(", ")) } }
                        td { @if *coords { (lang.t("forms.by_coordinators")) } @else { (lang.t("forms.by_admins")) } }
                        td.n { (lang.int(devices.get(&(id.clone(), *v)).copied().unwrap_or(0))) }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("forms.upload")) }
            p.muted { (lang.t("forms.upload_help")) }
            form method="post" action="/dashboard/forms/preview" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(who.csrf);
                input type="file" name="file" id="form-file" accept=".json,.xlsx,application/json";
                button type="submit" { (lang.t("forms.check")) }
            }
        }
    };
    Ok(frame(lang, lang.t("forms.title"), Some(&who), None, body))
}

/// `POST /dashboard/forms/preview` (multipart: `csrf`, `file`): what
/// publishing the file would change, with a button to publish it.
pub async fn preview_upload(
    State(state): State<AppState>,
    who: DashUser,
    mut parts: Multipart,
) -> Result<Response, HtmlError> {
    let lang = who.lang;
    let bad = |m: String| HtmlError(ApiError::BadRequest(m));
    let (mut csrf, mut file): (String, Option<(String, Bytes)>) = (String::new(), None);
    while let Some(field) = parts
        .next_field()
        .await
        .map_err(|e| bad(lang.tf("forms.unreadable", &[("error", &e)])))?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|e| bad(e.to_string()))?,
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(|e| bad(e.to_string()))?;
                if bytes.len() > MAX_FORM_FILE {
                    return Err(HtmlError(ApiError::PayloadTooLarge(
                        lang.tf("forms.too_large", &[("bytes", &lang.int(MAX_FORM_FILE))]),
                    )));
                }
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    who.check_csrf(&csrf)?;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(bad(lang.t("forms.choose_file").to_owned()));
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
    Ok(frame(lang, lang.t("forms.preview"), Some(&who), None, body).into_response())
}

fn problems_page(
    who: &DashUser,
    name: &str,
    message: &str,
    problems: &[serde_json::Value],
) -> Response {
    let lang = who.lang;
    let body = html! {
        h1 { (lang.t("forms.not_converted")) }
        p { (lang.tf("forms.not_converted_detail", &[("file", &name), ("message", &message)])) }
        table #problems {
            tr { th { (lang.t("forms.sheet")) } th.n { (lang.t("forms.row")) } th { (lang.t("forms.column")) } th { (lang.t("forms.problem")) } }
            @for p in problems {
                tr {
                    td { (p["sheet"].as_str().unwrap_or("")) }
                    td.n { (p["row"].as_u64().map(|r| r.to_string()).unwrap_or_default()) }
                    td { (p["column"].as_str().unwrap_or("")) }
                    td { (p["message"].as_str().unwrap_or("")) }
                }
            }
        }
        p { a href="/dashboard/forms" { (lang.t("forms.back")) } }
    };
    let page = frame(lang, lang.t("forms.problems"), Some(who), None, body);
    (axum::http::StatusCode::BAD_REQUEST, page).into_response()
}

fn list(lang: Lang, items: &[String]) -> Markup {
    html! { @if items.is_empty() { span.muted { (lang.t("common.none")) } } @else { (items.join(", ")) } }
}

fn changes_page(who: &DashUser, name: &str, p: &Publication, json: &str) -> Markup {
    let lang = who.lang;
    html! {
        h1 { (lang.tf("forms.version_of", &[("version", &p.version), ("form", &p.form_id)])) }
        p.muted { (lang.tf("forms.from_file", &[("file", &name)])) }
        @if p.already_published {
            p.ok #same { (lang.t("forms.already_published")) }
        } @else {
            @match (&p.changes, p.published_version) {
                (Some(c), Some(v)) => {
                    p { (lang.tf("forms.differences", &[("version", &v)])) }
                    table #changes {
                        tr { th { (lang.t("forms.added")) } td { (list(lang, &c.added)) } }
                        tr { th { (lang.t("forms.removed")) } td { (list(lang, &c.removed)) } }
                        tr { th { (lang.t("forms.retyped")) } td {
                            (list(lang, &c.retyped.iter().map(|r| format!("{} ({:?} → {:?})", r.question, r.from, r.to)).collect::<Vec<_>>())) } }
                        tr { th { (lang.t("forms.options_added")) } td {
                            (list(lang, &c.options_added.iter().map(|o| format!("{}: {}", o.question, o.options.join(", "))).collect::<Vec<_>>())) } }
                        tr { th { (lang.t("forms.options_removed")) } td {
                            (list(lang, &c.options_removed.iter().map(|o| format!("{}: {}", o.question, o.options.join(", "))).collect::<Vec<_>>())) } }
                        tr { th { (lang.t("forms.reworded")) } td { (list(lang, &c.reworded)) } }
                        tr { th { (lang.t("forms.rules_changed")) } td { (list(lang, &c.rules_changed)) } }
                    }
                    @if p.affects_collected_answers {
                        p.det #affects { (lang.t("forms.affects")) }
                    }
                }
                _ => p { (lang.t("forms.new_form")) }
            }
            form method="post" action="/dashboard/forms/publish" {
                input type="hidden" name="csrf" value=(who.csrf);
                textarea name="json" hidden { (json) }
                button type="submit" #publish { (lang.tf("forms.publish", &[("version", &p.version)])) }
            }
        }
        p { a href="/dashboard/forms" { (lang.t("forms.back")) } }
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
