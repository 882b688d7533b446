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
    /// python3 with pandas, pyarrow, duckdb, openpyxl and python-odata.
    PythonReaders,
    /// LibreOffice (`soffice`), headless, to open exported workbooks as a
    /// spreadsheet user would.
    LibreOffice,
}

/// Environment variable of the full test command: nothing may be skipped.
pub const REQUIRE_ALL: &str = "FIELDVOICE_REQUIRE_ALL";

/// The Python interpreter the reader scripts run under (`FIELDVOICE_PYTHON`,
/// default `python3`).
pub fn python() -> String {
    std::env::var("FIELDVOICE_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// LibreOffice's command (`FIELDVOICE_SOFFICE`, default `soffice`).
pub fn soffice() -> String {
    std::env::var("FIELDVOICE_SOFFICE").unwrap_or_else(|_| "soffice".into())
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
    static CHECKED: [OnceLock<Option<&'static str>>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
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
                &["-c", "import pandas, pyarrow, duckdb, openpyxl, odata"],
            );
            (!ok).then_some(
                "python3 with pandas, pyarrow, duckdb, openpyxl and python-odata not found \
                 (python3 -m pip install pandas pyarrow duckdb openpyxl python-odata)",
            )
        }),
        Need::LibreOffice => (3, || {
            (!runs(&soffice(), &["--version"])).then_some(
                "LibreOffice not found (scripts/ci/setup.d/45-libreoffice.sh installs it)",
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

/// Run `tests/python/SCRIPT ARGS...` with the Python that has the analysts'
/// readers and return its standard output; `None` (after reporting the skip,
/// or failing under the full test command) where they are not installed. A
/// failing script fails the test with its standard error.
pub fn run_python<S: AsRef<std::ffi::OsStr>>(script: &str, args: &[S]) -> Option<Vec<u8>> {
    if !ready(
        Need::PythonReaders,
        &format!("{} (python {script})", current_test()),
    ) {
        return None;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let out = std::process::Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python()));
    assert!(
        out.status.success(),
        "{script} failed (install: python3 -m pip install pyarrow pandas duckdb openpyxl):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

/// [`run_python`] for a script that prints one JSON document.
pub fn run_python_json<S: AsRef<std::ffi::OsStr>>(
    script: &str,
    args: &[S],
) -> Option<serde_json::Value> {
    let out = run_python(script, args)?;
    Some(serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out)
        )
    }))
}
