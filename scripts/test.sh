#!/usr/bin/env bash
# The whole test suite, on a fresh machine (Rust, gcc, Python 3.11, Node 20 and
# PostgreSQL 15 binaries). It installs what else it needs (as root, via apt-get,
# pip, npm), starts what it needs (a throwaway PostgreSQL cluster, Xvfb), runs
# lints, every cargo test, and the suites outside cargo, then prints a summary.
#
#   scripts/ci/setup.d/*.sh   sourced in order before the tests; may export
#                             variables and push cleanup commands onto CLEANUP
#   scripts/ci/test.d/*.sh    run in order after `cargo test`; each exits non-zero
#                             on failure
#
# Nothing may be skipped here: FIELDVOICE_REQUIRE_ALL=1 makes a test whose tool
# (PostgreSQL, Chromium, Python readers) is missing fail instead of skipping.
#
#   scripts/test.sh --fast    daily work: no installs, no services started, no
#                             suites outside cargo; fmt, clippy and `cargo test`
#                             with tests needing missing tools skipped (each
#                             prints `SKIPPED <test>: <reason>`).
set -euo pipefail
FAST=0
if [ "${1:-}" = "--fast" ]; then
  FAST=1
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--fast]" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export FIELDVOICE_ROOT="$PWD"
CLEANUP=()
cleanup() {
  local i
  for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[$i]}" || true; done
}
trap cleanup EXIT

step() { printf '\n==== %s ====\n' "$*"; }

if [ "$FAST" = 1 ]; then
  unset FIELDVOICE_REQUIRE_ALL
else
  export FIELDVOICE_REQUIRE_ALL=1
  # A one-off build gains nothing from incremental caches; they double target/.
  export CARGO_INCREMENTAL=0
fi

for f in scripts/ci/setup.d/*.sh; do
  [ -e "$f" ] || continue
  [ "$FAST" = 1 ] && break
  step "setup: $(basename "$f")"
  # shellcheck source=/dev/null
  source "$f"
done

step "format and lints"
cargo fmt --all --check
cargo clippy --all-targets --locked -- -D warnings

step "build binaries used by process tests"
cargo build --locked -p fieldvoice-server

step "cargo test (default members)"
# Default members: every library, the server and the tests, but not the Tauri
# app (it needs WebKitGTK); test.d/50-tauri-e2e.sh builds, lints and drives it.
# Hardening counts: test binaries append `key n` lines (fieldvoice_tests::report).
export FIELDVOICE_REPORT="$PWD/target/hardening-report.txt"
: >"$FIELDVOICE_REPORT"
cargo test --locked 2>&1 | tee target/cargo-test.log
passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' target/cargo-test.log | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/cargo-test.log | awk '{s+=$1} END {print s+0}')
skipped=$(grep -c '^SKIPPED ' target/cargo-test.log || true)

for f in scripts/ci/test.d/*.sh; do
  [ -e "$f" ] || continue
  [ "$FAST" = 1 ] && break
  step "suite: $(basename "$f")"
  bash "$f"
done

step "summary"
echo "tests: $passed passed, $failed failed, $skipped skipped"
echo "target/ size: $(du -sh target 2>/dev/null | cut -f1)"
if [ "$FAST" = 1 ]; then
  grep '^SKIPPED ' target/cargo-test.log || true
elif [ "$skipped" != 0 ]; then
  echo "the full test command skipped tests" >&2
  exit 1
fi
awk -v failed="$failed" '
  { sum[$1] += $2 }
  END {
    n = split("fuzz_executions faults_injected acked_changes_checked auth_cases_checked policy_cases_checked model_operations documents_checked forbidden_writes_attempted forbidden_writes_refused forbidden_writes_applied log_secrets_checked losses", keys, " ")
    line = "hardening:"
    for (i = 1; i <= n; i++) line = line sprintf(" %s=%d,", keys[i], sum[keys[i]] + 0)
    print line " failed_tests=" failed
  }' "$FIELDVOICE_REPORT"
