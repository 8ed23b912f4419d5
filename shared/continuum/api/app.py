"""The FastAPI application factory, shared by every runtime.

`routers` selects which route groups (api/manifest.py) to mount: the local server mounts
all of them, a Lambda function only its own (so it imports only what it serves).
"""

from __future__ import annotations

import asyncio
import importlib
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

from fastapi import FastAPI
from pydantic.warnings import UnsupportedFieldAttributeWarning

from continuum import __version__
from continuum.api import openapi
from continuum.api.errors import install_error_handlers
from continuum.api.manifest import ROUTERS, WRITE_ROUTES
from continuum.api.middleware import RequestMiddleware
from continuum.api.routes import allow_methods
from continuum.services import Services

if TYPE_CHECKING:
    from continuum.core.idempotency import IdempotencyStore
    from continuum.ports import Metrics
    from continuum.settings import Settings

# FastAPI wraps a body model in Field(alias=<parameter name>); pydantic warns that the alias
# has no effect when that model's schema is built later (our models defer building, see
# schemas.Model). The alias is indeed irrelevant there, so this one warning is noise.
warnings.filterwarnings("ignore", message="The 'alias' attribute", category=UnsupportedFieldAttributeWarning)

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


class AppAssembly(Protocol):
    """What the app takes from its runtime's composition root (`continuum.runtime.assembly.Assembly`)."""

    settings: Settings
    metrics: Metrics
    idempotency: IdempotencyStore | None

    @property
    def close_on_shutdown(self) -> bool: ...
    async def ready(self) -> Services: ...
    async def on_startup(
        self, services: Callable[[], Awaitable[Services]]
    ) -> Callable[[], Awaitable[None]] | None: ...


def create_app(assembly: AppAssembly, *, routers: Iterable[str] | None = None) -> FastAPI:
    """The app of one runtime: the assembly's services (built or connected on first use,
    as its profile says), its lifecycle hooks and Idempotency-Key store. `routers` selects
    the route groups to mount (default: all of the manifest's)."""
    settings = assembly.settings
    metrics = assembly.metrics
    provider = ServicesProvider(assembly.ready)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = await assembly.on_startup(provider.get)
        yield
        if stop is not None:
            await stop()
        if assembly.close_on_shutdown:
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
    allow_methods(app)
    openapi.install(app, settings, write_routes=WRITE_ROUTES if assembly.idempotency is not None else None)
    install_error_handlers(app)
    if assembly.idempotency is not None:
        from continuum.api.idempotency import IdempotencyMiddleware

        app.add_middleware(IdempotencyMiddleware, store=assembly.idempotency, ttl=settings.http.idempotency_ttl)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID", "X-Continuum-Tenant"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    return app
