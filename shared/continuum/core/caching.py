"""Layered result cache: L1 in-process, optional L2 shared (Redis, Upstash), L3 the database.

Invalidation is by generation: each tenant has a counter in the shared cache that
every write bumps, and every cached value's key carries the generation it was
computed at. A write on any instance therefore hides stale results on all of them.
Without a shared cache, the generation lives in-process (correct for one process).

Two rules make that a guarantee (docs/caching.md states it and names its tests):

- A result is stored only under the generation read BEFORE its database read began:
  `lookup` reads the generation and returns a `CacheLookup` that carries the key, and
  `store` files the value under that key, never under a newer generation. A read that
  straddles a write therefore files its (older) answer under a generation the write has
  already retired.
- A write is acknowledged only after its invalidation reached the shared cache.
  `before_write` refuses a write while the shared cache cannot be reached (nothing is
  stored: 503, retry); `invalidate` raises `InvalidationNotPublished` (503) when the
  bump fails after the database write, so an instance cut off from the shared cache
  never acknowledges what the others cannot see.

Reads step aside while the shared cache is down: they go to the database and store
nothing. A generation starts at a random 52-bit number, never at 0: after a cache
restart or eviction the counter cannot come back to a value older entries were keyed by.
Invalidations that failed are replayed as soon as the cache answers again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from continuum.errors import DependencyUnavailable
from continuum.ports import Cache, CacheUnavailable, Metrics, NullMetrics

log = logging.getLogger("continuum.cache")

GENERATION_TTL = 7 * 86_400
RETRY_AFTER = 1


class InvalidationNotPublished(DependencyUnavailable):
    """A write could not tell the other instances (the shared cache is unreachable)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=RETRY_AFTER)


@dataclass(frozen=True)
class CacheLookup:
    """What `ResultCache.lookup` found, and the only key a freshly computed value may be
    stored under: the one of the generation read before the caller's database read.
    `key` is None when nothing may be stored (cache disabled or unreachable)."""

    value: Any | None
    key: str | None


MISS = CacheLookup(None, None)


class ResultCache:
    def __init__(
        self,
        local: Cache | None,
        shared: Cache | None,
        *,
        ttl: int,
        metrics: Metrics | None = None,
        prefix: str = "continuum:",
    ) -> None:
        self.local = local
        self.shared = shared
        self.ttl = ttl
        self.metrics = metrics or NullMetrics()
        self.prefix = prefix
        self.degraded_reason: str | None = None
        self._unsent_invalidations: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self.local is not None or self.shared is not None

    def _note_failure(self, exc: Exception) -> None:
        if self.degraded_reason is None:
            log.warning("shared cache unavailable, serving from the database", extra={"error": str(exc)})
        self.degraded_reason = str(exc) or exc.__class__.__name__

    def _generation_key(self, tenant_id: str) -> str:
        return f"{self.prefix}gen:{tenant_id}"

    async def _read_generation(self, cache: Cache, key: str) -> str:
        value = await cache.get(key)
        if value is None:
            await cache.set_if_absent(key, str(secrets.randbits(52)), GENERATION_TTL)
            value = await cache.get(key)
        return value or "0"

    @staticmethod
    async def _bump(cache: Cache, key: str) -> None:
        """Move a generation on. A missing one (first write, or a cache that restarted
        empty or evicted it) is seeded at random first: INCR alone would restart it at 1,
        a number that entries cached before (e.g. in an instance's L1) may be keyed by."""
        await cache.set_if_absent(key, str(secrets.randbits(52)), GENERATION_TTL)
        await cache.incr(key, GENERATION_TTL)

    async def _replay_invalidations(self) -> None:
        assert self.shared is not None
        for tenant_id in list(self._unsent_invalidations):
            await self._bump(self.shared, self._generation_key(tenant_id))
            self._unsent_invalidations.discard(tenant_id)

    async def _generation(self, tenant_id: str) -> str | None:
        key = self._generation_key(tenant_id)
        if self.shared is None:
            assert self.local is not None
            return await self._read_generation(self.local, key)
        try:
            if self._unsent_invalidations:
                await self._replay_invalidations()
            value = await self._read_generation(self.shared, key)
        except CacheUnavailable as exc:
            self._note_failure(exc)
            return None
        self.degraded_reason = None
        return value

    def _key(self, tenant_id: str, generation: str, namespace: str, parts: Any) -> str:
        digest = hashlib.blake2b(
            json.dumps(parts, sort_keys=True, default=str).encode("utf-8"), digest_size=16
        ).hexdigest()
        return f"{self.prefix}{namespace}:{tenant_id}:{generation}:{digest}"

    async def lookup(self, tenant_id: str, namespace: str, parts: Any) -> CacheLookup:
        """Call before reading the database; pass the answer to `store` afterwards."""
        if not self.enabled:
            return MISS
        generation = await self._generation(tenant_id)
        if generation is None:
            return MISS
        key = self._key(tenant_id, generation, namespace, parts)
        raw = await self.local.get(key) if self.local is not None else None
        if raw is None and self.shared is not None:
            try:
                raw = await self.shared.get(key)
            except CacheUnavailable as exc:
                self._note_failure(exc)
                return MISS
            if raw is not None and self.local is not None:
                await self.local.set(key, raw, self.ttl)
        if raw is None:
            self.metrics.cache_miss()
            return CacheLookup(None, key)
        self.metrics.cache_hit()
        return CacheLookup(json.loads(raw), key)

    async def store(self, lookup: CacheLookup, value: Any) -> None:
        """File `value` under the generation `lookup` read: if a write moved it on since,
        the entry is born stale and no reader will ever be given it."""
        if lookup.key is None:
            return
        raw = json.dumps(value, default=str)
        if self.local is not None:
            await self.local.set(lookup.key, raw, self.ttl)
        if self.shared is not None:
            try:
                await self.shared.set(lookup.key, raw, self.ttl)
            except CacheUnavailable as exc:
                self._note_failure(exc)

    async def before_write(self, tenant_id: str) -> None:
        """Refuse a write, before it changes anything, while its invalidation could not be
        published: the shared cache is unreachable (or holds unsent invalidations it
        will not take). Cheap: one read of the generation."""
        if self.shared is None:
            return
        try:
            if self._unsent_invalidations:
                await self._replay_invalidations()
            await self.shared.get(self._generation_key(tenant_id))
        except CacheUnavailable as exc:
            self._note_failure(exc)
            raise InvalidationNotPublished(
                "shared cache unreachable: the write was not applied, so other instances cannot "
                "show a stale answer; retry it"
            ) from None
        self.degraded_reason = None

    async def invalidate(self, tenant_id: str) -> None:
        """Called after every write of a tenant, before the write is acknowledged. Raises
        `InvalidationNotPublished` when the shared generation could not be moved on: the
        write is stored but must not be acknowledged (the invalidation is replayed later)."""
        if not self.enabled:
            return
        key = self._generation_key(tenant_id)
        if self.local is not None:
            await self._bump(self.local, key)
        if self.shared is None:
            return
        try:
            await self._bump(self.shared, key)
        except CacheUnavailable as exc:
            self._unsent_invalidations.add(tenant_id)
            self._note_failure(exc)
            raise InvalidationNotPublished(
                "the write was stored, but the shared cache could not be told, so other instances "
                "may not show it yet: it is not acknowledged; retry it"
            ) from None

    async def health(self) -> str:
        if not self.enabled:
            return "disabled"
        if self.shared is None:
            return "ok"
        try:
            await self.shared.ping()
            if self._unsent_invalidations:
                await self._replay_invalidations()
        except CacheUnavailable as exc:
            self._note_failure(exc)
            return "degraded"
        self.degraded_reason = None
        return "ok"
