//! A demo campaign: forms (MCMB v1 and v2), the place list (120 places in 17
//! countries), an admin, a coordinator and a hackathon analyst per country,
//! two interviewers per place with targets, and a generated campaign
//! ([`fieldgen`]: realistic answers and multilingual verbatims, reviews,
//! root-cause and theme codes, last year's campaign too) made through the
//! real merge path, so a fresh server has something to show.

use std::collections::HashMap;

use central_store::merge::{Caller, edit, push};
use central_store::{NewUser, Role, User};
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

/// What the demo holds.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    /// This year's interviews (last year's campaign gets a fifth as many).
    pub interviews: usize,
    /// Countries (all 17 of the place list when empty).
    pub countries: Vec<String>,
    /// Generator seed: the same seed, the same campaign.
    pub seed: u64,
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec {
            interviews: 1200,
            countries: vec![],
            seed: 2026,
        }
    }
}

/// Interviewers per place (the generator spreads interviews over six).
const PER_PLACE: usize = 2;

/// Seed the demo campaign if the store has no users yet. Returns `None` when
/// the store was already seeded. Interviews come from the campaign generator
/// ([`fieldgen`]) and go through the real paths: a device push per
/// interview, then the coordinator's review as a server edit.
pub fn seed(
    state: &AppState,
    admin_password: &str,
    spec: &DemoSpec,
) -> Result<Option<DemoAccounts>, ApiError> {
    if !state.store.list_users(None)?.is_empty() {
        return Ok(None);
    }
    for (_, json) in survey_model::BUILTIN_FORMS {
        state.install_form(json)?;
    }
    let mut places = crate::places::parse_places_csv(survey_model::MCMB_PLACES_CSV)
        .map_err(|p| ApiError::Internal(format!("demo place file: {}", p[0])))?;
    state.store.upsert_places(&places)?;
    places.retain(|p| spec.countries.is_empty() || spec.countries.contains(&p.country));
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
    let mut countries: Vec<String> = places.iter().map(|p| p.country.clone()).collect();
    countries.dedup();
    let mut coordinators: HashMap<String, User> = HashMap::new();
    for country in &countries {
        let login = format!("coord.{}", country.to_lowercase());
        let password = format!("{login}-demo-pass");
        let coord = state.store.create_user(
            &NewUser {
                login: login.clone(),
                name: format!("Coordinator {country}"),
                role: Role::Coordinator,
                countries: vec![country.clone()],
                password_hash: Some(hash_password(&password)?),
            },
            central_store::unix_now(),
        )?;
        let token = issue_api_token(state, &coord, "demo")?;
        out.coordinators.push((login, password, token));
        coordinators.insert(country.clone(), coord);
        let login = format!("analyst.{}", country.to_lowercase());
        let password = format!("{login}-demo-pass");
        state.store.create_user(
            &NewUser {
                login: login.clone(),
                name: format!("Hackathon team {country}"),
                role: Role::Analyst,
                countries: vec![country.clone()],
                password_hash: Some(hash_password(&password)?),
            },
            central_store::unix_now(),
        )?;
        out.analysts.push((login, password));
    }
    // Interviewers: two per place, assigned there, with the place's targets
    // per segment (a fifth above the expected interviews).
    let per_segment = (spec.interviews / places.len().max(1) / 4 + 2) as u32;
    let mut interviewers: HashMap<(String, usize), User> = HashMap::new();
    for p in &places {
        for k in 0..PER_PLACE {
            let (emp, code) = create_user_with_code(
                state,
                &NewUser {
                    login: format!("emp.{}.{k}", p.code.to_lowercase()),
                    name: format!("Agent {} {}", p.name, k + 1),
                    role: Role::Employee,
                    countries: vec![p.country.clone()],
                    password_hash: None,
                },
            )?;
            out.enrollment_codes.push((emp.login.clone(), code));
            state
                .store
                .upsert_assignments(&[central_store::Assignment {
                    user_id: emp.id.clone(),
                    place_code: p.code.clone(),
                    team: format!("Team {}", k + 1),
                }])?;
            interviewers.insert((p.code.clone(), k), emp);
        }
        let targets: Vec<central_store::Quota> = survey_model::mcmb::SEGMENTS
            .iter()
            .map(|s| central_store::Quota {
                place_code: p.code.clone(),
                segment: (*s).to_owned(),
                user_id: String::new(),
                target: per_segment,
            })
            .collect();
        state.store.upsert_quotas(&targets)?;
    }
    let countries_spec = countries.clone();
    // Last year's campaign first: the year-over-year view of the board and report.
    let last = fieldgen::generate(&fieldgen::Spec {
        seed: spec.seed.wrapping_add(1),
        interviews: spec.interviews / 5,
        day: "2025-11-28".into(),
        countries: countries_spec.clone(),
        only_submitted: false,
    });
    for g in &last {
        let emp = &interviewers[&(g.place.code.clone(), g.interviewer % PER_PLACE)];
        let mut iv = demo_interview(&form, emp, g, LAST_YEAR, "2025-11-28", false)?;
        push_demo(state, &forms, emp, &mut iv)?;
        out.last_year += 1;
    }
    let today = survey_model::now().0[..10].to_owned();
    let this = fieldgen::generate(&fieldgen::Spec {
        seed: spec.seed,
        interviews: spec.interviews,
        day: today.clone(),
        countries: countries_spec,
        only_submitted: false,
    });
    for g in &this {
        let emp = &interviewers[&(g.place.code.clone(), g.interviewer % PER_PLACE)];
        // One interview in four on MCMB v1 (phones that had not updated).
        let (f, v2) = if g.n % 4 == 3 {
            (&form, false)
        } else {
            (&form_v2, true)
        };
        let mut iv = demo_interview(f, emp, g, &state.settings.campaign, &today, v2)?;
        push_demo(state, &forms, emp, &mut iv)?;
        if let Some(coord) = coordinators.get(g.country) {
            review_like_a_coordinator(state, &forms, coord, &iv, g)?;
        }
    }
    for country in &countries {
        if let Some(coord) = coordinators.get(country) {
            demo_actions(state, country, coord)?;
        }
    }
    out.interviews = this.len() + out.last_year;
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

/// The generator's review, as the country's coordinator makes it through
/// the same server edit as the dashboard: received, approved or sent back
/// with a comment; root-cause tags on complaints and theme codes on some
/// verbatims (the classifier's labelled examples).
fn review_like_a_coordinator(
    state: &AppState,
    forms: &central_store::merge::FormRegistry,
    coord: &User,
    iv: &Interview,
    g: &fieldgen::GenInterview,
) -> Result<(), ApiError> {
    let Some(review) = g.review else {
        return Ok(());
    };
    let state_of = match review {
        fieldgen::Review::Received => ReviewState::Received,
        fieldgen::Review::Approved => ReviewState::Approved,
        fieldgen::Review::HasIssues => ReviewState::HasIssues,
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
        for t in &g.tags {
            doc.set_tag(t, true)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// A generated interview on `form` as its interviewer's phone made it: one
/// change per answer at the interviewer's pace, then submitted (drafts stay
/// open on the phone).
fn demo_interview(
    form: &survey_model::Form,
    emp: &User,
    g: &fieldgen::GenInterview,
    campaign: &str,
    day: &str,
    v2: bool,
) -> Result<Interview, ApiError> {
    let device = uuid::Uuid::new_v4();
    let started = g.started_at(day);
    let meta = survey_model::InterviewMeta {
        campaign: campaign.into(),
        ..sample::meta(form, g.country, &emp.id, &device.to_string(), &started)
    };
    let err = |e: survey_model::ModelError| ApiError::Internal(e.to_string());
    let mut iv = Interview::create(form, meta, actor_from_uuid(device)).map_err(err)?;
    let answers = if v2 {
        g.answers_v2()
    } else {
        g.answers.clone()
    };
    let start =
        time::OffsetDateTime::parse(&started, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .unwrap_or(0);
    if g.outcome == fieldgen::Outcome::Draft {
        let mut t = start;
        for (k, v) in &answers {
            iv.pin_clock(Some(t));
            iv.set_answer_json(form, k, v).map_err(err)?;
            t += g.step_s;
        }
        iv.pin_clock(None);
    } else {
        sample::fill_timed(&mut iv, form, &answers, start, g.step_s).map_err(err)?;
    }
    Ok(iv)
}
