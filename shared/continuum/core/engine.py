"""The memory engine: every operation of the API, over the ports, for one tenant at a time."""

from __future__ import annotations

import itertools
import re
import time
from datetime import datetime
from typing import Any

from continuum.clock import Clock
from continuum.core.caching import ResultCache
from continuum.core.crypto import ContentCipher
from continuum.core.ranking_config import RankingConfig
from continuum.core.text import analyze
from continuum.errors import InvalidInput, NotFound
from continuum.ids import IdGenerator, is_valid_id
from continuum.models import (
    ConceptMention,
    DecisionRecord,
    EntityRecord,
    LearnWrite,
    MemoryChanges,
    MemoryFilters,
    MemoryRecord,
    MessageRecord,
)
from continuum.ports import Embedder, Metrics, NullMetrics, Storage
from continuum.schemas import (
    BatchItemResult,
    Entity,
    EntityDetail,
    EntityLink,
    EntityList,
    LearnRequest,
    LearnResponse,
    Memory,
    MemoryBatchRequest,
    MemoryBatchResponse,
    MemoryCreate,
    MemoryList,
    MemoryStored,
    MemoryUpdate,
    RecalledMemory,
    RecallRequest,
    RecallResponse,
    Relationship,
    SearchFilters,
    SearchMode,
    SearchRequest,
    SearchResponse,
    SearchResult,
    Stats,
    TurnRequest,
    TurnResponse,
)

LINK_RATE = 0.2  # strength s becomes s + rate * (1 - s) at each co-occurrence
MAX_LINKED_CONCEPTS = 12
_SENTENCE = re.compile(r"[^.!?\n]*[.!?]?")


def _description(text: str, name: str) -> str:
    """The sentence where a concept first appears, as its description."""
    index = text.find(name)
    if index < 0:
        index = text.lower().find(name.lower())
    if index < 0:
        return ""
    start = max(text.rfind(".", 0, index), text.rfind("\n", 0, index), text.rfind("!", 0, index), -1) + 1
    end_candidates = [p for p in (text.find(c, index) for c in ".!?\n") if p >= 0]
    end = min(end_candidates) + 1 if end_candidates else len(text)
    return " ".join(text[start:end].split())[:280]


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
        indexer: Any = None,
    ) -> None:
        self.storage = storage
        self.cache = cache
        self.clock = clock
        self.cipher = cipher or ContentCipher(None)
        self.metrics = metrics or NullMetrics()
        self.ids = ids or IdGenerator()
        self._ranking = ranking
        self._embedder = embedder
        self._retriever: Any = None
        self.indexer = indexer  # embeds stored memories (continuum.core.indexer), or None
        self._known_tenants: set[str] = set()

    # ---- helpers ----------------------------------------------------------------------

    @property
    def retriever(self) -> Any:
        """Built on first use: a process that never searches never imports the ranking code
        (a Lambda function serving health or memory writes starts faster)."""
        if self._retriever is None:
            from continuum.core.retrieval import Retriever

            self._retriever = Retriever(self.storage, self.cipher, self._ranking, self._embedder)
        return self._retriever

    def _now(self) -> datetime:
        return self.clock.now()

    async def _ensure_tenant(self, tenant_id: str, now: datetime) -> None:
        if tenant_id not in self._known_tenants:
            await self.storage.ensure_tenant(tenant_id, None, now)
            self._known_tenants.add(tenant_id)

    async def _embed_stored(
        self, tenant_id: str, records: list[MemoryRecord], results: list[Any] | None = None
    ) -> None:
        """Hand newly stored memories (not duplicates) to the embedding indexer."""
        if self.indexer is None:
            return
        if results is not None:
            stored = {r.id for r in results if r.status == "stored"}
            records = [r for r in records if r.id in stored]
        await self.indexer.submit(tenant_id, records)

    def forget_tenant(self, tenant_id: str) -> None:
        self._known_tenants.discard(tenant_id)

    def new_memory(
        self,
        tenant_id: str,
        content: str,
        *,
        role: str,
        instance_id: str | None,
        session_id: str | None,
        metadata: dict,
        now: datetime,
        expires_at: datetime | None = None,
        memory_id: str | None = None,
        updated_at: datetime | None = None,
    ) -> MemoryRecord:
        return MemoryRecord(
            id=memory_id or self.ids.new_id(),
            tenant_id=tenant_id,
            content=self.cipher.encrypt(content),
            content_hash=self.cipher.content_hash(content),
            search_terms=" ".join(self.cipher.index_terms(analyze(content))),
            role=role,
            instance_id=instance_id,
            session_id=session_id,
            metadata=metadata,
            created_at=now,
            updated_at=updated_at or now,
            expires_at=expires_at,
        )

    def to_memory(self, record: MemoryRecord) -> Memory:
        return Memory(
            id=record.id,
            content=self.cipher.decrypt(record.content),
            role=record.role,
            instance_id=record.instance_id,
            session_id=record.session_id,
            metadata=record.metadata,
            created_at=record.created_at,
            updated_at=record.updated_at,
            expires_at=record.expires_at,
            tenant_id=record.tenant_id,
        )

    def _entity(self, record: EntityRecord) -> Entity:
        return Entity(
            name=record.name,
            entity_type=record.entity_type,
            description=self.cipher.decrypt(record.description),
            mention_count=record.mention_count,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
        )

    def _check_expiry(self, expires_at: datetime | None, now: datetime, field: str) -> None:
        if expires_at is not None and expires_at <= now:
            raise InvalidInput(f"{field}: must be in the future")

    # ---- learn / recall / turn --------------------------------------------------------

    async def learn(self, tenant_id: str, request: LearnRequest) -> LearnResponse:
        now = self._now()
        await self._ensure_tenant(tenant_id, now)
        text = f"{request.user_message}\n{request.ai_response}"
        from continuum.core.extraction import Concept, extract_concepts, extract_decisions

        concepts: dict[str, Concept] = {}
        for concept in extract_concepts(request.user_message) + extract_concepts(request.ai_response):
            concepts.setdefault(concept.key, concept)
        mentions = [
            ConceptMention(
                key=c.key,
                name=c.name,
                kind=c.kind,
                description=self.cipher.encrypt(_description(text, c.name)),
            )
            for c in concepts.values()
        ]
        linked = sorted(concepts)[:MAX_LINKED_CONCEPTS] if len(concepts) > 1 else []
        pairs = [(a, b) for a, b in itertools.combinations(sorted(linked), 2)]
        message_id = self.ids.new_id()
        decisions = [
            DecisionRecord(
                id=self.ids.new_id(),
                tenant_id=tenant_id,
                instance_id=request.instance_id,
                session_id=request.session_id,
                message_id=message_id,
                decision=self.cipher.encrypt(decision),
                created_at=now,
            )
            for decision in dict.fromkeys(
                extract_decisions(request.user_message) + extract_decisions(request.ai_response)
            )
        ]
        memories = [
            self.new_memory(
                tenant_id,
                body,
                role=role,
                instance_id=request.instance_id,
                session_id=request.session_id,
                metadata=request.metadata,
                now=now,
            )
            for role, body in (("user", request.user_message), ("assistant", request.ai_response))
            if body.strip()
        ]
        message = MessageRecord(
            id=message_id,
            tenant_id=tenant_id,
            instance_id=request.instance_id,
            session_id=request.session_id,
            user_message=self.cipher.encrypt(request.user_message),
            ai_response=self.cipher.encrypt(request.ai_response),
            thinking=self.cipher.encrypt(request.thinking) if request.thinking is not None else None,
            metadata=request.metadata,
            created_at=now,
        )
        outcome = await self.storage.learn(
            tenant_id,
            LearnWrite(
                message=message,
                memories=memories,
                concepts=mentions,
                links=pairs,
                decisions=decisions,
                link_increment=LINK_RATE,
                now=now,
            ),
        )
        await self.cache.invalidate(tenant_id)
        await self._embed_stored(tenant_id, memories, outcome.results)
        self.metrics.memories_stored(sum(1 for r in outcome.results if r.status == "stored"))
        self.metrics.concepts_extracted(len(mentions))
        return LearnResponse(
            concepts_extracted=len(mentions),
            decisions_detected=len(decisions),
            links_created=outcome.links_created,
            memory_ids=[r.id for r in outcome.results],
            tenant_id=tenant_id,
        )

    async def recall(self, tenant_id: str, request: RecallRequest) -> RecallResponse:
        started = time.perf_counter()
        parts = request.model_dump(mode="json")
        cached = await self.cache.get(tenant_id, "recall", parts)
        if cached is not None:
            cached["query_time_ms"] = round((time.perf_counter() - started) * 1000, 3)
            return RecallResponse.model_validate(cached)
        from continuum.core.context import build_context
        from continuum.core.retrieval import RetrievalOptions

        now = self._now()
        if self.indexer is not None:
            self.indexer.touch(tenant_id)
        retrieval = await self.retriever.retrieve(
            tenant_id,
            request.message,
            MemoryFilters(instance_id=request.instance_id, session_id=request.session_id),
            RetrievalOptions(limit=request.limit, max_concepts=request.max_concepts),
            now,
        )
        names = await self._names(tenant_id, retrieval)
        memories = [
            RecalledMemory(
                id=s.memory.id,
                content=self.cipher.decrypt(s.memory.content),
                role=s.memory.role,
                score=round(s.score, 6),
                created_at=s.memory.created_at,
                instance_id=s.memory.instance_id,
                session_id=s.memory.session_id,
                metadata=s.memory.metadata,
                concepts=[names.get(key, key) for key in s.concepts],
            )
            for s in retrieval.scored
        ]
        concepts = list(dict.fromkeys([e.name for e in retrieval.concepts] + [
            names.get(link.concept_a, link.concept_a) for link in retrieval.links
        ] + [names.get(link.concept_b, link.concept_b) for link in retrieval.links]))[: request.max_concepts]
        relationships = [
            Relationship(
                source=names.get(link.concept_a, link.concept_a),
                target=names.get(link.concept_b, link.concept_b),
                strength=round(link.strength, 4),
            )
            for link in retrieval.links
        ]
        elapsed = (time.perf_counter() - started) * 1000
        response = RecallResponse(
            context=build_context(memories, concepts, relationships),
            memories=memories,
            concepts_found=concepts,
            relationships_found=relationships,
            query_time_ms=round(elapsed, 3),
            tenant_id=tenant_id,
        )
        self.metrics.recall_latency(elapsed / 1000)
        await self.cache.put(tenant_id, "recall", parts, response.model_dump(mode="json"))
        return response

    async def _names(self, tenant_id: str, retrieval: Any) -> dict[str, str]:
        """Display names for the concept keys that links and recalled memories refer to."""
        known = {e.key: e.name for e in retrieval.concepts}
        referred = {k for link in retrieval.links for k in (link.concept_a, link.concept_b)}
        referred.update(key for scored in retrieval.scored for key in scored.concepts)
        missing = referred - set(known)
        if missing:
            for entity in await self.storage.find_entities(tenant_id, sorted(missing)):
                known[entity.key] = entity.name
        return known

    async def turn(self, tenant_id: str, request: TurnRequest) -> TurnResponse:
        learned = await self.learn(tenant_id, LearnRequest.model_validate(
            request.model_dump(include=set(LearnRequest.model_fields))
        ))
        message = request.message or request.user_message
        if not message.strip():
            message = request.ai_response
        recalled = await self.recall(
            tenant_id,
            RecallRequest(
                message=message,
                max_concepts=request.max_concepts,
                limit=request.limit,
                instance_id=request.instance_id,
                session_id=request.session_id,
            ),
        )
        return TurnResponse(recall=recalled, learn=learned)

    # ---- memories ---------------------------------------------------------------------

    async def store_memory(self, tenant_id: str, request: MemoryCreate) -> MemoryStored:
        result = await self.store_batch(tenant_id, MemoryBatchRequest(memories=[request]), field="")
        item = result.results[0]
        return MemoryStored(id=item.id, status=item.status, tenant_id=tenant_id)

    async def store_batch(
        self, tenant_id: str, request: MemoryBatchRequest, *, field: str = "memories"
    ) -> MemoryBatchResponse:
        now = self._now()
        for index, item in enumerate(request.memories):
            where = f"{field}[{index}].expires_at" if field else "expires_at"
            self._check_expiry(item.expires_at, now, where)
        await self._ensure_tenant(tenant_id, now)
        records = [
            self.new_memory(
                tenant_id,
                item.content,
                role=item.role,
                instance_id=item.instance_id,
                session_id=item.session_id,
                metadata=item.metadata,
                now=now,
                expires_at=item.expires_at,
            )
            for item in request.memories
        ]
        results = await self.storage.insert_memories(tenant_id, records, now)
        await self.cache.invalidate(tenant_id)
        await self._embed_stored(tenant_id, records, results)
        self.metrics.memories_stored(sum(1 for r in results if r.status == "stored"))
        return MemoryBatchResponse(
            results=[BatchItemResult(id=r.id, status=r.status) for r in results], tenant_id=tenant_id
        )

    async def get_memory(self, tenant_id: str, memory_id: str) -> Memory:
        record = await self.storage.get_memory(tenant_id, memory_id, self._now())
        if record is None:
            raise NotFound(f"memory {memory_id} not found")
        return self.to_memory(record)

    async def list_memories(
        self, tenant_id: str, filters: SearchFilters, *, cursor: str | None, limit: int
    ) -> MemoryList:
        if cursor is not None and not is_valid_id(cursor):
            raise InvalidInput("cursor: not a cursor returned by this API")
        records = await self.storage.list_memories(
            tenant_id, _filters(filters), before_id=cursor, limit=limit + 1, now=self._now()
        )
        page = records[:limit]
        next_cursor = page[-1].id if len(records) > limit else None
        return MemoryList(memories=[self.to_memory(r) for r in page], next_cursor=next_cursor)

    async def update_memory(self, tenant_id: str, memory_id: str, request: MemoryUpdate) -> Memory:
        now = self._now()
        fields = request.model_fields_set
        if "expires_at" in fields:
            self._check_expiry(request.expires_at, now, "expires_at")
        for name in ("content", "role", "metadata"):
            if name in fields and getattr(request, name) is None:
                raise InvalidInput(f"{name}: must not be null")
        changes = MemoryChanges(
            role=request.role,
            metadata=request.metadata,
            expires_at=request.expires_at,
            clear_expiry="expires_at" in fields and request.expires_at is None,
        )
        if request.content is not None:
            changes.content = self.cipher.encrypt(request.content)
            changes.content_hash = self.cipher.content_hash(request.content)
            changes.search_terms = " ".join(self.cipher.index_terms(analyze(request.content)))
        record = await self.storage.update_memory(tenant_id, memory_id, changes, now)
        if record is None:
            raise NotFound(f"memory {memory_id} not found")
        await self.cache.invalidate(tenant_id)
        if request.content is not None:
            await self._embed_stored(tenant_id, [record])
        return self.to_memory(record)

    async def delete_memory(self, tenant_id: str, memory_id: str) -> None:
        if not await self.storage.delete_memory(tenant_id, memory_id):
            raise NotFound(f"memory {memory_id} not found")
        await self.cache.invalidate(tenant_id)

    # ---- search -----------------------------------------------------------------------

    async def search(self, tenant_id: str, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        if request.mode is SearchMode.semantic and self.retriever.embedder is None:
            raise InvalidInput(
                "mode: 'semantic' needs embeddings; set CONTINUUM_ENABLE_EMBEDDINGS=true "
                "and CONTINUUM_EMBEDDING_PROVIDER"
            )
        parts = request.model_dump(mode="json")
        cached = await self.cache.get(tenant_id, "search", parts)
        if cached is not None:
            cached["query_time_ms"] = round((time.perf_counter() - started) * 1000, 3)
            return SearchResponse.model_validate(cached)
        from continuum.core.retrieval import RetrievalOptions

        if self.indexer is not None:
            self.indexer.touch(tenant_id)
        retrieval = await self.retriever.retrieve(
            tenant_id,
            request.query,
            _filters(request.filters),
            RetrievalOptions(
                limit=request.limit,
                use_graph=request.mode is SearchMode.hybrid,
                use_lexical=request.mode is not SearchMode.semantic,
                use_dense=request.mode is not SearchMode.lexical,
            ),
            self._now(),
        )
        response = SearchResponse(
            results=[
                SearchResult(
                    id=s.memory.id,
                    content=self.cipher.decrypt(s.memory.content),
                    score=round(s.score, 6),
                    metadata=s.memory.metadata,
                    created_at=s.memory.created_at,
                    instance_id=s.memory.instance_id,
                    session_id=s.memory.session_id,
                    role=s.memory.role,
                )
                for s in retrieval.scored
            ],
            query_time_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        await self.cache.put(tenant_id, "search", parts, response.model_dump(mode="json"))
        return response

    # ---- concepts and stats --------------------------------------------------------------

    async def list_entities(
        self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int
    ) -> EntityList:
        records = await self.storage.list_entities(
            tenant_id, entity_type=entity_type, limit=limit, offset=offset
        )
        return EntityList(entities=[self._entity(r) for r in records], limit=limit, offset=offset)

    async def get_entity(self, tenant_id: str, name: str, *, link_limit: int = 20) -> EntityDetail:
        from continuum.core.extraction import concept_key

        key = concept_key(name)
        found = await self.storage.find_entities(tenant_id, [key])
        if not found:
            raise NotFound(f"entity {name!r} not found")
        links = await self.storage.entity_links(tenant_id, [key], limit=link_limit)
        others = {link.other(key) for link in links}
        names = {e.key: e.name for e in await self.storage.find_entities(tenant_id, sorted(others))}
        entity = self._entity(found[0])
        return EntityDetail(
            **entity.model_dump(),
            links=[
                EntityLink(
                    concept=names.get(link.other(key), link.other(key)),
                    strength=round(link.strength, 6),
                    occurrences=link.occurrences,
                )
                for link in links
            ],
        )

    async def stats(self, tenant_id: str) -> Stats:
        counts = await self.storage.counts(tenant_id)
        return Stats(tenant_id=tenant_id, **counts.__dict__)


def _filters(filters: SearchFilters) -> MemoryFilters:
    return MemoryFilters(
        instance_id=filters.instance_id,
        session_id=filters.session_id,
        role=filters.role,
        metadata=filters.metadata,
        since=filters.since,
        until=filters.until,
    )
