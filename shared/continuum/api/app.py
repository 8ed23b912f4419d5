"""The FastAPI application factory, shared by every runtime.

`routers` selects which route groups to mount: the local server mounts all of them,
a Lambda function only its own group (so it imports only what it serves).
"""

from __future__ import annotations

import asyncio
import importlib
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic.warnings import UnsupportedFieldAttributeWarning

from continuum import __version__
from continuum.api.errors import install_error_handlers
from continuum.api.middleware import RequestMiddleware
from continuum.runtime import Services
from continuum.settings import Settings, load_settings

# FastAPI wraps a body model in Field(alias=<parameter name>); pydantic warns that the alias
# has no effect when that model's schema is built later (our models defer building, see
# schemas.Model). The alias is indeed irrelevant there, so this one warning is noise.
warnings.filterwarnings("ignore", message="The 'alias' attribute", category=UnsupportedFieldAttributeWarning)

ROUTERS: dict[str, str] = {
    "health": "continuum.api.routers.health",
    "learn": "continuum.api.routers.learn",
    "recall": "continuum.api.routers.recall",
    "turn": "continuum.api.routers.turn",
    "memories": "continuum.api.routers.memories",
    "search": "continuum.api.routers.search",
    "entities": "continuum.api.routers.entities",
    "admin": "continuum.api.routers.admin",
    "portability": "continuum.api.routers.portability",
    "metrics": "continuum.api.routers.metrics",
}

DESCRIPTION = """Memory layer for AI agents. Send every turn to `/v1/learn`; before answering,
ask `/v1/recall` for ranked memories and a context block. No LLM call is needed to store
or recall. Errors are `{"error": {"code", "message"}}`."""


class ServicesProvider:
    """Builds the services once, on first use, and reuses them (one per warm instance)."""

    def __init__(self, factory: Callable[[], Awaitable[Services]]) -> None:
        self._factory = factory
        self._services: Services | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Services:
        if self._services is None:
            async with self._lock:
                if self._services is None:
                    self._services = await self._factory()
        return self._services

    @property
    def ready(self) -> Services | None:
        return self._services

    async def close(self) -> None:
        if self._services is not None:
            await self._services.close()
            self._services = None


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    factory: Callable[[], Awaitable[Services]] | None = None,
    routers: Iterable[str] | None = None,
    metrics: Any = None,
    close_on_shutdown: bool = True,
    on_startup: Callable[[ServicesProvider], Awaitable[Callable[[], Awaitable[None]] | None]] | None = None,
    middleware: Iterable[tuple[Any, dict[str, Any]]] = (),
) -> FastAPI:
    """Build the app. `on_startup` runs once the server starts (e.g. migrations and
    background maintenance) and may return a coroutine function run at shutdown.
    `middleware` (class, options) pairs run inside the request middleware (e.g. idempotency)."""
    settings = settings or (services.settings if services else load_settings())

    async def default_factory() -> Services:
        if services is not None:
            return services
        from continuum.runtime import build_services

        return build_services(settings, metrics=metrics)

    provider = ServicesProvider(factory or default_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = await on_startup(provider) if on_startup is not None else None
        yield
        if stop is not None:
            await stop()
        if close_on_shutdown:
            await provider.close()

    app = FastAPI(
        title="CONTINUUM",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.provider = provider
    app.state.settings = settings
    app.state.started = time.monotonic()
    for name in routers if routers is not None else ROUTERS:
        if name not in ROUTERS:
            raise ValueError(f"unknown router group {name!r}; known: {', '.join(ROUTERS)}")
        importlib.import_module(ROUTERS[name]).router.mount(app)
    install_error_handlers(app)
    for middleware_class, options in middleware:
        app.add_middleware(middleware_class, **options)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID", "X-Continuum-Tenant"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    return app
