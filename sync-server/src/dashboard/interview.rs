//! One interview: answers with their question labels, verbatim, map point,
//! comments, tags, conflicts and the edit history; forms to review, comment and
//! tag. The forms call the same service functions as the JSON API, so a
//! dashboard review is the same Automerge change as an API review and reaches
//! the device.

use axum::extract::State;
use axum::response::{Html, Response};
use central_store::ChangeMeta;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value as Json_;
use survey_model::{Form as SurveyForm, QuestionType};
use uuid::Uuid;

use super::error::{HtmlError, HtmlForm, HtmlPath};
use super::i18n::Lang;
use super::layout::{frame, nps_class};
use super::{DashUser, see_other, svg};
use crate::AppState;
use crate::error::ApiError;
use crate::service::interviews::{self as service, Detail};

/// A repeat's instances as the page shows them: question labels, then one
/// row of shown values per instance.
struct RepeatTable {
    id: String,
    label: String,
    head: Vec<String>,
    body: Vec<Vec<String>>,
}

/// History entry with a readable author.
struct HistoryRow {
    meta: ChangeMeta,
    who: String,
}

/// `GET /dashboard/interviews/{id}`.
pub async fn page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
) -> Result<Html<String>, HtmlError> {
    // Same scoping as the API: other countries' interviews answer 404.
    let detail = service::detail(&state, &who.principal, id).await?;
    let owner = detail.record.created_by.clone();
    let lang = who.lang;
    let (history, employee) = state
        .blocking(move |st| {
            let log = st.store.change_log(id)?;
            let devices = st.store.list_devices(None)?;
            let mut names: std::collections::HashMap<String, String> = Default::default();
            let mut name_of = |uid: &str| -> Result<String, ApiError> {
                if let Some(n) = names.get(uid) {
                    return Ok(n.clone());
                }
                let n = st.store.user(uid)?.map_or_else(
                    || uid.to_owned(),
                    |u| {
                        lang.tf(
                            "interview.name_role",
                            &[("name", &u.name), ("role", &lang.role(u.role))],
                        )
                    },
                );
                names.insert(uid.to_owned(), n.clone());
                Ok(n)
            };
            let mut rows = Vec::with_capacity(log.len());
            for meta in log {
                let who = if let Some(uid) = meta.source.strip_prefix("server:") {
                    lang.tf("interview.by_dashboard", &[("name", &name_of(uid)?)])
                } else if let Some(d) = devices.iter().find(|d| d.id == meta.source) {
                    lang.tf(
                        "interview.by_device",
                        &[("name", &name_of(&d.user_id)?), ("device", &d.label)],
                    )
                } else {
                    lang.tf("interview.by_unknown_device", &[("device", &meta.source)])
                };
                rows.push(HistoryRow { meta, who });
            }
            let employee = name_of(&owner)?;
            Ok((rows, employee))
        })
        .await?;
    let forms = state.forms();
    let form = forms
        .get(&detail.record.form_id, detail.record.form_version)
        .cloned();
    let body = render(&detail, form.as_ref(), &history, &employee, &who);
    Ok(frame(
        lang,
        lang.t("interview.title"),
        Some(&who),
        None,
        body,
    ))
}

fn option_label(lang: Lang, form: &SurveyForm, q: &str, v: &str) -> String {
    form.question(q)
        .and_then(|q| q.options.iter().find(|o| o.value == v))
        .map_or_else(
            || v.to_owned(),
            |o| o.label.get(lang.code(), "en").to_owned(),
        )
}

fn show_value(
    lang: Lang,
    form: Option<&SurveyForm>,
    name: &str,
    kind: Option<QuestionType>,
    v: &Json_,
) -> String {
    match (kind, v) {
        (Some(QuestionType::SingleChoice), Json_::String(s)) => {
            form.map_or_else(|| s.clone(), |f| option_label(lang, f, name, s))
        }
        (Some(QuestionType::MultiChoice), Json_::Array(a)) => a
            .iter()
            .filter_map(Json_::as_str)
            .map(|s| form.map_or_else(|| s.to_owned(), |f| option_label(lang, f, name, s)))
            .collect::<Vec<_>>()
            .join(lang.t("format.list")),
        (_, Json_::Bool(b)) => if *b {
            lang.t("interview.yes")
        } else {
            lang.t("interview.no")
        }
        .to_owned(),
        (_, Json_::String(s)) => s.clone(),
        (_, Json_::Object(o)) if o.contains_key("lat") => format!(
            "{}, {}",
            o.get("lat").map_or_else(String::new, ToString::to_string),
            o.get("lon").map_or_else(String::new, ToString::to_string)
        ),
        (_, other) => other.to_string(),
    }
}

const TAG_SUGGESTIONS: &[&str] = &[
    "theme:network_coverage",
    "theme:data_speed",
    "theme:pricing",
    "theme:billing",
    "theme:mobile_money",
    "theme:shop_service",
    "theme:call_centre",
    "theme:praise",
    "root_cause:network",
    "root_cause:it",
    "root_cause:operations",
    "root_cause:organisation",
    "root_cause:unknown",
];

fn render(
    d: &Detail,
    form: Option<&SurveyForm>,
    history: &[HistoryRow],
    employee: &str,
    who: &DashUser,
) -> Markup {
    let lang = who.lang;
    let r = &d.record;
    let id = &r.interview_id;
    let state = r.review_state.as_deref().unwrap_or("unreviewed");
    let location = r
        .answers
        .get("location")
        .and_then(|v| Some((v.get("lat")?.as_f64()?, v.get("lon")?.as_f64()?)));
    // Answers in form order; answers the form does not know at the end.
    let mut rows: Vec<(String, String, String)> = Vec::new();
    if let Some(f) = form {
        for q in f.questions() {
            if let Some(v) = r.answers.get(&q.name) {
                rows.push((
                    q.name.clone(),
                    q.label.get(lang.code(), "en").to_owned(),
                    show_value(lang, form, &q.name, Some(q.kind), v),
                ));
            }
        }
    }
    for (k, v) in &r.answers {
        if form.and_then(|f| f.question(k)).is_none() {
            rows.push((k.clone(), k.clone(), show_value(lang, None, k, None, v)));
        }
    }
    // Each repeat's instances as a table: one row per instance, one column
    // per question of the repeat.
    let mut repeats: Vec<RepeatTable> = Vec::new();
    if let Some(f) = form {
        for rp in &f.def().repeats {
            let Some(instances) = r.repeats.get(&rp.id).filter(|i| !i.is_empty()) else {
                continue;
            };
            let questions: Vec<&survey_model::Question> = f
                .repeat_questions(&rp.id)
                .filter(|q| q.kind.takes_answer())
                .collect();
            let head = questions
                .iter()
                .map(|q| q.label.get(lang.code(), "en").to_owned())
                .map(|l| if l.is_empty() { "·".to_owned() } else { l })
                .collect();
            let body = instances
                .iter()
                .map(|inst| {
                    questions
                        .iter()
                        .map(|q| {
                            inst.get(&q.name).map_or_else(String::new, |v| {
                                show_value(lang, form, &q.name, Some(q.kind), v)
                            })
                        })
                        .collect()
                })
                .collect();
            repeats.push(RepeatTable {
                id: rp.id.clone(),
                label: rp.label.get(lang.code(), "en").to_owned(),
                head,
                body,
            });
        }
    }
    html! {
        h1 { (lang.t("interview.title")) " " span.muted { (id) } }
        div.cards {
            div.card { b { (r.country) } (r.answer_str("city").unwrap_or("")) }
            div.card { b { @if let Some(n) = r.answer_i64("nps") { span class=(nps_class(n)) { (n) } } @else { "–" } } (lang.t("common.nps")) }
            div.card { b #review-state { span class=(format!("pill st-{state}")) { (lang.review_state(state)) } } (lang.t("interview.review_card")) }
            div.card { b { (employee) } (lang.t("interview.interviewer")) }
            div.card { b { (lang.rfc3339_short(&r.created_at)) } (lang.interview_status(&r.status)) }
        }
        @if let Some(v) = r.answer_str("verbatim") {
            h2 { (lang.t("interview.verbatim")) }
            blockquote #verbatim lang=(r.answer_str("verbatim_language").unwrap_or("")) dir="auto" { (v) }
        }
        (paradata_panel(lang, r, history.first().map(|h| h.meta.received_at)))
        @if !r.quality_flags.is_empty() {
            h2 { (lang.t("interview.set_aside")) }
            p.muted { (lang.t("interview.set_aside_help")) }
            ul #quality-flags { @for f in &r.quality_flags { li { code { (f.to_string()) } } } }
        }
        div.grid {
            section {
                h2 { (lang.t("queue.review")) }
                form method="post" action=(format!("/dashboard/interviews/{id}/review")) {
                    input type="hidden" name="csrf" value=(who.csrf);
                    label { (lang.t("common.review_state"))
                        select name="state" id="state" {
                            @for s in ["received", "has_issues", "approved", "rejected"] {
                                option value=(s) selected[s == state] { (lang.review_state(s)) }
                            }
                        }
                    }
                    " " button.primary type="submit" id="set-review" { (lang.t("interview.set_state")) }
                }
                h2 { (lang.t("queue.tags_head")) }
                div #tags {
                    @for t in &r.tags {
                        form method="post" action=(format!("/dashboard/interviews/{id}/tag")) {
                            input type="hidden" name="csrf" value=(who.csrf);
                            input type="hidden" name="tag" value=(t);
                            input type="hidden" name="on" value="false";
                            span.pill.tag { (t) } " " button type="submit" title=(lang.t("interview.remove_tag")) { "×" }
                        }
                    }
                    @if r.tags.is_empty() { span.muted { (lang.t("interview.no_tags")) } }
                }
                form method="post" action=(format!("/dashboard/interviews/{id}/tag")) {
                    input type="hidden" name="csrf" value=(who.csrf);
                    input type="hidden" name="on" value="true";
                    label { (lang.t("interview.tag_label"))
                        input name="tag" id="tag" list="tag-suggestions" placeholder="theme:network_coverage" required;
                    }
                    datalist id="tag-suggestions" { @for t in TAG_SUGGESTIONS { option value=(t) {} } }
                    " " button type="submit" id="add-tag" { (lang.t("interview.add_tag")) }
                }
                h2 { (lang.t("interview.comments")) }
                ul #comments {
                    @for c in &d.comments {
                        li { strong { (c.author) } " " span.muted { "(" (lang.role_name(&c.role)) ", " (lang.rfc3339_short(&c.at)) ")" } br; (c.text) }
                    }
                }
                form method="post" action=(format!("/dashboard/interviews/{id}/comment")) {
                    input type="hidden" name="csrf" value=(who.csrf);
                    label { (lang.t("interview.comment")) textarea name="text" id="comment" rows="3" cols="40" maxlength="4000" required {} }
                    button type="submit" id="add-comment" { (lang.t("interview.add_comment")) }
                }
            }
            section {
                h2 { (lang.t("interview.location")) }
                @if let Some((lat, lon)) = location {
                    (svg::map_point(lang, lat, lon))
                    p { (format!("{lat:.5}, {lon:.5}")) " · "
                        a href=(format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}"))
                          rel="noopener noreferrer" target="_blank" { "OpenStreetMap" } }
                } @else { p.muted { (lang.t("interview.no_gps")) } }
                @if !d.conflicts.is_empty() {
                    h2 { (lang.t("interview.conflicts")) }
                    ul #conflicts {
                        @for c in &d.conflicts {
                            li { (c.question) ": " (c.values.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | ")) }
                        }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("interview.answers")) }
            table #answers {
                @for (name, label, value) in &rows {
                    tr data-q=(name) { th { (label) } td { (value) } }
                }
            }
            @for t in &repeats {
                h3 { (t.label) " (" (lang.int(t.body.len() as i64)) ")" }
                table.repeat data-repeat=(t.id) {
                    tr { th.n { "#" } @for h in &t.head { th { (h) } } }
                    @for (i, row) in t.body.iter().enumerate() {
                        tr { td.n { (i + 1) } @for v in row { td { (v) } } }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("interview.history")) }
            table #history {
                tr { th.n { (lang.t("interview.hash")) } th { (lang.t("interview.received")) } th { (lang.t("interview.by")) } th { (lang.t("interview.change")) } }
                @for h in history {
                    tr { td.n { (h.meta.seq) } td { (lang.unix_time(h.meta.received_at)) } td { (h.who) }
                         td.muted { code { (h.meta.hash.get(..12).unwrap_or(&h.meta.hash)) } } }
                }
            }
        }
    }
}

/// Minutes and seconds, `12 min 05 s`.
fn duration(lang: Lang, s: i64) -> String {
    lang.tf(
        "paradata.min_s",
        &[("m", &lang.int(s / 60)), ("s", &format!("{:02}", s % 60))],
    )
}

/// How the interview was filled in and the quality checks that fire: device
/// times next to the server's first receipt and the device's clock skew.
fn paradata_panel(lang: Lang, r: &survey_model::InterviewRecord, received: Option<i64>) -> Markup {
    let p = &r.paradata;
    let dash = || "–".to_owned();
    html! {
        section #paradata {
            h2 { (lang.t("paradata.title")) }
            p #checks {
                @if r.checks.is_empty() { span.muted { (lang.t("paradata.none")) } }
                @for c in &r.checks { span.pill.flag title=(c.as_str()) { (lang.check(*c)) } " " }
            }
            table {
                tr { th { (lang.t("paradata.duration")) } td #duration { (p.duration_s.map_or_else(dash, |d| duration(lang, d))) } }
                tr { th { (lang.t("paradata.first_answer")) } td { (p.first_answer_at.map_or_else(dash, |t| lang.unix_time(t))) } }
                tr { th { (lang.t("paradata.submitted")) } td { (p.submitted_at.map_or_else(dash, |t| lang.unix_time(t))) } }
                tr { th { (lang.t("paradata.received")) } td { (received.map_or_else(dash, |t| lang.unix_time(t))) } }
                tr { th { (lang.t("paradata.skew")) } td #skew { (p.clock_skew_s.map_or_else(|| lang.t("paradata.not_reported").to_owned(), |s| format!("{s:+} s"))) } }
                tr { th { (lang.t("paradata.edits")) } td #edits { (lang.int(p.edits)) } }
            }
            @if !p.sections.is_empty() {
                h2 { (lang.t("paradata.sections")) }
                table #sections {
                    @for (s, t) in &p.sections { tr { td { (s) } td.n { (duration(lang, *t)) } } }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub state: String,
}

/// `POST /dashboard/interviews/{id}/review`.
pub async fn review(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
    HtmlForm(f): HtmlForm<ReviewForm>,
) -> Result<Response, HtmlError> {
    who.check_csrf(&f.csrf)?;
    service::review(&state, &who.principal, id, &f.state).await?;
    Ok(see_other(&format!("/dashboard/interviews/{id}")))
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub text: String,
}

/// `POST /dashboard/interviews/{id}/comment`.
pub async fn comment(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
    HtmlForm(f): HtmlForm<CommentForm>,
) -> Result<Response, HtmlError> {
    who.check_csrf(&f.csrf)?;
    service::comment(&state, &who.principal, id, &f.text).await?;
    Ok(see_other(&format!("/dashboard/interviews/{id}")))
}

#[derive(Debug, Deserialize)]
pub struct TagForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub on: Option<String>,
}

/// `POST /dashboard/interviews/{id}/tag`.
pub async fn tag(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
    HtmlForm(f): HtmlForm<TagForm>,
) -> Result<Response, HtmlError> {
    who.check_csrf(&f.csrf)?;
    let on = f.on.as_deref() != Some("false");
    service::tag(&state, &who.principal, id, &f.tag, on).await?;
    Ok(see_other(&format!("/dashboard/interviews/{id}")))
}
