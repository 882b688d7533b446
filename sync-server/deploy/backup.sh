#!/usr/bin/env bash
# Nightly backup of the embedded store with rotation (cron or a systemd
# timer): a consistent online copy, kept 14 days. Backups hold what the store
# holds; contact details erased by the retention sweep disappear from the
# backups when the copies older than the erasure rotate out (14 days).
set -euo pipefail
db=${FIELDVOICE_DATABASE:-/var/lib/fieldvoice/fieldvoice.sqlite3}
dir=${BACKUP_DIR:-/var/backups/fieldvoice}
keep_days=${KEEP_DAYS:-14}
mkdir -p "$dir"
out="$dir/fieldvoice-$(date -u +%Y%m%dT%H%M%SZ).sqlite3"
fieldvoice-server --database "$db" admin backup --out "$out"
gzip -9 "$out"
find "$dir" -name 'fieldvoice-*.sqlite3.gz' -mtime +"$keep_days" -delete
