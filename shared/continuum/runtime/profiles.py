"""Runtime profiles: what differs between the places CONTINUUM runs, declared once each.

A profile is plain data plus two hooks (metrics, logging) that import their adapter only
when called, so importing this module costs nothing a runtime does not use. The
composition root (`runtime/assembly.py`) reads a profile and builds the same services and
app for every runtime; adding a runtime means adding a profile here.

- local server (`local_server(workers)`): SINGLE with one worker, SHARED with several; pooled
  storage; Idempotency-Key in the shared cache, else in-process memory when SINGLE; builds at
  start, migrates (retrying while the database is down), purges periodically, closes at stop.
- Lambda (`LAMBDA`): SHARED; one connection per instance; Idempotency-Key in DynamoDB; builds
  on the first request; migrations and purges are separate invocations.
- Worker (`WORKER`): SHARED; D1 binding; Idempotency-Key in Upstash; builds at start; a cron
  purges; never closes (the SDK runs the lifespan around every request).
- CLI (`CLI`): SINGLE; pooled; no HTTP; each command connects and migrates itself.

Every runtime answers errors with the one envelope of `continuum.api.envelope`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from continuum.ports import Metrics
    from continuum.settings import Settings


class ProcessModel(enum.Enum):
    """SINGLE: one process serves every request, so in-process state (result cache,
    idempotency records, background indexing) is authoritative. SHARED: many processes or
    instances serve one tenant; only a shared cache may hold what they must agree on."""

    SINGLE = "single"
    SHARED = "shared"


class StorageConnection(enum.Enum):
    """POOLED: a long-lived process keeps a connection pool. PER_INSTANCE: a serverless
    instance keeps one lazily reopened connection (PostgreSQL behind RDS Proxy/PgBouncer)."""

    POOLED = "pooled"
    PER_INSTANCE = "per_instance"


class IdempotencyPolicy(enum.Enum):
    """Where Idempotency-Key records live. SHARED_CACHE: the shared cache (Redis, Upstash),
    else in-process memory for a SINGLE process, else keys are refused. DYNAMODB: the table
    named by CONTINUUM_IDEMPOTENCY_TABLE, else keys are refused."""

    SHARED_CACHE = "shared_cache"
    DYNAMODB = "dynamodb"


# Profiles are NamedTuples, not dataclasses: immutable and comparable all the same, and
# five times cheaper to define, which every Lambda cold start pays for.
class Lifecycle(NamedTuple):
    build_at_start: bool  # False: services are built on the first request (errors answer as JSON)
    migrate_at_start: bool  # connect and apply migrations before serving (retrying while down)
    purge_loop: bool  # sweep expired memories periodically in-process (else a cron or nobody)
    close_on_shutdown: bool  # close the services when the ASGI lifespan ends


def _no_metrics() -> Metrics:
    from continuum.ports import NullMetrics

    return NullMetrics()


def _prometheus() -> Metrics:
    from continuum.observability.metrics import PrometheusMetrics

    return PrometheusMetrics()


def _isolate_metrics() -> Metrics:
    from continuum.workers.metrics import IsolateMetrics

    return IsolateMetrics()


def _emf_metrics() -> Metrics:
    from continuum.aws.metrics import EmfMetrics

    return EmfMetrics()


def _server_logging(settings: Settings) -> None:
    from continuum.observability.logging import configure_logging
    from continuum.observability.sentry import init_sentry

    configure_logging(settings.log_level)
    init_sentry(settings)


def _plain_logging(settings: Settings) -> None:
    from continuum.observability.logging import configure_logging

    configure_logging(settings.log_level)


def _lambda_logging(settings: Settings) -> None:
    # The handler set Powertools' logger up at cold start, before settings existed.
    logging.getLogger("continuum").setLevel(settings.log_level)


def _untouched_logging(settings: Settings) -> None:
    pass  # the CLI prints; the library logs through whatever the caller configured


class RuntimeProfile(NamedTuple):
    name: str
    process: ProcessModel
    storage: StorageConnection
    idempotency: IdempotencyPolicy
    idempotency_hint: str  # what to set when keys are refused for lack of a shared store
    lifecycle: Lifecycle
    metrics: Callable[[], Metrics]
    configure_logging: Callable[[Settings], None]
    live_sync: bool = False  # serves WebSocket subscribers (GET /v1/sync): a long-running ASGI server

    @property
    def single_process(self) -> bool:
        return self.process is ProcessModel.SINGLE


SERVE_WORKERS_VARIABLE = "CONTINUUM_SERVE_WORKERS"  # set by `continuum serve --workers N`


def local_server(workers: int = 1) -> RuntimeProfile:
    """`continuum serve`: one process, or several uvicorn workers sharing the database."""
    return RuntimeProfile(
        name="local-server" if workers == 1 else f"local-server-{workers}-workers",
        process=ProcessModel.SINGLE if workers == 1 else ProcessModel.SHARED,
        storage=StorageConnection.POOLED,
        idempotency=IdempotencyPolicy.SHARED_CACHE,
        idempotency_hint="set REDIS_URL when serving with several workers",
        lifecycle=Lifecycle(build_at_start=True, migrate_at_start=True, purge_loop=True, close_on_shutdown=True),
        metrics=_prometheus,
        configure_logging=_server_logging,
        live_sync=True,
    )


def local_server_from_environ(environ: Mapping[str, str]) -> RuntimeProfile:
    """The profile of a uvicorn worker process started by `continuum serve --workers N`."""
    raw = environ.get(SERVE_WORKERS_VARIABLE, "1")
    try:
        workers = int(raw)
    except ValueError:
        from continuum.settings import SettingsError

        raise SettingsError(f"invalid {SERVE_WORKERS_VARIABLE}={raw!r}: expected a whole number") from None
    if workers < 1:
        from continuum.settings import SettingsError

        raise SettingsError(f"invalid {SERVE_WORKERS_VARIABLE}={raw!r}: at least 1")
    return local_server(workers)


LAMBDA = RuntimeProfile(
    name="lambda",
    process=ProcessModel.SHARED,
    storage=StorageConnection.PER_INSTANCE,
    idempotency=IdempotencyPolicy.DYNAMODB,
    idempotency_hint="set CONTINUUM_IDEMPOTENCY_TABLE",
    lifecycle=Lifecycle(build_at_start=False, migrate_at_start=False, purge_loop=False, close_on_shutdown=False),
    metrics=_emf_metrics,
    configure_logging=_lambda_logging,
)

# The ASGI adapter of the Workers SDK runs the lifespan around every request: the
# services must outlive it. Expired memories are purged by the cron trigger.
WORKER = RuntimeProfile(
    name="worker",
    process=ProcessModel.SHARED,
    storage=StorageConnection.POOLED,
    idempotency=IdempotencyPolicy.SHARED_CACHE,
    idempotency_hint="set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN",
    lifecycle=Lifecycle(build_at_start=True, migrate_at_start=False, purge_loop=False, close_on_shutdown=False),
    metrics=_isolate_metrics,
    configure_logging=_plain_logging,
)

CLI = RuntimeProfile(
    name="cli",
    process=ProcessModel.SINGLE,
    storage=StorageConnection.POOLED,
    idempotency=IdempotencyPolicy.SHARED_CACHE,
    idempotency_hint="the CLI serves no HTTP",
    lifecycle=Lifecycle(build_at_start=True, migrate_at_start=False, purge_loop=False, close_on_shutdown=True),
    metrics=_no_metrics,
    configure_logging=_untouched_logging,
)
