from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse

from continuum import __version__
from continuum.api.routes import RouteTable
from continuum.errors import ContinuumError
from continuum.schemas import HealthResponse
from continuum.settings import Settings

router = RouteTable(tags=["health"])

LOW_DISK_BYTES = 100 * 1024 * 1024


def _disk_check(settings: Settings) -> tuple[str, dict[str, int]]:
    path = Path(settings.db_path).expanduser().resolve().parent
    if settings.storage_backend != "sqlite" or not path.exists():
        path = Path(tempfile.gettempdir())
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return "unknown", {}
    return ("ok" if free >= LOW_DISK_BYTES else "low"), {"free_bytes": free}


def _respond(status: str, checks: dict[str, str], details: dict[str, object], started: float) -> JSONResponse:
    body = HealthResponse(
        status=status,
        version=__version__,
        uptime_seconds=round(time.monotonic() - started, 3),
        checks=checks,
        details=details,
    )
    headers = {"Retry-After": "5"} if status == "down" else None
    return JSONResponse(body.model_dump(), status_code=503 if status == "down" else 200, headers=headers)


@router.get("/v1/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def health(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    try:
        services = await request.app.state.provider.get()
    except ContinuumError as exc:
        # The services could not even start (database unreachable at start-up).
        disk, disk_details = _disk_check(settings)
        details = {"storage": settings.storage_backend, "database_error": exc.message, **disk_details}
        checks = {"database": "down", "cache": "unknown", "disk_space": disk}
        return _respond("down", checks, details, request.app.state.started)
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
    if database != "ok":
        status = "down"
    elif cache == "degraded" or disk == "low":
        status = "degraded"
    else:
        status = "ok"
    return _respond(status, checks, details, services.started)
