//! Theme coding at campaign scale: a generated campaign of 15,000
//! interviews (about 14,000 verbatims in four languages), training on the
//! reviewers' codes (two in five coded verbatims, as in the demo) and on
//! every verbatim, then suggesting themes for all of them. Prints seconds
//! and per-verbatim latency; run with `cargo bench -p export --bench themes`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use export::coding::ThemeCoding;
use themes::Codebook;

fn main() {
    let t = Instant::now();
    let campaign = fieldgen::generate(&fieldgen::Spec::new(2026, 15_000));
    let verbatims: Vec<&str> = campaign
        .iter()
        .filter(|g| !g.verbatim.is_empty())
        .map(|g| g.verbatim.as_str())
        .collect();
    println!(
        "generated {} interviews, {} verbatims: {:.2} s",
        campaign.len(),
        verbatims.len(),
        t.elapsed().as_secs_f64()
    );
    let coded: Vec<(String, Vec<String>)> = campaign
        .iter()
        .filter_map(|g| {
            let codes: Vec<String> = themes::themes_of_tags(&g.tags);
            (!codes.is_empty()).then(|| (g.verbatim.clone(), codes))
        })
        .collect();
    let all: Vec<(String, Vec<String>)> = campaign
        .iter()
        .filter(|g| !g.verbatim.is_empty())
        .map(|g| {
            (
                g.verbatim.clone(),
                g.themes.iter().map(|t| (*t).to_owned()).collect(),
            )
        })
        .collect();
    println!(
        "{:<34} {:>9} {:>10} {:>12} {:>14}",
        "training set", "examples", "train s", "suggest s", "µs/verbatim"
    );
    for (name, set) in [
        ("reviewers' codes (2 in 5)", &coded),
        ("every verbatim", &all),
    ] {
        let coding = ThemeCoding::train(Codebook::default(), set);
        let model = coding.classifier.as_ref().unwrap();
        let t = Instant::now();
        let mut suggested = 0usize;
        for v in &verbatims {
            suggested += model.suggest(v).len();
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name:<34} {:>9} {:>10.2} {:>12.2} {:>14.1}",
            set.len(),
            coding.train_ms as f64 / 1000.0,
            s,
            s * 1e6 / verbatims.len() as f64
        );
        assert!(suggested > 0);
    }
}
