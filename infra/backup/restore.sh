#!/usr/bin/env bash
# Restore a dump made by backup.sh into the database POSTGRES_URL names.
#
#   POSTGRES_URL=postgresql://... infra/backup/restore.sh [--clean] continuum-....dump
#
# The checksum beside the dump (if present) and pg_restore --list are checked first. Into an
# empty database it restores as is; into one that already holds CONTINUUM's tables it refuses
# unless --clean is given (then those objects are dropped and recreated). Everything runs in
# one transaction: a failed restore changes nothing. Stop the API (or scale it to 0) first.
set -euo pipefail

clean=""
if [ "${1:-}" = "--clean" ]; then clean="--clean --if-exists"; shift; fi
dump="${1:?usage: restore.sh [--clean] DUMP}"
: "${POSTGRES_URL:?set POSTGRES_URL to the database to restore into}"
pg_restore="${PG_RESTORE:-pg_restore}"
psql="${PSQL:-psql}"

[ -f "$dump" ] || { echo "no such dump: $dump" >&2; exit 2; }
if [ -f "$dump.sha256" ]; then
  (cd "$(dirname "$dump")" && sha256sum --check --quiet "$(basename "$dump").sha256") \
    || { echo "checksum mismatch: $dump is damaged" >&2; exit 1; }
fi
"$pg_restore" --list "$dump" >/dev/null || { echo "$dump is not a pg_dump custom-format archive" >&2; exit 1; }

present="$("$psql" -X -tA --dbname="$POSTGRES_URL" -c "SELECT to_regclass('public.schema_migrations') IS NOT NULL")"
if [ "$present" = "t" ] && [ -z "$clean" ]; then
  echo "the target already holds a CONTINUUM schema: restore into an empty database, or pass --clean" >&2
  exit 1
fi
# shellcheck disable=SC2086
"$pg_restore" $clean --no-owner --no-privileges --single-transaction --exit-on-error \
  --dbname="$POSTGRES_URL" "$dump"
echo "restore: $dump restored" >&2
