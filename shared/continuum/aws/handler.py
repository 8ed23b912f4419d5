"""Lambda handlers over the shared core: `functions/*.py` are one line each on top of this.

Per warm instance: the route group's modules are imported at INIT (module import); the first
invocation loads settings (environment + SSM / Secrets Manager, cached), builds the FastAPI
app with only that group's routes and the services (PostgreSQL with one lazily reopened
connection, Upstash as L2), and every later invocation reuses them on one event loop. When
a cached secret changes (rotation), the next invocation after CONTINUUM_SECRETS_MAX_AGE
rebuilds them. Mangum turns API Gateway REST (v1) and HTTP API (v2) events into ASGI.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from continuum.api.app import create_app
from continuum.api.envelope import error_json
from continuum.api.manifest import LAMBDA_FUNCTIONS, ROUTERS
from continuum.aws.init_phase import init_done
from continuum.aws.secrets import SecretsLoader, SecretsUnavailable
from continuum.runtime.assembly import RuntimeBindings, assemble
from continuum.runtime.profiles import LAMBDA
from continuum.settings import LOG_LEVELS, Settings, SettingsError

log = logging.getLogger("continuum.lambda")

# Lambda function -> the route groups it mounts (from the route manifest).
GROUPS: dict[str, tuple[str, ...]] = LAMBDA_FUNCTIONS
TEXT_TYPES = ["application/json", "application/x-ndjson", "text/plain", "text/html"]

Event = dict[str, Any]


def _plain_response(status: int, code: str, message: str, retry_after: int | None = None) -> Event:
    """An API Gateway answer in the error envelope, for failures before an app exists."""
    headers = {"content-type": "application/json"}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    body = error_json(code, message).decode()
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


@dataclass
class _Instance:
    """What one configuration builds: reused by every invocation until a secret changes."""

    fingerprint: str
    settings: Settings
    call: Callable[[Event, Any], Event]
    close: Callable[[], Any]


class LambdaHandler:
    def __init__(self, group: str, *, environ: Mapping[str, str] | None = None) -> None:
        if group not in GROUPS:
            raise ValueError(f"unknown endpoint group {group!r}; known: {', '.join(GROUPS)}")
        self.group = group
        self.routers = GROUPS[group]
        for name in self.routers:  # at INIT, so the first request does not pay for it
            importlib.import_module(ROUTERS[name])
        self._environ = environ
        self._loader: SecretsLoader | None = None
        self._instance: _Instance | None = None
        self._loop = asyncio.new_event_loop()
        self._logger: Any = None
        self._metrics: Any = None
        self._invoke: Callable[[Event, Any], Event] | None = None

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def __call__(self, event: Event, context: Any) -> Event:
        if self._invoke is None:
            from continuum.aws.logs import setup_logger
            from continuum.aws.metrics import EmfMetrics

            level = (self.environ.get("CONTINUUM_LOG_LEVEL") or "INFO").upper()
            self._logger = setup_logger(level if level in LOG_LEVELS else "INFO")
            self._metrics = EmfMetrics()
            self._metrics.cold_start(context)
            self._invoke = self._logger.inject_lambda_context(clear_state=True)(self._handle)
            try:
                return self._invoke(event, context)
            finally:
                init_done()
        return self._invoke(event, context)

    def _handle(self, event: Event, context: Any) -> Event:
        asyncio.set_event_loop(self._loop)
        try:
            instance = self._current()
        except SettingsError as exc:
            log.error("configuration error", extra={"error": str(exc)})
            return _plain_response(500, "misconfigured", "the service is misconfigured; see its logs")
        except SecretsUnavailable as exc:
            log.error("secrets unavailable", extra={"error": str(exc)})
            return _plain_response(503, "service_unavailable", "configuration store unavailable", 5)
        try:
            return instance.call(event, context)
        finally:
            self._metrics.flush()

    def _current(self) -> _Instance:
        if self._loader is None:
            self._loader = SecretsLoader(self.environ)
        current = self._instance
        if current is not None:
            try:
                unchanged = current.fingerprint == self._loader.fingerprint()
            except SecretsUnavailable as exc:  # keep serving with the secrets already in use
                log.warning("secrets store unavailable; using the cached configuration", extra={"error": str(exc)})
                return current
            if unchanged:
                return current  # the warm path: secrets from the cache, settings as built
        settings, fingerprint = self._loader.load()
        if current is not None:
            log.info("secrets changed: rebuilding services")
            self._loop.run_until_complete(current.close())
        self._logger.setLevel(settings.log_level)
        self._instance = self._build(settings, fingerprint)
        return self._instance

    def _build(self, settings: Settings, fingerprint: str) -> _Instance:
        from mangum import Mangum

        _check_packaged(settings)
        assembly = assemble(LAMBDA, settings, RuntimeBindings(metrics=self._metrics))
        app = create_app(assembly, routers=self.routers)
        adapter = Mangum(app, lifespan="off", text_mime_types=TEXT_TYPES)

        def call(event: Event, context: Any) -> Event:
            return adapter(event, context)

        if settings.webhooks.enabled and settings.webhooks.queue_url:  # webhooks: wake the dispatcher
            from continuum.aws.webhook_queue import SqsWake, wake_after_writes

            call = wake_after_writes(call, SqsWake(settings.webhooks.queue_url))

        if settings.tracing:
            from aws_lambda_powertools import Tracer

            call = Tracer(service="continuum", patch_modules=["botocore", "httpx"]).capture_lambda_handler(call)
        return _Instance(fingerprint, settings, call, app.state.provider.close)


# Optional features whose packages the default artifact leaves out (size): the setting,
# the module it needs, and the serverless.yml extras that bring it.
_PACKAGED = (
    ("encryption_key", "cryptography", "CONTINUUM_ENCRYPTION_KEY", "encryption"),
    ("tracing", "aws_xray_sdk", "CONTINUUM_TRACING=true", "lambda-tracing"),
)


def _check_packaged(settings: Settings) -> None:
    import importlib.util

    for attribute, module, setting, extra in _PACKAGED:
        if getattr(settings, attribute) and importlib.util.find_spec(module) is None:
            raise SettingsError(
                f"{setting} needs {module} in the package: deploy with "
                f"--param extras=lambda,postgres,upstash,{extra}"
            )


def lambda_handler_for(group: str) -> LambdaHandler:
    """The `handler(event, context)` of one endpoint group's Lambda function."""
    return LambdaHandler(group)


def migration_handler(environ: Mapping[str, str] | None = None) -> Callable[[Event, Any], dict[str, Any]]:
    """A function to invoke after each deploy (`sls invoke -f migrate`): applies pending
    migrations from inside the VPC, where the database is reachable."""

    def handler(event: Event, context: Any) -> dict[str, Any]:
        from continuum.runtime.adapters import build_storage

        settings, _ = SecretsLoader(os.environ if environ is None else environ).load()

        async def run() -> list[str]:
            storage = build_storage(settings)
            try:
                await storage.connect()
                return await storage.migrate()
            finally:
                await storage.close()

        try:
            applied = asyncio.run(run())
        finally:
            init_done()
        return {"applied": applied, "storage": settings.storage_backend}

    return handler
