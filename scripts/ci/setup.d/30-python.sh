# shellcheck shell=bash
# Sourced by scripts/test.sh. The export tests (tests/tests/exports.rs) read
# every export back with real readers: pandas, pyarrow, DuckDB and openpyxl
# (tests/python/check_exports.py), and the OData feed with python-odata
# (tests/python/odata_client.py). Installs them with pip only when one of them
# is not importable; quick when they are.
if ! python3 -c 'import pyarrow, pandas, duckdb, openpyxl, odata' >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    python3 -m ensurepip --upgrade >/dev/null
  fi
  pip_install() {
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@" \
      pyarrow pandas duckdb openpyxl python-odata
  }
  # A distribution-managed Python refuses plain installs (PEP 668).
  pip_install || pip_install --break-system-packages
  python3 -c 'import pyarrow, pandas, duckdb, openpyxl, odata' ||
    { echo "pyarrow/pandas/duckdb/openpyxl/python-odata still not importable" >&2; return 1; }
fi
echo "python readers: $(python3 -c 'import pyarrow, pandas, duckdb, openpyxl; print("pyarrow", pyarrow.__version__, "pandas", pandas.__version__, "duckdb", duckdb.__version__, "openpyxl", openpyxl.__version__)')"
