#![allow(clippy::unwrap_used)]
//! The dashboard in English, French, Arabic and Portuguese over real HTTP on
//! loopback: a coordinator switches language with the header's form (saved on
//! the account, audited), the progress page, the review queue and an
//! interview come back with `lang`, `dir`, translated headings and labels and
//! the language's numbers and dates; the choice outlives the session and beats
//! the browser's `Accept-Language`, which picks the sign-in page's language
//! (or `?lang=`); bad language values get a 400 page, never a panic.

use central_store::Role;
use fieldvoice_tests::complete_answers;
use fieldvoice_tests::dashboard::{Session, client, login, push_interview, user_with_password};
use fieldvoice_tests::server::TestServer;
use serde_json::json;
use uuid::Uuid;

const PW: &str = "mot de passe du coordinateur";
/// The no-break space French puts before a colon.
const NBSP: char = '\u{A0}';

struct World {
    server: TestServer,
    http: reqwest::Client,
    interview: Uuid,
}

/// Three CI interviews of 30 Nov 2026, 08:00: NPS 10, 9 and 3 (score 33.3),
/// network satisfaction 2, 3, 3 (2.7).
async fn world() -> World {
    let server = TestServer::start().await;
    user_with_password(&server, "coord.ci", Role::Coordinator, "CI", PW);
    let (emp, _) = server.user_with_code("emp.ci", Role::Employee, "CI");
    let mut ids = Vec::new();
    for (nps, sat) in [(10, 2), (9, 3), (3, 3)] {
        let answers: Vec<_> = complete_answers(nps)
            .into_iter()
            .map(|(k, v)| match k {
                "sat_network" => (k, json!(sat)),
                _ => (k, v),
            })
            .collect();
        ids.push(push_interview(
            &server,
            &emp,
            "2026-11-30T08:00:00Z",
            &answers,
        ));
    }
    World {
        server,
        http: client(),
        interview: ids[0],
    }
}

/// GET a dashboard page: (status, body).
async fn page(w: &World, s: &Session, path: &str) -> (u16, String) {
    let r = w
        .http
        .get(format!("{}{path}", w.server.url))
        .header("cookie", &s.cookie)
        // The account's choice beats this once there is one.
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The `<html …>` start tag of a page.
fn html_tag(body: &str) -> &str {
    let at = body.find("<html").unwrap();
    &body[at..at + body[at..].find('>').unwrap() + 1]
}

/// The text of the element with this id (to its first closing tag).
fn by_id<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = body[at..].find("</table>").unwrap_or(body.len() - at);
    &body[at..at + end]
}

/// POST the header's language form; returns the response.
async fn choose(w: &World, s: &Session, lang: &str, back: &str) -> reqwest::Response {
    w.http
        .post(format!("{}/dashboard/language", w.server.url))
        .header("cookie", &s.cookie)
        .form(&[("csrf", s.csrf.as_str()), ("lang", lang), ("back", back)])
        .send()
        .await
        .unwrap()
}

/// What each language must show on the three pages.
struct Expect {
    lang: &'static str,
    dir: &'static str,
    progress_h1: &'static str,
    interviews_head: &'static str,
    nps: String,
    network: String,
    touchpoint: &'static str,
    queue_h1: &'static str,
    count: String,
    created: &'static str,
    segment: &'static str,
    state: &'static str,
    interview_h1: &'static str,
    city_label: &'static str,
    segment_option: &'static str,
    logout: &'static str,
}

async fn check_pages(w: &World, s: &Session, e: &Expect) {
    let (status, progress) = page(w, s, "/dashboard/").await;
    assert_eq!(status, 200);
    assert_eq!(
        html_tag(&progress),
        format!(r#"<html lang="{}" dir="{}">"#, e.lang, e.dir)
    );
    assert!(progress.contains(&format!("<h1>{}</h1>", e.progress_h1)));
    assert!(progress.contains(e.logout), "{}: header translated", e.lang);
    let by_country = by_id(&progress, "by-country");
    assert!(
        by_country.contains(&format!(r#"<th class="n">{}</th>"#, e.interviews_head)),
        "{}: {by_country}",
        e.lang
    );
    assert!(
        by_country.contains(&format!(r#"<th class="n">{}</th>"#, e.touchpoint)),
        "{}: {by_country}",
        e.lang
    );
    // NPS 33.3 and network satisfaction 2.7 with the language's decimal mark.
    assert!(
        by_country.contains(&format!(r#"<td class="n">{}</td>"#, e.nps)),
        "{}: NPS {} in {by_country}",
        e.lang,
        e.nps
    );
    assert!(
        by_country.contains(&format!(r#"<td class="n">{}</td>"#, e.network)),
        "{}: {by_country}",
        e.lang
    );
    assert!(progress.contains(r#"<b id="total">3</b>"#));

    let (status, queue) = page(w, s, "/dashboard/reviews").await;
    assert_eq!(status, 200);
    assert!(html_tag(&queue).contains(&format!(r#"dir="{}""#, e.dir)));
    assert!(queue.contains(&format!("<h1>{}</h1>", e.queue_h1)));
    assert!(
        queue.contains(&format!(r#"<p id="count">{}</p>"#, e.count)),
        "{}: {}",
        e.lang,
        e.count
    );
    let table = by_id(&queue, "queue");
    assert!(table.contains(e.created), "{}: date {}", e.lang, e.created);
    assert!(
        table.contains(&format!("<td>{}</td>", e.segment)),
        "{}",
        e.lang
    );
    assert!(table.contains(e.state), "{}: review state", e.lang);

    let (status, interview) = page(w, s, &format!("/dashboard/interviews/{}", w.interview)).await;
    assert_eq!(status, 200);
    assert!(html_tag(&interview).contains(&format!(r#"lang="{}""#, e.lang)));
    assert!(interview.contains(&format!("<h1>{} <span", e.interview_h1)));
    let answers = by_id(&interview, "answers");
    // The form's own labels, in the page's language.
    assert!(answers.contains(e.city_label), "{}: {answers}", e.lang);
    assert!(answers.contains(e.segment_option), "{}: {answers}", e.lang);
    assert!(interview.contains(e.created), "{}: created date", e.lang);
}

#[tokio::test]
async fn a_coordinator_reads_the_dashboard_in_four_languages() {
    let w = world().await;
    let url = w.server.url.clone();

    // Without a saved choice the browser's language decides, English by default.
    let s = login(&w.http, &url, "coord.ci", PW).await;
    let english = Expect {
        lang: "en",
        dir: "ltr",
        progress_h1: "Campaign progress",
        interviews_head: "Interviews",
        nps: "33.3".into(),
        network: "2.7".into(),
        touchpoint: "Network",
        queue_h1: "Review queue",
        count: "3 interviews".into(),
        created: "30 Nov 2026 08:00",
        segment: "individual",
        state: "unreviewed",
        interview_h1: "Interview",
        city_label: "City or village",
        segment_option: "Individual",
        logout: "Log out",
    };
    check_pages(&w, &s, &english).await;
    let r = w
        .http
        .get(format!("{url}/dashboard/"))
        .header("cookie", &s.cookie)
        .header("accept-language", "pt-MZ,pt;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(
        html_tag(&body).contains(r#"lang="pt""#),
        "Accept-Language without a saved choice"
    );

    // French, chosen in the header: back to the page it was chosen on.
    let r = choose(&w, &s, "fr", "/dashboard/reviews?country=CI").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/dashboard/reviews?country=CI");
    let french = Expect {
        lang: "fr",
        dir: "ltr",
        progress_h1: "Avancement de la campagne",
        interviews_head: "Entretiens",
        nps: "33,3".into(),
        network: "2,7".into(),
        touchpoint: "Réseau",
        queue_h1: "File de vérification",
        count: format!("Entretiens{NBSP}: 3"),
        created: "30 nov. 2026 08:00",
        segment: "particulier",
        state: "non vérifié",
        interview_h1: "Entretien",
        city_label: "Ville ou village",
        segment_option: "Particulier",
        logout: "Se déconnecter",
    };
    check_pages(&w, &s, &french).await;

    // Arabic: right to left.
    assert_eq!(choose(&w, &s, "ar", "/dashboard/").await.status(), 303);
    let arabic = Expect {
        lang: "ar",
        dir: "rtl",
        progress_h1: "تقدّم الحملة",
        interviews_head: "المقابلات",
        nps: "33.3".into(),
        network: "2.7".into(),
        touchpoint: "الشبكة",
        queue_h1: "قائمة المراجعة",
        count: "عدد المقابلات: 3".into(),
        created: "30 نوفمبر 2026، 08:00",
        segment: "فرد",
        state: "لم تُراجَع",
        interview_h1: "المقابلة",
        city_label: "المدينة أو القرية",
        segment_option: "فرد",
        logout: "تسجيل الخروج",
    };
    check_pages(&w, &s, &arabic).await;

    // Portuguese.
    assert_eq!(choose(&w, &s, "pt", "/dashboard/").await.status(), 303);
    let portuguese = Expect {
        lang: "pt",
        dir: "ltr",
        progress_h1: "Progresso da campanha",
        interviews_head: "Entrevistas",
        nps: "33,3".into(),
        network: "2,7".into(),
        touchpoint: "Rede",
        queue_h1: "Fila de revisão",
        count: "Entrevistas: 3".into(),
        created: "30 nov. 2026 08:00",
        segment: "particular",
        state: "por rever",
        interview_h1: "Entrevista",
        city_label: "Cidade ou aldeia",
        segment_option: "Particular",
        logout: "Terminar sessão",
    };
    check_pages(&w, &s, &portuguese).await;

    // A review in Portuguese shows in the history with a translated role.
    let r = w
        .http
        .post(format!("{url}/dashboard/interviews/{}/review", w.interview))
        .header("cookie", &s.cookie)
        .form(&[("csrf", s.csrf.as_str()), ("state", "has_issues")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, interview) = page(&w, &s, &format!("/dashboard/interviews/{}", w.interview)).await;
    assert!(
        interview.contains("a corrigir"),
        "review state in Portuguese"
    );
    assert!(
        by_id(&interview, "history").contains("Name of coord.ci (coordenador) no painel"),
        "{}",
        by_id(&interview, "history")
    );

    // The choice is on the account: saved, audited, and a new session (from
    // a French browser) is still in Portuguese.
    let store = &w.server.state.store;
    let (coord, _) = store.user_by_login("coord.ci").unwrap().unwrap();
    assert_eq!(coord.language.as_deref(), Some("pt"));
    let audited: Vec<String> = store
        .audit_log(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "user.language" && e.target == coord.id)
        .map(|e| e.detail)
        .collect();
    assert_eq!(audited, ["pt", "ar", "fr"], "newest first");
    let again = login(&w.http, &url, "coord.ci", PW).await;
    assert_ne!(again.cookie, s.cookie);
    let r = w
        .http
        .get(format!("{url}/dashboard/reviews"))
        .header("cookie", &again.cookie)
        .header("accept-language", "fr-CI,fr;q=0.9")
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(html_tag(&body).contains(r#"lang="pt""#));
    assert!(body.contains("<h1>Fila de revisão</h1>"));

    // Error pages are in the account's language too.
    let (status, missing) = page(
        &w,
        &again,
        &format!("/dashboard/interviews/{}", Uuid::new_v4()),
    )
    .await;
    assert_eq!(status, 404);
    assert!(html_tag(&missing).contains(r#"lang="pt""#));
    assert!(missing.contains("404 Não encontrado"), "{missing}");
    assert!(missing.contains("Voltar ao painel"));
}

#[tokio::test]
async fn bad_language_values_are_refused_with_a_page_never_a_panic() {
    let w = world().await;
    let url = w.server.url.clone();
    let s = login(&w.http, &url, "coord.ci", PW).await;
    assert_eq!(choose(&w, &s, "ar", "/dashboard/").await.status(), 303);
    let long = "x".repeat(10_000);
    for bad in [
        "xx",
        "",
        "fr-FR",
        "../en",
        "<script>alert(1)</script>",
        long.as_str(),
    ] {
        let r = choose(&w, &s, bad, "/dashboard/").await;
        assert_eq!(r.status(), 400, "lang {bad:.20}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = r.text().await.unwrap();
        // In the user's (Arabic) language, naming the languages there are.
        assert!(html_tag(&body).contains(r#"dir="rtl""#), "{body}");
        assert!(body.contains("400 طلب غير صالح"), "{body}");
        assert!(body.contains("en, fr, ar, pt"), "{body}");
        assert!(!body.contains("<script>alert"), "escaped");
    }
    // A wrong CSRF token changes nothing either.
    let r = w
        .http
        .post(format!("{url}/dashboard/language"))
        .header("cookie", &s.cookie)
        .form(&[("csrf", "forged"), ("lang", "fr"), ("back", "/dashboard/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("CSRF"));
    let (coord, _) = w
        .server
        .state
        .store
        .user_by_login("coord.ci")
        .unwrap()
        .unwrap();
    assert_eq!(coord.language.as_deref(), Some("ar"), "unchanged");

    // Only dashboard pages of this server are gone back to.
    for (back, to) in [
        ("https://evil.example/dashboard/", "/dashboard/"),
        ("//evil.example/dashboard/", "/dashboard/"),
        ("/dashboard//evil.example", "/dashboard/"),
        ("/api/v1/users", "/dashboard/"),
        ("", "/dashboard/"),
        ("/dashboard/forms", "/dashboard/forms"),
    ] {
        let r = choose(&w, &s, "fr", back).await;
        assert_eq!(r.status(), 303, "{back}");
        assert_eq!(r.headers()["location"], to, "{back}");
    }

    // Not signed in: the form needs a session.
    let r = w
        .http
        .post(format!("{url}/dashboard/language"))
        .form(&[("csrf", ""), ("lang", "fr"), ("back", "/dashboard/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/dashboard/login");
}

/// GET a page without a session, with this `Accept-Language` if any.
async fn get(w: &World, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = w.http.get(format!("{}{path}", w.server.url));
    if let Some(a) = accept {
        req = req.header("accept-language", a);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_sign_in_page_speaks_the_browsers_language_or_the_asked_one() {
    let w = world().await;
    let url = w.server.url.clone();
    for (accept, lang, dir, heading) in [
        (None, "en", "ltr", "Coordinator sign-in"),
        (
            Some("fr-CI,fr;q=0.9,en;q=0.8"),
            "fr",
            "ltr",
            "Connexion coordinateur",
        ),
        (Some("ar-EG,ar;q=0.9"), "ar", "rtl", "تسجيل دخول المنسق"),
        (
            Some("de-DE,pt-AO;q=0.7"),
            "pt",
            "ltr",
            "Início de sessão do coordenador",
        ),
        (Some("de-DE,es;q=0.8"), "en", "ltr", "Coordinator sign-in"),
    ] {
        let r = get(&w, "/dashboard/login", accept).await;
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        assert_eq!(
            html_tag(&body),
            format!(r#"<html lang="{lang}" dir="{dir}">"#),
            "{accept:?}"
        );
        assert!(body.contains(&format!("<h1>{heading}</h1>")), "{accept:?}");
        // Links to the other languages.
        assert!(body.contains(r#"href="/dashboard/login?lang=ar""#) || lang == "ar");
    }
    // ?lang= beats the browser, and the form keeps it for its answer.
    let r = get(&w, "/dashboard/login?lang=pt", Some("fr")).await;
    let body = r.text().await.unwrap();
    assert!(html_tag(&body).contains(r#"lang="pt""#));
    assert!(body.contains(r#"<input type="hidden" name="lang" value="pt">"#));
    let r = get(&w, "/dashboard/login?lang=FR", None).await;
    assert!(html_tag(&r.text().await.unwrap()).contains(r#"lang="fr""#));
    // A wrong password answered in the language of the form.
    let form_page = get(&w, "/dashboard/login?lang=ar", None).await;
    let cookie = fieldvoice_tests::dashboard::set_cookie(&form_page, "fv_login").unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let csrf = fieldvoice_tests::dashboard::csrf_in(&form_page.text().await.unwrap()).unwrap();
    let r = w
        .http
        .post(format!("{url}/dashboard/login"))
        .header("cookie", cookie)
        .form(&[
            ("login", "coord.ci"),
            ("password", "wrong"),
            ("csrf", csrf.as_str()),
            ("lang", "ar"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(html_tag(&body).contains(r#"dir="rtl""#));
    assert!(body.contains("اسم المستخدم أو كلمة المرور غير صحيحة."));
    // A language that is not one: a 400 page in the browser's language.
    for bad in ["xx", "fr-FR", "%3Cb%3E"] {
        let r = get(&w, &format!("/dashboard/login?lang={bad}"), Some("fr")).await;
        assert_eq!(r.status(), 400, "{bad}");
        let body = r.text().await.unwrap();
        assert!(html_tag(&body).contains(r#"lang="fr""#));
        assert!(
            body.contains("400 Requête invalide") && body.contains("en, fr, ar, pt"),
            "{body}"
        );
        assert!(!body.contains("<b>"), "escaped");
    }
    // The stylesheet has no left/right of its own: it works right to left.
    let style = sync_server::dashboard::STYLE;
    for physical in [
        "text-align:left",
        "text-align:right",
        "margin-left",
        "border-left",
    ] {
        assert!(!style.contains(physical), "{physical} in the stylesheet");
    }
    assert!(style.contains("margin-inline-start:auto") && style.contains("text-align:start"));
}
