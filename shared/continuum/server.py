"""The long-running server (`continuum serve`): all routes, Prometheus, migrations at start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from continuum.api.app import ServicesProvider, create_app
from continuum.errors import DependencyUnavailable
from continuum.observability.logging import configure_logging
from continuum.runtime import Services, build_services
from continuum.settings import Settings, load_settings

log = logging.getLogger("continuum.server")

PURGE_INTERVAL_SECONDS = 600
STARTUP_RETRY_SECONDS = 2


async def _purge_forever(services: Services) -> None:
    while True:
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
        try:
            removed = await services.storage.purge_expired(services.clock.now())
            if removed:
                log.info("expired memories removed", extra={"count": removed})
        except Exception:  # maintenance must never stop the server
            log.exception("expiry sweep failed; will retry")


async def _run_when_ready(provider: ServicesProvider) -> None:
    """Connect and migrate; while the database is unreachable, keep serving (requests get
    503 + Retry-After, health says down) and retry, so a container starting before its
    database comes up on its own. Then sweep expired memories periodically."""
    services: Services | None = None
    while services is None:
        try:
            services = await provider.get()
        except DependencyUnavailable as exc:
            log.error(
                "database unavailable at start-up; serving 503 until it returns",
                extra={"error": exc.message, "retry_in_s": STARTUP_RETRY_SECONDS},
            )
            await asyncio.sleep(STARTUP_RETRY_SECONDS)
    log.info(
        "continuum ready",
        extra={
            "storage": services.storage.name,
            "cache": services.cache.shared.name if services.cache.shared else "memory",
        },
    )
    await _purge_forever(services)


def create_server_app(settings: Settings | None = None, *, workers: int = 1) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    from continuum.observability.sentry import init_sentry

    init_sentry(settings)
    from continuum.observability.metrics import PrometheusMetrics

    metrics = PrometheusMetrics()

    # Built once, without I/O: start-up retries reuse the same adapters (and so the
    # storage's knowledge that the database is down, which makes the retries cheap).
    services = build_services(settings, metrics=metrics, single_process=workers == 1)

    async def factory() -> Services:
        await services.storage.connect()
        applied = await services.storage.migrate()
        if applied:
            log.info("migrations applied", extra={"versions": applied})
        return services

    async def on_startup(provider: ServicesProvider) -> Callable[[], Awaitable[None]]:
        task = asyncio.create_task(_run_when_ready(provider))

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    from continuum.api.idempotency import IdempotencyMiddleware
    from continuum.core.idempotency import store_for

    store = store_for(
        services.cache.shared,
        single_process=workers == 1,
        prefix=f"{settings.cache_prefix}idem:",
        hint="set REDIS_URL when serving with several workers",
    )
    middleware = [(IdempotencyMiddleware, {"store": store, "ttl": settings.idempotency_ttl})]
    return create_app(settings, factory=factory, metrics=metrics, on_startup=on_startup, middleware=middleware)


def app_factory() -> FastAPI:
    """Import target for `uvicorn --factory continuum.server:app_factory` (used by --reload)."""
    import os

    return create_server_app(workers=int(os.environ.get("CONTINUUM_SERVE_WORKERS", "1")))
