//! Sample interviews for the built-in MCMB form: the one home of the answers
//! used by the demo campaign, the field-day simulation, the benchmarks and the
//! tests. Every set here is complete and valid for the form (checked by a test
//! below); callers vary them with [`with`].

use serde_json::{Value, json};

use crate::mcmb::{COMPLAINT_CATEGORIES, ROOT_CAUSES, SEGMENTS};
use crate::{Form, InterviewMeta};

/// The root causes samples use: the four known ones (not `unknown`).
pub const KNOWN_ROOT_CAUSES: &[&str] = ROOT_CAUSES.split_at(4).0;
/// The complaint categories samples use (not `other`).
const SAMPLE_CATEGORIES: &[&str] = COMPLAINT_CATEGORIES.split_at(9).0;

/// One answer: question name and JSON value.
pub type SampleAnswer = (&'static str, Value);

/// The reference interview: a detractor-style complaint about the network,
/// with the customer's name and phone, in Bouaké; `nps` as given.
pub fn complete(nps: i64) -> Vec<SampleAnswer> {
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

/// Interview number `n` of a campaign: segment, area, location, satisfaction
/// and (for detractors) the complaint vary with `n`; `nps` and `city` as given.
pub fn varied(n: usize, nps: i64, city: &str) -> Vec<SampleAnswer> {
    let complaint = crate::nps::band(nps) == Some(crate::nps::Band::Detractor);
    let sat = |k: usize| json!(1 + ((n + k) % 5) as i64);
    let mut v = vec![
        ("consent", json!(true)),
        ("segment", json!(SEGMENTS[n % SEGMENTS.len()])),
        ("customer_name", json!(format!("Client {n}"))),
        (
            "customer_phone",
            json!(format!(
                "+225 07 {:02} {:02} {:02}",
                n % 100,
                n / 100 % 100,
                n / 10000 % 100
            )),
        ),
        ("city", json!(city)),
        ("area_type", json!(["urban", "peri_urban", "rural"][n % 3])),
        (
            "location",
            json!({"lat": 5.3 + (n % 100) as f64 * 0.01, "lon": -4.0 + (n % 77) as f64 * 0.01, "accuracy": 12.0}),
        ),
        ("customer_since_years", json!((n % 20) as i64)),
        ("services_used", json!(["mobile_voice", "mobile_money"])),
        ("nps", json!(nps)),
        (
            "nps_reason",
            json!("Le réseau coupe souvent le soir, mais le service client est aimable."),
        ),
        ("sat_network", sat(0)),
        ("sat_shop", sat(1)),
        ("sat_call_centre", sat(2)),
        ("sat_billing", sat(3)),
        ("sat_mobile_money", sat(4)),
        ("has_complaint", json!(if complaint { "yes" } else { "no" })),
        (
            "verbatim",
            json!("Améliorez la couverture réseau dans les quartiers nord, s'il vous plaît."),
        ),
        ("verbatim_language", json!("fr")),
        ("follow_up_requested", json!("no")),
        ("interview_date", json!("2026-11-30")),
    ];
    if complaint {
        v.extend([
            (
                "complaint_categories",
                json!([SAMPLE_CATEGORIES[n % SAMPLE_CATEGORIES.len()]]),
            ),
            (
                "complaint_root_cause",
                json!([KNOWN_ROOT_CAUSES[n % KNOWN_ROOT_CAUSES.len()]]),
            ),
            (
                "complaint_detail",
                json!("Pas de 4G dans le quartier depuis trois mois."),
            ),
            ("complaint_since", json!("2026-08-01")),
            ("complaint_resolved", json!("no")),
        ]);
    }
    v
}

/// `answers` with each of `overrides` replacing the answer to the same
/// question, or added when there was none.
pub fn with(mut answers: Vec<SampleAnswer>, overrides: &[SampleAnswer]) -> Vec<SampleAnswer> {
    for (k, v) in overrides {
        if let Some(slot) = answers.iter_mut().find(|(q, _)| q == k) {
            slot.1 = v.clone();
        } else {
            answers.push((k, v.clone()));
        }
    }
    answers
}

/// The same answers for MCMB v2: the free-text `city` replaced by the place
/// code `place` (see [`crate::MCMB_V2_JSON`]).
pub fn on_place(answers: Vec<SampleAnswer>, place: &str) -> Vec<SampleAnswer> {
    answers
        .into_iter()
        .map(|(k, v)| match k {
            "city" => (crate::mcmb::PLACE_QUESTION, json!(place)),
            _ => (k, v),
        })
        .collect()
}

/// Answer `answers` in order on `iv` as an interviewer would: one change per
/// answer, the first at device time `start` (Unix seconds), each next one
/// `step_s` later, then submit `step_s` after the last. The history then has
/// known times (see [`crate::Interview::paradata`]).
pub fn fill_timed(
    iv: &mut crate::Interview,
    form: &Form,
    answers: &[SampleAnswer],
    start: i64,
    step_s: i64,
) -> Result<(), crate::ModelError> {
    let mut t = start;
    for (k, v) in answers {
        iv.pin_clock(Some(t));
        iv.set_answer_json(form, k, v)?;
        t += step_s;
    }
    iv.pin_clock(Some(t));
    iv.submit(form)?;
    iv.pin_clock(None);
    Ok(())
}

/// Metadata of a new interview of `form` in the `mcmb-2026` campaign.
pub fn meta(
    form: &Form,
    country: &str,
    created_by: &str,
    device_id: &str,
    created_at: &str,
) -> InterviewMeta {
    InterviewMeta {
        interview_id: uuid::Uuid::now_v7().to_string(),
        form_id: form.id().into(),
        form_version: form.version(),
        campaign: "mcmb-2026".into(),
        country: country.into(),
        created_by: created_by.into(),
        device_id: device_id.into(),
        created_at: created_at.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Interview, actor_from_uuid, mcmb_form};

    #[test]
    fn every_sample_is_complete_and_valid_for_the_form() {
        let form = mcmb_form().unwrap();
        let mut sets = vec![complete(0), complete(10)];
        for n in 0..40 {
            sets.push(varied(n, (n * 7 % 11) as i64, "Abidjan"));
        }
        for answers in sets {
            let device = uuid::Uuid::new_v4();
            let m = meta(
                &form,
                "CI",
                "emp",
                &device.to_string(),
                "2026-11-30T09:00:00Z",
            );
            let mut iv = Interview::create(&form, m, actor_from_uuid(device)).unwrap();
            for (k, v) in &answers {
                iv.set_answer_json(&form, k, v).unwrap();
            }
            let eval = iv.submit(&form).unwrap();
            assert!(eval.is_complete(), "{eval:?}");
        }
    }
}
