//! The authorisation matrix over real HTTP on loopback: every route of the
//! router (API and dashboard) × every kind of caller × a target in country A
//! (CI) or country B (SN). The expected outcome of each case comes from the
//! explicit [`TABLE`] below, written from the documented policy (README's route
//! table, SECURITY.md, ARCHITECTURE.md) — not from `auth::authorize`. Allowed
//! calls carry realistic bodies and must succeed; every denied write must leave
//! the store exactly as it was. The test fails if the router (or the OpenAPI
//! document) has a route the table does not cover.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use central_store::{Role, User, unix_now};
use fieldvoice_tests::dashboard::{
    client, csrf_in, login, push_interview, set_cookie, user_with_password,
};
use fieldvoice_tests::server::TestServer;
use serde_json::{Value, json};
use survey_model::ReviewState;
use survey_model::{Interview, actor_from_uuid};
use survey_protocol::{Compression, DocPush, DocStatus, SyncRequest, SyncResponse};
use sync_server::Settings;
use uuid::Uuid;

const PW: &str = "correct horse battery";

/// The kinds of caller, in the column order of [`TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No credentials at all.
    Anonymous,
    /// `Authorization: Bearer` with something that is not a token.
    Malformed,
    /// An admin's API token.
    Admin,
    /// Coordinator of A (CI), API token.
    CoordA,
    /// The same coordinator of A through a dashboard session cookie (+ CSRF).
    CoordACookie,
    /// Coordinator of B (SN), API token.
    CoordB,
    /// Analyst of A, API token.
    AnalystA,
    /// Analyst of B, API token.
    AnalystB,
    /// Agent of A (works follow-up cases), API token; owner of case A.
    AgentA,
    /// An employee of A's device token (target A = own interview, B = another
    /// employee's interview in B).
    Employee,
    /// A revoked device token of an employee of A.
    Revoked,
}

const CALLERS: [Caller; 11] = [
    Caller::Anonymous,
    Caller::Malformed,
    Caller::Admin,
    Caller::CoordA,
    Caller::CoordACookie,
    Caller::CoordB,
    Caller::AnalystA,
    Caller::AnalystB,
    Caller::AgentA,
    Caller::Employee,
    Caller::Revoked,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    A,
    B,
}

impl Target {
    fn country(self) -> &'static str {
        match self {
            Target::A => "CI",
            Target::B => "SN",
        }
    }
}

/// The policy, one row per route: the expected outcome for each caller (columns
/// as in [`CALLERS`]); `x/y` is x for a target in A, y for one in B.
/// Numbers are HTTP statuses; `L` = 303 to the login page, `D` = 303 to the
/// dashboard home, `I` = 303 back to the interview page (a dashboard form that
/// worked), `O` = 303 to the login page after the session was ended, `T`
/// and `K` = 303 back to the theme coding page or the codebook page, `E` =
/// 303 back to the exports page (a job started).
///
/// From the documentation: health, metrics and the OpenAPI document are public;
/// enrollment needs only a code; sync needs a (non-revoked) device token —
/// people are 403; unknown or revoked tokens are 401; people routes are for
/// admins and coordinators of the country (403 otherwise, devices included);
/// another country's interview answers 404 to anyone who may not read it;
/// analysts may only export (their countries) and read the place list of their
/// countries, as a device reads its employee's; places are imported by admins
/// and coordinators of the country; forms are installed by admins;
/// the dashboard takes only its session cookie — bearer tokens get the login page.
#[rustfmt::skip]
const TABLE: &[(&str, &str)] = &[
    //                                          none bad admin coA     coA-ck  coB     anA     anB     agA     emp     revoked
    ("GET /healthz",                            "200 200 200   200     200     200     200     200     200     200     200"),
    ("GET /metrics",                            "200 200 200   200     200     200     200     200     200     200     200"),
    ("GET /readyz",                             "200 200 200   200     200     200     200     200     200     200     200"),
    ("GET /api/v1/openapi.json",                "200 200 200   200     200     200     200     200     200     200     200"),
    ("POST /api/v1/enroll",                     "200 200 200   200     200     200     200     200     200     200     200"),
    ("POST /api/v1/sync",                       "401 401 403   403     403     403     403     403     403     200/403 401"),
    ("GET /api/v1/me",                          "401 401 200   200     200     200     200     200     200     200     401"),
    ("GET /api/v1/me/assignment",               "401 401 200   200     200     200     200     200     200     200     401"),
    ("GET /api/v1/forms",                       "401 401 200   200     200     200     200     200     200     200     401"),
    ("POST /api/v1/forms",                      "401 401 201   403     403     403     403     403     403     403     401"),
    ("POST /api/v1/forms/preview",              "401 401 200   403     403     403     403     403     403     403     401"),
    ("GET /api/v1/forms/{id}/{version}",        "401 401 200   200     200     200     200     200     200     200     401"),
    ("GET /api/v1/users",                       "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("POST /api/v1/users",                      "401 401 201   201/403 201/403 403/201 403     403     403     403     401"),
    ("POST /api/v1/users/import",               "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("POST /api/v1/users/{id}/enrollment-code", "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /api/v1/devices",                     "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("POST /api/v1/devices/{id}/revoke",        "401 401 204   204/403 204/403 403/204 403     403     403     403     401"),
    ("GET /api/v1/places",                      "401 401 200   200/403 200/403 403/200 200/403 403/200 200/403 200/403 401"),
    ("POST /api/v1/places",                     "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("POST /api/v1/assignments",                "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /api/v1/quotas",                      "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("POST /api/v1/quotas",                     "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /api/v1/interviews",                  "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /api/v1/interviews/{id}",             "401 401 200   200/404 200/404 404/200 404     404     404     404     401"),
    ("POST /api/v1/interviews/{id}/review",     "401 401 200   200/404 200/404 404/200 404     404     404     404     401"),
    ("POST /api/v1/interviews/{id}/comments",   "401 401 200   200/404 200/404 404/200 404     404     404     404     401"),
    ("POST /api/v1/interviews/{id}/tags",       "401 401 200   200/404 200/404 404/200 404     404     404     404     401"),
    ("POST /api/v1/interviews/{id}/themes",     "401 401 200   200/404 200/404 404/200 404     404     404     404     401"),
    ("POST /api/v1/interviews/{id}/erase",      "401 401 200   403     403     403     403     403     403     403     401"),
    ("GET /api/v1/themes/codebook",             "401 401 200   200     200     200     200     200     403     403     401"),
    ("POST /api/v1/themes/codebook",            "401 401 200   200     200     200     403     403     403     403     401"),
    ("GET /api/v1/themes/suggestions",          "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /api/v1/export/{format}",             "401 401 200   200/403 200/403 403/200 200/403 403/200 403     403     401"),
    ("GET /api/v1/report",                      "401 401 200   200/403 200/403 403/200 200/403 403/200 403     403     401"),
    ("POST /api/v1/exports",                    "401 401 202   202/403 202/403 403/202 202/403 403/202 403     403     401"),
    ("GET /api/v1/exports/{id}",                "401 401 200   404     404     404     404     404     403     403     401"),
    ("GET /api/v1/exports/{id}/files/{name}",   "401 401 200   404     404     404     404     404     403     403     401"),
    ("GET /api/v1/odata",                       "401 401 200   200     200     200     200     200     403     403     401"),
    ("GET /api/v1/odata/",                      "401 401 200   200     200     200     200     200     403     403     401"),
    ("GET /api/v1/odata/$metadata",             "401 401 200   200     200     200     200     200     403     403     401"),
    ("GET /api/v1/odata/Interviews",            "401 401 200   200     200     200     200     200     403     403     401"),
    ("GET /api/v1/odata/Interviews/$count",     "401 401 200   200     200     200     200     200     403     403     401"),
    ("GET /api/v1/stats",                       "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /api/v1/review-queue",                "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /api/v1/cases",                       "401 401 200 200/403 200/403 403/200 403     403     200/403 403     401"),
    ("POST /api/v1/cases",                      "401 401 201 201/404 201/404 404/201 404     404     404     404     401"),
    ("GET /api/v1/cases/{id}",                  "401 401 200 200/404 200/404 404/200 404     404     200/404 404     401"),
    ("POST /api/v1/cases/{id}",                 "401 401 200 200/404 200/404 404/200 404     404     200/404 404     401"),
    ("GET /api/v1/cases/{id}/contact",          "401 401 403 200/404 200/404 404/200 404     404     200/404 404     401"),
    ("GET /api/v1/case-stats",                  "401 401 200 200/403 200/403 403/200 403     403     200/403 403     401"),
    ("GET /api/v1/service-levels",              "401 401 200 200     200     200     403     403     200     403     401"),
    ("POST /api/v1/service-levels",             "401 401 200 200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /api/v1/actions",                     "401 401 200   200/403 200/403 403/200 200/403 403/200 403     403     401"),
    ("POST /api/v1/actions",                    "401 401 201   201/403 201/403 403/201 201/403 403/201 403     403     401"),
    ("GET /api/v1/actions/{id}",                "401 401 200   200/404 200/404 404/200 200/404 404/200 404     404     401"),
    ("POST /api/v1/actions/{id}",               "401 401 200   200/404 200/404 404/200 200/404 404/200 404     404     401"),
    ("GET /api/v1/webhooks",                    "401 401 200   403     403     403     403     403     403     403     401"),
    ("POST /api/v1/webhooks",                   "401 401 201   403     403     403     403     403     403     403     401"),
    ("POST /api/v1/webhooks/{id}",              "401 401 200   403     403     403     403     403     403     403     401"),
    ("GET /api/v1/webhooks/{id}/deliveries",    "401 401 200   403     403     403     403     403     403     403     401"),
    ("POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry", "401 401 204 403 403 403 403     403     403     403     401"),
    ("GET /api/v1/command-centre",              "401 401 200   200/403 200/403 403/200 403     403     403     403     401"),
    ("GET /",                                   "D   D   D     D       D       D       D       D       D       D       D"),
    ("GET /dashboard",                          "D   D   D     D       D       D       D       D       D       D       D"),
    ("GET /dashboard/",                         "L   L   L     L       200/403 L       L       L       L       L       L"),
    ("GET /dashboard/login",                    "200 200 200   200     D       200     200     200     200     200     200"),
    ("POST /dashboard/login",                   "D   D   D     D       D       D       D       D       D       D       D"),
    ("POST /dashboard/logout",                  "L   L   L     L       O       L       L       L       L       L       L"),
    ("POST /dashboard/language",                "L   L   L     L       D       L       L       L       L       L       L"),
    ("GET /dashboard/reviews",                  "L   L   L     L       200/403 L       L       L       L       L       L"),
    ("GET /dashboard/command",                  "L   L   L     L       200/403 L       L       L       L       L       L"),
    ("GET /dashboard/cases",                    "L   L   L     L       200/403 L       L       L       L       L       L"),
    ("GET /dashboard/actions",                  "L   L   L     L       200/403 L       L       L       L       L       L"),
    ("POST /dashboard/actions",                 "L   L   L     L       A/403   L       L       L       L       L       L"),
    ("GET /dashboard/actions/{id}",             "L   L   L     L       200/404 L       L       L       L       L       L"),
    ("POST /dashboard/actions/{id}",            "L   L   L     L       A/404   L       L       L       L       L       L"),
    ("POST /dashboard/cases/assign",            "L   L   L     L       C/404   L       L       L       L       L       L"),
    ("GET /dashboard/cases/{id}",               "L   L   L     L       200/404 L       L       L       L       L       L"),
    ("POST /dashboard/cases/{id}",              "L   L   L     L       C/404   L       L       L       L       L       L"),
    ("POST /dashboard/cases/{id}/contact",      "L   L   L     L       200/404 L       L       L       L       L       L"),
    ("POST /dashboard/reviews/bulk",            "L   L   L     L       200/404 L       L       L       L       L       L"),
    ("GET /dashboard/interviews/{id}",          "L   L   L     L       200/404 L       L       L       L       L       L"),
    ("GET /dashboard/forms",                    "L   L   L     L       200     L       L       L       L       L       L"),
    ("POST /dashboard/forms/preview",           "L   L   L     L       403     L       L       L       L       L       L"),
    ("POST /dashboard/forms/publish",           "L   L   L     L       403     L       L       L       L       L       L"),
    ("POST /dashboard/interviews/{id}/review",  "L   L   L     L       I/404   L       L       L       L       L       L"),
    ("POST /dashboard/interviews/{id}/comment", "L   L   L     L       I/404   L       L       L       L       L       L"),
    ("POST /dashboard/interviews/{id}/tag",     "L   L   L     L       I/404   L       L       L       L       L       L"),
    ("GET /dashboard/themes",                   "L   L   L     L       200/403 L       L       L       L       L       L"),
    ("GET /dashboard/exports",                  "L   L   L     L       200     L       L       L       L       L       L"),
    ("POST /dashboard/exports",                 "L   L   L     L       E/403   L       L       L       L       L       L"),
    ("POST /dashboard/themes",                  "L   L   L     L       T/404   L       L       L       L       L       L"),
    ("GET /dashboard/themes/codebook",          "L   L   L     L       200     L       L       L       L       L       L"),
    ("POST /dashboard/themes/codebook",         "L   L   L     L       K       L       L       L       L       L       L"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Status(u16),
    /// 303 to exactly this `Location`.
    Redirect(&'static str),
    /// 303 back to the interview's page: a dashboard form that worked.
    BackToInterview,
    /// 303 back to the case's page or the case queue: a case form that worked.
    BackToCase,
    /// 303 to the login page after a logout that ended a session.
    LoggedOut,
    /// 303 to an action's page: an action form that worked.
    BackToAction,
}

impl Want {
    fn parse(cell: &str) -> Want {
        match cell {
            "L" => Want::Redirect("/dashboard/login"),
            "D" => Want::Redirect("/dashboard/"),
            "I" => Want::BackToInterview,
            "C" => Want::BackToCase,
            "A" => Want::BackToAction,
            "T" => Want::Redirect("/dashboard/themes"),
            "K" => Want::Redirect("/dashboard/themes/codebook"),
            "E" => Want::Redirect("/dashboard/exports"),
            "O" => Want::LoggedOut,
            n => Want::Status(n.parse().unwrap_or_else(|_| panic!("bad cell {n}"))),
        }
    }

    fn matches(self, got: &Outcome) -> bool {
        match self {
            Want::Status(s) => got.status == s,
            Want::Redirect(to) => got.status == 303 && got.location == to,
            Want::BackToInterview => {
                got.status == 303 && got.location.starts_with("/dashboard/interviews/")
            }
            Want::BackToCase => got.status == 303 && got.location.starts_with("/dashboard/cases"),
            Want::LoggedOut => got.status == 303 && got.location == "/dashboard/login",
            Want::BackToAction => {
                got.status == 303 && got.location.starts_with("/dashboard/actions/")
            }
        }
    }

    /// Whether this outcome means the call was carried out.
    fn allowed(self, route: &str) -> bool {
        match self {
            Want::Status(s) => (200..300).contains(&s),
            Want::BackToInterview | Want::BackToCase | Want::BackToAction | Want::LoggedOut => true,
            // The login form posted with good credentials signs in whoever
            // calls; a language saved goes back to the page it was chosen on.
            Want::Redirect(to) => {
                (matches!(route, "POST /dashboard/login" | "POST /dashboard/language")
                    && to == "/dashboard/")
                    || (route == "POST /dashboard/themes" && to == "/dashboard/themes")
                    || (route == "POST /dashboard/exports" && to == "/dashboard/exports")
                    || (route == "POST /dashboard/themes/codebook"
                        && to == "/dashboard/themes/codebook")
            }
        }
    }
}

fn expected(row: &str, caller: Caller, target: Target) -> Want {
    let col = CALLERS.iter().position(|c| *c == caller).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells.len(), CALLERS.len(), "row {row}");
    let cell = cells[col];
    let cell = match (cell.split_once('/'), target) {
        (Some((a, _)), Target::A) => a,
        (Some((_, b)), Target::B) => b,
        (None, _) => cell,
    };
    Want::parse(cell)
}

/// Every `(METHOD, path)` of the route table, read from the router's source.
fn routes_in_source() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for src in [
        include_str!("../../sync-server/src/routes/mod.rs"),
        include_str!("../../sync-server/src/dashboard/mod.rs"),
    ] {
        let mut rest = src;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's arguments, up to the matching parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let args = &rest[..end];
            let q1 = args.find('"').unwrap();
            let q2 = args[q1 + 1..].find('"').unwrap() + q1 + 1;
            let path = &args[q1 + 1..q2];
            let handlers = &args[q2 + 1..];
            for m in ["get", "post", "put", "patch", "delete"] {
                let pat = format!("{m}(");
                let found = handlers.match_indices(&pat).any(|(i, _)| {
                    i == 0 || {
                        let b = handlers.as_bytes()[i - 1];
                        !(b.is_ascii_alphanumeric() || b == b'_' || b == b':')
                    }
                });
                if found {
                    out.insert(format!("{} {path}", m.to_uppercase()));
                }
            }
            rest = &rest[end..];
        }
    }
    out
}

/// An interview's heads, review state, comment count and tags.
type InterviewPrint = (Vec<[u8; 32]>, Option<String>, usize, Vec<String>);

/// What a denied write must not change.
#[derive(Debug, PartialEq)]
struct Fingerprint {
    documents: u64,
    changes: u64,
    users: Vec<(String, bool)>,
    devices: Vec<(String, bool)>,
    forms: usize,
    audit: usize,
    interviews: Vec<InterviewPrint>,
    /// Each hook's id, activity, and its failed deliveries.
    webhooks: Vec<(String, bool, usize)>,
}

struct World {
    server: TestServer,
    http: reqwest::Client,
    admin: String,
    coord_a: String,
    coord_a_session: fieldvoice_tests::dashboard::Session,
    coord_b: String,
    analyst_a: String,
    analyst_b: String,
    agent_a: String,
    /// Follow-up cases of A's and B's interviews (A's owned by agent A).
    case_a: String,
    case_b: String,
    /// Hackathon actions of A and B.
    action_a: String,
    action_b: String,
    employee_token: String,
    revoked_token: String,
    emp_a: User,
    emp_b: User,
    /// Employee A's own interview (kept locally to edit and push).
    own: Interview,
    /// Interviews of A (employee A's) and B (employee B's).
    iv_a: Uuid,
    iv_b: Uuid,
    /// A registered webhook (its receiver is never up; the worker polls
    /// once an hour, so the matrix moves its deliveries itself).
    hook: String,
    /// A finished export job of the admin's.
    job: String,
    counter: usize,
}

impl World {
    /// A delivery of the world's hook that has been given up.
    fn failed_delivery(&self) -> i64 {
        use central_store::webhooks::{Attempt, Event, Next};
        let st = &self.server.state.store;
        st.set_webhook_active(&self.hook, true).unwrap();
        let e = Event::new("case.opened", "mcmb-2026", "CI", "matrix", 0, &json!({}));
        st.emit(std::slice::from_ref(&e)).unwrap();
        let d = st
            .deliveries(&self.hook, Some("pending"), 10_000)
            .unwrap()
            .into_iter()
            .find(|d| d.event_id == e.id)
            .unwrap();
        let attempt = Attempt {
            delivery_id: d.id,
            at_ms: central_store::unix_now_ms(),
            status: None,
            error: Some("connection refused".into()),
            duration_ms: 1,
        };
        st.finish_delivery(&attempt, Next::Failed).unwrap();
        d.id
    }

    fn fingerprint(&self) -> Fingerprint {
        let st = &self.server.state.store;
        let stats = st.stats().unwrap();
        let mut users: Vec<_> = st
            .list_users(None)
            .unwrap()
            .into_iter()
            .map(|u| (u.id, u.active))
            .collect();
        users.sort();
        let mut devices: Vec<_> = st
            .list_devices(None)
            .unwrap()
            .into_iter()
            .map(|d| (d.id, d.revoked))
            .collect();
        devices.sort();
        let interviews = [self.iv_a, self.iv_b]
            .iter()
            .map(|id| {
                let r = st.interview(*id).unwrap().unwrap();
                let mut heads = st.doc_heads(*id).unwrap();
                heads.sort();
                (heads, r.review_state, r.comment_count, r.tags)
            })
            .collect();
        let webhooks = st
            .list_webhooks()
            .unwrap()
            .into_iter()
            .map(|h| {
                let failed = st.deliveries(&h.id, Some("failed"), 10_000).unwrap().len();
                (h.id, h.active, failed)
            })
            .collect();
        Fingerprint {
            webhooks,
            documents: stats.documents,
            changes: stats.changes,
            users,
            devices,
            forms: st.forms().unwrap().len(),
            audit: st.audit_log(1_000_000).unwrap().len(),
            interviews,
        }
    }

    fn target_interview(&self, t: Target) -> Uuid {
        match t {
            Target::A => self.iv_a,
            Target::B => self.iv_b,
        }
    }

    fn target_action(&self, t: Target) -> String {
        match t {
            Target::A => self.action_a.clone(),
            Target::B => self.action_b.clone(),
        }
    }

    fn target_case(&self, t: Target) -> String {
        match t {
            Target::A => self.case_a.clone(),
            Target::B => self.case_b.clone(),
        }
    }

    fn target_employee(&self, t: Target) -> &User {
        match t {
            Target::A => &self.emp_a,
            Target::B => &self.emp_b,
        }
    }

    fn next(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    async fn enroll(&self, code: &str) -> (String, String) {
        let r = self
            .http
            .post(format!("{}/api/v1/enroll", self.server.url))
            .json(&json!({"code": code, "device_label": "matrix phone"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "enroll");
        let v: Value = r.json().await.unwrap();
        (
            v["device_id"].as_str().unwrap().to_owned(),
            v["device_token"].as_str().unwrap().to_owned(),
        )
    }

    /// A sync body pushing an edit of the target interview: the employee's own
    /// (for A) or employee B's (for B), edited with employee A's actor.
    fn sync_body(&mut self, t: Target) -> (Vec<u8>, Option<Vec<[u8; 32]>>) {
        let form = fieldvoice_tests::form();
        let n = self.next();
        let doc = match t {
            Target::A => {
                self.own
                    .set_answer_json(&form, "customer_since_years", &json!(n % 50))
                    .unwrap();
                self.own.save()
            }
            Target::B => {
                let stored = self
                    .server
                    .state
                    .store
                    .load_doc(self.iv_b)
                    .unwrap()
                    .unwrap();
                let mut iv = Interview::load(&stored.snapshot).unwrap();
                iv.set_actor(self.own.doc_mut().get_actor().clone());
                iv.set_answer_json(&form, "customer_since_years", &json!(n % 50))
                    .unwrap();
                iv.save()
            }
        };
        let id = self.target_interview(t);
        let heads = match t {
            Target::A => Some(self.own.heads().iter().map(|h| h.0).collect()),
            Target::B => None,
        };
        let body = survey_protocol::encode(
            &SyncRequest {
                cursor: 0,
                docs: vec![DocPush {
                    doc_id: id,
                    base_heads: vec![],
                    heads: vec![],
                    data: doc,
                }],
            },
            Compression::Gzip,
        )
        .unwrap();
        (body, heads)
    }
}

async fn world() -> World {
    let settings = Settings {
        webhooks: sync_server::webhooks::WebhookSettings {
            poll: std::time::Duration::from_secs(3600),
            ..Default::default()
        },
        enroll_per_minute: 100_000,
        login_per_minute: 100_000,
        login_per_address_per_minute: 100_000,
        ..Settings::default()
    };
    let server = TestServer::start_with(settings).await;
    let http = client();
    let token = |u: &User| {
        sync_server::service::users::issue_api_token(&server.state, u, "matrix").unwrap()
    };
    let ca = user_with_password(&server, "coord.a", Role::Coordinator, "CI", PW);
    let cb = user_with_password(&server, "coord.b", Role::Coordinator, "SN", PW);
    let (coord_a, coord_b) = (token(&ca), token(&cb));
    let (_, analyst_a) = server.token_for("analyst.a", Role::Analyst, "CI");
    let (_, analyst_b) = server.token_for("analyst.b", Role::Analyst, "SN");
    let (agent, agent_a) = server.token_for("agent.a", Role::Agent, "CI");
    let admin = server.admin_token.clone();
    let (emp_a, code_a) = server.user_with_code("emp.a", Role::Employee, "CI");
    let (emp_b, _) = server.user_with_code("emp.b", Role::Employee, "SN");
    let coord_a_session = login(&http, &server.url, "coord.a", PW).await;
    // One place per country, for the assignment and quota imports.
    let places: String = ["CI", "SN"]
        .iter()
        .map(|c| format!("{c}-MATRIX,{c},Matrix {c},city,urban\n"))
        .collect();
    server
        .state
        .store
        .upsert_places(
            &sync_server::places::parse_places_csv(&format!(
                "code,country,name,kind,setting\n{places}"
            ))
            .unwrap(),
        )
        .unwrap();

    let mut w = World {
        server,
        http,
        admin,
        coord_a,
        coord_a_session,
        coord_b,
        analyst_a,
        analyst_b,
        agent_a,
        case_a: String::new(),
        case_b: String::new(),
        action_a: String::new(),
        action_b: String::new(),
        employee_token: String::new(),
        revoked_token: String::new(),
        emp_a: emp_a.clone(),
        emp_b: emp_b.clone(),
        own: {
            let form = fieldvoice_tests::form();
            let device = Uuid::new_v4();
            let mut iv = Interview::create(
                &form,
                fieldvoice_tests::meta(&form, &emp_a.id, "CI", device),
                actor_from_uuid(device),
            )
            .unwrap();
            for (k, v) in fieldvoice_tests::complete_answers(9) {
                iv.set_answer_json(&form, k, &v).unwrap();
            }
            iv
        },
        iv_a: Uuid::nil(),
        hook: String::new(),
        job: String::new(),
        iv_b: Uuid::nil(),
        counter: 0,
    };
    w.iv_a = w.own.id();
    // Employee A's device, and a second one that gets revoked.
    let (_, employee_token) = w.enroll(&code_a).await;
    w.employee_token = employee_token;
    let c2 = {
        let c = sync_server::auth::new_enrollment_code();
        w.server
            .state
            .store
            .add_enrollment_code(
                &emp_a.id,
                &sync_server::auth::hash_secret(&c),
                unix_now() + 3600,
            )
            .unwrap();
        c
    };
    let (revoked_id, revoked_token) = w.enroll(&c2).await;
    assert!(
        w.server
            .state
            .store
            .revoke_device(&revoked_id, unix_now())
            .unwrap()
    );
    w.revoked_token = revoked_token;
    // Employee A's own interview arrives through sync; B's through the merge path.
    let (body, _) = w.sync_body(Target::A);
    let r = w
        .http
        .post(format!("{}/api/v1/sync", w.server.url))
        .bearer_auth(&w.employee_token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    w.iv_b = push_interview(
        &w.server,
        &emp_b,
        "2026-11-30T10:00:00Z",
        &fieldvoice_tests::complete_answers(4),
    );
    // A case per interview, opened by hand; agent A owns A's.
    let store = w.server.state.store.clone();
    for (iv, owner) in [(w.iv_a, Some(agent.id.clone())), (w.iv_b, None)] {
        let r = store.interview(iv).unwrap().unwrap();
        let mut case = central_store::cases::new_case(
            store.as_ref(),
            &r,
            survey_model::cases::CaseReason::Manual,
            "matrix",
            unix_now(),
        )
        .unwrap();
        case.owner = owner;
        assert!(store.open_case(&case).unwrap());
        if iv == w.iv_a {
            w.case_a = case.id;
        } else {
            w.case_b = case.id;
        }
    }
    let hook = central_store::webhooks::Webhook {
        id: Uuid::new_v4().to_string(),
        url: "http://127.0.0.1:9/matrix".into(),
        events: vec!["case.opened".into()],
        allow_pii: false,
        active: true,
        description: String::new(),
        created_by: "matrix".into(),
        created_at: unix_now(),
    };
    w.server
        .state
        .store
        .create_webhook(&hook, "whsec_matrix")
        .unwrap();
    w.hook = hook.id;
    let r = w
        .http
        .post(format!("{}/api/v1/exports", w.server.url))
        .bearer_auth(&w.admin)
        .json(&json!({"format": "csv"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let job: Value = r.json().await.unwrap();
    w.job = job["id"].as_str().unwrap().to_owned();
    for _ in 0..600 {
        let s: Value = w
            .http
            .get(format!("{}/api/v1/exports/{}", w.server.url, w.job))
            .bearer_auth(&w.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for country in ["CI", "SN"] {
        let now = unix_now();
        let a = central_store::ActionItem {
            id: Uuid::new_v4().to_string(),
            campaign: "mcmb-2026".into(),
            country: country.into(),
            title: format!("Action {country}"),
            description: String::new(),
            root_causes: vec!["network".into()],
            themes: vec![],
            evidence: vec![],
            owner: String::new(),
            due_date: None,
            status: "planned".into(),
            expected_effect: String::new(),
            created_by: "matrix".into(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        w.server.state.store.insert_action(&a).unwrap();
        if country == "CI" {
            w.action_a = a.id;
        } else {
            w.action_b = a.id;
        }
    }
    w
}

/// Attach the caller's credentials.
/// The built-in form under a new id, as JSON (target A) or as an XLSForm
/// workbook (target B).
fn form_upload(req: reqwest::RequestBuilder, id: &str, t: Target) -> reqwest::RequestBuilder {
    let mut def: Value = serde_json::from_str(survey_model::BUILTIN_FORMS[0].1).unwrap();
    def["form_id"] = json!(id);
    match t {
        Target::A => req
            .header("content-type", "application/json")
            .body(def.to_string()),
        Target::B => {
            def.as_object_mut().unwrap().remove("$schema");
            let def: survey_model::FormDef = serde_json::from_value(def).unwrap();
            req.header("content-type", xlsform::XLSX_CONTENT_TYPE)
                .body(xlsform::export(&def).unwrap())
        }
    }
}

fn with_auth(w: &World, caller: Caller, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    let bearer = match caller {
        Caller::Anonymous | Caller::CoordACookie => None,
        Caller::Malformed => Some("not-a-token!"),
        Caller::Admin => Some(w.admin.as_str()),
        Caller::CoordA => Some(w.coord_a.as_str()),
        Caller::CoordB => Some(w.coord_b.as_str()),
        Caller::AnalystA => Some(w.analyst_a.as_str()),
        Caller::AnalystB => Some(w.analyst_b.as_str()),
        Caller::AgentA => Some(w.agent_a.as_str()),
        Caller::Employee => Some(w.employee_token.as_str()),
        Caller::Revoked => Some(w.revoked_token.as_str()),
    };
    match (caller, bearer) {
        (Caller::CoordACookie, _) => req
            .header("cookie", &w.coord_a_session.cookie)
            .header("x-csrf-token", &w.coord_a_session.csrf),
        (_, Some(t)) => req.bearer_auth(t),
        (_, None) => req,
    }
}

/// A fresh login form: its `fv_login` cookie and CSRF token.
async fn login_form(w: &World) -> (String, String) {
    let r = w
        .http
        .get(format!("{}/dashboard/login", w.server.url))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&r, "fv_login").unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let csrf = csrf_in(&r.text().await.unwrap()).unwrap();
    (cookie, csrf)
}

struct Outcome {
    status: u16,
    location: String,
}

/// Build the request of one case (preparing what it needs in the store first)
/// and what an allowed call must have done.
async fn prepare(
    w: &mut World,
    route: &str,
    caller: Caller,
    t: Target,
) -> (reqwest::RequestBuilder, Check) {
    let url = w.server.url.clone();
    let country = t.country();
    let (method, path) = route.split_once(' ').unwrap();
    let mut check = Check::None;
    let n = w.next();
    let dash_csrf = if caller == Caller::CoordACookie {
        w.coord_a_session.csrf.clone()
    } else {
        String::new()
    };
    let req = match route {
        "POST /api/v1/enroll" => {
            let (_, code) = w
                .server
                .user_with_code(&format!("enr.{n}"), Role::Employee, country);
            check = Check::DevicesGrow;
            with_auth(w, caller, w.http.post(format!("{url}{path}")))
                .json(&json!({"code": code, "device_label": "phone"}))
        }
        "POST /api/v1/sync" => {
            let (body, heads) = w.sync_body(t);
            if let Some(h) = heads {
                check = Check::Heads(w.iv_a, h);
            }
            with_auth(w, caller, w.http.post(format!("{url}{path}")))
                .header("content-type", survey_protocol::CONTENT_TYPE)
                .body(body)
        }
        // The forms routes take fieldvoice JSON or an XLSForm workbook: target
        // A sends JSON, target B the same form as .xlsx (same expectations).
        "POST /api/v1/forms/preview" => form_upload(
            with_auth(w, caller, w.http.post(format!("{url}{path}"))),
            &format!("matrix-preview-{n}"),
            t,
        ),
        "POST /api/v1/forms" => {
            let id = format!("matrix-form-{n}");
            check = Check::Form(id.clone());
            form_upload(
                with_auth(w, caller, w.http.post(format!("{url}{path}"))),
                &id,
                t,
            )
        }
        "POST /api/v1/places" => with_auth(w, caller, w.http.post(format!("{url}{path}")))
            .header("content-type", "text/csv")
            .body(format!(
                "code,country,name,kind,setting\n{country}-MATRIX-{n},{country},Matrix {n},village,rural\n"
            )),
        "POST /api/v1/assignments" => {
            let login = match t {
                Target::A => &w.emp_a.login,
                Target::B => &w.emp_b.login,
            };
            with_auth(w, caller, w.http.post(format!("{url}{path}")))
                .header("content-type", "text/csv")
                .body(format!(
                    "login,place_code,team\n{login},{country}-MATRIX,team {n}\n"
                ))
        }
        "POST /api/v1/quotas" => with_auth(w, caller, w.http.post(format!("{url}{path}")))
            .header("content-type", "text/csv")
            .body(format!(
                "place_code,segment,target\n{country}-MATRIX,individual,{n}\n"
            )),
        "GET /api/v1/places"
        | "GET /api/v1/quotas"
        | "GET /api/v1/users"
        | "GET /api/v1/devices"
        | "GET /api/v1/interviews"
        | "GET /api/v1/stats"
        | "GET /api/v1/review-queue"
        | "GET /api/v1/command-centre"
        | "GET /api/v1/themes/suggestions"
        | "GET /dashboard/themes"
        | "GET /dashboard/exports"
        | "GET /api/v1/report" => with_auth(
            w,
            caller,
            w.http.get(format!("{url}{path}?country={country}")),
        ),
        "GET /api/v1/cases" | "GET /api/v1/case-stats" | "GET /api/v1/service-levels" => with_auth(
            w,
            caller,
            w.http.get(if !path.ends_with("service-levels") {
                format!("{url}{path}?country={country}")
            } else {
                format!("{url}{path}")
            }),
        ),
        "GET /api/v1/webhooks" => with_auth(w, caller, w.http.get(format!("{url}{path}"))),
        // The feed is scoped by the caller's countries, not by a parameter.
        "GET /api/v1/odata"
        | "GET /api/v1/odata/"
        | "GET /api/v1/odata/$metadata"
        | "GET /api/v1/odata/Interviews"
        | "GET /api/v1/odata/Interviews/$count" => {
            with_auth(w, caller, w.http.get(format!("{url}{path}")))
        }
        "POST /api/v1/actions" => {
            check = Check::AuditGrows;
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).json(&json!({
                "country": country,
                "title": format!("Action {n}"),
                "root_causes": ["network"],
            }))
        }
        "GET /api/v1/actions/{id}" | "GET /dashboard/actions/{id}" => {
            let id = w.target_action(t);
            let base = path.split("/{id}").next().unwrap();
            with_auth(w, caller, w.http.get(format!("{url}{base}/{id}")))
        }
        "POST /api/v1/actions/{id}" => {
            let id = w.target_action(t);
            let version = w.server.state.store.action(&id).unwrap().unwrap().version;
            check = Check::AuditGrows;
            with_auth(w, caller, w.http.post(format!("{url}/api/v1/actions/{id}")))
                .json(&json!({"version": version, "note": format!("Note {n}")}))
        }
        "POST /dashboard/exports" => with_auth(w, caller, w.http.post(format!("{url}{path}")))
            .form(&[
                ("csrf", dash_csrf.as_str()),
                ("format", "csv"),
                ("country", country),
            ]),
        "POST /dashboard/actions" => {
            check = Check::AuditGrows;
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).form(&[
                ("csrf", dash_csrf.as_str()),
                ("country", country),
                ("title", format!("Action {n}").as_str()),
                ("root_causes", "it"),
                ("status", "planned"),
            ])
        }
        "POST /dashboard/actions/{id}" => {
            let id = w.target_action(t);
            let version = w.server.state.store.action(&id).unwrap().unwrap().version;
            check = Check::AuditGrows;
            with_auth(w, caller, w.http.post(format!("{url}/dashboard/actions/{id}"))).form(&[
                ("csrf", dash_csrf.as_str()),
                ("version", version.to_string().as_str()),
                ("status", "in_progress"),
                ("note", format!("Note {n}").as_str()),
            ])
        }
        "POST /api/v1/webhooks" => {
            check = Check::AuditGrows;
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).json(&json!({
                "url": format!("http://127.0.0.1:9/matrix/{n}"),
                "events": ["case.opened"],
                "allow_pii": true,
            }))
        }
        "POST /api/v1/webhooks/{id}" => {
            check = Check::AuditGrows;
            with_auth(
                w,
                caller,
                w.http.post(format!("{url}/api/v1/webhooks/{}", w.hook)),
            )
            .json(&json!({"active": n.is_multiple_of(2)}))
        }
        "POST /api/v1/exports" => with_auth(w, caller, w.http.post(format!("{url}{path}")))
            .json(&json!({"format": "csv", "country": country})),
        "GET /api/v1/exports/{id}" => with_auth(
            w,
            caller,
            w.http.get(format!("{url}/api/v1/exports/{}", w.job)),
        ),
        "GET /api/v1/exports/{id}/files/{name}" => with_auth(
            w,
            caller,
            w.http
                .get(format!("{url}/api/v1/exports/{}/files/interviews.csv", w.job)),
        ),
        "GET /api/v1/webhooks/{id}/deliveries" => with_auth(
            w,
            caller,
            w.http
                .get(format!("{url}/api/v1/webhooks/{}/deliveries", w.hook)),
        ),
        "POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry" => {
            // A fresh failed delivery of the hook for every case.
            let delivery = w.failed_delivery();
            check = Check::AuditGrows;
            with_auth(
                w,
                caller,
                w.http.post(format!(
                    "{url}/api/v1/webhooks/{}/deliveries/{delivery}/retry",
                    w.hook
                )),
            )
        }
        "POST /api/v1/cases" => {
            // A fresh interview of the target's employee for every case.
            let emp = w.target_employee(t).clone();
            let id = push_interview(
                &w.server,
                &emp,
                "2026-11-30T11:00:00Z",
                &fieldvoice_tests::complete_answers(5),
            );
            check = Check::CaseOpened(id);
            with_auth(w, caller, w.http.post(format!("{url}{path}")))
                .json(&json!({"interview_id": id}))
        }
        "GET /api/v1/cases/{id}" => {
            let id = w.target_case(t);
            with_auth(w, caller, w.http.get(format!("{url}/api/v1/cases/{id}")))
        }
        "GET /api/v1/cases/{id}/contact" => {
            let id = w.target_case(t);
            check = Check::AuditGrows;
            with_auth(
                w,
                caller,
                w.http.get(format!("{url}/api/v1/cases/{id}/contact")),
            )
        }
        "POST /api/v1/cases/{id}" => {
            let id = w.target_case(t);
            let version = w.server.state.store.case(&id).unwrap().unwrap().version;
            let note = format!("Rappel {n}");
            check = Check::CaseNoted(id.clone(), note.clone());
            with_auth(w, caller, w.http.post(format!("{url}/api/v1/cases/{id}")))
                .json(&json!({"version": version, "note": note}))
        }
        "POST /api/v1/service-levels" => {
            let hours = 1 + (n % 600) as u32;
            check = Check::ServiceLevel(country.to_owned(), hours);
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).json(
                &json!([{"country": country, "first_contact_hours": hours, "resolution_hours": hours * 3}]),
            )
        }
        "GET /api/v1/export/{format}" => with_auth(
            w,
            caller,
            w.http
                .get(format!("{url}/api/v1/export/csv?country={country}")),
        ),
        "POST /api/v1/users" => {
            let login = format!("new.{n}");
            check = Check::User(login.clone());
            with_auth(w, caller, w.http.post(format!("{url}{path}")))
                .json(&json!({"login": login, "name": format!("New {n}"), "countries": [country]}))
        }
        "POST /api/v1/users/import" => {
            let login = format!("imp.{n}");
            check = Check::User(login.clone());
            with_auth(w, caller, w.http.post(format!("{url}{path}")))
                .header("content-type", "text/csv")
                .body(format!(
                    "login,name,country\n{login},Imported {n},{country}\n"
                ))
        }
        "POST /api/v1/users/{id}/enrollment-code" => {
            let id = w.target_employee(t).id.clone();
            check = Check::CodeWorks;
            with_auth(
                w,
                caller,
                w.http
                    .post(format!("{url}/api/v1/users/{id}/enrollment-code")),
            )
        }
        "POST /api/v1/devices/{id}/revoke" => {
            // A fresh victim device in the target country for every case.
            let (_, code) =
                w.server
                    .user_with_code(&format!("victim.{n}"), Role::Employee, country);
            let (device, _) = w.enroll(&code).await;
            check = Check::Revoked(device.clone());
            with_auth(
                w,
                caller,
                w.http.post(format!("{url}/api/v1/devices/{device}/revoke")),
            )
        }
        "GET /api/v1/interviews/{id}" => {
            let id = w.target_interview(t);
            with_auth(
                w,
                caller,
                w.http.get(format!("{url}/api/v1/interviews/{id}")),
            )
        }
        "POST /api/v1/interviews/{id}/review"
        | "POST /api/v1/interviews/{id}/comments"
        | "POST /api/v1/interviews/{id}/tags" => {
            let id = w.target_interview(t);
            let action = path.rsplit('/').next().unwrap();
            let body = match action {
                "review" => json!({"state": ReviewState::ALL[n % 4].as_str()}),
                "comments" => json!({"text": format!("Rappeler le client ({n})")}),
                _ => json!({"tag": format!("theme:case-{n}")}),
            };
            check = Check::Edited(id);
            with_auth(
                w,
                caller,
                w.http
                    .post(format!("{url}/api/v1/interviews/{id}/{action}")),
            )
            .json(&body)
        }
        "POST /api/v1/interviews/{id}/erase" => {
            let id = w.target_interview(t);
            check = Check::Edited(id);
            with_auth(
                w,
                caller,
                w.http.post(format!("{url}/api/v1/interviews/{id}/erase")),
            )
            .json(&json!({"scope": "pii"}))
        }
        "GET /dashboard/"
        | "GET /dashboard/reviews"
        | "GET /dashboard/command"
        | "GET /dashboard/cases"
        | "GET /dashboard/actions"
        | "GET /api/v1/actions" => with_auth(
            w,
            caller,
            w.http.get(format!("{url}{path}?country={country}")),
        ),
        "GET /dashboard/interviews/{id}" => {
            let id = w.target_interview(t);
            with_auth(
                w,
                caller,
                w.http.get(format!("{url}/dashboard/interviews/{id}")),
            )
        }
        "POST /dashboard/interviews/{id}/review"
        | "POST /dashboard/interviews/{id}/comment"
        | "POST /dashboard/interviews/{id}/tag" => {
            let id = w.target_interview(t);
            let action = path.rsplit('/').next().unwrap();
            let (field, value) = match action {
                "review" => ("state", ReviewState::ALL[n % 4].as_str().to_owned()),
                "comment" => ("text", format!("Vu au tableau de bord ({n})")),
                _ => ("tag", format!("dash:case-{n}")),
            };
            check = Check::Edited(id);
            with_auth(
                w,
                caller,
                w.http
                    .post(format!("{url}/dashboard/interviews/{id}/{action}")),
            )
            .form(&[("csrf", dash_csrf.as_str()), (field, value.as_str())])
        }
        "GET /dashboard/cases/{id}" => {
            let id = w.target_case(t);
            with_auth(w, caller, w.http.get(format!("{url}/dashboard/cases/{id}")))
        }
        "POST /dashboard/cases/assign" => {
            // Give the target's case to coordinator A (a worker of A's cases).
            let id = w.target_case(t);
            let coord_a = w.server.state.store.user_by_login("coord.a").unwrap().unwrap().0;
            check = Check::CaseOwner(id.clone(), coord_a.id.clone());
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).form(&[
                ("csrf", dash_csrf.as_str()),
                ("owner", coord_a.id.as_str()),
                ("ids", id.as_str()),
            ])
        }
        "POST /dashboard/cases/{id}/contact" => {
            let id = w.target_case(t);
            check = Check::AuditGrows;
            with_auth(
                w,
                caller,
                w.http.post(format!("{url}/dashboard/cases/{id}/contact")),
            )
            .form(&[("csrf", dash_csrf.as_str())])
        }
        "POST /dashboard/cases/{id}" => {
            let id = w.target_case(t);
            let version = w.server.state.store.case(&id).unwrap().unwrap().version;
            let note = format!("Vu au tableau de bord {n}");
            check = Check::CaseNoted(id.clone(), note.clone());
            with_auth(w, caller, w.http.post(format!("{url}/dashboard/cases/{id}"))).form(&[
                ("csrf", dash_csrf.as_str()),
                ("version", version.to_string().as_str()),
                ("note", note.as_str()),
            ])
        }
        "POST /api/v1/interviews/{id}/themes" => {
            let id = w.target_interview(t);
            check = Check::Edited(id);
            let theme = themes::Codebook::default().codes()[n % 10].clone();
            with_auth(
                w,
                caller,
                w.http.post(format!("{url}/api/v1/interviews/{id}/themes")),
            )
            .json(&json!({"themes": [theme]}))
        }
        "POST /dashboard/themes" => {
            let id = w.target_interview(t);
            check = Check::Edited(id);
            let theme = themes::Codebook::default().codes()[n % 10].clone();
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).form(&[
                ("csrf", dash_csrf.as_str()),
                ("id", id.to_string().as_str()),
                ("theme", theme.as_str()),
            ])
        }
        "POST /api/v1/themes/codebook" | "POST /dashboard/themes/codebook" => {
            // Saved over the version stored now, with one label changed, so
            // every allowed call changes it (and is audited).
            let version = w
                .server
                .state
                .store
                .codebook(&w.server.state.settings.campaign)
                .unwrap()
                .map_or(0, |c| c.version);
            let mut cb = themes::Codebook::default();
            cb.themes[0].labels.en = format!("Network coverage {n}");
            check = Check::AuditGrows;
            let req = with_auth(w, caller, w.http.post(format!("{url}{path}")));
            if path.starts_with("/api/") {
                req.json(&json!({"version": version, "themes": cb.themes}))
            } else {
                let mut form: Vec<(String, String)> = vec![
                    ("csrf".into(), dash_csrf.clone()),
                    ("version".into(), version.to_string()),
                ];
                for (i, th) in cb.themes.iter().enumerate() {
                    form.push((format!("code.{i}"), th.code.clone()));
                    for l in ["fr", "en", "ar", "pt"] {
                        form.push((format!("{l}.{i}"), th.labels.get(l).to_owned()));
                    }
                }
                req.form(&form)
            }
        }
        "POST /dashboard/reviews/bulk" => {
            let id = w.target_interview(t);
            check = Check::Edited(id);
            let state = ReviewState::ALL[n % 4].as_str();
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).form(&[
                ("csrf", dash_csrf.as_str()),
                ("state", state),
                ("ids", id.to_string().as_str()),
            ])
        }
        "POST /dashboard/forms/preview" => {
            let mut def: Value = serde_json::from_str(survey_model::BUILTIN_FORMS[0].1).unwrap();
            def["form_id"] = json!(format!("matrix-dash-{n}"));
            let form = reqwest::multipart::Form::new()
                .text("csrf", dash_csrf.clone())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(def.to_string().into_bytes())
                        .file_name("form.json"),
                );
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).multipart(form)
        }
        "POST /dashboard/forms/publish" => {
            let mut def: Value = serde_json::from_str(survey_model::BUILTIN_FORMS[0].1).unwrap();
            let id = format!("matrix-dash-{n}");
            def["form_id"] = json!(id);
            check = Check::Form(id);
            with_auth(w, caller, w.http.post(format!("{url}{path}")))
                .form(&[("csrf", dash_csrf.as_str()), ("json", &def.to_string())])
        }
        "POST /dashboard/login" => {
            let (login_cookie, csrf) = login_form(w).await;
            let login = match t {
                Target::A => "coord.a",
                Target::B => "coord.b",
            };
            check = Check::SessionCreated;
            let mut cookie = login_cookie;
            if caller == Caller::CoordACookie {
                cookie = format!("{}; {cookie}", w.coord_a_session.cookie);
            }
            let req = with_auth(
                w,
                if caller == Caller::CoordACookie {
                    Caller::Anonymous
                } else {
                    caller
                },
                w.http.post(format!("{url}{path}")),
            );
            req.header("cookie", cookie).form(&[
                ("login", login),
                ("password", PW),
                ("csrf", csrf.as_str()),
            ])
        }
        "POST /dashboard/language" => {
            // Alternately French and English, so every allowed call changes the account.
            let lang = ["fr", "en"][n % 2];
            check = Check::Language(lang);
            with_auth(w, caller, w.http.post(format!("{url}{path}"))).form(&[
                ("csrf", dash_csrf.as_str()),
                ("lang", lang),
                ("back", "/dashboard/"),
            ])
        }
        "POST /dashboard/logout" => {
            if caller == Caller::CoordACookie {
                // Log out a session of its own, so the matrix's session survives.
                let s = login(&w.http, &url, "coord.a", PW).await;
                check = Check::LoggedOut(s.clone());
                w.http
                    .post(format!("{url}{path}"))
                    .header("cookie", &s.cookie)
                    .form(&[("csrf", s.csrf.as_str())])
            } else {
                with_auth(w, caller, w.http.post(format!("{url}{path}"))).form(&[("csrf", "")])
            }
        }
        "GET /api/v1/forms/{id}/{version}" => with_auth(
            w,
            caller,
            w.http.get(format!("{url}/api/v1/forms/mcmb-interview/1")),
        ),
        _ => {
            assert!(
                method == "GET",
                "{route}: a write route needs a realistic body in run_case"
            );
            with_auth(w, caller, w.http.get(format!("{url}{path}")))
        }
    };
    (req, check)
}

/// Send one case's request; a 200 enrollment code becomes a check that it redeems.
async fn send(route: &str, req: reqwest::RequestBuilder, mut check: Check) -> (Outcome, Check) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    if let Check::CodeWorks = check
        && status == 200
    {
        let v: Value = resp.json().await.unwrap();
        check = Check::CodeRedeems(v["code"].as_str().unwrap().to_owned());
    } else if route == "POST /api/v1/sync" && status == 200 {
        let bytes = resp.bytes().await.unwrap();
        let r: SyncResponse = survey_protocol::decode(&bytes, 1 << 24).unwrap();
        assert!(
            r.results.iter().all(|d| d.status == DocStatus::Applied),
            "sync applied: {:?}",
            r.results
        );
    } else {
        let _ = resp.bytes().await.unwrap();
    }
    (Outcome { status, location }, check)
}

/// What an allowed write must have done.
#[derive(Debug)]
enum Check {
    None,
    DevicesGrow,
    Heads(Uuid, Vec<[u8; 32]>),
    Form(String),
    User(String),
    CodeWorks,
    CodeRedeems(String),
    Revoked(String),
    Edited(Uuid),
    CaseOpened(Uuid),
    CaseNoted(String, String),
    CaseOwner(String, String),
    AuditGrows,
    ServiceLevel(String, u32),
    SessionCreated,
    LoggedOut(fieldvoice_tests::dashboard::Session),
    /// Coordinator A's account now has this dashboard language.
    Language(&'static str),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_every_caller_own_and_other_country() {
    let mut w = world().await;

    // The table covers exactly the router's routes, and the OpenAPI document's.
    let table: BTreeSet<String> = TABLE.iter().map(|(r, _)| (*r).to_owned()).collect();
    assert_eq!(
        table.len(),
        TABLE.len(),
        "a route appears twice in the table"
    );
    let source = routes_in_source();
    assert!(source.len() >= 30, "parsed the route table: {source:?}");
    let missing: Vec<_> = source.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "routes without authorisation cases: {missing:?}"
    );
    let stale: Vec<_> = table.difference(&source).collect();
    assert!(
        stale.is_empty(),
        "table rows for routes that do not exist: {stale:?}"
    );
    let doc: Value = w
        .http
        .get(format!("{}/api/v1/openapi.json", w.server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let route = format!("{} {path}", method.to_uppercase());
            assert!(
                table.contains(&route),
                "OpenAPI route {route} not in the matrix"
            );
        }
    }

    let mut cases = 0u64;
    let mut denied_writes = 0u64;
    let mut failures = Vec::new();
    for (route, row) in TABLE {
        for caller in CALLERS {
            for t in [Target::A, Target::B] {
                let want = expected(row, caller, t);
                let write = route.starts_with("POST ");
                let (req, check) = prepare(&mut w, route, caller, t).await;
                let before = w.fingerprint();
                let (got, check) = send(route, req, check).await;
                cases += 1;
                if !want.matches(&got) {
                    failures.push(format!(
                        "{route} as {caller:?} on {t:?}: got {} {}, want {want:?}",
                        got.status, got.location
                    ));
                    continue;
                }
                let after = w.fingerprint();
                if write && !want.allowed(route) {
                    denied_writes += 1;
                    if before != after {
                        failures.push(format!(
                            "{route} as {caller:?} on {t:?}: denied ({}) but the store changed",
                            got.status
                        ));
                    }
                    continue;
                }
                if !want.allowed(route) {
                    continue;
                }
                // Allowed: the call did what it says.
                let st = &w.server.state.store;
                let done = match &check {
                    Check::None => true,
                    Check::DevicesGrow => after.devices.len() == before.devices.len() + 1,
                    Check::Heads(id, heads) => {
                        let doc = st.load_doc(*id).unwrap().unwrap();
                        let mut am = automerge::AutoCommit::load(&doc.snapshot).unwrap();
                        heads
                            .iter()
                            .all(|h| am.get_change_by_hash(&automerge::ChangeHash(*h)).is_some())
                    }
                    Check::Form(id) => st.forms().unwrap().iter().any(|(f, _, _)| f == id),
                    Check::User(login) => st.user_by_login(login).unwrap().is_some(),
                    Check::CodeWorks => false,
                    Check::CodeRedeems(code) => {
                        let (device, _) = w.enroll(code).await;
                        !device.is_empty()
                    }
                    Check::Revoked(device) => st
                        .list_devices(None)
                        .unwrap()
                        .iter()
                        .any(|d| &d.id == device && d.revoked),
                    Check::Edited(id) => {
                        let i = usize::from(*id == w.iv_b);
                        after.interviews[i].0 != before.interviews[i].0
                    }
                    Check::SessionCreated | Check::AuditGrows => after.audit == before.audit + 1,
                    Check::CaseOpened(id) => {
                        st.case_of_interview(&id.to_string()).unwrap().is_some()
                    }
                    Check::CaseOwner(id, owner) => {
                        st.case(id).unwrap().unwrap().owner.as_deref() == Some(owner.as_str())
                    }
                    Check::CaseNoted(id, note) => {
                        st.case_notes(id).unwrap().iter().any(|x| &x.text == note)
                    }
                    Check::ServiceLevel(country, hours) => st
                        .list_service_levels()
                        .unwrap()
                        .iter()
                        .any(|s| &s.country == country && s.first_contact_hours == *hours),
                    Check::LoggedOut(s) => {
                        let r = w
                            .http
                            .get(format!("{}/dashboard/", w.server.url))
                            .header("cookie", &s.cookie)
                            .send()
                            .await
                            .unwrap();
                        r.status() == 303
                    }
                    Check::Language(lang) => {
                        let (coord, _) = st.user_by_login("coord.a").unwrap().unwrap();
                        st.user_language(&coord.id).unwrap().as_deref() == Some(*lang)
                    }
                };
                if !done {
                    failures.push(format!(
                        "{route} as {caller:?} on {t:?}: allowed but {check:?} not done"
                    ));
                }
            }
        }
    }
    eprintln!(
        "authorisation matrix: {cases} cases ({} routes x {} callers x 2 targets), {denied_writes} denied writes left the store unchanged",
        TABLE.len(),
        CALLERS.len()
    );
    fieldvoice_tests::report("auth_cases_checked", cases);
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cases as usize, TABLE.len() * CALLERS.len() * 2);
}
