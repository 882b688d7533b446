//! Hackathon actions on the dashboard: a country's board (each root cause's
//! share and NPS this campaign and the one before, next to the actions that
//! address it), its actions, a form to record one, and one action's page
//! with its progress notes and the form that moves it.

use axum::extract::State;
use axum::response::{Html, Response};
use maud::{Markup, html};
use serde::Deserialize;
use survey_model::actions::ACTION_STATUSES;
use uuid::Uuid;

use super::error::{HtmlError, HtmlPath, HtmlQuery};
use super::i18n::Lang;
use super::layout::frame;
use super::{DashUser, field, posted_fields, see_other};
use crate::AppState;
use crate::service::actions::{self as service, ActionUpdate, ActionView, Board, NewAction};

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    pub country: Option<String>,
}

/// Split a list typed in one field (commas, spaces or new lines).
fn split_list(s: &str, on_space: bool) -> Vec<String> {
    s.split(|c: char| c == ',' || c == '\n' || c == ';' || (on_space && c.is_whitespace()))
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The root-cause options of the published forms, labelled in `lang`.
fn cause_options(state: &AppState, lang: Lang) -> Vec<(String, String)> {
    let forms = state.forms();
    let mut out: Vec<(String, String)> = Vec::new();
    for f in forms.latest() {
        let Some(q) = f.question(survey_model::actions::ROOT_CAUSE_QUESTION) else {
            continue;
        };
        for o in f.options_of(q) {
            if !out.iter().any(|(v, _)| *v == o.value) {
                let label = o.label.get(lang.code(), &f.def().default_language);
                out.push((o.value.clone(), label.to_owned()));
            }
        }
    }
    out
}

fn label_of<'a>(options: &'a [(String, String)], value: &'a str) -> &'a str {
    options
        .iter()
        .find(|(v, _)| v == value)
        .map_or(value, |(_, l)| l.as_str())
}

fn share(lang: Lang, c: Option<&export::analysis::CauseStat>) -> String {
    c.map_or_else(
        || lang.percent(0.0),
        |c| format!("{} ({})", lang.percent(100.0 * c.share), lang.int(c.count)),
    )
}

fn nps(lang: Lang, c: Option<&export::analysis::CauseStat>) -> String {
    c.and_then(|c| c.nps.as_ref())
        .map_or_else(|| "–".to_owned(), |n| lang.fixed(n.nps, 0))
}

/// A change in share, in percentage points, signed.
fn points(lang: Lang, delta: f64) -> String {
    let n = lang.fixed(delta, 0);
    let n = if delta >= 0.5 { format!("+{n}") } else { n };
    lang.tf("actions.points", &[("n", &n)])
}

fn render_board(lang: Lang, who: &DashUser, b: &Board, options: &[(String, String)]) -> Markup {
    let cur = b.current.as_ref();
    let prev = b.previous.as_ref();
    let mut causes: Vec<&str> = cur
        .map(|c| c.causes.iter().map(|x| x.value.as_str()).collect())
        .unwrap_or_default();
    for c in prev.map(|p| p.causes.as_slice()).unwrap_or_default() {
        if !causes.contains(&c.value.as_str()) {
            causes.push(&c.value);
        }
    }
    let countries = &who.principal.user.countries;
    html! {
        h1 { (lang.t("actions.title")) " · " (b.country) }
        @if countries.len() > 1 {
            form.filters method="get" action="/dashboard/actions" {
                label { (lang.t("common.country"))
                    select name="country" id="country" {
                        @for c in countries { option value=(c) selected[*c == b.country] { (c) } }
                    }
                }
                button.primary type="submit" { (lang.t("queue.filter")) }
            }
        }
        section {
            h2 { (lang.t("actions.causes")) }
            @if causes.is_empty() {
                p.muted { (lang.t("actions.no_data")) }
            } @else {
                table #causes {
                    tr {
                        th { (lang.t("actions.cause")) }
                        th.n { (lang.t("actions.share")) " " (b.campaign) }
                        th.n { "NPS " (b.campaign) }
                        @if let Some(p) = prev {
                            th.n { (lang.t("actions.share")) " " (p.campaign) }
                            th.n { "NPS " (p.campaign) }
                            th.n { (lang.t("actions.change")) }
                        }
                        th { (lang.t("actions.list")) }
                    }
                    @for value in &causes {
                        @let now = cur.and_then(|c| c.causes.iter().find(|x| x.value == *value));
                        @let before = prev.and_then(|c| c.causes.iter().find(|x| x.value == *value));
                        tr {
                            th scope="row" { (label_of(options, value)) }
                            td.n { (share(lang, now)) }
                            td.n { (nps(lang, now)) }
                            @if prev.is_some() {
                                td.n { (share(lang, before)) }
                                td.n { (nps(lang, before)) }
                                td.n { (points(lang, 100.0 * (now.map_or(0.0, |c| c.share) - before.map_or(0.0, |c| c.share)))) }
                            }
                            td {
                                @let addressing: Vec<_> = b.actions.iter().filter(|a| a.root_causes.iter().any(|c| c == value)).collect();
                                @if addressing.is_empty() {
                                    span.muted { (lang.t("actions.no_action")) }
                                } @else {
                                    ul.plain {
                                        @for a in addressing {
                                            li {
                                                a href=(format!("/dashboard/actions/{}", a.id)) { (a.title) }
                                                " " span.pill { (lang.label_of("action_status", &a.status)) }
                                                @if a.campaign != b.campaign { " · " (a.campaign) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("actions.list")) }
            @if b.actions.is_empty() {
                p.muted { (lang.t("actions.none")) }
            } @else {
                table #actions {
                    tr {
                        th { (lang.t("actions.field_title")) } th { (lang.t("actions.root_causes")) }
                        th { (lang.t("actions.owner")) } th { (lang.t("actions.due")) }
                        th { (lang.t("actions.status")) } th.n { (lang.t("actions.evidence_count")) }
                        th { (lang.t("actions.expected_effect")) }
                    }
                    @for a in &b.actions {
                        tr {
                            td { a href=(format!("/dashboard/actions/{}", a.id)) { (a.title) }
                                 @if a.campaign != b.campaign { " · " span.muted { (a.campaign) } } }
                            td { (a.root_causes.iter().map(|c| label_of(options, c)).collect::<Vec<_>>().join(", ")) }
                            td { (a.owner) }
                            td { (a.due_date.as_deref().unwrap_or("–")) }
                            td { span.pill { (lang.label_of("action_status", &a.status)) } }
                            td.n { (lang.int(a.evidence.len())) }
                            td { (a.expected_effect) }
                        }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("actions.new")) }
            form #new-action method="post" action="/dashboard/actions" {
                input type="hidden" name="csrf" value=(who.csrf);
                input type="hidden" name="country" value=(b.country);
                (fields(lang, options, None))
                button.primary type="submit" id="create-action" { (lang.t("actions.create")) }
            }
        }
    }
}

/// The inputs of an action (empty, or holding `a`).
fn fields(
    lang: Lang,
    options: &[(String, String)],
    a: Option<&central_store::ActionItem>,
) -> Markup {
    let has = |c: &str| a.is_some_and(|a| a.root_causes.iter().any(|x| x == c));
    let status = a.map_or("planned", |a| a.status.as_str());
    html! {
        div.grid {
            label { (lang.t("actions.field_title"))
                input type="text" name="title" id="title" required maxlength="200" value=(a.map_or("", |a| a.title.as_str())); }
            label { (lang.t("actions.owner"))
                input type="text" name="owner" id="owner" value=(a.map_or("", |a| a.owner.as_str())); }
            label { (lang.t("actions.due"))
                input type="date" name="due_date" id="due_date" value=(a.and_then(|a| a.due_date.as_deref()).unwrap_or("")); }
            label { (lang.t("actions.status"))
                select name="status" id="status" {
                    @for s in ACTION_STATUSES {
                        option value=(s.as_str()) selected[status == s.as_str()] { (lang.label_of("action_status", s.as_str())) }
                    }
                }
            }
        }
        fieldset {
            legend { (lang.t("actions.root_causes")) }
            @for (v, l) in options {
                label.check { input type="checkbox" name="root_causes" value=(v) checked[has(v)]; " " (l) }
            }
        }
        label { (lang.t("actions.description"))
            textarea name="description" id="description" rows="3" { (a.map_or("", |a| a.description.as_str())) } }
        label { (lang.t("actions.expected_effect"))
            textarea name="expected_effect" id="expected_effect" rows="2" { (a.map_or("", |a| a.expected_effect.as_str())) } }
        label { (lang.t("actions.themes"))
            input type="text" name="themes" id="themes" value=(a.map_or(String::new(), |a| a.themes.join(", "))); }
        label { (lang.t("actions.evidence"))
            textarea name="evidence" id="evidence" rows="2" { (a.map_or(String::new(), |a| a.evidence.join("\n"))) } }
    }
}

/// `GET /dashboard/actions?country=`.
pub async fn page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlQuery(q): HtmlQuery<BoardQuery>,
) -> Result<Html<String>, HtmlError> {
    let lang = who.lang;
    let board = service::board(&state, &who.principal, q.country.as_deref(), lang.code()).await?;
    let options = cause_options(&state, lang);
    Ok(frame(
        lang,
        lang.t("actions.title"),
        Some(&who),
        None,
        render_board(lang, &who, &board, &options),
    ))
}

/// `POST /dashboard/actions`: record an action, then its page.
pub async fn create(
    State(state): State<AppState>,
    who: DashUser,
    body: axum::body::Bytes,
) -> Result<Response, HtmlError> {
    let f = posted_fields(&who, &body)?;
    let n = NewAction {
        country: field(&f, "country").to_owned(),
        title: field(&f, "title").to_owned(),
        description: field(&f, "description").to_owned(),
        root_causes: all_of(&f, "root_causes"),
        themes: split_list(field(&f, "themes"), false),
        evidence: split_list(field(&f, "evidence"), true),
        owner: field(&f, "owner").to_owned(),
        due_date: Some(field(&f, "due_date").to_owned()),
        status: Some(field(&f, "status").to_owned()).filter(|s| !s.is_empty()),
        expected_effect: field(&f, "expected_effect").to_owned(),
    };
    let a = service::create(&state, &who.principal, n).await?;
    Ok(see_other(&format!("/dashboard/actions/{}", a.id)))
}

/// Every value of the repeated field `k`.
fn all_of(fields: &[(String, String)], k: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .collect()
}

fn render_action(
    lang: Lang,
    who: &DashUser,
    v: &ActionView,
    options: &[(String, String)],
) -> Markup {
    let a = &v.action;
    let reads_interviews = who.principal.user.role != central_store::Role::Analyst;
    html! {
        h1 { (a.title) }
        p { span.pill { (lang.label_of("action_status", &a.status)) } " · " (a.country) " · " (a.campaign)
            @if !a.owner.is_empty() { " · " (a.owner) }
            @if let Some(d) = &a.due_date { " · " (lang.t("actions.due")) " " (d) } }
        @if !a.description.is_empty() { p { (a.description) } }
        dl {
            dt { (lang.t("actions.root_causes")) }
            dd { (a.root_causes.iter().map(|c| label_of(options, c)).collect::<Vec<_>>().join(", ")) }
            dt { (lang.t("actions.expected_effect")) } dd { (a.expected_effect) }
            dt { (lang.t("actions.themes")) } dd { (a.themes.join(", ")) }
            dt { (lang.t("actions.evidence_count")) }
            dd { (lang.tf("actions.interviews", &[("n", &lang.int(a.evidence.len()))]))
                @if !a.evidence.is_empty() {
                    ul #evidence-list { @for id in &a.evidence { li {
                        @if reads_interviews { a href=(format!("/dashboard/interviews/{id}")) { code { (id) } } } @else { code { (id) } }
                    } } }
                }
            }
        }
        section {
            h2 { (lang.t("actions.notes")) }
            ul #action-notes { @for n in &v.notes { li { span.muted { (lang.unix_time(n.at)) } " " (n.text) } } }
        }
        section {
            h2 { (lang.t("actions.save")) }
            form #update-action method="post" action=(format!("/dashboard/actions/{}", a.id)) {
                input type="hidden" name="csrf" value=(who.csrf);
                input type="hidden" name="version" value=(a.version);
                (fields(lang, options, Some(a)))
                label { (lang.t("actions.note"))
                    textarea name="note" id="note" rows="2" {} }
                button.primary type="submit" id="save-action" { (lang.t("actions.save")) }
            }
        }
        p { a href=(format!("/dashboard/actions?country={}", a.country)) { (lang.t("actions.back")) } }
    }
}

/// `GET /dashboard/actions/{id}`.
pub async fn action_page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
) -> Result<Html<String>, HtmlError> {
    let v = service::detail(&state, &who.principal, &id.to_string()).await?;
    let lang = who.lang;
    let options = cause_options(&state, lang);
    Ok(frame(
        lang,
        lang.t("actions.action"),
        Some(&who),
        None,
        render_action(lang, &who, &v, &options),
    ))
}

/// `POST /dashboard/actions/{id}`: the service's update, from the form.
pub async fn update(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
    body: axum::body::Bytes,
) -> Result<Response, HtmlError> {
    let f = posted_fields(&who, &body)?;
    let version = field(&f, "version")
        .parse::<i64>()
        .map_err(|_| crate::error::ApiError::BadRequest("version is missing".into()))?;
    let given = |k: &str| {
        f.iter()
            .any(|(n, _)| n == k)
            .then(|| field(&f, k).to_owned())
    };
    let u = ActionUpdate {
        version,
        title: given("title"),
        description: given("description"),
        // A form that shows the checkboxes sets them all (none ticked: none).
        root_causes: given("title").map(|_| all_of(&f, "root_causes")),
        themes: given("themes").map(|t| split_list(&t, false)),
        evidence: given("evidence").map(|e| split_list(&e, true)),
        owner: given("owner"),
        due_date: given("due_date"),
        status: given("status"),
        expected_effect: given("expected_effect"),
        note: given("note"),
    };
    service::update(&state, &who.principal, &id.to_string(), u).await?;
    Ok(see_other(&format!("/dashboard/actions/{id}")))
}
