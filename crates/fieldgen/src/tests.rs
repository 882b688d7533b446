#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use survey_model::{Interview, actor_from_uuid, mcmb_form, sample};

use super::*;

fn campaign(n: usize) -> Vec<GenInterview> {
    generate(&Spec::new(7, n))
}

#[test]
fn the_same_seed_gives_the_same_campaign() {
    let a = campaign(300);
    let b = campaign(300);
    assert_eq!(a.len(), 300);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.verbatim.as_str(), &x.answers, &x.tags),
            (y.verbatim.as_str(), &y.answers, &y.tags)
        );
    }
    let c = generate(&Spec::new(8, 300));
    assert_ne!(
        a.iter().map(|g| &g.verbatim).collect::<Vec<_>>(),
        c.iter().map(|g| &g.verbatim).collect::<Vec<_>>()
    );
}

#[test]
fn every_interview_is_valid_for_both_form_versions() {
    let v1 = mcmb_form().unwrap();
    let v2 = survey_model::Form::from_json(survey_model::MCMB_V2_JSON).unwrap();
    for g in campaign(400) {
        for (form, answers) in [(&v1, g.answers.clone()), (&v2, g.answers_v2())] {
            let device = uuid::Uuid::new_v4();
            let m = sample::meta(
                form,
                g.country,
                "emp",
                &device.to_string(),
                &g.started_at("2026-11-28"),
            );
            let mut iv = Interview::create(form, m, actor_from_uuid(device)).unwrap();
            for (k, v) in &answers {
                iv.set_answer_json(form, k, v)
                    .unwrap_or_else(|e| panic!("interview {} {k}={v}: {e}", g.n));
            }
            if g.outcome != Outcome::Draft {
                let eval = iv.submit(form).unwrap();
                assert!(eval.is_complete(), "interview {}: {eval:?}", g.n);
            }
        }
    }
}

#[test]
fn a_campaign_looks_like_a_real_one() {
    let all = campaign(3000);
    let countries: BTreeSet<&str> = all.iter().map(|g| g.country).collect();
    assert_eq!(countries.len(), 17);
    let places: BTreeSet<&str> = all.iter().map(|g| g.place.code.as_str()).collect();
    assert_eq!(places.len(), 120);
    let share = |f: &dyn Fn(&GenInterview) -> bool| {
        all.iter().filter(|g| f(g)).count() as f64 / all.len() as f64
    };
    assert!((0.01..0.06).contains(&share(&|g| g.outcome == Outcome::Refused)));
    assert!((0.02..0.08).contains(&share(&|g| g.outcome == Outcome::Draft)));
    // Verbatims in all four languages, several themes in some, all different.
    let langs: BTreeSet<&str> = all
        .iter()
        .filter(|g| !g.verbatim.is_empty())
        .map(|g| g.lang)
        .collect();
    assert_eq!(langs, BTreeSet::from(["ar", "en", "fr", "pt"]));
    assert!(share(&|g| g.themes.len() >= 2) > 0.2);
    // Mostly different texts (short thanks repeat, as they do in the field).
    let texts = all.iter().filter(|g| !g.verbatim.is_empty()).count();
    let distinct: BTreeSet<&str> = all.iter().map(|g| g.verbatim.as_str()).collect();
    assert!(
        distinct.len() * 10 > texts * 7,
        "{} of {texts}",
        distinct.len()
    );
    let multi: Vec<&GenInterview> = all.iter().filter(|g| g.themes.len() >= 2).collect();
    let distinct: BTreeSet<&str> = multi.iter().map(|g| g.verbatim.as_str()).collect();
    assert!(
        distinct.len() * 100 > multi.len() * 95,
        "several themes: {} of {}",
        distinct.len(),
        multi.len()
    );
    // Countries differ in NPS; business customers are harder to please.
    let mean = |f: &dyn Fn(&GenInterview) -> bool| {
        let v: Vec<i64> = all
            .iter()
            .filter(|g| f(g))
            .filter_map(GenInterview::nps)
            .collect();
        v.iter().sum::<i64>() as f64 / v.len() as f64
    };
    assert!(mean(&|g| g.country == "SN") - mean(&|g| g.country == "CD") > 1.5);
    assert!(mean(&|g| g.segment == "mobile_money_user") - mean(&|g| g.segment == "business") > 1.0);
    // Complaints about the network go with low network ratings.
    let sat = |g: &GenInterview, q: &str| {
        g.answers
            .iter()
            .find(|(k, _)| *k == q)
            .and_then(|(_, v)| v.as_i64())
    };
    let net = |want: bool| {
        let v: Vec<i64> = all
            .iter()
            .filter(|g| {
                g.outcome == Outcome::Submitted
                    && g.themes.contains(&"network_coverage") == want
                    && !g.themes.contains(&"praise")
            })
            .filter_map(|g| sat(g, "sat_network"))
            .collect();
        v.iter().sum::<i64>() as f64 / v.len() as f64
    };
    assert!(
        net(false) - net(true) > 0.8,
        "{} vs {}",
        net(false),
        net(true)
    );
    // Reviews and codes: most reviewed, about two in five coded.
    assert!(share(&|g| g.review.is_some()) > 0.6);
    let coded = share(&|g| g.tags.iter().any(|t| t.starts_with(themes::TAG_PREFIX)));
    assert!((0.2..0.45).contains(&coded), "{coded}");
}

#[test]
fn every_theme_has_phrases_in_every_language_and_the_codebook_knows_them() {
    let codes = themes::Codebook::default().codes();
    let mut seen: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for p in phrases::PHRASES {
        assert!(codes.iter().any(|c| c == p.theme), "{}", p.theme);
        seen.insert((p.theme, p.lang), (p.negative.len(), p.positive.len()));
        for t in p.negative.iter().chain(p.positive) {
            let rest = t
                .replace("{place}", "")
                .replace("{time}", "")
                .replace("{since}", "")
                .replace("{very}", "");
            assert!(
                !rest.contains('{') && !rest.contains('}'),
                "unknown slot in {t:?}"
            );
        }
    }
    for c in &codes {
        for l in themes::LANGUAGES {
            let (neg, pos) = seen[&(c.as_str(), l)];
            assert!(pos >= 5, "{c} {l}");
            assert!(c == "praise" || neg >= 10, "{c} {l}");
        }
    }
}

#[test]
fn labelled_verbatims_carry_their_true_themes() {
    let all = campaign(500);
    let ex = labelled(&all);
    assert!(ex.len() > 450);
    assert!(
        ex.iter()
            .all(|e| !e.themes.is_empty() && !e.text.is_empty())
    );
    let ids: BTreeSet<&str> = ex.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), ex.len());
}

#[test]
fn a_submitted_only_campaign_keeps_the_place_rounds() {
    let all = generate(&Spec::submitted(3, 600));
    let places = places();
    assert!(
        all.iter()
            .all(|g| g.outcome == Outcome::Submitted && !g.verbatim.is_empty())
    );
    for (j, g) in all.iter().enumerate() {
        assert_eq!(g.place.code, places[j % places.len()].code);
    }
}
