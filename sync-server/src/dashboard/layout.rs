//! Page frame, inline style and small formatting helpers.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Html;
use base64::Engine;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

use super::DashUser;
use super::i18n::Lang;

/// The only stylesheet, inlined in every page (allowed by its hash in the CSP).
pub const STYLE: &str = "\
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,sans-serif;color:#1d2733;background:#f4f6f8}\
header{background:#12355b;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none;font-weight:600}header .me{margin-inline-start:auto}\
header form{display:inline}header button{background:none;border:1px solid #fff;color:#fff;border-radius:3px;cursor:pointer}\
header .langs{display:flex;gap:.3rem;align-items:center;font-size:.8rem}header .langs button{font-size:.8rem;padding:0 .35rem}\
main{padding:1rem;max-width:1200px;margin:auto}h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}\
.cards{display:flex;gap:.6rem;flex-wrap:wrap}.card{background:#fff;border-radius:6px;padding:.6rem .9rem;min-width:9rem;box-shadow:0 1px 2px #0002}\
.card b{display:block;font-size:1.4rem}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:0 1rem;margin-top:1rem}\
section{background:#fff;border-radius:6px;padding:.6rem .9rem;margin:0 0 1rem;box-shadow:0 1px 2px #0002;overflow-x:auto}\
table{border-collapse:collapse;width:100%}th,td{text-align:start;padding:.25rem .4rem;border-bottom:1px solid #e3e7eb;vertical-align:top}\
th{font-weight:600;color:#51606f;font-size:.85rem}td.n,th.n{text-align:end}\
.pro{color:#17803d}.pas{color:#8a6d00}.det{color:#b42318}.muted{color:#6b7785}\
.pill{display:inline-block;padding:0 .45rem;border-radius:9px;background:#e8edf2;font-size:.8rem}\
.st-approved{background:#d3f3dc}.st-rejected{background:#fbd5d2}.st-has_issues{background:#fdecc8}.st-received{background:#dbe7fb}\
form.filters{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end;margin-bottom:.8rem}\
label{display:flex;flex-direction:column;font-size:.8rem;color:#51606f;gap:.15rem}\
input,select,textarea,button{font:inherit;padding:.25rem .4rem}button.primary{background:#12355b;color:#fff;border:0;border-radius:4px;padding:.35rem .9rem}\
blockquote{margin:.4rem 0;padding:.5rem .8rem;background:#fffbe6;border-inline-start:4px solid #e0b400;font-size:1.05rem}\
form.verbatim{background:#fff;border-radius:6px;padding:.4rem .9rem;margin:0 0 .6rem;box-shadow:0 1px 2px #0002}\
label.theme,label.check{display:inline-flex;flex-direction:row;gap:.25rem;align-items:center;color:#222;font-size:.9rem;margin-inline-end:.5rem}\
.err{background:#fbd5d2;padding:.6rem;border-radius:4px}.pager{display:flex;gap:1rem;margin-top:.6rem}\
.login{max-width:340px;margin:4rem auto;background:#fff;padding:1.2rem;border-radius:6px;box-shadow:0 1px 3px #0003}\
.login label{margin-bottom:.6rem}#tags form{display:inline-block;margin-block:0 .3rem;margin-inline:0 .4rem}\
.login .langs{display:flex;gap:.6rem;justify-content:center;margin-top:.8rem;font-size:.85rem}\
.flag{background:#fdecc8;color:#7a4b00}.maps{display:flex;flex-wrap:wrap;gap:.8rem}\
.maps figure{margin:0}.maps figcaption{font-size:.8rem;color:#51606f}.bulk{display:flex;gap:.6rem;align-items:end;margin-top:.6rem}\
.pace-ok{color:#17803d}.pace-behind{color:#8a6d00}.pace-far{color:#b42318}";

static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'none'"))
});

/// The Content-Security-Policy of dashboard pages: no scripts at all, only the
/// inline stylesheet above.
pub fn csp() -> HeaderValue {
    CSP.clone()
}

/// A whole page in `lang`; with the signed-in user's navigation, name and
/// language switcher when there is one.
pub fn frame(
    lang: Lang,
    title: &str,
    who: Option<&DashUser>,
    refresh: Option<u32>,
    body: Markup,
) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang=(lang.code()) dir=(lang.dir()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    @if let Some(s) = refresh { meta http-equiv="refresh" content=(s); }
                    title { (title) " · fieldvoice" }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    header {
                        a href="/dashboard/" { "fieldvoice" }
                        @if let Some(u) = who {
                            @let role = u.user().role;
                            @let staff = matches!(role, central_store::Role::Admin | central_store::Role::Coordinator);
                            @if staff {
                                a href="/dashboard/" { (lang.t("nav.progress")) }
                                a href="/dashboard/command" { (lang.t("command.title")) }
                                a href="/dashboard/reviews" { (lang.t("queue.title")) }
                                a href="/dashboard/themes" { (lang.t("themes.title")) }
                            }
                            @if staff || role == central_store::Role::Agent {
                                a href="/dashboard/cases" { (lang.t("cases.title")) }
                            }
                            @if staff || role == central_store::Role::Analyst {
                                a href="/dashboard/actions" { (lang.t("actions.title")) }
                                a href="/dashboard/exports" { (lang.t("exports.title")) }
                                // The analysis report of the user's countries (the
                                // API takes the session cookie for a GET).
                                a #report-link href=(format!("/api/v1/report?lang={}", lang.code())) { (lang.t("nav.report")) }
                            }
                            @if staff {
                                a href="/dashboard/forms" { (lang.t("forms.title")) }
                            }
                            span.me {
                                (u.user().name) " · " (lang.role(u.user().role))
                                @if !u.user().countries.is_empty() { " · " (u.user().countries.join(", ")) }
                                " "
                                form method="post" action="/dashboard/logout" {
                                    input type="hidden" name="csrf" value=(u.csrf);
                                    button type="submit" { (lang.t("nav.logout")) }
                                }
                            }
                            (language_switcher(lang, u))
                        }
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// The other languages as buttons of one form that saves the choice on the
/// account and comes back to this page.
fn language_switcher(lang: Lang, u: &DashUser) -> Markup {
    html! {
        form.langs method="post" action="/dashboard/language" aria-label=(lang.t("nav.language")) {
            input type="hidden" name="csrf" value=(u.csrf);
            input type="hidden" name="back" value=(u.path);
            @for l in Lang::ALL {
                @if l == lang {
                    strong lang=(l.code()) dir=(l.dir()) aria-current="true" { (l.name()) }
                } @else {
                    button type="submit" name="lang" value=(l.code()) lang=(l.code()) dir=(l.dir()) { (l.name()) }
                }
            }
        }
    }
}

/// The page shown for an error status, in `lang`.
pub fn error_page(lang: Lang, status: StatusCode, message: &str) -> Html<String> {
    let title = lang.status_reason(status);
    frame(
        lang,
        &title,
        None,
        None,
        html! {
            h1 { (status.as_u16()) " " (title) }
            @if !message.is_empty() { p.err { (message) } }
            p { a href="/dashboard/" { (lang.t("error.back")) } }
        },
    )
}

/// CSS class of an NPS score (its band; the projection holds no other score).
pub fn nps_class(nps: i64) -> &'static str {
    use survey_model::nps::{Band, band};
    match band(nps) {
        Some(Band::Promoter) => "pro",
        Some(Band::Passive) => "pas",
        _ => "det",
    }
}
