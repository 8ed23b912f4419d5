"""Shared cache on Redis (REDIS_URL), through redis-py's asyncio client.

Short socket timeouts and no retries: a dead or slow Redis costs a request at most
about one timeout, after which the breaker answers at once for a second, and the
layered cache (core/caching.py) serves from the database meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from continuum.cache.breaker import Breaker

T = TypeVar("T")

TIMEOUT = 0.5
_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


class RedisCache:
    name = "redis"

    def __init__(self, url: str, *, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._client = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=30,
        )
        self._breaker = Breaker("redis")

    async def _call(self, action: Callable[[], Awaitable[T]], *, probe: bool = False) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(action(), timeout=self.timeout * 2)

        return await self._breaker.call(bounded, errors=_ERRORS, probe=probe)

    async def get(self, key: str) -> str | None:
        return await self._call(lambda: self._client.get(key))

    async def set(self, key: str, value: str, ttl: int) -> None:
        await self._call(lambda: self._client.set(key, value, ex=ttl))

    async def set_if_absent(self, key: str, value: str, ttl: int) -> bool:
        return bool(await self._call(lambda: self._client.set(key, value, ex=ttl, nx=True)))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._call(lambda: self._client.delete(*keys))

    async def incr(self, key: str, ttl: int) -> int:
        """Atomic: the expiry is set when the counter is created, never extended."""

        async def run() -> int:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, ttl, nx=True)
                value, _ = await pipe.execute()
            return int(value)

        return await self._call(run)

    async def ping(self) -> None:
        await self._call(lambda: self._client.ping(), probe=True)

    async def close(self) -> None:
        with contextlib.suppress(*_ERRORS):
            await self._client.aclose()
