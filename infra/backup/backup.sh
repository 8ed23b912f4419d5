#!/usr/bin/env bash
# Back up CONTINUUM's PostgreSQL database: pg_dump in custom format (compressed, restorable
# table by table), verified with pg_restore --list, a SHA-256 beside it, optionally uploaded
# to S3, old dumps pruned.
#
#   POSTGRES_URL=postgresql://... infra/backup/backup.sh [BACKUP_DIR]
#
# Environment: POSTGRES_URL (required), BACKUP_DIR (default ./backups), BACKUP_RETENTION_DAYS
# (default 14; local dumps older than that are deleted), BACKUP_S3_URI (optional,
# s3://bucket/prefix: upload with the aws CLI, server-side encrypted; prune there with a
# lifecycle rule), PG_DUMP / PG_RESTORE (binaries, e.g. of a newer PostgreSQL).
# Prints the dump's path on success. The URL (with its password) is never printed.
set -euo pipefail

: "${POSTGRES_URL:?set POSTGRES_URL to the database to back up}"
dir="${1:-${BACKUP_DIR:-./backups}}"
retention="${BACKUP_RETENTION_DAYS:-14}"
pg_dump="${PG_DUMP:-pg_dump}"
pg_restore="${PG_RESTORE:-pg_restore}"
[[ "$retention" =~ ^[0-9]+$ ]] || { echo "BACKUP_RETENTION_DAYS must be a whole number of days" >&2; exit 2; }
if [ -n "${BACKUP_S3_URI:-}" ]; then
  command -v aws >/dev/null || { echo "BACKUP_S3_URI is set but the aws CLI is not installed" >&2; exit 2; }
fi

mkdir -p "$dir"
umask 077
name="continuum-$(date -u +%Y%m%dT%H%M%SZ).dump"
partial="$dir/.$name.partial"
trap 'rm -f "$partial"' EXIT

"$pg_dump" --format=custom --compress=6 --no-owner --no-privileges --dbname="$POSTGRES_URL" --file="$partial" \
  || { echo "pg_dump failed" >&2; exit 1; }
# A dump that pg_restore cannot list is not a backup.
entries="$("$pg_restore" --list "$partial" | grep -c ' TABLE DATA ' || true)"
[ "$entries" -gt 0 ] || { echo "the dump lists no table data: not keeping it" >&2; exit 1; }
mv "$partial" "$dir/$name"
(cd "$dir" && sha256sum "$name" > "$name.sha256")
echo "backup: $dir/$name ($entries tables, $(du -h "$dir/$name" | cut -f1))" >&2

if [ -n "${BACKUP_S3_URI:-}" ]; then
  aws s3 cp --only-show-errors --sse AES256 "$dir/$name" "${BACKUP_S3_URI%/}/$name"
  aws s3 cp --only-show-errors --sse AES256 "$dir/$name.sha256" "${BACKUP_S3_URI%/}/$name.sha256"
  echo "backup: uploaded to ${BACKUP_S3_URI%/}/$name" >&2
fi

find "$dir" -maxdepth 1 -name 'continuum-*.dump*' -type f -mtime "+$retention" -print -delete \
  | sed 's/^/backup: pruned /' >&2
echo "$dir/$name"
