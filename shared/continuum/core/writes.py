"""The engine's writes: learn a turn, store, update and delete memories.

Every write ends with the same step (`_after_write`): the tenant's cached results are
invalidated on every instance (kept pending and published later when the shared cache
does not answer: docs/caching.md), newly stored content goes to the embedding indexer,
the change's events go to live subscribers (`continuum.core.events`), and the metrics
count it. A write that finds nothing to change (404) invalidates too: it
may be the retry of a write whose process died before invalidating.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from continuum.clock import Clock
from continuum.core.caching import ResultCache
from continuum.core.operations.learn import LearnInput, LearnResult
from continuum.core.records import Records
from continuum.errors import InvalidInput, NotFound
from continuum.models import Event, InsertResult, MemoryChanges, MemoryRecord
from continuum.ports import EventPublisher, Metrics, NullEventPublisher, Storage

if TYPE_CHECKING:
    from continuum.core.events import EventFactory
    from continuum.core.indexer import EmbeddingIndexer
    from continuum.core.operations.memories import MemoryPatch, MemoryView, NewMemory, StoredBatch, StoredMemory


def _check_expiry(expires_at: datetime | None, now: datetime, field: str) -> None:
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(f"{field}: must be in the future")


class Writes:
    def __init__(
        self, storage: Storage, cache: ResultCache, records: Records, *, clock: Clock, metrics: Metrics,
        indexer: EmbeddingIndexer | None, events: EventPublisher | None = None,
    ) -> None:  # fmt: skip
        self.storage = storage
        self.cache = cache
        self.records = records
        self.clock = clock
        self.metrics = metrics
        self.indexer = indexer  # embeds stored memories (continuum.core.indexer), or None
        self._known_tenants: set[str] = set()
        self.events = events or NullEventPublisher()
        self._event_factory: EventFactory | None = None

    @property
    def raises_events(self) -> bool:
        return not isinstance(self.events, NullEventPublisher)

    @property
    def event_factory(self) -> EventFactory:
        if self._event_factory is None:
            from continuum.core.events import EventFactory

            self._event_factory = EventFactory(self.records.ids, self.records.cipher)
        return self._event_factory

    async def ensure_tenant(self, tenant_id: str, now: datetime) -> None:
        if tenant_id not in self._known_tenants:
            await self.storage.ensure_tenant(tenant_id, None, now)
            self._known_tenants.add(tenant_id)

    def forget_tenant(self, tenant_id: str) -> None:
        self._known_tenants.discard(tenant_id)

    async def _after_write(
        self,
        tenant_id: str,
        written: Sequence[MemoryRecord] = (),
        results: Sequence[InsertResult] | None = None,
        *,
        concepts: int | None = None,
        events: Sequence[Event] = (),
    ) -> None:
        """Invalidate (on every instance; kept pending and published later when the shared
        cache does not answer: docs/caching.md), hand new content to the indexer, count.
        `results` (when the write could find duplicates) says which of `written` were
        stored; only those count."""
        await self.cache.invalidate(tenant_id)
        if results is not None:
            stored = {r.id for r in results if r.status == "stored"}
            written = [r for r in written if r.id in stored]
        if self.indexer is not None and written:
            await self.indexer.submit(tenant_id, written)
        if results is not None:
            self.metrics.memories_stored(sum(1 for r in results if r.status == "stored"))
        if concepts is not None:
            self.metrics.concepts_extracted(concepts)
        if events:
            await self.events.publish(events)

    def _history_ids(self, count: int) -> list[str]:
        """Ids of the change-history entries a write records with the change (the storage
        copies each entry from the memory's row, content as stored: ciphertext when encryption is on)."""
        return [self.records.ids.new_id() for _ in range(count)]

    async def _not_found(self, tenant_id: str, memory_id: str) -> NotFound:
        # may be the retry of a write whose process died between its commit and its
        # invalidation: after this 404, no instance may still show the memory as it was
        await self.cache.invalidate(tenant_id)
        return NotFound(f"memory {memory_id} not found")

    async def learn(self, tenant_id: str, request: LearnInput) -> LearnResult:
        now = self.clock.now()
        await self.ensure_tenant(tenant_id, now)
        write = self.records.learn_write(tenant_id, request, now)
        write.history_ids = self._history_ids(len(write.memories))
        outcome = await self.storage.learn(tenant_id, write)  # with the ADD entries of those stored
        events: list[Event] = []
        if self.raises_events:
            stored = {r.id for r in outcome.results if r.status == "stored"}
            new = set(outcome.new_concepts)
            events = self.event_factory.created(tenant_id, [m for m in write.memories if m.id in stored], now)
            events += self.event_factory.discovered(tenant_id, [c for c in write.concepts if c.key in new], now)
        await self._after_write(tenant_id, write.memories, outcome.results, concepts=len(write.concepts), events=events)
        return LearnResult(
            concepts_extracted=len(write.concepts),
            decisions_detected=len(write.decisions),
            links_created=outcome.links_created,
            memory_ids=[r.id for r in outcome.results],
            tenant_id=tenant_id,
        )

    async def store_memory(self, tenant_id: str, memory: NewMemory) -> StoredMemory:
        from continuum.core.operations.memories import StoredMemory

        result = await self.store_batch(tenant_id, [memory], field="")
        item = result.results[0]
        return StoredMemory(id=item.id, status=item.status, tenant_id=tenant_id)

    async def store_batch(
        self, tenant_id: str, memories: Sequence[NewMemory], *, field: str = "memories"
    ) -> StoredBatch:
        # imported here: learn (and turn) never import the memories' values
        from continuum.core.operations.memories import StoredBatch

        now = self.clock.now()
        for index, item in enumerate(memories):
            where = f"{field}[{index}].expires_at" if field else "expires_at"
            _check_expiry(item.expires_at, now, where)
        await self.ensure_tenant(tenant_id, now)
        records = [
            self.records.new_memory(
                tenant_id,
                item.content,
                role=item.role,
                instance_id=item.instance_id,
                session_id=item.session_id,
                metadata=item.metadata,
                now=now,
                expires_at=item.expires_at,
            )
            for item in memories
        ]
        if any(item.created_at is not None for item in memories):
            records = [
                replace(record, created_at=item.created_at) if item.created_at is not None else record
                for record, item in zip(records, memories, strict=True)
            ]
        results = await self.storage.insert_memories(
            tenant_id, records, now, history_ids=self._history_ids(len(records))
        )
        events: list[Event] = []
        if self.raises_events:
            stored = {r.id for r in results if r.status == "stored"}
            events = self.event_factory.created(tenant_id, [m for m in records if m.id in stored], now)
        await self._after_write(tenant_id, records, results, events=events)
        return StoredBatch(results=[InsertResult(id=r.id, status=r.status) for r in results], tenant_id=tenant_id)

    async def update_memory(self, tenant_id: str, memory_id: str, patch: MemoryPatch) -> MemoryView:
        now = self.clock.now()
        provided = patch.provided
        if "expires_at" in provided:
            _check_expiry(patch.expires_at, now, "expires_at")
        for name in ("content", "role", "metadata"):
            if name in provided and getattr(patch, name) is None:
                raise InvalidInput(f"{name}: must not be null")
        changes = MemoryChanges(
            role=patch.role,
            metadata=patch.metadata,
            expires_at=patch.expires_at,
            clear_expiry="expires_at" in provided and patch.expires_at is None,
        )
        if patch.content is not None:
            changes.content, changes.content_hash, changes.search_terms = self.records.index_fields(patch.content)
        record = await self.storage.update_memory(
            tenant_id, memory_id, changes, now, history_id=self.records.ids.new_id()
        )
        if record is None:
            raise await self._not_found(tenant_id, memory_id)
        events = [self.event_factory.updated(tenant_id, record, now)] if self.raises_events else []
        await self._after_write(tenant_id, [record] if patch.content is not None else [], events=events)
        return self.records.memory_view(record)

    async def delete_memory(self, tenant_id: str, memory_id: str) -> None:
        now = self.clock.now()
        if not await self.storage.delete_memory(tenant_id, memory_id, now, history_id=self.records.ids.new_id()):
            raise await self._not_found(tenant_id, memory_id)
        events = self.event_factory.deleted(tenant_id, [memory_id], now) if self.raises_events else []
        await self._after_write(tenant_id, events=events)

    async def delete_memories(self, tenant_id: str, memory_ids: Sequence[str]) -> list[str]:
        """Delete each memory that exists (one invalidation); the ids deleted."""
        now = self.clock.now()
        deleted = [
            m
            for m in dict.fromkeys(memory_ids)
            if await self.storage.delete_memory(tenant_id, m, now, history_id=self.records.ids.new_id())
        ]
        events = self.event_factory.deleted(tenant_id, deleted, now) if self.raises_events else []
        await self._after_write(tenant_id, events=events)
        return deleted
