"""E2E targets for the Cloudflare Worker, served offline by `wrangler/serve-local`.

- `workers`: the real Worker entry in Pyodide on Node, wrangler's real local D1 (migrations
  applied by `wrangler d1 migrations apply --local`), one fresh D1 per server; a restart
  keeps that server's D1 directory, so data survives it as it would on Cloudflare.
- `workers-upstash`: the same, with the shared L2 cache on Upstash (REST, through httpx
  over JavaScript fetch) served by `tests.support.upstash_server` in front of Redis.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from tests.support.servers import (
    REPO,
    RunningServer,
    ServerProcess,
    base_settings,
    clean_env,
    free_port,
    register_target,
)

SERVE_LOCAL = REPO / "wrangler" / "serve-local"
# npm/vendor checks, `wrangler d1 migrations apply`, Pyodide start and the first response
# (about 13 s) all happen before the Worker is healthy.
READY_TIMEOUT = 240.0


def _serve_local(env: dict[str, str], workdir: Path) -> ServerProcess:
    port = free_port()
    command = [str(SERVE_LOCAL), str(port), "--persist-to", str(workdir / "d1")]
    return ServerProcess(command=command, env=env, cwd=workdir, port=port, ready_timeout=READY_TIMEOUT)


class WorkersTarget:
    name = "workers"

    def _extra(self, workdir: Path) -> tuple[dict[str, str], list]:
        return {}, []

    def start(self, *, require_api_key: bool, extra_env: dict[str, str] | None = None) -> RunningServer:
        workdir = Path(tempfile.mkdtemp(prefix="continuum-e2e-workers-"))
        extra, cleanups = self._extra(workdir)
        settings = base_settings(require_api_key)
        env = clean_env({**settings, **extra, **(extra_env or {})})
        process = _serve_local(env, workdir)
        try:
            process.start()
        except Exception:
            process.stop()
            for cleanup in cleanups:
                cleanup()
            raise

        def cleanup_all() -> None:
            for cleanup in cleanups:
                cleanup()
            shutil.rmtree(workdir, ignore_errors=True)

        return RunningServer(
            url=process.url, admin_key=env["CONTINUUM_API_KEY"], require_api_key=require_api_key,
            process=process, target=self.name, jwt_secret=env.get("CONTINUUM_JWT_SECRET"),
            cleanup=cleanup_all,
        )  # fmt: skip


class WorkersUpstashTarget(WorkersTarget):
    name = "workers-upstash"

    def _extra(self, workdir: Path) -> tuple[dict[str, str], list]:
        from tests.support.upstash_server import UpstashServer

        upstash = UpstashServer("redis://127.0.0.1:6379/0", free_port(), "tok-" + os.urandom(12).hex(), workdir)
        upstash.start()
        env = {
            "UPSTASH_REDIS_REST_URL": upstash.url,
            "UPSTASH_REDIS_REST_TOKEN": upstash.token,
            # Keys of this server only, in a Redis shared with other tests.
            "CONTINUUM_CACHE_PREFIX": f"e2e-workers-{os.urandom(4).hex()}:",
        }
        return env, [upstash.stop]


register_target("workers", WorkersTarget)
if importlib.util.find_spec("tests.support.upstash_server") is not None:
    register_target("workers-upstash", WorkersUpstashTarget)
