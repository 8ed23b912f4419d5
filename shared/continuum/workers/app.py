"""The Worker application: settings from the env, services once per isolate, one ASGI app.

`wrangler/src/worker.py` hands every request to `worker_app(env).asgi` through the workers
SDK's ASGI adapter, and cron triggers to `run_scheduled(env)`. An isolate serves many
requests: the app and its services are built on the first one and reused.
"""

from __future__ import annotations

import logging
from typing import Any

from continuum.api.app import create_app
from continuum.api.envelope import ErrorApp
from continuum.api.manifest import ROUTERS
from continuum.runtime.assembly import RuntimeBindings, assemble
from continuum.runtime.profiles import WORKER
from continuum.services import Services
from continuum.settings import SettingsError
from continuum.workers.env import binding, settings_from_env

log = logging.getLogger("continuum.workers")

D1_BINDING = "DB"
AI_BINDING = "AI"


def preload() -> None:
    """Import every route module (and the profile's metrics) now: at deploy time the Workers
    runtime snapshots the interpreter after the entry module's imports, so they cost nothing
    at cold start."""
    import importlib

    for module in (*ROUTERS.values(), "continuum.workers.metrics"):
        importlib.import_module(module)


class MisconfiguredApp(ErrorApp):
    """Answers every request with 500 and the one-line settings error (never a secret)."""

    def __init__(self, message: str) -> None:
        super().__init__(500, "misconfigured", message)


class WorkerApp:
    """Settings, services and the FastAPI app of one isolate."""

    def __init__(self, env: Any) -> None:
        self.settings = settings_from_env(env)
        db = binding(env, D1_BINDING)
        if self.settings.storage_backend == "d1" and db is None:
            raise SettingsError(f"CONTINUUM_STORAGE=d1 needs a D1 binding named {D1_BINDING} (wrangler.toml)")
        self.assembly = assemble(WORKER, self.settings, RuntimeBindings(d1=db, ai=binding(env, AI_BINDING)))
        self.metrics = self.assembly.metrics
        self.services: Services = self.assembly.services
        self.asgi: Any = create_app(self.assembly)


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


WEBHOOK_CRON = "* * * * *"  # wrangler.toml: delivers webhooks every minute, purges not


async def run_scheduled(env: Any, cron: str | None = None) -> int:
    """Cron trigger: deliver due webhooks (when enabled), and on the purge cron remove
    expired memories (and their index statistics). Returns the count removed."""
    app = worker_app(env)
    if not isinstance(app, WorkerApp):
        log.error("scheduled run skipped: %s", app.message)
        return 0
    services = app.services
    if services.webhooks is not None:
        from continuum.runtime.webhooks import drain

        await drain(services.webhooks)
    if cron == WEBHOOK_CRON:
        return 0
    removed = await services.storage.purge_expired(services.clock.now())
    log.info("expired memories removed", extra={"count": removed, "cron": cron})
    if hasattr(services.storage, "build_lexical_index"):  # a D1 from before 0008: built in steps
        indexed = await services.storage.build_lexical_index(batch=500, max_batches=20)
        if indexed:
            log.info("lexical index built further", extra={"count": indexed})
    return removed
