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
# The app keeps its store key in the Secret Service: a private D-Bus session
# with GNOME Keyring unlocked (a throwaway keyring under a temporary home).
keyring_home="$(mktemp -d)"
dbus-run-session -- env HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/data" bash -c '
  echo -n "fieldvoice-ci" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  xvfb-run --auto-servernum --server-args="-screen 0 1280x1024x24" \
    env HOME="'"$HOME"'" cargo test --locked -p fieldvoice-tests --features app-e2e --test app_e2e -- --nocapture --test-threads=1
'
rm -rf "$keyring_home"
ls -1 target/screenshots/*.png
