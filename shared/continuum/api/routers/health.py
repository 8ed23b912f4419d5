from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from continuum import __version__
from continuum.api.deps import ServicesDep
from continuum.errors import ContinuumError
from continuum.schemas import HealthResponse

router = APIRouter(tags=["health"])

LOW_DISK_BYTES = 100 * 1024 * 1024


def _disk_check(services: ServicesDep) -> tuple[str, dict[str, int]]:
    path = Path(services.settings.db_path).expanduser().resolve().parent
    if services.settings.storage_backend != "sqlite" or not path.exists():
        path = Path(tempfile.gettempdir())
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return "unknown", {}
    return ("ok" if free >= LOW_DISK_BYTES else "low"), {"free_bytes": free}


@router.get("/v1/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def health(services: ServicesDep) -> JSONResponse:
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
    disk, disk_details = _disk_check(services)
    details.update(disk_details)
    checks = {"database": database, "cache": cache, "disk_space": disk}
    if database != "ok":
        status = "down"
    elif cache == "degraded" or disk == "low":
        status = "degraded"
    else:
        status = "ok"
    body = HealthResponse(
        status=status,
        version=__version__,
        uptime_seconds=round(time.monotonic() - services.started, 3),
        checks=checks,
        details=details,
    )
    headers = {"Retry-After": "5"} if status == "down" else None
    return JSONResponse(body.model_dump(), status_code=503 if status == "down" else 200, headers=headers)
