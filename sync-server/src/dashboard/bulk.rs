//! Bulk review from the queue: the coordinator ticks interviews and sets one
//! review state on all of them. Each is the same audited server edit as a
//! review on the interview page; the result comes back as a short page.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Html;
use maud::html;

use super::DashUser;
use super::error::HtmlError;
use super::layout::frame;
use crate::AppState;
use crate::service::interviews::review_many;

/// `POST /dashboard/reviews/bulk` (form fields `csrf`, `state`, `back` and
/// `ids` once per ticked interview).
pub async fn submit(
    State(state): State<AppState>,
    who: DashUser,
    body: Bytes,
) -> Result<Html<String>, HtmlError> {
    let (fields, ids) = super::ticked_form(&who, &body)?;
    let field = |k: &str| super::field(&fields, k);
    let target = field("state").to_owned();
    let outcome = review_many(&state, &who.principal, &ids, &target).await?;
    // Back to the same queue view (a local path only).
    let back = field("back");
    let back = if back.starts_with("/dashboard/reviews") && !back.contains("//") {
        back.to_owned()
    } else {
        "/dashboard/reviews".to_owned()
    };
    let lang = who.lang;
    let body = html! {
        h1 { (lang.t("bulk.title")) }
        p #bulk-result { (lang.tf("bulk.result", &[("n", &lang.int(outcome.changed)), ("state", &lang.review_state(&target))])) }
        @if !outcome.failed.is_empty() {
            section {
                h2 { (lang.t("bulk.not_changed")) }
                table #bulk-failed {
                    tr { th { (lang.t("bulk.interview")) } th { (lang.t("bulk.why")) } }
                    @for (id, why) in &outcome.failed {
                        tr { td { a href=(format!("/dashboard/interviews/{id}")) { (id) } } td { (why) } }
                    }
                }
            }
        }
        p { a #back href=(back) { (lang.t("bulk.back")) } }
    };
    Ok(frame(lang, lang.t("bulk.title"), Some(&who), None, body))
}
