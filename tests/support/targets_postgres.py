"""E2E targets on PostgreSQL: `continuum serve` with POSTGRES_URL and a shared cache.

- "postgres": PostgreSQL + Redis (the container deployment).
- "postgres-upstash": PostgreSQL + Upstash REST (the tests' Upstash server in front of
  the real redis-server, reached by the real `upstash-redis` client): the Lambda shape.

Each started server gets its own fresh database (dropped afterwards) and its own cache
key prefix, so servers never see each other's data or cached results.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

from tests.support.pg import REDIS_URL, create_database, delete_redis_keys, drop_database, free_port
from tests.support.servers import RunningServer, base_settings, clean_env, continuum_serve, register_target
from tests.support.upstash_server import UpstashServer

POOL = {"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "4"}  # the shared server has 100 slots


class PostgresTarget:
    name = "postgres"
    cache = "redis"

    def start(self, *, require_api_key: bool, extra_env: dict[str, str] | None = None) -> RunningServer:
        workdir = Path(tempfile.mkdtemp(prefix="continuum-e2e-pg-"))
        database = create_database("continuum_e2e")
        prefix = f"continuum-e2e:{secrets.token_hex(6)}:"
        upstash: UpstashServer | None = None
        env = {"POSTGRES_URL": database, "CONTINUUM_CACHE_PREFIX": prefix, **POOL}
        if self.cache == "redis":
            env["REDIS_URL"] = REDIS_URL
        else:
            upstash = UpstashServer(REDIS_URL, free_port(), secrets.token_hex(16), workdir)
            upstash.start()
            env.update(UPSTASH_REDIS_REST_URL=upstash.url, UPSTASH_REDIS_REST_TOKEN=upstash.token)

        def cleanup() -> None:
            if upstash is not None:
                upstash.stop()
            drop_database(database)
            delete_redis_keys(prefix)
            shutil.rmtree(workdir, ignore_errors=True)

        env = clean_env({**env, **base_settings(require_api_key), **(extra_env or {})})
        process = continuum_serve(env, workdir)
        try:
            process.start()
        except BaseException:
            process.stop()
            cleanup()
            raise
        return RunningServer(
            url=process.url, admin_key=env["CONTINUUM_API_KEY"], require_api_key=require_api_key,
            process=process, target=self.name, jwt_secret=env.get("CONTINUUM_JWT_SECRET"), cleanup=cleanup,
        )  # fmt: skip


class PostgresUpstashTarget(PostgresTarget):
    name = "postgres-upstash"
    cache = "upstash"


register_target("postgres", PostgresTarget)
register_target("postgres-upstash", PostgresUpstashTarget)
