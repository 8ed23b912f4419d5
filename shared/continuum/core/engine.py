"""The memory engine: every operation of the API, over the ports, for one tenant at a time.

A facade over three parts: `Writes` (learn, store, update, delete; one after-write
step), `Reads` (recall, search, memories, concepts, counts) and `Records` (between the
engine's models and the stored, possibly encrypted, records).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from continuum.clock import Clock
from continuum.core.caching import ResultCache
from continuum.core.crypto import ContentCipher
from continuum.core.ranking_config import RankingConfig
from continuum.ids import IdGenerator
from continuum.models import MemoryFilters, MemoryRecord
from continuum.ports import Embedder, EventPublisher, Metrics, NullMetrics, Storage

if TYPE_CHECKING:
    from continuum.core.indexer import EmbeddingIndexer
    from continuum.core.operations.concepts import EntityDetailView, EntityPage, TenantStats
    from continuum.core.operations.learn import LearnInput, LearnResult, TurnInput, TurnResult
    from continuum.core.operations.memories import (
        HistoryEntry,
        MemoryPage,
        MemoryPatch,
        MemoryView,
        NewMemory,
        StoredBatch,
        StoredMemory,
    )
    from continuum.core.operations.recall import Recall, RecallQuery
    from continuum.core.operations.search import SearchQuery, SearchResults
    from continuum.core.reads import Reads
    from continuum.core.records import Records
    from continuum.core.retrieval import Retriever
    from continuum.core.writes import Writes

__all__ = ["MemoryEngine"]


class MemoryEngine:
    def __init__(
        self,
        storage: Storage,
        cache: ResultCache,
        *,
        clock: Clock,
        cipher: ContentCipher | None = None,
        metrics: Metrics | None = None,
        ids: IdGenerator | None = None,
        ranking: RankingConfig | None = None,
        embedder: Embedder | None = None,
        indexer: EmbeddingIndexer | None = None,
        events: EventPublisher | None = None,
    ) -> None:
        self.storage = storage
        self.cache = cache
        self.clock = clock
        self.cipher = cipher or ContentCipher(None)
        self.metrics = metrics or NullMetrics()
        self._ranking = ranking
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._ids = ids or IdGenerator()
        self._indexer = indexer
        self._events = events  # live subscribers of the tenants' changes (real-time sync), or None

    # The parts are built on first use, and with them the operations' values they import: a
    # process serving only health (or only writes) never imports the reads' side, which every
    # Lambda cold start would otherwise pay for.

    @cached_property
    def records(self) -> Records:
        from continuum.core.records import Records

        return Records(self.cipher, self._ids)

    @cached_property
    def writes(self) -> Writes:
        from continuum.core.writes import Writes

        return Writes(
            self.storage, self.cache, self.records, clock=self.clock, metrics=self.metrics, indexer=self._indexer,
            events=self._events,
        )

    @cached_property
    def reads(self) -> Reads:
        from continuum.core.reads import Reads

        return Reads(
            self.storage, self.cache, self.records, clock=self.clock, metrics=self.metrics,
            retriever=lambda: self.retriever, indexer=self._indexer,
        )  # fmt: skip

    @property
    def retriever(self) -> Retriever:
        """Built on first use: a process that never searches never imports the ranking code
        (a Lambda function serving health or memory writes starts faster)."""
        if self._retriever is None:
            from continuum.core.retrieval import Retriever

            self._retriever = Retriever(self.storage, self.cipher, self._ranking, self._embedder)
        return self._retriever

    @property
    def ids(self) -> IdGenerator:
        return self.records.ids

    @ids.setter
    def ids(self, value: IdGenerator) -> None:
        self._ids = value
        if "records" in self.__dict__:
            self.records.ids = value

    @property
    def indexer(self) -> EmbeddingIndexer | None:
        """Embeds stored memories (continuum.core.indexer.EmbeddingIndexer), or None."""
        return self.writes.indexer if "writes" in self.__dict__ else self._indexer

    # ---- records and tenants ------------------------------------------------------------

    def new_memory(
        self, tenant_id: str, content: str, *, role: str, instance_id: str | None, session_id: str | None,
        metadata: dict[str, Any], now: datetime, expires_at: datetime | None = None,
        memory_id: str | None = None, updated_at: datetime | None = None,
    ) -> MemoryRecord:  # fmt: skip
        return self.records.new_memory(
            tenant_id, content, role=role, instance_id=instance_id, session_id=session_id, metadata=metadata,
            now=now, expires_at=expires_at, memory_id=memory_id, updated_at=updated_at,
        )  # fmt: skip

    def to_memory(self, record: MemoryRecord) -> MemoryView:
        return self.records.memory_view(record)

    async def ensure_tenant(self, tenant_id: str, now: datetime) -> None:
        await self.writes.ensure_tenant(tenant_id, now)

    def forget_tenant(self, tenant_id: str) -> None:
        self.writes.forget_tenant(tenant_id)

    # ---- learn / recall / turn ----------------------------------------------------------

    async def learn(self, tenant_id: str, request: LearnInput) -> LearnResult:
        return await self.writes.learn(tenant_id, request)

    async def recall(self, tenant_id: str, query: RecallQuery) -> Recall:
        return await self.reads.recall(tenant_id, query)

    async def turn(self, tenant_id: str, request: TurnInput) -> TurnResult:
        from continuum.core.operations.learn import LearnInput, TurnResult
        from continuum.core.operations.recall import RecallQuery

        learned = await self.learn(tenant_id, LearnInput(
            user_message=request.user_message, ai_response=request.ai_response, thinking=request.thinking,
            instance_id=request.instance_id, session_id=request.session_id, metadata=request.metadata,
        ))  # fmt: skip
        message = request.message or request.user_message
        if not message.strip():
            message = request.ai_response
        recalled = await self.recall(
            tenant_id,
            RecallQuery(
                message=message,
                max_concepts=request.max_concepts,
                limit=request.limit,
                instance_id=request.instance_id,
                session_id=request.session_id,
            ),
        )
        return TurnResult(recall=recalled, learn=learned)

    # ---- memories -----------------------------------------------------------------------

    async def store_memory(self, tenant_id: str, memory: NewMemory) -> StoredMemory:
        return await self.writes.store_memory(tenant_id, memory)

    async def store_batch(self, tenant_id: str, memories: Sequence[NewMemory]) -> StoredBatch:
        return await self.writes.store_batch(tenant_id, memories)

    async def get_memory(self, tenant_id: str, memory_id: str) -> MemoryView:
        return await self.reads.get_memory(tenant_id, memory_id)

    async def list_memories(
        self, tenant_id: str, filters: MemoryFilters, *, cursor: str | None, limit: int
    ) -> MemoryPage:
        return await self.reads.list_memories(tenant_id, filters, cursor=cursor, limit=limit)

    async def update_memory(self, tenant_id: str, memory_id: str, patch: MemoryPatch) -> MemoryView:
        return await self.writes.update_memory(tenant_id, memory_id, patch)

    async def delete_memory(self, tenant_id: str, memory_id: str) -> None:
        await self.writes.delete_memory(tenant_id, memory_id)

    async def delete_memories(self, tenant_id: str, memory_ids: Sequence[str]) -> list[str]:
        return await self.writes.delete_memories(tenant_id, memory_ids)

    async def memory_history(self, tenant_id: str, memory_id: str, *, limit: int = 1000) -> list[HistoryEntry]:
        """The memory's changes, oldest first, decrypted (also after the memory was deleted)."""
        from continuum.core.operations.memories import HistoryEntry

        decrypt = self.cipher.decrypt

        def plain(value: str | None) -> str | None:
            return decrypt(value) if value is not None else None

        entries = await self.storage.memory_history(tenant_id, memory_id, limit=limit)
        return [
            HistoryEntry(
                id=e.id, memory_id=e.memory_id, event=e.event, old_content=plain(e.old_content),
                new_content=plain(e.new_content), metadata=e.metadata, created_at=e.created_at,
                instance_id=e.instance_id, session_id=e.session_id,
            )
            for e in entries
        ]  # fmt: skip

    # ---- search, concepts, counts -------------------------------------------------------

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchResults:
        return await self.reads.search(tenant_id, query)

    async def list_entities(self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int) -> EntityPage:
        return await self.reads.list_entities(tenant_id, entity_type=entity_type, limit=limit, offset=offset)

    async def get_entity(self, tenant_id: str, name: str, *, link_limit: int = 20) -> EntityDetailView:
        return await self.reads.get_entity(tenant_id, name, link_limit=link_limit)

    async def stats(self, tenant_id: str) -> TenantStats:
        return await self.reads.stats(tenant_id)
