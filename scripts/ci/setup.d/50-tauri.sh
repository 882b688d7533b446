# shellcheck shell=bash
# Sourced by scripts/test.sh. Installs what the Tauri field app needs to build
# and to be driven under Xvfb: WebKitGTK dev files, Xvfb, WebKitWebDriver,
# tauri-driver, GNOME Keyring (the Secret Service that keeps the device store's
# key), and the app-ui npm dependencies. Idempotent and quick when
# everything is already there.

tauri_pkgs=(libwebkit2gtk-4.1-dev build-essential libssl-dev libxdo-dev
  libayatana-appindicator3-dev librsvg2-dev pkg-config file xvfb xauth
  webkit2gtk-driver dbus gnome-keyring)
tauri_missing=()
for p in "${tauri_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    tauri_missing+=("$p")
done
if [ "${#tauri_missing[@]}" -gt 0 ]; then
  echo "installing: ${tauri_missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "need root to install ${tauri_missing[*]}" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${tauri_missing[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "${tauri_missing[@]}" >/dev/null
  }
fi
unset tauri_pkgs tauri_missing

if ! command -v tauri-driver >/dev/null 2>&1 ||
  ! tauri-driver --help 2>&1 | grep -q -- '--native-driver'; then
  cargo install tauri-driver --version 2.1.0 --locked --quiet
fi
export PATH="$HOME/.cargo/bin:$PATH"

if [ ! -x app-ui/node_modules/.bin/tsc ] ||
  [ app-ui/package-lock.json -nt app-ui/node_modules/.package-lock.json ]; then
  (cd app-ui && npm ci --no-audit --no-fund --loglevel=error)
fi
