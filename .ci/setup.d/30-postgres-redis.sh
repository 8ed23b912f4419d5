# PostgreSQL, Redis and Upstash tests (contract suites, faults, e2e targets postgres*):
# check what they need beyond the running services of 10-services.sh.
# - initdb/pg_ctl of the system PostgreSQL, for the private clusters the fault tests crash;
# - the `postgres` OS user to run them as (PostgreSQL refuses to run as root);
# - redis-server/redis-cli on PATH, for the private Redis the fault tests stop;
# - pgserver's PostgreSQL 16 + pgvector binaries (installed by the dev extra);
# - PgBouncer (transaction pooling), to prove the adapter is safe behind such poolers.
if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "installing pgbouncer"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null \
    || { echo "could not install pgbouncer (Debian package)" >&2; exit 1; }
fi
PG_BIN="${TEST_PG_BIN:-/usr/lib/postgresql/15/bin}"
for tool in initdb pg_ctl postgres; do
  [ -x "$PG_BIN/$tool" ] || { echo "missing $PG_BIN/$tool (PostgreSQL server binaries; set TEST_PG_BIN)" >&2; exit 1; }
done
if [ "$(id -u)" = "0" ] && ! id postgres >/dev/null 2>&1; then
  echo "running as root without a 'postgres' user: the private PostgreSQL clusters cannot start" >&2; exit 1
fi
command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
  || { echo "redis-server and redis-cli must be on PATH" >&2; exit 1; }
.venv/bin/python - <<'PY' || { echo "psycopg, redis, upstash-redis or pgserver is missing: pip install -e '.[dev]'" >&2; exit 1; }
from pathlib import Path
import psycopg, psycopg_pool, redis, upstash_redis, pgserver
assert (Path(pgserver.__file__).parent / "pginstall" / "bin" / "postgres").exists(), "pgserver binaries missing"
PY
psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1" >/dev/null \
  || { echo "cannot connect to PostgreSQL as postgres on 127.0.0.1:5432" >&2; exit 1; }
