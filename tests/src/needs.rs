//! External tools some tests need (PostgreSQL binaries, Chromium with
//! chromedriver, Python with the analysts' readers). Plain `cargo test` on a
//! laptop with only Rust runs everything else and skips these with a printed
//! reason; the full test command (`scripts/test.sh`) sets
//! `FIELDVOICE_REQUIRE_ALL=1`, under which a missing tool fails the test
//! instead, so CI can never go green by skipping.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Something outside Rust a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `initdb`, `pg_ctl` (or `FIELDVOICE_TEST_PG_URL` for a running server).
    Postgres,
    /// chromedriver and Chromium (or `FIELDVOICE_WEBDRIVER_URL`).
    Chromium,
    /// python3 with pandas, pyarrow, duckdb and openpyxl.
    PythonReaders,
}

/// Environment variable of the full test command: nothing may be skipped.
pub const REQUIRE_ALL: &str = "FIELDVOICE_REQUIRE_ALL";

/// The Python interpreter the reader scripts run under (`FIELDVOICE_PYTHON`,
/// default `python3`).
pub fn python() -> String {
    std::env::var("FIELDVOICE_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The chromedriver to start (`FIELDVOICE_CHROMEDRIVER`, default from PATH).
pub fn chromedriver() -> String {
    std::env::var("FIELDVOICE_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why `need` is not met, or `None` when it is (checked once per process).
pub fn missing(need: Need) -> Option<&'static str> {
    static CHECKED: [OnceLock<Option<&'static str>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, check): (usize, fn() -> Option<&'static str>) = match need {
        Need::Postgres => (0, || {
            let ok = std::env::var_os("FIELDVOICE_TEST_PG_URL").is_some()
                || (crate::pg::locate_bin("initdb").is_some()
                    && crate::pg::locate_bin("pg_ctl").is_some());
            (!ok).then_some("PostgreSQL binaries (initdb, pg_ctl) not found; set FIELDVOICE_PG_BIN or FIELDVOICE_TEST_PG_URL")
        }),
        Need::Chromium => (1, || {
            let ok = std::env::var_os("FIELDVOICE_WEBDRIVER_URL").is_some()
                || runs(&chromedriver(), &["--version"]);
            (!ok)
                .then_some("chromedriver not found (scripts/ci/setup.d/40-chromium.sh installs it)")
        }),
        Need::PythonReaders => (2, || {
            let ok = runs(
                &python(),
                &["-c", "import pandas, pyarrow, duckdb, openpyxl"],
            );
            (!ok).then_some(
                "python3 with pandas, pyarrow, duckdb and openpyxl not found \
                 (python3 -m pip install pandas pyarrow duckdb openpyxl)",
            )
        }),
    };
    *CHECKED[slot].get_or_init(check)
}

/// Whether a test (or the part of it) that needs `need` may run here. When it
/// may not, prints `SKIPPED <what>: <reason>` straight to the terminal (past
/// the test harness's capture) and returns `false`; under
/// [`REQUIRE_ALL`] it panics instead.
pub fn ready(need: Need, what: &str) -> bool {
    let Some(reason) = missing(need) else {
        return true;
    };
    assert!(
        std::env::var_os(REQUIRE_ALL).is_none(),
        "{what}: {reason} ({REQUIRE_ALL} is set: the full test command skips nothing)"
    );
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {what}: {reason}");
    false
}

/// The running test's name (libtest names each test's thread after it).
pub fn current_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned()
}

/// Return from the current test (a `()` function) unless `need` is met.
#[macro_export]
macro_rules! skip_unless {
    ($need:expr) => {
        if !$crate::needs::ready($need, &$crate::needs::current_test()) {
            return;
        }
    };
    ($need:expr, $what:expr) => {
        if !$crate::needs::ready($need, $what) {
            return;
        }
    };
}
