//! Follow-up cases on the dashboard: the queue (agents and coordinators of
//! the country, by due date, overdue first to the eye) with the
//! service-level figures, and one case with its notes, the forms that move
//! it and a button that shows the customer's contact details (a POST with
//! the CSRF token: each view is deliberate and audited by the service).

use axum::extract::State;
use axum::response::{Html, Response};
use central_store::unix_now;
use maud::{Markup, html};
use serde::Deserialize;
use survey_model::cases::{CASE_STATUSES, RESOLUTIONS};
use uuid::Uuid;

use super::error::{HtmlError, HtmlForm, HtmlPath, HtmlQuery};
use super::i18n::Lang;
use super::layout::frame;
use super::{DashUser, see_other};
use crate::AppState;
use crate::service::cases::{self as service, CaseQuery, CaseUpdate, CaseView, Contact};

/// `GET /dashboard/cases?status=&owner=me`.
pub async fn page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlQuery(q): HtmlQuery<CaseQuery>,
) -> Result<Html<String>, HtmlError> {
    let cases = service::list(&state, &who.principal, &q).await?;
    let figures = service::stats(&state, &who.principal, q.country.as_deref()).await?;
    // Whom cases can go to: a coordinator picks among the agents and
    // coordinators of its countries; an agent takes them for itself.
    let workers: Vec<(String, String)> = if who.principal.user.role == central_store::Role::Agent {
        Vec::new()
    } else {
        let p = who.principal.clone();
        state
            .blocking(move |st| {
                let scope =
                    crate::scope::Scope::resolve(&p, crate::scope::Purpose::WorkCases, None)?;
                Ok(crate::service::users::users_in(st, &scope)?
                    .into_iter()
                    .filter(|u| {
                        u.active
                            && matches!(
                                u.role,
                                central_store::Role::Agent | central_store::Role::Coordinator
                            )
                    })
                    .map(|u| (u.id, u.name))
                    .collect())
            })
            .await?
    };
    let lang = who.lang;
    let now = unix_now();
    let status = q.status.clone().unwrap_or_default();
    let mine = q.owner.as_deref() == Some("me");
    let body = html! {
        h1 { (lang.t("cases.title")) }
        form.filters method="get" action="/dashboard/cases" {
            label { (lang.t("cases.status"))
                select name="status" id="status" {
                    option value="" { (lang.t("queue.any")) }
                    @for s in CASE_STATUSES {
                        option value=(s.as_str()) selected[status == s.as_str()] { (lang.label_of("case_status", s.as_str())) }
                    }
                }
            }
            label { (lang.t("cases.owner"))
                select name="owner" id="owner" {
                    option value="" { (lang.t("queue.any")) }
                    option value="me" selected[mine] { (lang.t("cases.mine")) }
                }
            }
            button.primary type="submit" { (lang.t("queue.filter")) }
        }
        form #assign method="post" action="/dashboard/cases/assign" {
        input type="hidden" name="csrf" value=(who.csrf);
        section {
            table #cases {
                tr { th { "✓" } th { (lang.t("cases.due")) } th { (lang.t("common.country")) } th { (lang.t("cases.reason")) }
                     th { (lang.t("cases.status")) } th { (lang.t("cases.owner")) } th { (lang.t("cases.root_cause")) } }
                @for c in &cases {
                    @let late = c.first_contact_at.is_none() && c.due_at < now
                        && survey_model::cases::CaseStatus::parse(&c.status).is_some_and(|s| s.is_active());
                    tr {
                        td { input type="checkbox" name="ids" value=(c.id) aria-label=(lang.t("queue.select")); }
                        td { a href=(format!("/dashboard/cases/{}", c.id)) class=(if late { "pace-far" } else { "" }) {
                            (lang.unix_time(c.due_at)) } @if late { " · " (lang.t("cases.overdue")) } }
                        td { (c.country) }
                        td { (lang.label_of("case_reason", &c.reason)) }
                        td { span.pill { (lang.label_of("case_status", &c.status)) } }
                        td { (c.owner.as_deref().map_or_else(|| lang.t("cases.nobody").to_owned(), |o| if o == who.principal.user.id { lang.t("cases.mine").to_owned() } else { o.to_owned() })) }
                        td { (c.root_cause.as_deref().unwrap_or("")) }
                    }
                }
            }
            @if cases.is_empty() { p.muted { (lang.t("cases.none")) } }
        }
        @if !cases.is_empty() {
            div.bulk {
                label { (lang.t("cases.assign_to"))
                    select name="owner" id="assign-owner" {
                        option value="me" { (lang.t("cases.mine")) }
                        @for (id, name) in &workers { option value=(id) { (name) } }
                    }
                }
                button.primary type="submit" id="assign-apply" { (lang.t("queue.bulk_apply")) }
            }
        }
        }
        section {
            h2 { (lang.t("cases.figures")) }
            table #case-figures {
                tr { th { (lang.t("common.country")) } th { (lang.t("cases.root_cause")) } th.n { (lang.t("cases.count")) }
                     th.n { (lang.t("cases.in_time")) } th.n { (lang.t("cases.overdue")) } th.n { (lang.t("cases.hours_contact")) }
                     th.n { (lang.t("cases.hours_resolution")) } th.n { (lang.t("cases.satisfaction")) } }
                @for f in &figures {
                    tr {
                        td { (f.country) }
                        td { (f.root_cause.as_deref().unwrap_or(lang.t("queue.any"))) }
                        td.n { (lang.int(f.cases)) }
                        td.n { (f.first_contact_share.map_or_else(|| "–".to_owned(), |s| lang.percent(100.0 * s))) }
                        td.n { (lang.int(f.overdue)) }
                        td.n { (lang.dec(f.mean_hours_to_first_contact)) }
                        td.n { (lang.dec(f.mean_hours_to_resolution)) }
                        td.n { (lang.dec(f.mean_satisfaction)) }
                    }
                }
            }
        }
    };
    Ok(frame(
        lang,
        lang.t("cases.title"),
        Some(&who),
        Some(60),
        body,
    ))
}

fn render_case(lang: Lang, who: &DashUser, v: &CaseView, contact: Option<&Contact>) -> Markup {
    let c = &v.case;
    let path = format!("/dashboard/cases/{}", c.id);
    html! {
        h1 { (lang.t("cases.case")) " · " (lang.label_of("case_status", &c.status)) }
        div.cards {
            div.card { b { (lang.unix_time(c.due_at)) } (lang.t("cases.due")) }
            div.card { b { (lang.label_of("case_reason", &c.reason)) } (lang.t("cases.reason")) }
            div.card { b { @if let Some(n) = v.nps { (n) } @else { "–" } } (lang.t("common.nps")) }
            div.card { b { (c.root_cause.as_deref().unwrap_or("—")) } (lang.t("cases.root_cause")) }
        }
        @if let Some(words) = &v.verbatim { blockquote dir="auto" { (words) } }
        section #contact {
            h2 { (lang.t("cases.contact")) }
            @if let Some(k) = contact {
                table {
                    tr { th { (lang.t("cases.customer_name")) } td #contact-name { (k.customer_name.as_deref().unwrap_or("–")) } }
                    tr { th { (lang.t("cases.customer_phone")) } td #contact-phone { (k.customer_phone.as_deref().unwrap_or("–")) } }
                    tr { th { (lang.t("cases.follow_up_contact")) } td #contact-given { (k.follow_up_contact.as_deref().unwrap_or("–")) } }
                }
                p.muted { (lang.t("cases.contact_audited")) }
            } @else if let Some(t) = c.contact_erased_at {
                p.muted #contact-erased { (lang.tf("cases.contact_erased", &[("at", &lang.unix_time(t))])) }
            } @else {
                form method="post" action=(format!("{path}/contact")) {
                    input type="hidden" name="csrf" value=(who.csrf);
                    button type="submit" id="show-contact" { (lang.t("cases.show_contact")) }
                }
            }
        }
        section {
            h2 { (lang.t("cases.update")) }
            form method="post" action=(path) {
                input type="hidden" name="csrf" value=(who.csrf);
                input type="hidden" name="version" value=(c.version);
                label { (lang.t("cases.status"))
                    select name="status" id="case-status" {
                        option value="" { "—" }
                        @for s in CASE_STATUSES {
                            option value=(s.as_str()) { (lang.label_of("case_status", s.as_str())) }
                        }
                    }
                }
                label { (lang.t("cases.resolution"))
                    select name="resolution" id="case-resolution" {
                        option value="" { "—" }
                        @for r in RESOLUTIONS { option value=(r) { (lang.label_of("case_resolution", r)) } }
                    }
                }
                label { (lang.t("cases.satisfaction"))
                    select name="satisfaction" id="case-satisfaction" {
                        option value="" { "—" }
                        @for n in 1..=5 { option value=(n) { (n) } }
                    }
                }
                label { (lang.t("cases.note")) textarea name="note" id="case-note" rows="2" {} }
                @if c.owner.is_none() {
                    label { input type="checkbox" name="take" value="me"; (lang.t("cases.take")) }
                }
                button.primary type="submit" id="case-save" { (lang.t("cases.save")) }
            }
        }
        section {
            h2 { (lang.t("cases.notes")) }
            ul #case-notes { @for n in &v.notes { li { span.muted { (lang.unix_time(n.at)) } " " (n.text) } } }
        }
        p { a href="/dashboard/cases" { (lang.t("cases.back")) } }
    }
}

/// `GET /dashboard/cases/{id}`.
pub async fn case_page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
) -> Result<Html<String>, HtmlError> {
    let v = service::detail(&state, &who.principal, &id.to_string()).await?;
    let lang = who.lang;
    Ok(frame(
        lang,
        lang.t("cases.case"),
        Some(&who),
        None,
        render_case(lang, &who, &v, None),
    ))
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /dashboard/cases/{id}/contact`: the case page with the contact
/// details (the service refuses anyone but the owner and coordinators, and
/// audits the view).
pub async fn contact(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
    HtmlForm(f): HtmlForm<CsrfForm>,
) -> Result<Html<String>, HtmlError> {
    who.check_csrf(&f.csrf)?;
    let k = service::contact(&state, &who.principal, &id.to_string()).await?;
    let v = service::detail(&state, &who.principal, &id.to_string()).await?;
    let lang = who.lang;
    Ok(frame(
        lang,
        lang.t("cases.case"),
        Some(&who),
        None,
        render_case(lang, &who, &v, Some(&k)),
    ))
}

#[derive(Debug, Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    pub csrf: String,
    pub version: i64,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub resolution: String,
    #[serde(default)]
    pub satisfaction: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub take: Option<String>,
}

/// `POST /dashboard/cases/{id}`: the service's update, from the form.
pub async fn update(
    State(state): State<AppState>,
    who: DashUser,
    HtmlPath(id): HtmlPath<Uuid>,
    HtmlForm(f): HtmlForm<UpdateForm>,
) -> Result<Response, HtmlError> {
    who.check_csrf(&f.csrf)?;
    let given = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let satisfaction = match given(&f.satisfaction) {
        None => None,
        Some(s) => Some(
            s.parse::<i64>()
                .map_err(|_| crate::error::ApiError::BadRequest("satisfaction is 1 to 5".into()))?,
        ),
    };
    let u = CaseUpdate {
        version: f.version,
        status: given(&f.status),
        owner: f.take.filter(|t| t == "me"),
        resolution: given(&f.resolution),
        satisfaction,
        note: given(&f.note),
    };
    service::update(&state, &who.principal, &id.to_string(), u).await?;
    Ok(see_other(&format!("/dashboard/cases/{id}")))
}

/// `POST /dashboard/cases/assign` (fields `csrf`, `owner`, and `ids` once
/// per ticked case): the service's assignment of each, then the queue.
pub async fn assign(
    State(state): State<AppState>,
    who: DashUser,
    body: axum::body::Bytes,
) -> Result<Response, HtmlError> {
    let (fields, ids) = super::ticked_form(&who, &body)?;
    service::assign_many(&state, &who.principal, &ids, super::field(&fields, "owner")).await?;
    Ok(see_other("/dashboard/cases"))
}
