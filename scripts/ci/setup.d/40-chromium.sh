# Headless Chromium + chromedriver for the dashboard browser tests
# (tests/tests/dashboard_browser.rs), and poppler's pdftoppm to read back
# the report's PDF (tests/tests/report.rs). Sourced by scripts/test.sh.
# Installs the Debian packages when missing (root only), starts chromedriver on
# a free loopback port and exports FIELDVOICE_WEBDRIVER_URL for the tests.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
  || ! command -v pdftoppm >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "chromium/chromedriver/pdftoppm missing and not root: install chromium chromium-driver poppler-utils" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_install() {
    apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 chromium chromium-driver poppler-utils
  }
  apt_install || { apt-get update -o DPkg::Lock::Timeout=600 && apt_install; }
fi
export FIELDVOICE_CHROMIUM="${FIELDVOICE_CHROMIUM:-$(command -v chromium)}"
mkdir -p target
chromedriver_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
chromedriver --port="$chromedriver_port" --allowed-ips=127.0.0.1 >target/chromedriver.log 2>&1 &
chromedriver_pid=$!
CLEANUP+=("kill $chromedriver_pid")
export FIELDVOICE_WEBDRIVER_URL="http://127.0.0.1:$chromedriver_port"
python3 - "$FIELDVOICE_WEBDRIVER_URL" <<'PY'
import sys, time, urllib.request
url = sys.argv[1] + "/status"
for _ in range(100):
    try:
        urllib.request.urlopen(url, timeout=1).read()
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("chromedriver did not start; see target/chromedriver.log")
PY
echo "chromedriver ready at $FIELDVOICE_WEBDRIVER_URL"
