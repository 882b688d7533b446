# shellcheck shell=bash
# LibreOffice Calc, headless, for the export tests (tests/tests/analyst_exports.rs):
# it opens the exported workbook as a spreadsheet user would and converts it
# to CSV, proving the file is valid and that guarded text is not evaluated.
# Sourced by scripts/test.sh; installs the Debian package when missing (root only).
if ! command -v soffice >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "soffice missing and not root: install libreoffice-calc-nogui" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  lo_install() {
    apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 libreoffice-calc-nogui
  }
  lo_install || { apt-get update -o DPkg::Lock::Timeout=600 && lo_install; }
fi
export FIELDVOICE_SOFFICE="${FIELDVOICE_SOFFICE:-$(command -v soffice)}"
echo "libreoffice: $("$FIELDVOICE_SOFFICE" --version 2>/dev/null | head -1)"
