"""Per-tenant request rate limit: a fixed one-minute window counted in the cache.

The count lives in the shared cache when there is one (so every instance sees the
same total) and in-process otherwise. If the shared cache cannot be reached, this
instance counts in `fallback` until it can: an outage of the cache must not become an
outage of the API, nor switch the limit off. Keys carry the deployment's cache prefix,
so two deployments on one Redis keep separate counts.
"""

from __future__ import annotations

import logging

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
        assert self.cache is not None
        now = self.clock.now().timestamp()
        window = int(now // WINDOW_SECONDS)
        key = f"{self.prefix}rate:{tenant_id}:{window}"
        try:
            count = await self.cache.incr(key, WINDOW_SECONDS + 5)
        except CacheUnavailable:
            log.warning("rate limit counted on this instance only: shared cache unavailable")
            count = await self.fallback.incr(key, WINDOW_SECONDS + 5)
        if count > self.per_minute:
            retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
            raise RateLimited(
                f"more than {self.per_minute} requests this minute for tenant {tenant_id}",
                retry_after=retry_after,
            )
