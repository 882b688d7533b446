//! A demo campaign: forms (MCMB v1 and v2), the place list (120 places in 17
//! countries), an admin, coordinators, employees and interviews of both form
//! versions made through the real merge path, so a fresh server has something
//! to show.

use central_store::merge::{Caller, edit, push};
use central_store::{NewUser, Role, User};
use serde_json::json;
use survey_model::{Interview, ReviewState, actor_from_uuid, sample};
use survey_protocol::{DocPush, DocResult, DocStatus};

use crate::AppState;
use crate::auth::hash_password;
use crate::error::ApiError;
use crate::service::users::{create_user_with_code, issue_api_token};

/// What the demo created (secrets shown once to the operator).
#[derive(Debug, Clone)]
pub struct DemoAccounts {
    pub admin_login: String,
    pub admin_password: String,
    pub admin_token: String,
    pub coordinators: Vec<(String, String, String)>,
    /// (login, password) of each country's hackathon analyst.
    pub analysts: Vec<(String, String)>,
    pub enrollment_codes: Vec<(String, String)>,
    pub interviews: usize,
    /// Of `interviews`, those of last year's campaign.
    pub last_year: usize,
}

const PLACES: &[(&str, &[&str])] = &[
    ("CI", &["Abidjan", "Bouaké", "Korhogo", "Man"]),
    ("SN", &["Dakar", "Thiès", "Ziguinchor"]),
    ("CM", &["Douala", "Yaoundé", "Garoua"]),
];

const VERBATIMS: &[(&str, &str)] = &[
    (
        "fr",
        "Le réseau coupe souvent le soir, améliorez la couverture dans le quartier.",
    ),
    (
        "fr",
        "Le transfert Mobile Money est rapide mais les frais sont trop élevés.",
    ),
    (
        "en",
        "The shop staff were helpful but the queue was very long.",
    ),
    ("fr", "Internet est trop lent, surtout le week-end."),
    ("ar", "الشبكة ضعيفة في القرية ونحتاج إلى تغطية أفضل."),
    (
        "pt",
        "O atendimento telefónico demora muito para responder.",
    ),
    (
        "en",
        "Billing is confusing; I was charged twice for my bundle.",
    ),
    ("fr", "Très satisfait du service, rien à signaler."),
];

/// Seed the demo campaign if the store has no users yet. Returns `None` when
/// the store was already seeded.
pub fn seed(
    state: &AppState,
    admin_password: &str,
    interviews_per_employee: usize,
) -> Result<Option<DemoAccounts>, ApiError> {
    if !state.store.list_users(None)?.is_empty() {
        return Ok(None);
    }
    for (_, json) in survey_model::BUILTIN_FORMS {
        state.install_form(json)?;
    }
    let places = crate::places::parse_places_csv(survey_model::MCMB_PLACES_CSV)
        .map_err(|p| ApiError::Internal(format!("demo place file: {}", p[0])))?;
    state.store.upsert_places(&places)?;
    let form_v2 = state.install_form(survey_model::MCMB_V2_JSON)?;
    let forms = state.forms();
    let form = survey_model::mcmb_form().map_err(|e| ApiError::Internal(e.to_string()))?;
    let admin = state.store.create_user(
        &NewUser {
            login: "admin".into(),
            name: "Campaign Admin".into(),
            role: Role::Admin,
            countries: vec![],
            password_hash: Some(hash_password(admin_password)?),
        },
        central_store::unix_now(),
    )?;
    let admin_token = issue_api_token(state, &admin, "demo")?;
    let mut out = DemoAccounts {
        admin_login: admin.login.clone(),
        admin_password: admin_password.to_owned(),
        admin_token,
        coordinators: vec![],
        analysts: vec![],
        enrollment_codes: vec![],
        interviews: 0,
        last_year: 0,
    };
    let mut n = 0usize;
    for (country, cities) in PLACES {
        let login = format!("coord.{}", country.to_lowercase());
        let password = format!("{login}-demo-pass");
        let coord = state.store.create_user(
            &NewUser {
                login: login.clone(),
                name: format!("Coordinator {country}"),
                role: Role::Coordinator,
                countries: vec![(*country).into()],
                password_hash: Some(hash_password(&password)?),
            },
            central_store::unix_now(),
        )?;
        let token = issue_api_token(state, &coord, "demo")?;
        out.coordinators.push((login, password, token));
        let login = format!("analyst.{}", country.to_lowercase());
        let password = format!("{login}-demo-pass");
        state.store.create_user(
            &NewUser {
                login: login.clone(),
                name: format!("Hackathon team {country}"),
                role: Role::Analyst,
                countries: vec![(*country).into()],
                password_hash: Some(hash_password(&password)?),
            },
            central_store::unix_now(),
        )?;
        out.analysts.push((login, password));
        for e in 0..3 {
            let (emp, code) = create_user_with_code(
                state,
                &NewUser {
                    login: format!("emp.{}.{e}", country.to_lowercase()),
                    name: format!("Employee {country} {e}"),
                    role: Role::Employee,
                    countries: vec![(*country).into()],
                    password_hash: None,
                },
            )?;
            out.enrollment_codes.push((emp.login.clone(), code));
            let codes: Vec<&str> = places
                .iter()
                .filter(|p| p.country == *country)
                .map(|p| p.code.as_str())
                .collect();
            // Each employee works at one of the country's places; each place
            // aims at two interviews per segment (the command centre's targets).
            let home = codes[e % codes.len()];
            state
                .store
                .upsert_assignments(&[central_store::Assignment {
                    user_id: emp.id.clone(),
                    place_code: home.to_owned(),
                    team: format!("Team {}", e + 1),
                }])?;
            let targets: Vec<central_store::Quota> = survey_model::mcmb::SEGMENTS
                .iter()
                .map(|s| central_store::Quota {
                    place_code: home.to_owned(),
                    segment: (*s).to_owned(),
                    user_id: String::new(),
                    target: 2,
                })
                .collect();
            state.store.upsert_quotas(&targets)?;
            // Last year's campaign: one interview per employee, for the
            // year-over-year view of the actions board and the report.
            let device = uuid::Uuid::new_v4();
            let meta = survey_model::InterviewMeta {
                campaign: LAST_YEAR.into(),
                ..sample::meta(
                    &form,
                    country,
                    &emp.id,
                    &device.to_string(),
                    "2025-11-28T10:00:00Z",
                )
            };
            let city = cities[e % cities.len()];
            let mut old = Interview::create(&form, meta, actor_from_uuid(device))
                .and_then(|mut iv| {
                    for (k, v) in sample::varied(n + e, ((n + e) * 5 % 11) as i64, city) {
                        iv.set_answer_json(&form, k, &v)?;
                    }
                    Ok(iv)
                })
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            push_demo(state, &forms, &emp, &mut old)?;
            out.last_year += 1;
            for i in 0..interviews_per_employee {
                // Every other interview was made after v2 reached the phones.
                let place = match i % 2 {
                    0 => Where::City(cities[(e + i) % cities.len()]),
                    _ => Where::Place(home),
                };
                let form = match place {
                    Where::City(_) => &form,
                    Where::Place(_) => &form_v2,
                };
                // The GPS point is near the employee's place, whichever form.
                let coords = places
                    .iter()
                    .find(|p| p.code == home)
                    .and_then(|p| Some((p.lat?, p.lon?)));
                let mut iv = demo_interview(form, &emp, country, place, coords, n)?;
                push_demo(state, &forms, &emp, &mut iv)?;
                review_like_a_coordinator(state, &forms, &coord, &iv, n)?;
                n += 1;
            }
        }
        demo_actions(state, country, &coord)?;
    }
    out.interviews = n + out.last_year;
    Ok(Some(out))
}

/// Last year's campaign id in the demo.
const LAST_YEAR: &str = "mcmb-2025";

/// Push one demo interview through the real merge, as its employee's device.
fn push_demo(
    state: &AppState,
    forms: &central_store::merge::FormRegistry,
    emp: &User,
    iv: &mut Interview,
) -> Result<(), ApiError> {
    let data = iv.save();
    let source = format!("demo-device-{}", emp.id);
    let r = push(
        state.store.as_ref(),
        forms,
        Caller {
            user: emp,
            source: &source,
            clock_skew_s: Some(0),
        },
        &[DocPush {
            doc_id: iv.id(),
            base_heads: vec![],
            heads: vec![],
            data,
        }],
    )
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(DocResult {
        status: DocStatus::Rejected { reason },
        ..
    }) = r.first()
    {
        return Err(ApiError::Internal(format!(
            "demo interview refused: {reason}"
        )));
    }
    Ok(())
}

/// Each country's hackathon: last year's network action (done) and this
/// year's on IT (in progress, with this year's first IT complaints as evidence).
fn demo_actions(state: &AppState, country: &str, coord: &User) -> Result<(), ApiError> {
    let now = central_store::unix_now();
    let evidence: Vec<String> = state
        .store
        .list_interviews(&central_store::InterviewFilter {
            countries: vec![country.into()],
            ..Default::default()
        })?
        .into_iter()
        .filter(|r| {
            r.campaign == state.settings.campaign
                && r.answers
                    .get("complaint_root_cause")
                    .and_then(|v| v.as_array())
                    .is_some_and(|a| a.iter().any(|c| c == "it"))
        })
        .take(3)
        .map(|r| r.interview_id)
        .collect();
    let base = central_store::ActionItem {
        id: String::new(),
        campaign: LAST_YEAR.into(),
        country: country.into(),
        title: "Nouvelles antennes dans les quartiers sans 4G".into(),
        description: "Trois sites ajoutés là où les clients signalaient des coupures le soir."
            .into(),
        root_causes: vec!["network".into()],
        themes: vec!["couverture".into(), "coupures".into()],
        evidence: vec![],
        owner: "Direction réseau".into(),
        due_date: Some("2026-06-30".into()),
        status: "done".into(),
        expected_effect: "Part des causes réseau divisée par deux".into(),
        created_by: coord.id.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let this_year = central_store::ActionItem {
        campaign: state.settings.campaign.clone(),
        title: "Corriger les erreurs de facturation".into(),
        description: "Les factures erronées viennent de l'ancien système de facturation.".into(),
        root_causes: vec!["it".into()],
        themes: vec!["facturation".into()],
        evidence,
        owner: "DSI".into(),
        due_date: Some("2027-03-31".into()),
        status: "in_progress".into(),
        expected_effect: "Moins de 20 % de causes IT l'an prochain".into(),
        ..base.clone()
    };
    for mut a in [base, this_year] {
        a.id = uuid::Uuid::new_v4().to_string();
        state.store.insert_action(&a)?;
    }
    Ok(())
}

/// Most demo interviews are reviewed by their country's coordinator, through
/// the same server edit as the dashboard: received, approved or sent back
/// with a comment; complaints get a root-cause tag.
fn review_like_a_coordinator(
    state: &AppState,
    forms: &central_store::merge::FormRegistry,
    coord: &User,
    iv: &Interview,
    n: usize,
) -> Result<(), ApiError> {
    let state_of = match n % 4 {
        0 => return Ok(()),
        1 => ReviewState::Received,
        2 => ReviewState::Approved,
        _ => ReviewState::HasIssues,
    };
    let actor = state.actor_for(&coord.id);
    edit(state.store.as_ref(), forms, &actor, coord, iv.id(), |doc| {
        doc.set_review(state_of, &coord.id)?;
        if state_of == ReviewState::HasIssues {
            doc.add_comment(
                &coord.id,
                &coord.name,
                coord.role.as_str(),
                "Merci de préciser le quartier et le numéro de rappel.",
            )?;
        }
        if doc.project(None).answer_str("has_complaint") == Some("yes") {
            let cause = sample::KNOWN_ROOT_CAUSES[n % sample::KNOWN_ROOT_CAUSES.len()];
            doc.set_tag(&format!("root_cause:{cause}"), true)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Where a demo interview happened: a free-text city (v1) or a place code (v2).
#[derive(Clone, Copy)]
enum Where<'a> {
    City(&'a str),
    Place(&'a str),
}

fn demo_interview(
    form: &survey_model::Form,
    emp: &User,
    country: &str,
    place: Where<'_>,
    coords: Option<(f64, f64)>,
    n: usize,
) -> Result<Interview, ApiError> {
    let device = uuid::Uuid::new_v4();
    let created_at = survey_model::now().0;
    let meta = sample::meta(form, country, &emp.id, &device.to_string(), &created_at);
    let err = |e: survey_model::ModelError| ApiError::Internal(e.to_string());
    let mut iv = Interview::create(form, meta, actor_from_uuid(device)).map_err(err)?;
    let nps = ((n * 7 + 3) % 11) as i64;
    let (lang, verbatim) = VERBATIMS[n % VERBATIMS.len()];
    let mut overrides = vec![
        ("nps_reason", json!(verbatim)),
        ("verbatim", json!(verbatim)),
        ("verbatim_language", json!(lang)),
    ];
    if survey_model::nps::band(nps) == Some(survey_model::nps::Band::Detractor) {
        overrides.push(("complaint_detail", json!(verbatim)));
    }
    if let Some((lat, lon)) = coords {
        // A few hundred metres from the place.
        let d = (n % 7) as f64 * 0.002;
        overrides.push((
            "location",
            json!({"lat": lat + d, "lon": lon - d, "accuracy": 15.0}),
        ));
    }
    let answers = match place {
        Where::City(city) => sample::varied(n, nps, city),
        Where::Place(code) => sample::on_place(sample::varied(n, nps, ""), code),
    };
    // Answered through the morning, about 25-55 s per answer; one interview
    // in nine rushed (3 s per answer: the too_fast check flags it).
    let step = if n % 9 == 4 {
        3
    } else {
        25 + (n % 4) as i64 * 10
    };
    let start = survey_model::now().1 - 6 * 3600 + (n as i64 % 30) * 600;
    let answers = sample::with(answers, &overrides);
    sample::fill_timed(&mut iv, form, &answers, start, step).map_err(err)?;
    Ok(iv)
}
