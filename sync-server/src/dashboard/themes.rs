//! Theme coding on the dashboard: the uncoded verbatims of the reviewer's
//! countries with the model's suggestions pre-ticked (least confident
//! first), each saved as the interview's theme codes (accepting and
//! correcting are the same tag edit); and the campaign's codebook, edited
//! by admins and coordinators (labels in four languages, key terms).

use axum::extract::State;
use axum::response::{Html, Response};
use maud::{Markup, html};
use themes::{Codebook, Theme, ThemeKeywords, ThemeLabels};
use uuid::Uuid;

use super::error::{HtmlError, HtmlQuery};
use super::i18n::Lang;
use super::layout::frame;
use super::{DashUser, field, posted_fields, see_other};
use crate::AppState;
use crate::error::ApiError;
use crate::service::themes::{
    self as service, CodebookUpdate, CodebookView, SuggestQuery, Suggestions,
};

/// Uncoded verbatims on one page.
const PAGE: usize = 25;

fn render_coding(lang: Lang, who: &DashUser, s: &Suggestions, cb: &CodebookView) -> Markup {
    let codebook = Codebook {
        themes: cb.themes.clone(),
    };
    html! {
        h1 { (lang.t("themes.title")) }
        p.muted {
            @if s.examples == 0 { (lang.t("themes.no_model")) }
            @else { (lang.tf("themes.model", &[("examples", &lang.int(s.examples)), ("ms", &lang.int(s.train_ms))])) }
            " " (lang.tf("themes.counts", &[("uncoded", &lang.int(s.uncoded)), ("coded", &lang.int(s.coded))]))
            " · " a href="/dashboard/themes/codebook" { (lang.t("themes.codebook")) }
        }
        @if s.items.is_empty() { p { (lang.t("themes.none")) } }
        @for item in &s.items {
            @let dir = if item.lang == "ar" { "rtl" } else { "ltr" };
            form.verbatim method="post" action="/dashboard/themes" {
                input type="hidden" name="csrf" value=(who.csrf);
                input type="hidden" name="id" value=(item.interview_id);
                blockquote lang=(item.lang) dir=(dir) { (item.text) }
                p.muted { (item.country) @if let Some(n) = item.nps { " · NPS " (n) } " · " (item.lang) " · "
                    a href=(format!("/dashboard/interviews/{}", item.interview_id)) { (lang.t("themes.open")) } }
                p {
                    @for t in &codebook.themes {
                        @let sug = item.suggestions.iter().find(|x| x.theme == t.code);
                        label.theme {
                            @if sug.is_some() { input type="checkbox" name="theme" value=(t.code) checked; }
                            @else { input type="checkbox" name="theme" value=(t.code); }
                            " " (t.labels.get(lang.code()))
                            @if let Some(x) = sug { " " span.pill { (lang.percent(100.0 * f64::from(x.confidence))) } }
                        }
                        " "
                    }
                    button type="submit" { (lang.t("themes.save")) }
                }
            }
        }
    }
}

/// `GET /dashboard/themes?country=`.
pub async fn page(
    State(state): State<AppState>,
    who: DashUser,
    HtmlQuery(q): HtmlQuery<SuggestQuery>,
) -> Result<Html<String>, HtmlError> {
    let lang = who.lang;
    let q = SuggestQuery {
        limit: Some(q.limit.unwrap_or(PAGE)),
        ..q
    };
    let s = service::suggestions(&state, &who.principal, &q).await?;
    let cb = service::codebook(&state, &who.principal).await?;
    Ok(frame(
        lang,
        lang.t("themes.title"),
        Some(&who),
        None,
        render_coding(lang, &who, &s, &cb),
    ))
}

/// `POST /dashboard/themes`: the ticked themes become the interview's codes.
pub async fn save(
    State(state): State<AppState>,
    who: DashUser,
    body: axum::body::Bytes,
) -> Result<Response, HtmlError> {
    let f = posted_fields(&who, &body)?;
    let id = Uuid::parse_str(field(&f, "id"))
        .map_err(|_| ApiError::BadRequest("the form has no interview id".into()))?;
    let codes: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "theme")
        .map(|(_, v)| v.clone())
        .collect();
    service::set_themes(&state, &who.principal, id, codes).await?;
    Ok(see_other("/dashboard/themes"))
}

fn render_codebook(lang: Lang, who: &DashUser, cb: &CodebookView) -> Markup {
    let langs = ["fr", "en", "ar", "pt"];
    let blank = Theme {
        code: String::new(),
        labels: ThemeLabels {
            fr: String::new(),
            en: String::new(),
            ar: String::new(),
            pt: String::new(),
        },
        keywords: ThemeKeywords::default(),
    };
    html! {
        h1 { (lang.t("themes.codebook")) }
        p.muted { (lang.t("themes.codebook_note")) }
        form method="post" action="/dashboard/themes/codebook" {
            input type="hidden" name="csrf" value=(who.csrf);
            input type="hidden" name="version" value=(cb.version);
            table {
                thead { tr {
                    th { (lang.t("themes.code")) }
                    @for l in langs { th lang=(l) { (lang.t("themes.label")) " (" (l) ")" } }
                    th { (lang.t("themes.keywords")) }
                } }
                tbody {
                    @for (i, t) in cb.themes.iter().chain(std::iter::once(&blank)).enumerate() {
                        tr {
                            td {
                                @if t.code.is_empty() {
                                    input type="text" name=(format!("code.{i}")) placeholder=(lang.t("themes.new")) size="14";
                                } @else {
                                    code { (t.code) } input type="hidden" name=(format!("code.{i}")) value=(t.code);
                                    br; label { input type="checkbox" name=(format!("remove.{i}")); " " (lang.t("themes.remove")) }
                                }
                            }
                            @for l in langs {
                                td { input type="text" lang=(l) dir=(if l == "ar" { "rtl" } else { "ltr" }) name=(format!("{l}.{i}")) value=(t.labels.get(l)) size="14"; }
                            }
                            td {
                                @for l in langs {
                                    @let kw = match l { "fr" => &t.keywords.fr, "en" => &t.keywords.en, "ar" => &t.keywords.ar, _ => &t.keywords.pt };
                                    input type="text" lang=(l) dir=(if l == "ar" { "rtl" } else { "ltr" }) name=(format!("kw_{l}.{i}")) value=(kw.join(", ")) size="28" aria-label=(format!("{} ({l})", lang.t("themes.keywords")));
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" { (lang.t("themes.save_codebook")) }
        }
    }
}

/// `GET /dashboard/themes/codebook`.
pub async fn codebook_page(
    State(state): State<AppState>,
    who: DashUser,
) -> Result<Html<String>, HtmlError> {
    let lang = who.lang;
    // Only those who may change it see the form.
    crate::auth::authorize(&who.principal, crate::auth::Action::EditCodebook)?;
    let cb = service::codebook(&state, &who.principal).await?;
    Ok(frame(
        lang,
        lang.t("themes.codebook"),
        Some(&who),
        None,
        render_codebook(lang, &who, &cb),
    ))
}

fn terms(s: &str) -> Vec<String> {
    s.split([',', '\n', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /dashboard/themes/codebook`: rows in order; a row with no code is
/// skipped, a ticked "remove" drops the theme.
pub async fn save_codebook(
    State(state): State<AppState>,
    who: DashUser,
    body: axum::body::Bytes,
) -> Result<Response, HtmlError> {
    let f = posted_fields(&who, &body)?;
    let version: i64 = field(&f, "version")
        .parse()
        .map_err(|_| ApiError::BadRequest("the form has no codebook version".into()))?;
    let mut themes = Vec::new();
    for i in 0..=themes::codebook::MAX_THEMES {
        let code = field(&f, &format!("code.{i}")).trim();
        if code.is_empty() || !field(&f, &format!("remove.{i}")).is_empty() {
            continue;
        }
        let get = |k: &str| field(&f, &format!("{k}.{i}")).to_owned();
        themes.push(Theme {
            code: code.to_owned(),
            labels: ThemeLabels {
                fr: get("fr"),
                en: get("en"),
                ar: get("ar"),
                pt: get("pt"),
            },
            keywords: ThemeKeywords {
                fr: terms(&get("kw_fr")),
                en: terms(&get("kw_en")),
                ar: terms(&get("kw_ar")),
                pt: terms(&get("kw_pt")),
            },
        });
    }
    service::save_codebook(&state, &who.principal, CodebookUpdate { version, themes }).await?;
    Ok(see_other("/dashboard/themes/codebook"))
}
