"""The Worker application: settings from the env, services once per isolate, one ASGI app.

`wrangler/src/worker.py` hands every request to `worker_app(env).asgi` through the workers
SDK's ASGI adapter, and cron triggers to `run_scheduled(env)`. An isolate serves many
requests: the app and its services are built on the first one and reused.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from continuum.api.app import ROUTERS, create_app
from continuum.observability.logging import configure_logging
from continuum.runtime import Services, build_services
from continuum.settings import SettingsError
from continuum.workers.env import binding, settings_from_env
from continuum.workers.metrics import IsolateMetrics

log = logging.getLogger("continuum.workers")

D1_BINDING = "DB"
AI_BINDING = "AI"


def preload() -> None:
    """Import every route module now: at deploy time the Workers runtime snapshots the
    interpreter after the entry module's imports, so they cost nothing at cold start."""
    import importlib

    for module in ROUTERS.values():
        importlib.import_module(module)


class MisconfiguredApp:
    """Answers every request with 500 and the one-line settings error (never a secret)."""

    def __init__(self, message: str) -> None:
        self.message = message

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            return
        body = json.dumps({"error": {"code": "misconfigured", "message": self.message}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class WorkerApp:
    """Settings, services and the FastAPI app of one isolate."""

    def __init__(self, env: Any) -> None:
        self.settings = settings_from_env(env)
        configure_logging(self.settings.log_level)
        db = binding(env, D1_BINDING)
        if self.settings.storage_backend == "d1" and db is None:
            raise SettingsError(f"CONTINUUM_STORAGE=d1 needs a D1 binding named {D1_BINDING} (wrangler.toml)")
        self.metrics = IsolateMetrics()
        ai = binding(env, AI_BINDING)
        self.services: Services = build_services(
            self.settings, d1_binding=db, metrics=self.metrics, single_process=False,
            bindings={"ai": ai} if ai is not None else None,
        )  # fmt: skip
        from continuum.api.idempotency import IdempotencyMiddleware
        from continuum.core.idempotency import store_for

        store = store_for(
            self.services.cache.shared,
            single_process=False,
            prefix=f"{self.settings.cache_prefix}idem:",
            hint="set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN",
        )
        middleware = [(IdempotencyMiddleware, {"store": store, "ttl": self.settings.idempotency_ttl})]
        # The ASGI adapter runs the lifespan around every request: services must outlive it.
        self.asgi: Any = create_app(
            self.settings, services=self.services, metrics=self.metrics, close_on_shutdown=False,
            middleware=middleware,
        )  # fmt: skip


_current: WorkerApp | MisconfiguredApp | None = None


def worker_app(env: Any) -> WorkerApp | MisconfiguredApp:
    """This isolate's app, built on first use. Bad settings give an app answering 500."""
    global _current
    if _current is None:
        try:
            _current = WorkerApp(env)
        except SettingsError as exc:
            log.error("settings error: %s", exc)
            _current = MisconfiguredApp(str(exc))
        except Exception:
            log.exception("the Worker could not start")
            _current = MisconfiguredApp("the Worker could not start; its logs say why")
    return _current


def asgi_app(env: Any) -> Any:
    app = worker_app(env)
    return app.asgi if isinstance(app, WorkerApp) else app


def reset() -> None:
    """Forget this isolate's app (tests)."""
    global _current
    _current = None


async def run_scheduled(env: Any, cron: str | None = None) -> int:
    """Cron trigger: remove expired memories (and their index statistics). Returns the count."""
    app = worker_app(env)
    if not isinstance(app, WorkerApp):
        log.error("scheduled run skipped: %s", app.message)
        return 0
    services = app.services
    removed = await services.storage.purge_expired(services.clock.now())
    log.info("expired memories removed", extra={"count": removed, "cron": cron})
    return removed
