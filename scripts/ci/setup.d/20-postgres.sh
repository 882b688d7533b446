# shellcheck shell=bash
# Sourced by scripts/test.sh. Starts one throwaway PostgreSQL cluster for the
# whole run (initdb into a temp dir, a free loopback port, the unix socket in
# the temp dir) and exports FIELDVOICE_TEST_PG_URL; the PostgreSQL tests
# (store_conformance, pg_replicas) create a database test_<random> each on it.
# initdb refuses to run as root, so as root the cluster runs as the system
# user fieldvoice-pg (created if missing). Stopped and removed by CLEANUP.
if [ -n "${FIELDVOICE_TEST_PG_URL:-}" ]; then
  echo "postgres: using FIELDVOICE_TEST_PG_URL from the environment"
else
  pg_bin=""
  for d in "${FIELDVOICE_PG_BIN:-}" /usr/local/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then pg_bin="$d"; break; fi
  done
  if [ -z "$pg_bin" ]; then
    echo "postgres: initdb/pg_ctl not found (set FIELDVOICE_PG_BIN)" >&2
    return 1
  fi
  pg_dir=$(mktemp -d /tmp/fieldvoice-ci-pg.XXXXXX)
  pg_as=()
  if [ "$(id -u)" = 0 ]; then
    id fieldvoice-pg >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin fieldvoice-pg
    chown fieldvoice-pg: "$pg_dir"
    pg_as=(runuser -u fieldvoice-pg --)
  fi
  "${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 \
    --no-locale --no-sync >"$pg_dir/initdb.log" 2>&1 ||
    { cat "$pg_dir/initdb.log" >&2; return 1; }
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/postgres.log" -w -t 60 \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null ||
    { cat "$pg_dir/postgres.log" >&2; return 1; }
  CLEANUP+=("${pg_as[*]} $pg_bin/pg_ctl -D $pg_dir/data -m fast stop >/dev/null 2>&1; rm -rf $pg_dir")
  export FIELDVOICE_TEST_PG_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  echo "postgres: $("$pg_bin/postgres" --version) on port $pg_port ($pg_dir)"
fi
