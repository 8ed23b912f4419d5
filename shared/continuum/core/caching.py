"""Layered result cache: L1 in-process, optional L2 shared (Redis, Upstash), L3 the database.

Invalidation is by generation: each tenant has a counter in the shared cache that
every write bumps, and every cached value's key carries the generation it was
computed at. A write on any instance therefore hides stale results on all of them.
Without a shared cache, the generation lives in-process (correct for one process).
If the shared cache fails, the layer steps aside and requests go to the database.

A generation starts at a random 52-bit number, never at 0: after a cache restart or
eviction the counter cannot come back to a value that older entries were keyed by.
Invalidations that fail during an outage are replayed once the cache answers again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from typing import Any

from continuum.ports import Cache, CacheUnavailable, Metrics, NullMetrics

log = logging.getLogger("continuum.cache")

GENERATION_TTL = 7 * 86_400


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

    async def _read_generation(self, cache: Cache, key: str) -> str:
        value = await cache.get(key)
        if value is None:
            await cache.set_if_absent(key, str(secrets.randbits(52)), GENERATION_TTL)
            value = await cache.get(key)
        return value or "0"

    @staticmethod
    async def _bump(cache: Cache, key: str) -> None:
        """Move a generation on. A missing one (first write, or a cache that restarted
        empty) is seeded at random first: INCR alone would restart it at 1, a number
        that entries cached before the restart (e.g. in an instance's L1) were keyed by."""
        await cache.set_if_absent(key, str(secrets.randbits(52)), GENERATION_TTL)
        await cache.incr(key, GENERATION_TTL)

    async def _replay_invalidations(self) -> None:
        assert self.shared is not None
        for tenant_id in list(self._unsent_invalidations):
            await self._bump(self.shared, f"{self.prefix}gen:{tenant_id}")
            self._unsent_invalidations.discard(tenant_id)

    async def _generation(self, tenant_id: str) -> str | None:
        key = f"{self.prefix}gen:{tenant_id}"
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

    async def get(self, tenant_id: str, namespace: str, parts: Any) -> Any | None:
        if not self.enabled:
            return None
        generation = await self._generation(tenant_id)
        if generation is None:
            return None
        key = self._key(tenant_id, generation, namespace, parts)
        raw = await self.local.get(key) if self.local is not None else None
        if raw is None and self.shared is not None:
            try:
                raw = await self.shared.get(key)
            except CacheUnavailable as exc:
                self._note_failure(exc)
                raw = None
            if raw is not None and self.local is not None:
                await self.local.set(key, raw, self.ttl)
        if raw is None:
            self.metrics.cache_miss()
            return None
        self.metrics.cache_hit()
        return json.loads(raw)

    async def put(self, tenant_id: str, namespace: str, parts: Any, value: Any) -> None:
        if not self.enabled:
            return
        generation = await self._generation(tenant_id)
        if generation is None:
            return
        key = self._key(tenant_id, generation, namespace, parts)
        raw = json.dumps(value, default=str)
        if self.local is not None:
            await self.local.set(key, raw, self.ttl)
        if self.shared is not None:
            try:
                await self.shared.set(key, raw, self.ttl)
            except CacheUnavailable as exc:
                self._note_failure(exc)

    async def invalidate(self, tenant_id: str) -> None:
        """Called after every write of a tenant, before the write is acknowledged."""
        if not self.enabled:
            return
        key = f"{self.prefix}gen:{tenant_id}"
        if self.local is not None:
            await self.local.incr(key, GENERATION_TTL)
        if self.shared is not None:
            try:
                await self._bump(self.shared, key)
            except CacheUnavailable as exc:
                self._unsent_invalidations.add(tenant_id)
                self._note_failure(exc)

    async def health(self) -> str:
        if not self.enabled:
            return "disabled"
        if self.shared is None:
            return "ok"
        try:
            await self.shared.ping()
        except CacheUnavailable as exc:
            self._note_failure(exc)
            return "degraded"
        self.degraded_reason = None
        return "ok"
