//! A realistic, seeded campaign generator: the one home of synthetic
//! campaign data for `serve --demo`, `simulate`, the tests and the benches.
//!
//! It spreads interviews over the 120 MCMB places of 17 countries, with
//! per-country and per-segment NPS profiles; satisfaction, complaints and
//! root causes that follow from what the customer talks about; drafts,
//! consent refusals, reviews, root-cause tags and reviewers' theme codes on
//! part of the verbatims; and verbatims in French, English, Arabic and
//! Portuguese written from a phrase grammar per theme (varied vocabulary,
//! negation, typos, mixed language, several themes per answer), each with
//! its true themes for evaluation. The same seed gives the same campaign.
//!
//! It does no I/O and knows no store: callers push the answers through their
//! own path (the merge, a device store, projection rows).

pub mod phrases;
pub mod profiles;
pub mod verbatim;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use survey_model::mcmb::{ROOT_CAUSES, SEGMENTS};
use survey_model::places::Place;
use survey_model::sample::SampleAnswer;

use profiles::{COMPLAINT_THEMES, Country, SEGMENT_NPS_SHIFT, SEGMENT_WEIGHT};
use verbatim::Tone;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub interviews: usize,
    /// The interview day, `YYYY-MM-DD`.
    pub day: String,
    /// Only these countries (all 17 when empty).
    pub countries: Vec<String>,
    /// Every interview consented and submitted (no refusal, no draft): for
    /// loads that count finished interviews.
    pub only_submitted: bool,
}

impl Spec {
    pub fn new(seed: u64, interviews: usize) -> Spec {
        Spec {
            seed,
            interviews,
            day: "2026-11-28".into(),
            countries: vec![],
            only_submitted: false,
        }
    }

    /// [`Spec::new`] with every interview submitted.
    pub fn submitted(seed: u64, interviews: usize) -> Spec {
        Spec {
            only_submitted: true,
            ..Spec::new(seed, interviews)
        }
    }
}

/// Whether the interview was finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Consented and submitted.
    Submitted,
    /// The customer refused consent: submitted with `consent = false` only.
    Refused,
    /// Left unfinished on the phone.
    Draft,
}

/// The review a coordinator gave, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    Received,
    Approved,
    HasIssues,
}

/// One generated interview.
#[derive(Debug, Clone)]
pub struct GenInterview {
    /// Its number in the campaign (0-based).
    pub n: usize,
    pub country: &'static str,
    pub place: Place,
    /// Which of the place's interviewers made it (0-based).
    pub interviewer: usize,
    pub segment: &'static str,
    pub outcome: Outcome,
    /// Answers in form order (MCMB v1 names: `city` holds the place name;
    /// see [`GenInterview::answers_v2`]).
    pub answers: Vec<SampleAnswer>,
    /// The language the verbatim is written in (mostly; parts may switch).
    pub lang: &'static str,
    /// The `verbatim` answer and its true themes (codebook codes).
    pub verbatim: String,
    pub themes: Vec<&'static str>,
    pub review: Option<Review>,
    /// Tags a reviewer set: `root_cause:*` on complaints, `theme:*` on the
    /// verbatims it coded (a few codes wrong, as people make mistakes).
    pub tags: Vec<String>,
    /// Minutes after 08:00 on the day when the interview started.
    pub minute: i64,
    /// Seconds per answer the interviewer took.
    pub step_s: i64,
}

impl GenInterview {
    /// The answers for MCMB v2 (the place code instead of the city).
    pub fn answers_v2(&self) -> Vec<SampleAnswer> {
        survey_model::sample::on_place(self.answers.clone(), &self.place.code)
    }
    /// `YYYY-MM-DDTHH:MM:SSZ` of the start on `day`.
    pub fn started_at(&self, day: &str) -> String {
        format!(
            "{day}T{:02}:{:02}:00Z",
            8 + self.minute / 60,
            self.minute % 60
        )
    }
    /// The NPS answer, if given.
    pub fn nps(&self) -> Option<i64> {
        self.answers
            .iter()
            .find(|(q, _)| *q == "nps")
            .and_then(|(_, v)| v.as_i64())
    }
}

/// The 120 places of the MCMB place list.
pub fn places() -> Vec<Place> {
    survey_model::MCMB_PLACES_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 8).then(|| Place {
                code: f[0].into(),
                country: f[1].into(),
                name: f[2].into(),
                region: f[3].into(),
                kind: f[4].into(),
                setting: f[5].into(),
                lat: f[6].parse().ok(),
                lon: f[7].parse().ok(),
            })
        })
        .collect()
}

fn weighted<'a, T, R: Rng>(rng: &mut R, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (t, w) in items {
        if x < *w {
            return t;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// A standard normal draw (Box-Muller).
fn normal<R: Rng>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Generate a campaign.
pub fn generate(spec: &Spec) -> Vec<GenInterview> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let places: Vec<Place> = places()
        .into_iter()
        .filter(|p| spec.countries.is_empty() || spec.countries.contains(&p.country))
        .collect();
    if places.is_empty() {
        return vec![];
    }
    (0..spec.interviews)
        .map(|n| {
            // Round the places so every place gets its share.
            let place = &places[n % places.len()];
            loop {
                let g = one(&mut rng, n, place.clone(), &spec.day);
                if !spec.only_submitted || g.outcome == Outcome::Submitted {
                    return g;
                }
            }
        })
        .collect()
}

fn one<R: Rng>(rng: &mut R, n: usize, place: Place, day: &str) -> GenInterview {
    let country = profiles::country(&place.country).unwrap_or(&profiles::COUNTRIES[4]);
    let seg_i = *weighted(
        rng,
        &[
            (0usize, SEGMENT_WEIGHT[0]),
            (1, SEGMENT_WEIGHT[1]),
            (2, SEGMENT_WEIGHT[2]),
            (3, SEGMENT_WEIGHT[3]),
        ],
    );
    let segment = SEGMENTS[seg_i];
    let interviewer = rng.random_range(0..6);
    let minute = rng.random_range(0..9 * 60);
    // Most take 25-55 s per answer; one in twelve is rushed (too_fast).
    let step_s = if rng.random_bool(1.0 / 12.0) {
        3
    } else {
        rng.random_range(25..56)
    };
    let outcome = match rng.random_range(0..100) {
        0..3 => Outcome::Refused,
        3..7 => Outcome::Draft,
        _ => Outcome::Submitted,
    };
    let mut g = GenInterview {
        n,
        country: country.code,
        place,
        interviewer,
        segment,
        outcome,
        answers: vec![],
        lang: "fr",
        verbatim: String::new(),
        themes: vec![],
        review: None,
        tags: vec![],
        minute,
        step_s,
    };
    if outcome == Outcome::Refused {
        g.answers = vec![("consent", json!(false))];
        return g;
    }
    let rural = g.place.setting == "rural";
    let shift = SEGMENT_NPS_SHIFT[seg_i] + if rural { -0.6 } else { 0.0 };
    let nps = (country.nps_mean + shift + 2.3 * normal(rng))
        .round()
        .clamp(0.0, 10.0) as i64;
    let band = survey_model::nps::band(nps);
    let lang = *weighted(rng, country.langs);
    let mix = country.langs.iter().map(|(l, _)| *l).find(|l| *l != lang);
    g.lang = lang;
    // What the customer talks about.
    let weights: Vec<(&'static str, u32)> = COMPLAINT_THEMES
        .iter()
        .map(|(t, base, seg, village)| (*t, base + seg[seg_i] + if rural { *village } else { 0 }))
        .collect();
    let mut complaints: Vec<&'static str> = vec![];
    let draw = |rng: &mut R, k: usize, out: &mut Vec<&'static str>| {
        while out.len() < k {
            let t = *weighted(rng, &weights);
            if !out.contains(&t) {
                out.push(t);
            }
        }
    };
    let count = |rng: &mut R| match rng.random_range(0..100) {
        0..62 => 1,
        62..92 => 2,
        _ => 3,
    };
    let mut parts: Vec<(&'static str, Tone)> = vec![];
    match band {
        Some(survey_model::nps::Band::Promoter) => match rng.random_range(0..100) {
            0..50 => parts.push(("praise", Tone::Positive)),
            50..82 => {
                let mut t = vec![];
                draw(rng, 1, &mut t);
                parts.push((t[0], Tone::Positive));
            }
            _ => {
                parts.push(("praise", Tone::Positive));
                draw(rng, 1, &mut complaints);
                parts.push((complaints[0], Tone::Negative));
            }
        },
        Some(survey_model::nps::Band::Passive) => {
            let k = count(rng).min(2);
            draw(rng, k, &mut complaints);
            parts.extend(complaints.iter().map(|t| (*t, Tone::Negative)));
            if rng.random_bool(0.2) {
                let mut t = complaints.clone();
                draw(rng, t.len() + 1, &mut t);
                parts.insert(0, (t[t.len() - 1], Tone::Positive));
            }
        }
        _ => {
            let k = count(rng);
            draw(rng, k, &mut complaints);
            parts.extend(complaints.iter().map(|t| (*t, Tone::Negative)));
        }
    }
    let mut themes: Vec<&'static str> = vec![];
    for (t, tone) in &parts {
        if !themes.contains(t) {
            themes.push(t);
        }
        if *tone == Tone::Positive && !themes.contains(&"praise") {
            themes.push("praise");
        }
    }
    let verbatim = verbatim::render(rng, lang, &parts, mix, 0.1);
    let name = format!("{} {}", pick(rng, country.first), pick(rng, country.last));
    let phone = phone(rng, country);
    // One verbatim in twenty names the customer or gives a number (scrubbed in exports).
    let verbatim = match rng.random_range(0..40) {
        0 => format!("{verbatim} ({name})"),
        1 => format!("{verbatim} {phone}"),
        _ => verbatim,
    };
    let reason = verbatim::render(rng, lang, &parts[..1], None, 0.0);
    g.answers = answers(
        rng,
        &g,
        nps,
        &name,
        &phone,
        &complaints,
        &parts,
        reason,
        &verbatim,
        day,
        country,
    );
    g.verbatim = verbatim;
    g.themes = themes;
    if outcome == Outcome::Draft {
        // Stopped after the NPS question.
        let stop = g
            .answers
            .iter()
            .position(|(q, _)| *q == "nps")
            .map_or(0, |i| i + 1);
        g.answers.truncate(stop);
        return g;
    }
    review(rng, &mut g);
    g
}

fn pick<'a, R: Rng>(rng: &mut R, list: &'a [&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or("")
}

fn phone<R: Rng>(rng: &mut R, c: &Country) -> String {
    let d = |rng: &mut R| rng.random_range(10..100);
    match rng.random_range(0..3) {
        0 => format!("{} {} {} {} {}", c.dial, d(rng), d(rng), d(rng), d(rng)),
        1 => format!("0{}{}{}{}", rng.random_range(1..10), d(rng), d(rng), d(rng)),
        _ => format!("{}{}{}{}{}", c.dial, d(rng), d(rng), d(rng), d(rng)),
    }
}

#[allow(clippy::too_many_arguments)]
fn answers<R: Rng>(
    rng: &mut R,
    g: &GenInterview,
    nps: i64,
    name: &str,
    phone: &str,
    complaints: &[&'static str],
    parts: &[(&'static str, Tone)],
    reason: String,
    verbatim: &str,
    day: &str,
    country: &Country,
) -> Vec<SampleAnswer> {
    let mut services = vec!["mobile_voice"];
    if rng.random_bool(0.7) {
        services.push("mobile_data");
    }
    if rng.random_bool(0.15) {
        services.push("home_internet");
    }
    let money = g.segment == "mobile_money_user"
        || g.segment == "partner"
        || rng.random_bool(0.5)
        || complaints.contains(&"mobile_money");
    if money {
        services.push("mobile_money");
    }
    if g.segment == "business" && rng.random_bool(0.6) {
        services.push("enterprise_solutions");
    }
    let (lat, lon) = (g.place.lat.unwrap_or(0.0), g.place.lon.unwrap_or(0.0));
    let mut a: Vec<SampleAnswer> = vec![("consent", json!(true)), ("segment", json!(g.segment))];
    if g.segment == "business" {
        a.push((
            "business_name",
            json!(format!(
                "Ets {}",
                name.split(' ').next_back().unwrap_or(name)
            )),
        ));
    }
    a.extend([
        ("customer_name", json!(name)),
        ("customer_phone", json!(phone)),
        ("city", json!(g.place.name)),
        ("area_type", json!(g.place.setting)),
        (
            "location",
            json!({
                "lat": lat + rng.random_range(-0.01..0.01),
                "lon": lon + rng.random_range(-0.01..0.01),
                "accuracy": rng.random_range(5..40) as f64
            }),
        ),
        ("customer_since_years", json!(rng.random_range(0..25))),
        ("services_used", json!(services)),
        ("nps", json!(nps)),
        ("nps_reason", json!(reason)),
    ]);
    // Ratings follow the NPS, lower where the customer complains, higher
    // where it praises.
    for tp in survey_model::mcmb::TOUCHPOINTS {
        if tp == "sat_mobile_money" && !money {
            continue;
        }
        let mut r = 1.0 + nps as f64 * 0.38 + 0.8 * normal(rng);
        for (t, tone) in parts {
            if profiles::touchpoint_of(t) == Some(tp) {
                r += if *tone == Tone::Negative { -1.6 } else { 0.8 };
            }
        }
        a.push((tp, json!(r.round().clamp(1.0, 5.0) as i64)));
    }
    let has = !complaints.is_empty() && rng.random_bool(0.9);
    a.push(("has_complaint", json!(if has { "yes" } else { "no" })));
    if has {
        let mut cats: Vec<&str> = vec![];
        let mut causes: Vec<&str> = vec![];
        for t in complaints {
            let (cat, w) = profiles::complaint_of(t);
            if !cats.contains(&cat) {
                cats.push(cat);
            }
            let items: Vec<(&str, u32)> = ROOT_CAUSES.iter().copied().zip(w).collect();
            let c = *weighted(rng, &items);
            if !causes.contains(&c) {
                causes.push(c);
            }
        }
        a.push(("complaint_categories", json!(cats)));
        if cats.contains(&"other") {
            a.push(("complaint_category_other", json!("offres / offers")));
        }
        a.push(("complaint_root_cause", json!(causes)));
        let detail = verbatim::render(rng, g.lang, &[(complaints[0], Tone::Negative)], None, 0.0);
        a.push(("complaint_detail", json!(detail)));
        let months = rng.random_range(1..10);
        a.push((
            "complaint_since",
            json!(format!(
                "2026-{:02}-{:02}",
                11 - months,
                rng.random_range(1..29)
            )),
        ));
        a.push((
            "complaint_resolved",
            json!(
                *["no", "no", "partially", "yes"]
                    .choose(rng)
                    .unwrap_or(&"no")
            ),
        ));
    }
    let follow = has && rng.random_bool(if nps <= 6 { 0.25 } else { 0.06 });
    a.extend([
        ("verbatim", json!(verbatim)),
        // Interviewers often leave the language they picked first.
        (
            "verbatim_language",
            json!(if rng.random_bool(0.85) {
                g.lang
            } else {
                country.langs[0].0
            }),
        ),
        (
            "follow_up_requested",
            json!(if follow { "yes" } else { "no" }),
        ),
    ]);
    if follow {
        a.push(("follow_up_contact", json!(phone)));
    }
    a.push(("interview_date", json!(day)));
    a
}

/// A coordinator's review: most submitted interviews are looked at; complaints
/// get a root-cause tag; about two in five verbatims get theme codes (the
/// classifier's labelled examples), one code in twenty-five wrong.
fn review<R: Rng>(rng: &mut R, g: &mut GenInterview) {
    g.review = match rng.random_range(0..100) {
        0..55 => Some(Review::Approved),
        55..75 => Some(Review::Received),
        75..80 => Some(Review::HasIssues),
        _ => None,
    };
    if g.review.is_none() {
        return;
    }
    if let Some((_, Value::Array(causes))) =
        g.answers.iter().find(|(q, _)| *q == "complaint_root_cause")
        && let Some(c) = causes.first().and_then(Value::as_str)
    {
        g.tags.push(format!("root_cause:{c}"));
    }
    if rng.random_bool(0.4) {
        for t in &g.themes {
            let code = if rng.random_bool(0.04) {
                COMPLAINT_THEMES.choose(rng).map_or(*t, |c| c.0)
            } else {
                t
            };
            let tag = format!("{}{code}", themes::TAG_PREFIX);
            if !g.tags.contains(&tag) {
                g.tags.push(tag);
            }
        }
    }
}

/// Labelled verbatims of a generated campaign (consented interviews), for
/// `themes evaluate` and the classifier's tests and benches.
pub fn labelled(interviews: &[GenInterview]) -> Vec<themes::Example> {
    interviews
        .iter()
        .filter(|g| !g.verbatim.is_empty())
        .map(|g| themes::Example {
            id: format!("gen-{:06}", g.n),
            lang: g.lang.to_owned(),
            text: g.verbatim.clone(),
            themes: g.themes.iter().map(|t| (*t).to_owned()).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
