//! Exports on the dashboard, for coordinators and analysts who do not call
//! the API: a form that starts an export job (format, countries, language,
//! labels, Excel's byte order mark, comments, drafts and rejected ones,
//! pseudonymised PII), the user's jobs with their progress (the page
//! refreshes itself while one runs) and download links, and how to connect
//! Power BI or Excel to the OData feed.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{Html, Response};
use maud::html;

use super::error::HtmlError;
use super::layout::frame;
use super::{DashUser, field, posted_fields, see_other};
use crate::AppState;
use crate::routes::export::{ExportQuery, export_options};
use crate::scope::{Purpose, Scope};
use crate::service::export_jobs::{self, JobState};

/// Seconds between refreshes while a job runs.
const REFRESH_S: u32 = 3;

/// `GET /dashboard/exports`.
pub async fn page(State(state): State<AppState>, who: DashUser) -> Result<Html<String>, HtmlError> {
    Scope::resolve(&who.principal, Purpose::Export, None)?;
    let lang = who.lang;
    let jobs = export_jobs::jobs_of(&state, &who.principal);
    let running = jobs
        .iter()
        .any(|j| matches!(j.state, JobState::Queued | JobState::Running));
    let countries = who.user().countries.join(",");
    let odata = format!(
        "{}/api/v1/odata",
        state.settings.public_url.trim_end_matches('/')
    );
    let body = html! {
        h1 { (lang.t("exports.title")) }
        section {
            form #start-export method="post" action="/dashboard/exports" {
                input type="hidden" name="csrf" value=(who.csrf);
                label { (lang.t("exports.format"))
                    select name="format" {
                        @for f in export::Format::ALL {
                            option value=(f.as_str()) { (f.as_str().to_uppercase()) }
                        }
                    }
                }
                label { (lang.t("exports.countries"))
                    input type="text" name="country" value=(countries) placeholder="CI,SN";
                }
                label { (lang.t("exports.language"))
                    select name="lang" {
                        @for l in super::i18n::Lang::ALL {
                            option value=(l.code()) selected[l == lang] { (l.name()) }
                        }
                    }
                }
                label { (lang.t("exports.labels"))
                    select name="labels" {
                        option value="codes" { (lang.t("exports.labels_codes")) }
                        option value="columns" { (lang.t("exports.labels_columns")) }
                        option value="values" { (lang.t("exports.labels_values")) }
                    }
                }
                label { (lang.t("exports.pii"))
                    select name="pii" {
                        option value="omit" { (lang.t("exports.pii_omit")) }
                        option value="pseudonymize" { (lang.t("exports.pii_pseudonymize")) }
                    }
                }
                label.check { input type="checkbox" name="excel" value="true"; " " (lang.t("exports.excel")) }
                label.check { input type="checkbox" name="comments" value="true"; " " (lang.t("exports.comments")) }
                label.check { input type="checkbox" name="include_drafts" value="true"; " " (lang.t("exports.include_drafts")) }
                label.check { input type="checkbox" name="include_rejected" value="true"; " " (lang.t("exports.include_rejected")) }
                button.primary type="submit" { (lang.t("exports.start")) }
            }
        }
        section #jobs {
            h2 { (lang.t("exports.jobs")) }
            @if jobs.is_empty() {
                p { (lang.t("exports.none")) }
            } @else {
                table {
                    thead { tr {
                        th { (lang.t("exports.format")) }
                        th { (lang.t("exports.state")) }
                        th { (lang.t("exports.rows")) }
                        th { (lang.t("exports.files")) }
                    } }
                    tbody {
                        @for j in &jobs {
                            tr.job data-state=(state_name(j.state)) {
                                td { (j.format.as_str().to_uppercase()) }
                                td {
                                    (state_text(lang, j.state))
                                    @if matches!(j.state, JobState::Queued | JobState::Running) {
                                        " " progress max="100" value=(format!("{:.0}", j.progress * 100.0)) {}
                                        " " (format!("{:.0} %", j.progress * 100.0))
                                    }
                                    @if let Some(e) = &j.error { " · " (e) }
                                }
                                td { @if let Some(m) = &j.manifest { (m.rows) } @else { (j.read) " / " (j.total) } }
                                td {
                                    @for f in &j.files {
                                        a href=(f.url) download=(f.name) { (f.name) }
                                        " (" (format!("{:.1} kB", f.bytes as f64 / 1000.0)) ") "
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #odata {
            h2 { (lang.t("exports.odata_title")) }
            p { (lang.t("exports.odata_help")) }
            p { code { (odata) } }
        }
    };
    Ok(frame(
        lang,
        lang.t("exports.title"),
        Some(&who),
        running.then_some(REFRESH_S),
        body,
    ))
}

fn state_text(lang: super::i18n::Lang, s: JobState) -> &'static str {
    match s {
        JobState::Queued => lang.t("exports.state_queued"),
        JobState::Running => lang.t("exports.state_running"),
        JobState::Done => lang.t("exports.state_done"),
        JobState::Failed => lang.t("exports.state_failed"),
    }
}

fn state_name(s: JobState) -> &'static str {
    match s {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Done => "done",
        JobState::Failed => "failed",
    }
}

/// `POST /dashboard/exports`: start a job, back to the page.
pub async fn start(
    State(state): State<AppState>,
    who: DashUser,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let fields = posted_fields(&who, &body)?;
    let text = |k: &str| Some(field(&fields, k).to_owned()).filter(|v| !v.trim().is_empty());
    let ticked = |k: &str| Some(field(&fields, k) == "true");
    let q = ExportQuery {
        country: text("country"),
        pii: text("pii"),
        lang: text("lang"),
        since: None,
        part: None,
        labels: text("labels"),
        excel: ticked("excel"),
        comments: ticked("comments"),
        include_drafts: ticked("include_drafts"),
        include_rejected: ticked("include_rejected"),
    };
    let format =
        export::Format::parse(field(&fields, "format")).map_err(crate::error::ApiError::from)?;
    let opts = export_options(&state, &who.principal, format, &q)?;
    export_jobs::start(&state, &who.principal, opts).await?;
    Ok(see_other("/dashboard/exports"))
}
