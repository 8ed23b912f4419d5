"""Shared cache on Redis (REDIS_URL), through redis-py's asyncio client.

Short socket timeouts and no retries; every call is bounded and guarded by a breaker
(cache/guarded.py).
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from continuum.cache.guarded import GuardedCache

TIMEOUT = 0.5
_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


class RedisCache(GuardedCache):
    name = "redis"
    errors = _ERRORS

    def __init__(self, url: str, *, timeout: float = TIMEOUT) -> None:
        client = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=30,
        )
        super().__init__(client, call_timeout=timeout * 2)

    async def incr(self, key: str, ttl: int) -> int:
        """Atomic: the expiry is set when the counter is created, never extended."""

        async def run() -> int:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, ttl, nx=True)
                value, _ = await pipe.execute()
            return int(value)

        return await self._call(run)

    async def close(self) -> None:
        with contextlib.suppress(*_ERRORS):
            await self._client.aclose()
