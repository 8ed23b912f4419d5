"""What the Redis and Upstash caches share: the same commands, each call bounded by a
timeout and a breaker, so a dead or slow shared cache costs a request at most about one
timeout, after which the breaker answers at once and the layered cache (core/caching.py)
serves from the database meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from continuum.cache.breaker import Breaker

T = TypeVar("T")


class GuardedCache:
    """Base of a shared-cache adapter over a redis-py-shaped async client (`get`, `set`
    with `ex`/`nx`, `delete`, `ping`). Subclasses build `_client` and add `incr`, `close`."""

    name = "guarded"
    errors: tuple[type[BaseException], ...] = (Exception,)

    def __init__(self, client: Any, *, call_timeout: float) -> None:
        self._client = client
        self._call_timeout = call_timeout
        self._breaker = Breaker(self.name)

    async def _call(self, action: Callable[[], Awaitable[T]], *, probe: bool = False) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(action(), timeout=self._call_timeout)

        return await self._breaker.call(bounded, errors=self.errors, probe=probe)

    async def get(self, key: str) -> str | None:
        return await self._call(lambda: self._client.get(key))

    async def set(self, key: str, value: str, ttl: int) -> None:
        await self._call(lambda: self._client.set(key, value, ex=ttl))

    async def set_if_absent(self, key: str, value: str, ttl: int) -> bool:
        return bool(await self._call(lambda: self._client.set(key, value, ex=ttl, nx=True)))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._call(lambda: self._client.delete(*keys))

    async def ping(self) -> None:
        await self._call(lambda: self._client.ping(), probe=True)
