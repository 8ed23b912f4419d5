"""The memory engine: every operation of the API, over the ports, for one tenant at a time.

A facade over three parts: `Writes` (learn, store, update, delete; one after-write
step), `Reads` (recall, search, memories, concepts, counts) and `Records` (between the
engine's models and the stored, possibly encrypted, records).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from continuum.clock import Clock
from continuum.core.caching import ResultCache
from continuum.core.crypto import ContentCipher
from continuum.core.operations import (
    EntityDetailView,
    EntityPage,
    LearnInput,
    LearnResult,
    MemoryPage,
    MemoryPatch,
    MemoryView,
    NewMemory,
    Recall,
    RecallQuery,
    SearchQuery,
    SearchResults,
    StoredBatch,
    StoredMemory,
    TenantStats,
    TurnInput,
    TurnResult,
)
from continuum.core.ranking_config import RankingConfig
from continuum.core.reads import Reads
from continuum.core.records import LINK_RATE, MAX_LINKED_CONCEPTS, Records
from continuum.core.writes import Writes
from continuum.ids import IdGenerator
from continuum.models import MemoryFilters, MemoryRecord
from continuum.ports import Embedder, Metrics, NullMetrics, Storage

if TYPE_CHECKING:
    from continuum.core.indexer import EmbeddingIndexer
    from continuum.core.retrieval import Retriever

__all__ = ["LINK_RATE", "MAX_LINKED_CONCEPTS", "MemoryEngine"]


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
    ) -> None:
        self.storage = storage
        self.cache = cache
        self.clock = clock
        self.cipher = cipher or ContentCipher(None)
        self.metrics = metrics or NullMetrics()
        self._ranking = ranking
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self.records = Records(self.cipher, ids or IdGenerator())
        self.writes = Writes(storage, cache, self.records, clock=clock, metrics=self.metrics, indexer=indexer)
        self.reads = Reads(
            storage, cache, self.records, clock=clock, metrics=self.metrics,
            retriever=lambda: self.retriever, indexer=indexer,
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
        self.records.ids = value

    @property
    def indexer(self) -> EmbeddingIndexer | None:
        """Embeds stored memories (continuum.core.indexer.EmbeddingIndexer), or None."""
        return self.writes.indexer

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

    # ---- search, concepts, counts -------------------------------------------------------

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchResults:
        return await self.reads.search(tenant_id, query)

    async def list_entities(
        self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int
    ) -> EntityPage:
        return await self.reads.list_entities(tenant_id, entity_type=entity_type, limit=limit, offset=offset)

    async def get_entity(self, tenant_id: str, name: str, *, link_limit: int = 20) -> EntityDetailView:
        return await self.reads.get_entity(tenant_id, name, link_limit=link_limit)

    async def stats(self, tenant_id: str) -> TenantStats:
        return await self.reads.stats(tenant_id)
