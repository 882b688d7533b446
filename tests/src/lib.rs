//! Shared helpers for the integration test binaries in `tests/tests/`: fixtures
//! that build forms, metadata and filled-in interviews, and test servers. Test-only
//! code; no product crate may depend on it.
#![allow(
    missing_debug_implementations,
    clippy::unwrap_used,
    clippy::expect_used
)]

use serde_json::{Value, json};
use survey_model::{Form, Interview, InterviewMeta, actor_from_uuid};
use uuid::Uuid;

/// The built-in MCMB form; panics only in tests if the shipped form is broken.
pub fn form() -> Form {
    survey_model::mcmb_form().expect("shipped form is valid")
}

/// Metadata for a new interview by `user` in `country`.
pub fn meta(form: &Form, user: &str, country: &str, device: Uuid) -> InterviewMeta {
    InterviewMeta {
        interview_id: Uuid::now_v7().to_string(),
        form_id: form.id().to_owned(),
        form_version: form.version(),
        campaign: "mcmb-2026".into(),
        country: country.into(),
        created_by: user.into(),
        device_id: device.to_string(),
        created_at: "2026-11-30T09:00:00Z".into(),
    }
}

/// A complete, valid set of answers for the MCMB form.
pub fn complete_answers(nps: i64) -> Vec<(&'static str, Value)> {
    vec![
        ("consent", json!(true)),
        ("segment", json!("individual")),
        ("customer_name", json!("Awa Traoré")),
        ("customer_phone", json!("+225 07 12 34 56 78")),
        ("city", json!("Bouaké")),
        ("area_type", json!("urban")),
        (
            "location",
            json!({"lat": 7.6899, "lon": -5.0318, "accuracy": 12.0}),
        ),
        ("customer_since_years", json!(6)),
        ("services_used", json!(["mobile_voice", "mobile_money"])),
        ("nps", json!(nps)),
        (
            "nps_reason",
            json!("Le réseau coupe souvent le soir, mais le service client est aimable."),
        ),
        ("sat_network", json!(2)),
        ("sat_shop", json!(4)),
        ("sat_call_centre", json!(3)),
        ("sat_billing", json!(4)),
        ("sat_mobile_money", json!(5)),
        ("has_complaint", json!("yes")),
        (
            "complaint_categories",
            json!(["network_coverage", "data_speed"]),
        ),
        ("complaint_root_cause", json!(["network"])),
        (
            "complaint_detail",
            json!("Pas de 4G dans le quartier depuis trois mois."),
        ),
        ("complaint_since", json!("2026-08-01")),
        ("complaint_resolved", json!("no")),
        (
            "verbatim",
            json!("Améliorez la couverture réseau dans les quartiers nord, s'il vous plaît."),
        ),
        ("verbatim_language", json!("fr")),
        ("follow_up_requested", json!("no")),
        ("interview_date", json!("2026-11-30")),
    ]
}

/// A new interview filled with [`complete_answers`], one change per answer.
pub fn filled_interview(form: &Form, device: Uuid, nps: i64) -> Interview {
    let mut iv = Interview::create(
        form,
        meta(form, "emp-1", "CI", device),
        actor_from_uuid(device),
    )
    .expect("create");
    for (k, v) in complete_answers(nps) {
        iv.set_answer_json(form, k, &v).expect("answer");
    }
    iv
}

pub mod dashboard;
pub mod fleet;
pub mod needs;
pub mod pg;
pub mod server;
pub mod system;
pub mod webdriver;

/// Add `n` to the hardening report under `key`: appends a `key n` line to the
/// file named by `FIELDVOICE_REPORT` (set by `scripts/test.sh`, which sums the
/// lines per key in its summary). Does nothing when the variable is unset.
pub fn report(key: &str, n: u64) {
    use std::io::Write;
    let Some(path) = std::env::var_os("FIELDVOICE_REPORT") else {
        return;
    };
    let line = format!("{key} {n}\n");
    // One write of a short line to a file opened with O_APPEND: lines from
    // concurrent test threads and binaries do not interleave.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "hardening report {}: {e}",
            std::path::Path::new(&path).display()
        );
    }
}
