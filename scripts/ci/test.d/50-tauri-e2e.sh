#!/usr/bin/env bash
# The field app: build app-ui (tsc) and the Tauri app, lint it, then drive the
# real window under Xvfb through tauri-driver + WebKitWebDriver against the
# real fieldvoice-server. Screenshots land in target/screenshots/.
# Needs scripts/ci/setup.d/50-tauri.sh (WebKitGTK, Xvfb, tauri-driver, npm deps).
set -euo pipefail
cd "$(dirname "$0")/../../.."
export PATH="$HOME/.cargo/bin:$PATH"

echo "-- app-ui: tsc"
(cd app-ui && npm run --silent build)

echo "-- fieldvoice-app: clippy and build"
cargo clippy --locked -p fieldvoice-app --all-targets -- -D warnings
cargo build --locked -p fieldvoice-app
cargo build --locked -p fieldvoice-server

echo "-- field app E2E under Xvfb"
mkdir -p target/screenshots
export FIELDVOICE_SCREENSHOTS="$PWD/target/screenshots"
xvfb-run --auto-servernum --server-args="-screen 0 1280x1024x24" \
  cargo test --locked -p fieldvoice-tests --features app-e2e --test app_e2e -- --nocapture --test-threads=1
ls -1 target/screenshots/*.png
