"""The adapters the contract suites run against, by name.

A storage factory is a zero-argument callable returning an async context manager
that yields a fresh, migrated, empty `Storage` and cleans it up afterwards; a cache
factory does the same for a `Cache`. Other adapters register themselves from modules
named `adapters_<name>.py` beside this one (imported by `load_plugins()`), e.g.

    # tests/contract/adapters_d1.py
    from tests.contract.adapters import register_storage
    register_storage("d1-standin", my_d1_standin_factory)

CONTRACT_STORAGES / CONTRACT_CACHES (comma-separated names) select a subset.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from continuum.cache.memory import InProcessCache
from continuum.ports import Cache, Storage
from continuum.settings import Settings
from tests.support.pg import REDIS_URL, PgBouncer, delete_redis_keys, free_port, temporary_database

StorageFactory = Callable[[], AbstractAsyncContextManager[Storage]]
CacheFactory = Callable[[], AbstractAsyncContextManager[Cache]]

STORAGE_FACTORIES: dict[str, StorageFactory] = {}
CACHE_FACTORIES: dict[str, CacheFactory] = {}


def register_storage(name: str, factory: StorageFactory) -> None:
    STORAGE_FACTORIES[name] = factory


def register_cache(name: str, factory: CacheFactory) -> None:
    CACHE_FACTORIES[name] = factory


def load_plugins() -> None:
    for path in sorted(Path(__file__).parent.glob("adapters_*.py")):
        importlib.import_module(f"tests.contract.{path.stem}")


def _selected(registry: dict, variable: str) -> list[str]:
    load_plugins()
    names = [n.strip() for n in os.environ.get(variable, "").split(",") if n.strip()] or list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(f"unknown {variable} {unknown}; known: {sorted(registry)}")
    return names


def selected_storages() -> list[str]:
    return _selected(STORAGE_FACTORIES, "CONTRACT_STORAGES")


def selected_caches() -> list[str]:
    return _selected(CACHE_FACTORIES, "CONTRACT_CACHES")


# ---- storages ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def sqlite_storage() -> AsyncIterator[Storage]:
    from continuum.storage.sqlite import SqliteStorage

    folder = tempfile.mkdtemp(prefix="continuum-contract-")
    storage = SqliteStorage(str(Path(folder) / "memory.db"))
    try:
        await storage.connect()
        await storage.migrate()
        yield storage
    finally:
        await storage.close()
        shutil.rmtree(folder, ignore_errors=True)


_bouncer: PgBouncer | None = None


def _through_pgbouncer(url: str) -> str:
    """The same database, reached through a transaction-mode PgBouncer (started once)."""
    global _bouncer
    if _bouncer is None:
        _bouncer = PgBouncer().start()
        atexit.register(_bouncer.stop)
    return _bouncer.url(url.rpartition("/")[2])


def _postgres(*, serverless: bool = False, pool_size: int = 1, reach: Callable[[str], str] = str) -> StorageFactory:
    """A fresh database per case; `reach` turns its URL into the one the adapter uses."""

    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[Storage]:
        from continuum.storage.postgres import PostgresStorage

        with temporary_database("continuum_contract") as url:
            settings = Settings(postgres_url=reach(url), postgres_pool_size=pool_size, postgres_max_overflow=3)
            storage = PostgresStorage(settings.postgres, serverless=serverless)
            try:
                await storage.connect()
                await storage.migrate()
                yield storage
            finally:
                await storage.close()

    return factory


register_storage("sqlite", sqlite_storage)
register_storage("postgres", _postgres())
register_storage("postgres-serverless", _postgres(serverless=True))
register_storage("postgres-pgbouncer", _postgres(pool_size=2, reach=_through_pgbouncer))


# ---- caches -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def memory_cache() -> AsyncIterator[Cache]:
    yield InProcessCache()


@contextlib.asynccontextmanager
async def sqlite_file_cache() -> AsyncIterator[Cache]:
    from continuum.cache.sqlite_file import SqliteFileCache

    with tempfile.TemporaryDirectory(prefix="continuum-cache-") as folder:
        cache = SqliteFileCache(str(Path(folder) / "records.db"))
        try:
            yield cache
        finally:
            await cache.close()


class Prefixed:
    """A cache whose keys live under a unique prefix (the shared Redis serves others too)."""

    def __init__(self, inner: Cache, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix
        self.name = inner.name

    async def get(self, key: str) -> str | None:
        return await self.inner.get(self.prefix + key)

    async def set(self, key: str, value: str, ttl: int) -> None:
        await self.inner.set(self.prefix + key, value, ttl)

    async def set_if_absent(self, key: str, value: str, ttl: int) -> bool:
        return await self.inner.set_if_absent(self.prefix + key, value, ttl)

    async def delete(self, *keys: str) -> None:
        await self.inner.delete(*(self.prefix + k for k in keys))

    async def incr(self, key: str, ttl: int) -> int:
        return await self.inner.incr(self.prefix + key, ttl)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


@contextlib.asynccontextmanager
async def redis_cache() -> AsyncIterator[Cache]:
    from continuum.cache.redis import RedisCache

    prefix = f"continuum-contract:{secrets.token_hex(6)}:"
    cache = RedisCache(REDIS_URL)
    try:
        yield Prefixed(cache, prefix)
    finally:
        await cache.close()
        delete_redis_keys(prefix)


@contextlib.asynccontextmanager
async def upstash_cache() -> AsyncIterator[Cache]:
    from continuum.cache.upstash import UpstashCache
    from tests.support.upstash_server import UpstashServer

    prefix = f"continuum-contract:{secrets.token_hex(6)}:"
    workdir = Path(tempfile.mkdtemp(prefix="continuum-upstash-"))
    server = UpstashServer(REDIS_URL, free_port(), secrets.token_hex(16), workdir)
    server.start()
    cache = UpstashCache(server.url, server.token)
    try:
        yield Prefixed(cache, prefix)
    finally:
        await cache.close()
        server.stop()
        delete_redis_keys(prefix)
        shutil.rmtree(workdir, ignore_errors=True)


register_cache("memory", memory_cache)
register_cache("sqlite-file", sqlite_file_cache)
register_cache("redis", redis_cache)
register_cache("upstash", upstash_cache)
