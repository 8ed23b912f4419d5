"""The composition root: (profile, settings, runtime bindings) -> services, Idempotency-Key
store and the hooks the app runs at start and stop. `continuum.api.app.create_app(assembly)`
turns an assembly into the FastAPI app; the entries (`server.py`, `aws/handler.py`,
`workers/app.py`) only translate their runtime's events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from continuum.runtime.profiles import IdempotencyPolicy, RuntimeProfile
from continuum.runtime.services import build_services
from continuum.services import Services

if TYPE_CHECKING:
    from continuum.clock import Clock
    from continuum.core.idempotency import IdempotencyStore
    from continuum.ports import Cache, Metrics, Storage
    from continuum.settings import Settings

log = logging.getLogger("continuum.server")  # the long-running server is the one that logs here

PURGE_INTERVAL_SECONDS = 600
STARTUP_RETRY_SECONDS = 2

Stop = Callable[[], Awaitable[None]]


class RuntimeBindings(NamedTuple):
    """Handles only the runtime has: a Worker's D1 and Workers AI bindings, the metrics a
    Lambda handler opened at cold start, or adapters a test or bench substitutes."""

    d1: Any = None
    ai: Any = None
    metrics: Metrics | None = None
    storage: Storage | None = None
    shared_cache: Cache | None = None
    clock: Clock | None = None


ServicesSource = Callable[[], Awaitable[Services]]


class Assembly:
    """One runtime's parts: its profile, settings and bindings, metrics, services (built
    once, on first use) and Idempotency-Key store."""

    def __init__(
        self, profile: RuntimeProfile, settings: Settings, bindings: RuntimeBindings, metrics: Metrics
    ) -> None:
        self.profile = profile
        self.settings = settings
        self.bindings = bindings
        self.metrics = metrics
        self.idempotency: IdempotencyStore | None = None
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        """Built once, without I/O: start-up retries reuse the same adapters (and so the
        storage's knowledge that the database is down, which makes the retries cheap)."""
        if self._services is None:
            b = self.bindings
            self._services = build_services(
                self.settings, profile=self.profile, storage=b.storage, shared_cache=b.shared_cache,
                metrics=self.metrics, clock=b.clock, d1_binding=b.d1,
                bindings={"ai": b.ai} if b.ai is not None else None,
            )  # fmt: skip
        return self._services

    @property
    def close_on_shutdown(self) -> bool:
        return self.profile.lifecycle.close_on_shutdown

    async def ready(self) -> Services:
        """The services, connected and migrated when the profile migrates at start."""
        services = self.services
        if self.profile.lifecycle.migrate_at_start:
            await services.storage.connect()
            applied = await services.storage.migrate()
            if applied:
                log.info("migrations applied", extra={"versions": applied})
        return services

    async def on_startup(self, services: ServicesSource) -> Stop | None:
        """Run when the app starts: the periodic purge and, with webhooks on, the webhook
        dispatcher (runtime/webhooks.py), for profiles that keep a loop."""
        if not self.profile.lifecycle.purge_loop:
            return None
        task = asyncio.create_task(_run_when_ready(services))
        stop_dispatcher = None
        if self.settings.webhooks.enabled:
            from continuum.runtime.webhooks import start_dispatcher

            stop_dispatcher = start_dispatcher(services, self.settings.webhooks.poll_interval)

        async def stop() -> None:
            if stop_dispatcher is not None:
                await stop_dispatcher()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop


def assemble(profile: RuntimeProfile, settings: Settings, bindings: RuntimeBindings | None = None) -> Assembly:
    """Configure logging and metrics for `profile` and, when the profile builds at start,
    the services; choose the Idempotency-Key store."""
    bindings = bindings or RuntimeBindings()
    profile.configure_logging(settings)
    metrics = bindings.metrics or profile.metrics()
    if settings.posthog_api_key:  # anonymous product analytics (docs/analytics.md)
        from continuum.runtime.analytics import with_analytics

        metrics = with_analytics(metrics, settings.analytics)
    assembly = Assembly(profile, settings, bindings, metrics)
    if profile.lifecycle.build_at_start:
        _ = assembly.services
    assembly.idempotency = _idempotency_store(assembly)
    return assembly


def _idempotency_store(assembly: Assembly) -> IdempotencyStore:
    profile, settings = assembly.profile, assembly.settings
    if profile.idempotency is IdempotencyPolicy.DYNAMODB and settings.aws.idempotency_table:
        from continuum.aws.idempotency import DynamoDBIdempotencyStore

        return DynamoDBIdempotencyStore(settings.aws.idempotency_table)
    from continuum.core.idempotency import store_for

    if profile.idempotency is IdempotencyPolicy.DYNAMODB:  # no table: instances share no store
        return store_for(None, local=None, prefix="", hint=profile.idempotency_hint)
    return store_for(
        assembly.services.cache.shared, local=_local_records(assembly), prefix=f"{settings.cache.prefix}idem:",
        hint=profile.idempotency_hint,
    )  # fmt: skip


def _local_records(assembly: Assembly) -> Cache | None:
    """Where one process keeps its Idempotency-Key records when no cache is shared: beside a
    SQLite database, in a file of their own (a retry after a crash is replayed, not run again);
    otherwise in memory. Several processes without a shared cache get none (keys refused)."""
    if not assembly.profile.single_process:
        return None
    database = assembly.settings.database
    if database.backend == "sqlite" and database.db_path != ":memory:":
        from continuum.cache.sqlite_file import SqliteFileCache

        return SqliteFileCache(f"{database.db_path}.idempotency")
    from continuum.cache.memory import InProcessCache

    return InProcessCache(max_entries=100_000)


async def _run_when_ready(get_services: ServicesSource) -> None:
    """Connect and migrate; while the database is unreachable, keep serving (requests get
    503 + Retry-After, health says down) and retry, so a container starting before its
    database comes up on its own. Then sweep expired memories periodically."""
    from continuum.errors import DependencyUnavailable

    services: Services | None = None
    while services is None:
        try:
            services = await get_services()
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


async def _purge_forever(services: Services) -> None:
    while True:
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
        try:
            removed = await services.storage.purge_expired(services.clock.now())
            if removed:
                log.info("expired memories removed", extra={"count": removed})
        except Exception:  # maintenance must never stop the server
            log.exception("expiry sweep failed; will retry")
