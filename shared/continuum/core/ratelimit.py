"""Per-tenant request rate limit: a fixed one-minute window counted in the cache.

The count lives in the shared cache when there is one (so every instance sees the
same total) and in-process otherwise. If the cache cannot be reached the request
is allowed: an outage of the cache must not become an outage of the API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from continuum.errors import RateLimited
from continuum.ports import Cache, CacheUnavailable

log = logging.getLogger("continuum.ratelimit")

WINDOW_SECONDS = 60


class RateLimiter:
    def __init__(
        self,
        cache: Cache | None,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.time,
        prefix: str = "continuum:",
    ) -> None:
        self.cache = cache
        self.per_minute = per_minute
        self.clock = clock
        self.prefix = prefix

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 and self.cache is not None

    async def check(self, tenant_id: str) -> None:
        """Count one request; raise RateLimited (429, Retry-After) past the limit."""
        if not self.enabled:
            return
        assert self.cache is not None
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        try:
            count = await self.cache.incr(f"{self.prefix}rate:{tenant_id}:{window}", WINDOW_SECONDS + 5)
        except CacheUnavailable:
            log.warning("rate limit not enforced: cache unavailable")
            return
        if count > self.per_minute:
            retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
            raise RateLimited(
                f"more than {self.per_minute} requests this minute for tenant {tenant_id}",
                retry_after=retry_after,
            )
