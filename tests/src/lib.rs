//! Shared helpers for the integration tests in `tests/tests/`: fixtures
//! that build forms, metadata and filled-in interviews, and test servers. Test-only
//! code; no product crate may depend on it.
#![allow(
    missing_debug_implementations,
    clippy::unwrap_used,
    clippy::expect_used
)]

use survey_model::{Form, Interview, InterviewMeta, actor_from_uuid};
use uuid::Uuid;

/// The built-in MCMB form; panics only in tests if the shipped form is broken.
pub fn form() -> Form {
    survey_model::mcmb_form().expect("shipped form is valid")
}

/// Metadata for a new interview by `user` in `country`.
pub fn meta(form: &Form, user: &str, country: &str, device: Uuid) -> InterviewMeta {
    survey_model::sample::meta(
        form,
        country,
        user,
        &device.to_string(),
        "2026-11-30T09:00:00Z",
    )
}

/// A complete, valid set of answers for the MCMB form (the reference sample).
pub use survey_model::sample::complete as complete_answers;

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
pub mod fieldday;
pub mod fleet;
pub mod needs;
pub mod pg;
pub mod server;
pub mod system;
pub mod webdriver;
pub mod xlsforms;

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
