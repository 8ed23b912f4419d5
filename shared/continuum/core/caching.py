"""Layered result cache: L1 in-process, optional L2 shared (Redis, Upstash), L3 the database.

Invalidation is by generation: each tenant has a counter in the shared cache that
every write bumps, and every cached value's key carries the generation it was
computed at. A write on any instance therefore hides stale results on all of them.
Without a shared cache, the generation lives in-process (correct for one process).

The rules that make this a guarantee (docs/caching.md states it and names its tests):

- A result is stored only under the generation read BEFORE its database read began:
  `lookup` reads the generation and returns a `CacheLookup` that carries the key, and
  `store` files the value under that key, never under a newer generation. A read that
  straddles a write therefore files its (older) answer under a generation the write has
  already retired.
- A write is acknowledged once durable in the database, whether or not the shared cache
  answers. An invalidation that could not be published is kept PENDING and published
  as soon as the shared cache answers again: by a background task retrying every
  `repair_interval` seconds where the process lives on between requests (the local
  server), and at the start of the next request that touches the cache everywhere
  (the only way on Lambda and Workers, which run nothing between requests).
- While a tenant has a pending invalidation, this instance serves that tenant nothing
  from the cache (it reads the database): it knows its own writes. Other instances may
  serve an answer cached before the unpublished write until it is published, and never
  past the answer's expiry (`ttl`): every value carries the wall-clock moment it expires,
  which an in-process copy keeps.

Reads step aside while the shared cache is down: they go to the database and store
nothing. A generation starts at a random 52-bit number, never at 0: after a cache
restart or eviction the counter cannot come back to a value older entries were keyed by.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from continuum.ports import Cache, CacheUnavailable, Metrics, NullMetrics

log = logging.getLogger("continuum.cache")

GENERATION_TTL = 7 * 86_400


@dataclass(frozen=True)
class CacheLookup:
    """What `ResultCache.lookup` found, and the only key a freshly computed value may be
    stored under: the one of the generation read before the caller's database read.
    `key` is None when nothing may be stored (cache disabled or unreachable, or the
    tenant has an invalidation this instance could not publish yet)."""

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
        repair_interval: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.local = local
        self.shared = shared
        self.ttl = ttl
        self.metrics = metrics or NullMetrics()
        self.prefix = prefix
        self.repair_interval = repair_interval  # None: no background task (Lambda, Workers, CLI)
        self._wall_clock = wall_clock
        self.degraded_reason: str | None = None
        # tenant -> number of the latest failed invalidation: a publication that began
        # before a later failure must not clear it (see _publish)
        self._pending: dict[str, int] = {}
        self._failures = 0
        self._published = asyncio.Event()
        self._published.set()
        self._repairing: asyncio.Task[None] | None = None
        self._publishing = False

    @property
    def enabled(self) -> bool:
        return self.local is not None or self.shared is not None

    @property
    def pending(self) -> frozenset[str]:
        """Tenants whose latest invalidation this instance could not publish yet."""
        return frozenset(self._pending)

    async def wait_published(self) -> None:
        """Return once no invalidation is pending (at once when none is)."""
        await self._published.wait()

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

    # ---- publishing invalidations, and keeping the ones that failed ---------------------

    async def _publish(self, tenant_id: str) -> None:
        """Bump the tenant's shared generation (raises CacheUnavailable). It retires every
        answer cached before it, so it also settles any pending invalidation of the tenant
        recorded before it began; one recorded meanwhile (a later write) stays pending."""
        assert self.shared is not None
        recorded = self._pending.get(tenant_id)
        await self._bump(self.shared, self._generation_key(tenant_id))
        if recorded is not None and self._pending.get(tenant_id) == recorded:
            del self._pending[tenant_id]
            if not self._pending:
                self._published.set()
                log.info("pending cache invalidations published")

    def _keep_pending(self, tenant_id: str) -> None:
        self._failures += 1
        self._pending[tenant_id] = self._failures
        self._published.clear()
        self._start_repair()

    async def _publish_pending(self) -> None:
        """Publish every pending invalidation, unless that is under way already (many
        requests arriving as the link heals would otherwise repeat it: they read a still
        pending tenant from the database meanwhile)."""
        if self._publishing:
            return
        self._publishing = True
        try:
            for tenant_id in list(self._pending):
                await self._publish(tenant_id)
        finally:
            self._publishing = False

    def _start_repair(self) -> None:
        if self.repair_interval is None or (self._repairing is not None and not self._repairing.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._repairing = loop.create_task(self._repair(self.repair_interval), name="continuum-cache-repair")

    async def _repair(self, interval: float) -> None:
        """Retry the pending invalidations every `interval` seconds until all are
        published, then end (a new failure starts another)."""
        while self._pending:
            await asyncio.sleep(interval)
            try:
                await self.shared.ping()  # type: ignore[union-attr]  # a probe: tried even while the breaker is open
                await self._publish_pending()
            except CacheUnavailable as exc:
                self._note_failure(exc)
            except Exception:  # a bug must not end the repair silently
                log.exception("publishing pending cache invalidations failed")
            else:
                self.degraded_reason = None

    async def _repair_inline(self) -> None:
        """Publish what is pending before using the cache (the repair on runtimes that
        run nothing between requests). Raises CacheUnavailable."""
        if self._pending:
            await self._publish_pending()

    # ---- reads ------------------------------------------------------------------------------

    async def _generation(self, tenant_id: str) -> str | None:
        key = self._generation_key(tenant_id)
        if self.shared is None:
            assert self.local is not None
            return await self._read_generation(self.local, key)
        try:
            await self._repair_inline()
        except CacheUnavailable as exc:
            self._note_failure(exc)
        if tenant_id in self._pending:
            return None  # this instance's own write is not published yet: the database
        try:
            value = await self._read_generation(self.shared, key)
        except CacheUnavailable as exc:
            self._note_failure(exc)
            return None
        if not self._pending:
            self.degraded_reason = None
        return value

    def _key(self, tenant_id: str, generation: str, namespace: str, parts: Any) -> str:
        digest = hashlib.blake2b(
            json.dumps(parts, sort_keys=True, default=str).encode("utf-8"), digest_size=16
        ).hexdigest()
        return f"{self.prefix}{namespace}:{tenant_id}:{generation}:{digest}"

    def _unpack(self, raw: str) -> tuple[float, Any] | None:
        """(expires at, value) of a live entry; None when expired or not in this format."""
        entry = json.loads(raw)
        if not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], (int, float)):
            return None
        expires_at, value = entry
        return (expires_at, value) if expires_at > self._wall_clock() else None

    async def lookup(self, tenant_id: str, namespace: str, parts: Any) -> CacheLookup:
        """Call before reading the database; pass the answer to `store` afterwards."""
        if not self.enabled:
            return MISS
        generation = await self._generation(tenant_id)
        if generation is None or tenant_id in self._pending:
            return MISS  # blind, or this instance's own write is not published (yet again)
        key = self._key(tenant_id, generation, namespace, parts)
        raw = await self.local.get(key) if self.local is not None else None
        entry = self._unpack(raw) if raw is not None else None
        if entry is None and self.shared is not None:
            try:
                raw = await self.shared.get(key)
            except CacheUnavailable as exc:
                self._note_failure(exc)
                return MISS
            entry = self._unpack(raw) if raw is not None else None
            if entry is not None and self.local is not None:
                # the copy expires when the shared entry does, not a full TTL later
                remaining = min(self.ttl, math.ceil(entry[0] - self._wall_clock()))
                await self.local.set(key, raw, max(remaining, 1))
        if entry is None:
            self.metrics.cache_miss()
            return CacheLookup(None, key)
        self.metrics.cache_hit()
        return CacheLookup(entry[1], key)

    async def store(self, lookup: CacheLookup, value: Any) -> None:
        """File `value` under the generation `lookup` read: if a write moved it on since,
        the entry is born stale and no reader will ever be given it."""
        if lookup.key is None:
            return
        raw = json.dumps([self._wall_clock() + self.ttl, value], default=str)
        if self.local is not None:
            await self.local.set(lookup.key, raw, self.ttl)
        if self.shared is not None:
            try:
                await self.shared.set(lookup.key, raw, self.ttl)
            except CacheUnavailable as exc:
                self._note_failure(exc)

    # ---- writes -----------------------------------------------------------------------------

    async def invalidate(self, tenant_id: str) -> None:
        """Called after every write of a tenant, before it is acknowledged. Never fails:
        when the shared cache does not answer, the invalidation is kept pending (and this
        instance reads the tenant from the database) until it is published."""
        if not self.enabled:
            return
        key = self._generation_key(tenant_id)
        if self.local is not None:
            await self._bump(self.local, key)
        if self.shared is None:
            return
        try:
            await self._publish(tenant_id)
        except CacheUnavailable as exc:
            self._note_failure(exc)
            self._keep_pending(tenant_id)

    async def health(self) -> str:
        """`degraded` while the shared cache does not answer or an invalidation is still
        unpublished (a check publishes what it can)."""
        if not self.enabled:
            return "disabled"
        if self.shared is None:
            return "ok"
        try:
            await self.shared.ping()
            await self._repair_inline()
        except CacheUnavailable as exc:
            self._note_failure(exc)
            return "degraded"
        if self._pending:
            return "degraded"  # being published by another request, or failed again meanwhile
        self.degraded_reason = None
        return "ok"

    async def close(self) -> None:
        """Stop the repair task, try once more to publish what is pending, close the layers."""
        if self._repairing is not None:
            self._repairing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._repairing
            self._repairing = None
        if self._pending and self.shared is not None:
            try:
                await self._publish_pending()
            except CacheUnavailable:
                log.warning(
                    "closing with unpublished cache invalidations: other instances may serve older "
                    "answers for these tenants until their entries expire",
                    extra={"tenants": len(self._pending)},
                )
        for layer in (self.local, self.shared):
            if layer is not None:
                await layer.close()
