"""`/v1/health`: what a load balancer needs for anyone, more for those who may know it.

With API keys required, a caller without a valid credential gets only `status` (and 503
when the database is down); a tenant key adds the `checks` (ok/down per dependency, no
addresses, errors or versions); the admin key gets everything: version, uptime, backends,
latencies, error messages and free disk. Without keys required every caller is trusted
and gets everything. A refused credential is not an error here: health answers anyway.
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
import time
from pathlib import Path
from typing import Literal

from fastapi import Request
from fastapi.responses import JSONResponse

from continuum import __version__
from continuum.api.routes import RouteTable
from continuum.core.auth import credential_from_headers
from continuum.errors import ContinuumError
from continuum.schemas import HealthResponse
from continuum.services import Services
from continuum.settings import Settings

router = RouteTable(tags=["health"])

LOW_DISK_BYTES = 100 * 1024 * 1024
Audience = Literal["public", "tenant", "admin"]
# Any credential or none: the document must not demand one.
OPTIONAL_CREDENTIALS = {"security": [{"ApiKey": []}, {"Bearer": []}, {}]}


def _disk_check(settings: Settings) -> tuple[str, dict[str, int]]:
    path = Path(settings.db_path).expanduser().resolve().parent
    if settings.storage_backend != "sqlite" or not path.exists():
        path = Path(tempfile.gettempdir())
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return "unknown", {}
    return ("ok" if free >= LOW_DISK_BYTES else "low"), {"free_bytes": free}


async def _audience(request: Request, settings: Settings, services: Services | None) -> Audience:
    if not settings.require_api_key:
        return "admin"
    try:
        credential = credential_from_headers(request.headers.get("x-api-key"), request.headers.get("authorization"))
    except ContinuumError:
        return "public"
    if credential is None:
        return "public"
    if services is None:  # only the admin key can be recognised without the database
        admin = settings.api_key
        return "admin" if admin and hmac.compare_digest(credential.encode(), admin.encode()) else "public"
    try:
        principal = await services.auth.authenticate(credential)
    except (ContinuumError, OSError):
        return "public"
    return "admin" if principal.is_admin else "tenant"


def _respond(
    audience: Audience, status: str, checks: dict[str, str], details: dict[str, object], started: float
) -> JSONResponse:
    body = HealthResponse(status=status)
    if audience != "public":
        body.checks = checks
    if audience == "admin":
        body.version = __version__
        body.uptime_seconds = round(time.monotonic() - started, 3)
        body.details = details
    headers = {"Retry-After": "5"} if status == "down" else None
    status_code = 503 if status == "down" else 200
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status_code, headers=headers)


@router.get(
    "/v1/health",
    response_model=HealthResponse,
    response_model_exclude_none=True,
    responses={503: {"model": HealthResponse, "description": "The database is down", "headers": {
        "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}}},
    openapi_extra=OPTIONAL_CREDENTIALS,
)  # fmt: skip
async def health(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    try:
        services = await request.app.state.provider.get()
    except ContinuumError as exc:
        # The services could not even start (database unreachable at start-up).
        audience = await _audience(request, settings, None)
        disk, disk_details = _disk_check(settings)
        details = {"storage": settings.storage_backend, "database_error": exc.message, **disk_details}
        checks = {"database": "down", "cache": "unknown", "disk_space": disk}
        return _respond(audience, "down", checks, details, request.app.state.started)
    audience = await _audience(request, settings, services)
    details: dict[str, object] = {"storage": services.storage.name}
    started = time.perf_counter()
    try:
        await services.storage.ping()
        database = "ok"
    except (ContinuumError, OSError) as exc:
        database = "down"
        details["database_error"] = getattr(exc, "message", str(exc))
    details["database_latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
    layers = services.cache
    details["cache_backend"] = layers.shared.name if layers.shared else ("memory" if layers.local else "none")
    started = time.perf_counter()
    cache = await services.cache.health()
    if layers.shared is not None:
        details["cache_latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
    if cache == "degraded":
        details["cache_error"] = services.cache.degraded_reason
    disk, disk_details = _disk_check(services.settings)
    details.update(disk_details)
    checks = {"database": database, "cache": cache, "disk_space": disk}
    report = getattr(services.storage, "replicas_report", None)
    replicas = await report() if report is not None else None
    if replicas is not None:  # PostgreSQL read replicas: reads fall back to the primary
        details["read_replicas"] = replicas
        checks["read_replicas"] = "ok" if all(r["status"] == "up" for r in replicas) else "degraded"
    if database != "ok":
        status = "down"
    elif cache == "degraded" or disk == "low" or checks.get("read_replicas") == "degraded":
        status = "degraded"
    else:
        status = "ok"
    return _respond(audience, status, checks, details, services.started)
