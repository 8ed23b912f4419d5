"""Shared cache on Upstash Redis over its REST API (UPSTASH_REDIS_REST_URL/_TOKEN).

Uses the `upstash-redis` asyncio client, which speaks HTTP through httpx only (no
sockets of its own), so the same adapter runs on AWS Lambda and in Cloudflare Python
Workers (where httpx is carried over `fetch`). Telemetry and the client's 3-second
retry are off; every call is bounded by a short timeout and a breaker, so a dead
Upstash costs little and the layered cache falls back to the database.
"""

from __future__ import annotations

import contextlib

from continuum.cache.guarded import GuardedCache

TIMEOUT = 1.0  # HTTPS round trips to a regional endpoint: a little more room than Redis
_ERRORS = (Exception,)  # any transport, HTTP, protocol or decoding failure of the client


class UpstashCache(GuardedCache):
    name = "upstash"
    errors = _ERRORS

    def __init__(self, url: str, token: str, *, timeout: float = TIMEOUT) -> None:
        from upstash_redis.asyncio import Redis

        client = Redis(
            url.rstrip("/"),
            token,
            rest_encoding="base64",
            rest_retries=0,
            rest_retry_interval=0,
            allow_telemetry=False,
        )
        super().__init__(client, call_timeout=timeout)

    async def incr(self, key: str, ttl: int) -> int:
        """Atomic (one /multi-exec request): the expiry is set when the counter is created."""

        async def run() -> int:
            pipe = self._client.multi()
            pipe.incr(key)
            pipe.expire(key, ttl, nx=True)
            value, _ = await pipe.exec()
            return int(value)

        return await self._call(run)

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken client must not fail shutdown
            await self._client.close()
