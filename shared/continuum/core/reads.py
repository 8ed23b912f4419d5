"""The engine's reads: recall, search, memories, concepts and counts.

Recall and search results are cached per tenant (see caching.py) as JSON; a hit
is rebuilt into the same models, with a fresh `query_time_ms`. An answer that shows a
memory with an expiry is cached only until that expiry (`valid_until`, on the engine's
clock): after it, a fresh read would no longer show the memory. Each operation imports the
values it returns (but recall's) where it builds them: a Lambda function serving recall
never defines the dataclasses of search, listings or concepts (see continuum.core.operations).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from continuum.clock import Clock
from continuum.core.caching import MISS, CacheLookup, ResultCache
from continuum.core.operations.recall import ConceptRelation, Recall, RecalledItem, RecallQuery, ScoreExplanation
from continuum.core.records import Records
from continuum.errors import InvalidInput, NotFound
from continuum.ids import is_valid_id
from continuum.models import MemoryFilters
from continuum.ports import Metrics, Storage

if TYPE_CHECKING:
    from continuum.core.indexer import EmbeddingIndexer
    from continuum.core.operations.concepts import EntityDetailView, EntityPage, TenantStats
    from continuum.core.operations.memories import MemoryPage, MemoryView
    from continuum.core.operations.search import SearchQuery, SearchResults
    from continuum.core.ranking import Scored
    from continuum.core.retrieval import Retriever


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _valid_until(scored: Sequence[Scored]) -> str | None:
    """When the earliest expiry among the memories shown passes (None: none expires)."""
    expiries = [s.memory.expires_at for s in scored if s.memory.expires_at is not None]
    return min(expiries).isoformat() if expiries else None


def _recall_from_cache(data: dict[str, Any]) -> Recall:
    data["memories"] = [RecalledItem(**{**m, "created_at": _time(m["created_at"])}) for m in data["memories"]]
    data["relationships_found"] = [ConceptRelation(**r) for r in data["relationships_found"]]
    return Recall(**data)


def _search_from_cache(data: dict[str, Any]) -> SearchResults:
    from continuum.core.operations.search import SearchHit, SearchResults

    data["results"] = [SearchHit(**{**r, "created_at": _time(r["created_at"])}) for r in data["results"]]
    return SearchResults(**data)


def _explainer(retriever: Retriever, wanted: bool) -> Callable[[Scored], ScoreExplanation | None]:
    """Each result's score parts when asked for (explain: true), else None."""
    if not wanted:
        return lambda _: None
    from continuum.core.ranking import explain

    return lambda scored: explain(scored, retriever.config)


class Reads:
    def __init__(
        self, storage: Storage, cache: ResultCache, records: Records, *, clock: Clock, metrics: Metrics,
        retriever: Callable[[], Retriever], indexer: EmbeddingIndexer | None,
    ) -> None:  # fmt: skip
        self.storage = storage
        self.cache = cache
        self.records = records
        self.clock = clock
        self.metrics = metrics
        self._retriever = retriever  # built on first use (see MemoryEngine.retriever)
        self.indexer = indexer

    async def _cached(self, tenant_id: str, namespace: str, parts: dict[str, Any], started: float) -> CacheLookup:
        """Looked up before the database is read: a miss's result is stored under the
        generation read here (see ResultCache.store), never under a later one. An explained
        query neither reads nor fills the cache: its parts are those of a ranking run now,
        and the cached answers stay the plain ones (the flag is not part of the key)."""
        if parts.pop("explain", False):
            return MISS
        found = await self.cache.lookup(tenant_id, namespace, parts)
        if found.value is None:
            return found
        valid_until = found.value.pop("valid_until", None)
        if valid_until is not None and _time(valid_until) <= self.clock.now():
            return replace(found, value=None)  # a memory it shows has expired since: read again
        found.value["query_time_ms"] = _elapsed_ms(started)
        return found

    async def _store(self, cached: CacheLookup, result: Recall | SearchResults, scored: Sequence[Scored]) -> None:
        value = asdict(result)
        valid_until = _valid_until(scored)
        if valid_until is not None:
            value["valid_until"] = valid_until
        await self.cache.store(cached, value)

    async def recall(self, tenant_id: str, query: RecallQuery) -> Recall:
        started = time.perf_counter()
        parts = asdict(query)
        cached = await self._cached(tenant_id, "recall", parts, started)
        if cached.value is not None:
            return _recall_from_cache(cached.value)
        from continuum.core.context import build_context

        if self.indexer is not None:
            self.indexer.touch(tenant_id)
        retriever = self._retriever()
        plan = retriever.plan(query.message, limit=query.limit, max_concepts=query.max_concepts)
        filters = MemoryFilters(instance_id=query.instance_id, session_id=query.session_id)
        retrieval = await retriever.retrieve(tenant_id, query.message, filters, plan, self.clock.now())
        names = retrieval.names
        explained = _explainer(retriever, query.explain)
        memories = [
            RecalledItem(
                id=s.memory.id,
                content=retrieval.contents[s.memory.id],
                role=s.memory.role,
                score=round(s.score, 6),
                created_at=s.memory.created_at,
                instance_id=s.memory.instance_id,
                session_id=s.memory.session_id,
                metadata=s.memory.metadata,
                concepts=[names.get(key, key) for key in s.concepts],
                explain=explained(s),
            )
            for s in retrieval.scored
        ]
        concepts = list(
            dict.fromkeys(
                [e.name for e in retrieval.concepts]
                + [names.get(link.concept_a, link.concept_a) for link in retrieval.links]
                + [names.get(link.concept_b, link.concept_b) for link in retrieval.links]
            )
        )[: query.max_concepts]
        relationships = [
            ConceptRelation(
                source=names.get(link.concept_a, link.concept_a),
                target=names.get(link.concept_b, link.concept_b),
                strength=round(link.strength, 4),
            )
            for link in retrieval.links
        ]
        elapsed = (time.perf_counter() - started) * 1000
        result = Recall(
            context=build_context(memories, concepts, relationships),
            memories=memories,
            concepts_found=concepts,
            relationships_found=relationships,
            query_time_ms=round(elapsed, 3),
            tenant_id=tenant_id,
        )
        self.metrics.recall_latency(elapsed / 1000)
        await self._store(cached, result, retrieval.scored)
        return result

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchResults:
        from continuum.core.operations.search import SearchHit, SearchResults

        started = time.perf_counter()
        retriever = self._retriever()
        if query.mode == "semantic" and retriever.embedder is None:
            raise InvalidInput(
                "mode: 'semantic' needs embeddings; set CONTINUUM_ENABLE_EMBEDDINGS=true "
                "and CONTINUUM_EMBEDDING_PROVIDER"
            )
        parts = asdict(query)
        cached = await self._cached(tenant_id, "search", parts, started)
        if cached.value is not None:
            return _search_from_cache(cached.value)
        if self.indexer is not None:
            self.indexer.touch(tenant_id)
        plan = retriever.plan(query.query, limit=query.limit, mode=query.mode)
        retrieval = await retriever.retrieve(tenant_id, query.query, query.filters, plan, self.clock.now())
        explained = _explainer(retriever, query.explain)
        result = SearchResults(
            results=[
                SearchHit(
                    id=s.memory.id,
                    content=retrieval.contents[s.memory.id],
                    score=round(s.score, 6),
                    metadata=s.memory.metadata,
                    created_at=s.memory.created_at,
                    instance_id=s.memory.instance_id,
                    session_id=s.memory.session_id,
                    role=s.memory.role,
                    explain=explained(s),
                )
                for s in retrieval.scored
            ],
            query_time_ms=_elapsed_ms(started),
        )
        await self._store(cached, result, retrieval.scored)
        return result

    async def get_memory(self, tenant_id: str, memory_id: str) -> MemoryView:
        record = await self.storage.get_memory(tenant_id, memory_id, self.clock.now())
        if record is None:
            raise NotFound(f"memory {memory_id} not found")
        return self.records.memory_view(record)

    async def list_memories(
        self, tenant_id: str, filters: MemoryFilters, *, cursor: str | None, limit: int
    ) -> MemoryPage:
        from continuum.core.operations.memories import MemoryPage

        if cursor is not None and not is_valid_id(cursor):
            raise InvalidInput("cursor: not a cursor returned by this API")
        records = await self.storage.list_memories(
            tenant_id, filters, before_id=cursor, limit=limit + 1, now=self.clock.now()
        )
        page = records[:limit]
        next_cursor = page[-1].id if len(records) > limit else None
        return MemoryPage(memories=[self.records.memory_view(r) for r in page], next_cursor=next_cursor)

    async def list_entities(self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int) -> EntityPage:
        from continuum.core.operations.concepts import EntityPage

        records = await self.storage.list_entities(tenant_id, entity_type=entity_type, limit=limit, offset=offset)
        return EntityPage(entities=[self.records.entity_view(r) for r in records], limit=limit, offset=offset)

    async def get_entity(self, tenant_id: str, name: str, *, link_limit: int = 20) -> EntityDetailView:
        from continuum.core.extraction import concept_key
        from continuum.core.operations.concepts import EntityDetailView, EntityLinkView

        key = concept_key(name)
        found = await self.storage.find_entities(tenant_id, [key])
        if not found:
            raise NotFound(f"entity {name!r} not found")
        links = await self.storage.entity_links(tenant_id, [key], limit=link_limit)
        others = {link.other(key) for link in links}
        names = {e.key: e.name for e in await self.storage.find_entities(tenant_id, sorted(others))}
        return EntityDetailView(
            **asdict(self.records.entity_view(found[0])),
            links=[
                EntityLinkView(
                    concept=names.get(link.other(key), link.other(key)),
                    strength=round(link.strength, 6),
                    occurrences=link.occurrences,
                )
                for link in links
            ],
        )

    async def stats(self, tenant_id: str) -> TenantStats:
        from continuum.core.operations.concepts import TenantStats

        counts = await self.storage.counts(tenant_id)
        return TenantStats(tenant_id=tenant_id, **counts.__dict__)
