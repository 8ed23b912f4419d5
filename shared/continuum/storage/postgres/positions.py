"""Where each tenant's last write ended in the primary's WAL (an LSN), so that its reads
go to a replica only once that replica has replayed past it.

`MemoryPositions` serves one process; `RedisPositions` shares the positions between
every instance using the same Redis (REDIS_URL), so a write acknowledged by one instance
is honoured by the reads of all the others. Both keep a position for `ttl` seconds after
the tenant's last write; the replica set never uses a replica that is more than
POSTGRES_READ_MAX_LAG (< ttl) behind, so a forgotten position is always already replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

log = logging.getLogger("continuum.storage.postgres")

UNKNOWN = (1 << 64) - 1  # "could not learn the position": read this tenant from the primary


def parse_lsn(text: str) -> int:
    """'16/B374D848' -> an integer that orders like the WAL."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def record_end(lsn: int, *, block: int = 8192, segment: int = 16 << 20) -> int:
    """`pg_current_wal_insert_lsn()` points past a page header when the last record ended
    at a page boundary, while a standby's replay position stops at the boundary: the same
    place, as no record lies in a header (24 bytes, 40 on a segment's first page)."""
    if lsn % segment == 40:
        return lsn - 40
    if lsn % block == 24:
        return lsn - 24
    return lsn


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


class PositionsUnavailable(Exception):
    """The shared store could not answer: the caller reads from the primary."""


class WritePositions(Protocol):
    name: str

    async def get(self, tenant_id: str) -> int | None: ...
    async def advance(self, tenant_id: str, lsn: int) -> None: ...
    async def close(self) -> None: ...


class MemoryPositions:
    """In this process only; entries expire `ttl` seconds after the tenant's last write."""

    name = "memory"

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[int, float]] = {}
        self._next_prune = time.monotonic() + ttl

    async def get(self, tenant_id: str) -> int | None:
        entry = self._entries.get(tenant_id)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    async def advance(self, tenant_id: str, lsn: int) -> None:
        now = time.monotonic()
        old = self._entries.get(tenant_id)
        keep = old[0] if old is not None and old[1] >= now else 0
        self._entries[tenant_id] = (max(keep, lsn), now + self.ttl)
        if now >= self._next_prune:
            self._entries = {k: v for k, v in self._entries.items() if v[1] >= now}
            self._next_prune = now + self.ttl

    async def close(self) -> None:
        self._entries.clear()


# Keep the larger of the stored and the new position (positions as fixed-width hex, so
# string order is WAL order) and restart the expiry.
_ADVANCE = """
local old = redis.call('GET', KEYS[1])
if (not old) or old < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class RedisPositions:
    """Shared by every instance on the same Redis; this process's own writes are also kept
    locally, so its own reads stay exact even while Redis is unreachable."""

    name = "redis"
    TIMEOUT = 0.5

    def __init__(self, url: str, *, prefix: str, ttl: float) -> None:
        from continuum.extras import require

        require("redis", "REDIS_URL (shared read positions for POSTGRES_READ_URLS)")
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.ttl = ttl
        self.prefix = f"{prefix}pg-lsn:"
        self.local = MemoryPositions(ttl)
        self._client = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=self.TIMEOUT, socket_timeout=self.TIMEOUT,
            retry=Retry(NoBackoff(), 0), retry_on_timeout=False,
        )  # fmt: skip
        self._advance = self._client.register_script(_ADVANCE)

    async def get(self, tenant_id: str) -> int | None:
        try:
            raw = await asyncio.wait_for(self._client.get(self.prefix + tenant_id), self.TIMEOUT * 2)
        except Exception as exc:
            raise PositionsUnavailable(str(exc)[:200]) from None
        local = await self.local.get(tenant_id)
        shared = int(raw, 16) if raw else None
        if shared is None:
            return local
        return shared if local is None else max(local, shared)

    async def advance(self, tenant_id: str, lsn: int) -> None:
        await self.local.advance(tenant_id, lsn)
        try:
            await asyncio.wait_for(
                self._advance(keys=[self.prefix + tenant_id], args=[f"{lsn:016X}", max(1, round(self.ttl))]),
                self.TIMEOUT * 2,
            )
        except Exception as exc:
            log.warning("could not share a tenant's write position", extra={"error": str(exc)[:200]})

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken client
            await self._client.aclose()
