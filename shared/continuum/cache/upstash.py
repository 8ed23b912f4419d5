"""Shared cache on Upstash Redis over its REST API (UPSTASH_REDIS_REST_URL/_TOKEN).

Uses the `upstash-redis` asyncio client, which speaks HTTP through httpx only (no
sockets of its own), so the same adapter runs on AWS Lambda and in Cloudflare Python
Workers (where httpx is carried over `fetch`). Telemetry and the client's 3-second
retry are off; every call is bounded by a short timeout and a breaker, so a dead
Upstash costs little and the layered cache falls back to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from continuum.cache.breaker import Breaker

T = TypeVar("T")

TIMEOUT = 1.0  # HTTPS round trips to a regional endpoint: a little more room than Redis
_ERRORS = (Exception,)  # any transport, HTTP, protocol or decoding failure of the client


class UpstashCache:
    name = "upstash"

    def __init__(self, url: str, token: str, *, timeout: float = TIMEOUT) -> None:
        from upstash_redis.asyncio import Redis

        self.timeout = timeout
        self._client: Any = Redis(
            url.rstrip("/"),
            token,
            rest_encoding="base64",
            rest_retries=0,
            rest_retry_interval=0,
            allow_telemetry=False,
        )
        self._breaker = Breaker("upstash")

    async def _call(self, action: Callable[[], Awaitable[T]], *, probe: bool = False) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(action(), timeout=self.timeout)

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
        """Atomic (one /multi-exec request): the expiry is set when the counter is created."""

        async def run() -> int:
            pipe = self._client.multi()
            pipe.incr(key)
            pipe.expire(key, ttl, nx=True)
            value, _ = await pipe.exec()
            return int(value)

        return await self._call(run)

    async def ping(self) -> None:
        await self._call(lambda: self._client.ping(), probe=True)

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken client must not fail shutdown
            await self._client.close()
