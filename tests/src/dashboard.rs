//! Dashboard test helpers: users with passwords, interviews pushed through the
//! real merge path, and a cookie-aware login over plain HTTP.

use central_store::merge::{Caller, push};
use central_store::{NewUser, Role, User};
use serde_json::Value;
use survey_model::{Interview, InterviewMeta, actor_from_uuid};
use survey_protocol::DocPush;
use uuid::Uuid;

use crate::server::TestServer;

/// A user of `role` in `country` with a dashboard password.
pub fn user_with_password(
    server: &TestServer,
    login: &str,
    role: Role,
    country: &str,
    password: &str,
) -> User {
    server
        .state
        .store
        .create_user(
            &NewUser {
                login: login.into(),
                name: format!("Name of {login}"),
                role,
                countries: if country.is_empty() {
                    vec![]
                } else {
                    vec![country.into()]
                },
                password_hash: Some(sync_server::auth::hash_password(password).unwrap()),
            },
            0,
        )
        .unwrap()
}

/// Push one submitted interview by `employee` with `answers` (merged on top of
/// the form's defaults) through the real merge path; returns its id.
pub fn push_interview(
    server: &TestServer,
    employee: &User,
    created_at: &str,
    answers: &[(&str, Value)],
) -> Uuid {
    push_interview_in(server, employee, "mcmb-2026", created_at, answers)
}

/// [`push_interview`] into `campaign` (e.g. last year's).
pub fn push_interview_in(
    server: &TestServer,
    employee: &User,
    campaign: &str,
    created_at: &str,
    answers: &[(&str, Value)],
) -> Uuid {
    push_with(server, employee, campaign, created_at, answers, false)
}

/// [`push_interview`], submitted on the phone first when its answers are
/// complete (as a finished interview is).
pub fn push_submitted(
    server: &TestServer,
    employee: &User,
    created_at: &str,
    answers: &[(&str, Value)],
) -> Uuid {
    push_with(server, employee, "mcmb-2026", created_at, answers, true)
}

/// [`push_submitted`] into `campaign`.
pub fn push_submitted_in(
    server: &TestServer,
    employee: &User,
    campaign: &str,
    created_at: &str,
    answers: &[(&str, Value)],
) -> Uuid {
    push_with(server, employee, campaign, created_at, answers, true)
}

fn push_with(
    server: &TestServer,
    employee: &User,
    campaign: &str,
    created_at: &str,
    answers: &[(&str, Value)],
    submit: bool,
) -> Uuid {
    push_from(
        server,
        employee,
        Uuid::new_v4(),
        campaign,
        created_at,
        answers,
        submit,
    )
}

/// [`push_submitted`] from device `device` (so that [`edit_pushed`] can
/// change the interview later as the same device).
pub fn push_submitted_from(
    server: &TestServer,
    employee: &User,
    device: Uuid,
    created_at: &str,
    answers: &[(&str, Value)],
) -> Uuid {
    push_from(
        server,
        employee,
        device,
        "mcmb-2026",
        created_at,
        answers,
        true,
    )
}

/// Change answers of interview `id` as `employee` on `device` (the device
/// that created it), as a sync push would: the store's document, edited and
/// pushed back.
pub fn edit_pushed(
    server: &TestServer,
    employee: &User,
    device: Uuid,
    id: Uuid,
    answers: &[(&str, Value)],
) {
    let form = crate::form();
    let stored = server.state.store.load_doc(id).unwrap().unwrap();
    let mut iv = Interview::load(&stored.snapshot).unwrap();
    iv.set_actor(actor_from_uuid(device));
    for (k, v) in answers {
        iv.set_answer_json(&form, k, v).unwrap();
    }
    push_doc(server, employee, device, &mut iv);
}

/// Push `iv` whole as `employee`'s device `device`, as a sync would.
fn push_doc(server: &TestServer, employee: &User, device: Uuid, iv: &mut Interview) {
    let forms = server.state.forms();
    let source = format!("test-device-{device}");
    let results = push(
        server.state.store.as_ref(),
        &forms,
        Caller {
            user: employee,
            source: &source,
            clock_skew_s: None,
        },
        &[DocPush {
            doc_id: iv.id(),
            base_heads: vec![],
            heads: vec![],
            data: iv.save(),
        }],
    )
    .unwrap();
    assert_eq!(results.len(), 1);
}

fn push_from(
    server: &TestServer,
    employee: &User,
    device: Uuid,
    campaign: &str,
    created_at: &str,
    answers: &[(&str, Value)],
    submit: bool,
) -> Uuid {
    let form = crate::form();
    let country = employee.countries[0].clone();
    let meta = InterviewMeta {
        created_at: created_at.into(),
        campaign: campaign.into(),
        ..crate::meta(&form, &employee.id, &country, device)
    };
    let mut iv = Interview::create(&form, meta, actor_from_uuid(device)).unwrap();
    for (k, v) in answers {
        iv.set_answer_json(&form, k, v).unwrap();
    }
    if submit {
        iv.submit(&form).unwrap();
    }
    push_doc(server, employee, device, &mut iv);
    iv.id()
}

/// A logged-in dashboard session: the cookie to send and the CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    /// `GET url` with this session: the page's HTML (any status).
    pub async fn page(&self, http: &reqwest::Client, url: &str) -> String {
        http.get(url)
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("page request")
            .text()
            .await
            .expect("page body")
    }
}

/// An HTTP client that does not follow redirects (to see 303s and cookies).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of the first `Set-Cookie` for `name`.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value of the first hidden `csrf` input of a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_owned())
}

/// Post the login form; returns the raw response (303 on success).
pub async fn post_login(
    http: &reqwest::Client,
    url: &str,
    login: &str,
    password: &str,
) -> reqwest::Response {
    let form_page = http
        .get(format!("{url}/dashboard/login"))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&form_page, "fv_login").expect("login form cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = form_page.text().await.unwrap();
    let token = csrf_in(&html).expect("login csrf");
    http.post(format!("{url}/dashboard/login"))
        .header("cookie", cookie)
        .form(&[("login", login), ("password", password), ("csrf", &token)])
        .send()
        .await
        .unwrap()
}

/// Log in and fetch the session's CSRF token from the progress page.
pub async fn login(http: &reqwest::Client, url: &str, login: &str, password: &str) -> Session {
    let resp = post_login(http, url, login, password).await;
    assert_eq!(resp.status(), 303, "login of {login} failed");
    let cookie = set_cookie(&resp, "fv_session").expect("session cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let mut page = http
        .get(format!("{url}/dashboard/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    // Agents and analysts land on their own page.
    if page.status() == 303 {
        let to = page.headers()["location"].to_str().unwrap().to_owned();
        page = http
            .get(format!("{url}{to}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(page.status(), 200);
    let csrf = csrf_in(&page.text().await.unwrap()).expect("session csrf");
    Session { cookie, csrf }
}
