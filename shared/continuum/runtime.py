"""Wiring: pick adapters from settings and assemble the services the API uses."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from continuum.cache.memory import InProcessCache
from continuum.clock import Clock, SystemClock
from continuum.core.admin import AdminService
from continuum.core.auth import Authenticator
from continuum.core.caching import ResultCache
from continuum.core.crypto import ContentCipher, parse_encryption_key
from continuum.core.engine import MemoryEngine
from continuum.core.ratelimit import RateLimiter
from continuum.ports import Cache, Metrics, NullMetrics, Storage
from continuum.settings import Settings, SettingsError

if TYPE_CHECKING:
    from continuum.core.portability import Portability


def build_storage(settings: Settings, *, d1_binding: Any = None) -> Storage:
    backend = settings.storage_backend
    if backend == "sqlite":
        from continuum.storage.sqlite import SqliteStorage

        return SqliteStorage(settings.db_path)
    if backend == "postgres":
        from continuum.storage.postgres import PostgresStorage

        return PostgresStorage(settings)
    if backend == "d1":
        if d1_binding is None:
            raise SettingsError("CONTINUUM_STORAGE=d1 needs a D1 binding (only inside a Cloudflare Worker)")
        from continuum.storage.d1 import D1Storage

        return D1Storage(d1_binding)
    raise SettingsError(f"CONTINUUM_STORAGE={backend} is not a known storage backend")


def build_shared_cache(settings: Settings) -> Cache | None:
    backend = settings.shared_cache_backend
    if backend == "redis":
        from continuum.cache.redis import RedisCache

        return RedisCache(settings.redis_url or "")
    if backend == "upstash":
        from continuum.cache.upstash import UpstashCache

        return UpstashCache(settings.upstash_redis_rest_url or "", settings.upstash_redis_rest_token or "")
    return None


@dataclass
class Services:
    settings: Settings
    storage: Storage
    cache: ResultCache
    engine: MemoryEngine
    admin: AdminService
    auth: Authenticator
    metrics: Metrics
    clock: Clock
    rate_limiter: RateLimiter
    started: float = field(default_factory=time.monotonic)

    @cached_property
    def portability(self) -> Portability:
        # Built on first use: only export/import need it, and its record validators cost
        # ~30 ms at import, which every serverless cold start would otherwise pay.
        from continuum.core.portability import Portability

        return Portability(self.engine)

    async def close(self) -> None:
        if self.engine.indexer is not None:
            await self.engine.indexer.close()
        await self.storage.close()
        for layer in (self.cache.local, self.cache.shared):
            if layer is not None:
                await layer.close()


def build_engine(
    settings: Settings,
    storage: Storage,
    cache: ResultCache,
    *,
    clock: Clock,
    cipher: ContentCipher,
    metrics: Metrics,
    single_process: bool,
    bindings: dict[str, Any] | None = None,
) -> MemoryEngine:
    """The engine with its ranking settings and, when enabled, the embedding provider
    and indexer (background where one process lives on, inline on serverless).
    `bindings` are runtime handles a provider needs (a Worker's Workers AI binding: `ai`)."""
    from continuum.core.ranking_config import RankingConfig
    from continuum.embeddings.factory import build_embedder

    embedder = build_embedder(settings, **(bindings or {}))
    indexer = None
    if embedder is not None:
        from continuum.core.indexer import EmbeddingIndexer

        mode = settings.embedding_write
        background = single_process if mode == "auto" else mode == "background"
        indexer = EmbeddingIndexer(
            storage, embedder, cipher, clock, background=background, on_indexed=cache.invalidate
        )
    return MemoryEngine(
        storage, cache, clock=clock, cipher=cipher, metrics=metrics,
        ranking=RankingConfig(**asdict(settings.ranking)), embedder=embedder, indexer=indexer,
    )  # fmt: skip


def build_services(
    settings: Settings,
    *,
    storage: Storage | None = None,
    shared_cache: Cache | None = None,
    metrics: Metrics | None = None,
    clock: Clock | None = None,
    single_process: bool = True,
    d1_binding: Any = None,
    bindings: dict[str, Any] | None = None,
) -> Services:
    """Assemble the services.

    `single_process` says whether an in-process cache alone may hold results: true for
    one server process; false for Lambda or Workers, where many instances serve one
    tenant and only a shared cache (Redis, Upstash) can be invalidated for all of them.
    """
    clock = clock or SystemClock()
    metrics = metrics or NullMetrics()
    storage = storage or build_storage(settings, d1_binding=d1_binding)
    if shared_cache is None:
        shared_cache = build_shared_cache(settings)
    local: Cache | None = None
    if settings.cache_enabled and (single_process or shared_cache is not None):
        local = InProcessCache()
    cache = ResultCache(local, shared_cache, ttl=settings.cache_ttl, metrics=metrics, prefix=settings.cache_prefix)
    key = parse_encryption_key(settings.encryption_key) if settings.encryption_key else None
    cipher = ContentCipher(key)
    engine = build_engine(
        settings, storage, cache, clock=clock, cipher=cipher, metrics=metrics, single_process=single_process,
        bindings=bindings,
    )
    return Services(
        settings=settings,
        storage=storage,
        cache=cache,
        engine=engine,
        admin=AdminService(storage, cache, engine, clock),
        auth=Authenticator(settings, storage, cache),
        metrics=metrics,
        clock=clock,
        rate_limiter=RateLimiter(shared_cache or local or InProcessCache(), settings.rate_limit_per_minute),
    )
