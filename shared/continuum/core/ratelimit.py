"""Per-tenant request rate limit: a fixed one-minute window counted in the cache.

The count lives in the shared cache when there is one (so every instance sees the
same total) and in-process otherwise. If the shared cache cannot be reached, this
instance counts in `fallback` until it can: an outage of the cache must not become an
outage of the API, nor switch the limit off. Keys carry the deployment's cache prefix,
so two deployments on one Redis keep separate counts.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from continuum.clock import Clock
from continuum.errors import RateLimited
from continuum.ports import Cache, CacheUnavailable

log = logging.getLogger("continuum.ratelimit")

WINDOW_SECONDS = 60


class RateLimiter:
    def __init__(self, cache: Cache | None, per_minute: int, *, clock: Clock, prefix: str, fallback: Cache) -> None:
        self.cache = cache
        self.per_minute = per_minute
        self.clock = clock
        self.prefix = prefix
        self.fallback = fallback

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 and self.cache is not None

    async def check(self, tenant_id: str) -> None:
        """Count one request; raise RateLimited (429, Retry-After) past the limit."""
        if not self.enabled:
            return
        window = await self.count(tenant_id, self.per_minute)
        if window.exceeded:
            raise window.error(tenant_id)

    async def count(self, tenant_id: str, limit: int) -> RateWindow:
        """Count one request against `limit` this minute (a tier's, or `per_minute`); the
        window as it stands, for X-RateLimit-* headers. Raises nothing."""
        assert self.cache is not None
        now = self.clock.now().timestamp()
        window = int(now // WINDOW_SECONDS)
        key = f"{self.prefix}rate:{tenant_id}:{window}"
        try:
            count = await self.cache.incr(key, WINDOW_SECONDS + 5)
        except CacheUnavailable:
            log.warning("rate limit counted on this instance only: shared cache unavailable")
            count = await self.fallback.incr(key, WINDOW_SECONDS + 5)
        reset = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
        return RateWindow(limit=limit, count=count, reset=reset)


class RateWindow(NamedTuple):
    """One tenant's count in the current minute against its limit; `reset`: seconds left."""

    limit: int
    count: int
    reset: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }

    def error(self, tenant_id: str) -> RateLimited:
        return RateLimited(
            f"more than {self.limit} requests this minute for tenant {tenant_id}", retry_after=self.reset
        )
