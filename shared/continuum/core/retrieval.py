"""Finding the memories that matter for a text: one hybrid score from several signals.

1. Lexical: the query is analysed into index terms (stemmed; keyed hashes when
   encrypting); the full-text index proposes candidates and BM25 with the tenant's
   own statistics scores them.
2. Graph: known concepts in the query are looked up; their attention links (one
   hop, then a second hop from the strongest neighbours) bring related concepts
   whose terms join the query with a lower weight, scaled by link strength.
3. Dense (when an embedder is configured): the query vector finds its nearest
   memories (pgvector, or an exact scan of stored vectors), and every candidate
   is scored by cosine similarity.
4. The signals, each scaled to [0, 1], are summed with weights.
5. Context: each candidate gains a share of the best score among its neighbouring
   turns in the same session, so an answer one turn away from the question's
   words is found through its neighbour.
6. Time: a question that asks for a time ("when", "how long ago") favours memories
   that place something in time ("yesterday", "last week", "in 2019").
7. A very small recency term breaks near-ties toward newer memories.

Every part is switched by `RankingConfig` (built from settings by the runtime); the weights are few
and were chosen by leave-one-conversation-out checks, see docs/recall.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from continuum.core.crypto import ContentCipher
from continuum.core.extraction import concept_key, extract_concepts
from continuum.core.plan import RetrievalPlan, plan_retrieval
from continuum.core.ranking import (
    Scored,
    bm25,
    fuse,
    idf,
    mentions_time,
    recency_score,
    scaled,
    smooth,
    top,
)
from continuum.core.ranking_config import RankingConfig
from continuum.core.text import analyze, query_terms, words
from continuum.models import EntityRecord, LexicalStats, LinkRecord, MemoryFilters, MemoryRecord
from continuum.ports import Embedder, Storage

log = logging.getLogger("continuum.retrieval")

MAX_NGRAM = 3
POSTINGS_BUDGET = 5_000


@dataclass
class Retrieval:
    """The ranked memories, the concepts and links that took part, and what retrieval
    already resolved: display names of every concept it names (matched, linked, reached)
    and the plaintext of the returned memories (decrypted once, here)."""

    scored: list[Scored]
    concepts: list[EntityRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    contents: dict[str, str] = field(default_factory=dict)


def _ngram_keys(text: str) -> list[str]:
    tokens = words(text)
    keys: list[str] = []
    for size in range(1, MAX_NGRAM + 1):
        for start in range(len(tokens) - size + 1):
            keys.append(" ".join(tokens[start : start + size]))
    return keys


@dataclass
class _Query:
    """The query's weighted index terms and their statistics, with the concept graph
    that added some of them: matched concepts, their links, and the reached concepts'
    terms (term -> weight and the concept it comes from)."""

    weights: dict[str, float]
    stats: LexicalStats = field(default_factory=lambda: LexicalStats(0, 0, {}))
    concepts: list[EntityRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    related: dict[str, tuple[float, str]] = field(default_factory=dict)


@dataclass
class _Pool:
    """Candidates by id, with what each signal knows about them."""

    memories: dict[str, MemoryRecord] = field(default_factory=dict)
    bm25: dict[str, float] = field(default_factory=dict)
    cosine: dict[str, float] = field(default_factory=dict)
    neighbours: dict[str, list[str]] = field(default_factory=dict)

    def add(self, records: Sequence[MemoryRecord]) -> None:
        for record in records:
            self.memories.setdefault(record.id, record)


class Retriever:
    def __init__(
        self,
        storage: Storage,
        cipher: ContentCipher,
        config: RankingConfig | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.storage = storage
        self.cipher = cipher
        self.config = config or RankingConfig()
        self.embedder = embedder

    # ---- graph ------------------------------------------------------------------------

    async def _match_concepts(self, tenant_id: str, text: str, max_concepts: int) -> list[EntityRecord]:
        keys = list(dict.fromkeys([c.key for c in extract_concepts(text)] + _ngram_keys(text)))
        matched = await self.storage.find_entities(tenant_id, keys[:400])
        matched.sort(key=lambda e: (-e.mention_count, e.key))
        return matched[:max_concepts]

    async def _links(
        self, tenant_id: str, matched: list[EntityRecord], max_concepts: int, doc_count: int
    ) -> list[LinkRecord]:
        """The links of the query's specific concepts.

        A hub (a concept in more than `hub_share` of the tenant's memories, such as the
        user's own name) says little about what is asked: like a stopword, it is shown
        but not expanded.
        """
        specific = [e.key for e in matched if e.mention_count <= max(self.config.hub_share * doc_count, 2)]
        if not specific:
            return []
        return await self.storage.entity_links(tenant_id, specific, limit=max_concepts * 3)

    async def _graph_terms(
        self, tenant_id: str, concepts: list[EntityRecord], links: list[LinkRecord], max_concepts: int
    ) -> dict[str, tuple[float, str]]:
        """Terms of linked concepts: weight (strength-scaled) and the concept they come from.

        One hop from the query's concepts, then a second hop (damped) from the
        concepts reached, for questions whose answer is two links away.
        """
        config = self.config
        matched = {e.key for e in concepts}
        reached: dict[str, float] = {}
        for link in links:
            source = link.concept_a if link.concept_a in matched else link.concept_b
            other = link.other(source)
            if other not in matched:
                reached[other] = max(reached.get(other, 0.0), link.strength)
        if reached and config.second_hop > 0:
            first = sorted(reached, key=lambda k: (-reached[k], k))[:max_concepts]
            for link in await self.storage.entity_links(tenant_id, first, limit=max_concepts * 3):
                source = link.concept_a if link.concept_a in reached else link.concept_b
                other = link.other(source)
                if other in matched or other in reached:
                    continue
                strength = config.second_hop * reached.get(source, 0.0) * link.strength
                reached[other] = max(reached.get(other, 0.0), strength)
        terms: dict[str, tuple[float, str]] = {}
        for key, strength in reached.items():
            weight = config.graph_term_weight * strength
            for term in self.cipher.index_terms(list(dict.fromkeys(analyze(key)))):
                if term not in terms or terms[term][0] < weight:
                    terms[term] = (weight, key)
        return terms

    # ---- the signals ------------------------------------------------------------------

    def _index_terms(self, text: str) -> list[str]:
        return self.cipher.index_terms(query_terms(text))

    async def _query_vector(self, text: str) -> bytes | None:
        if self.embedder is None:
            return None
        from continuum.vectors import pack

        try:
            vectors = await self.embedder.embed([text])
        except Exception as exc:  # a provider outage degrades to lexical, never fails a read
            log.warning("query embedding failed; ranking without it", extra={"error": str(exc)})
            return None
        return pack(vectors[0])

    async def _cosines(self, tenant_id: str, query: bytes, pool: _Pool) -> None:
        from continuum.vectors import cosine_scores

        assert self.embedder is not None
        missing = [key for key in pool.memories if key not in pool.cosine]
        if not missing:
            return
        stored = await self.storage.get_embeddings(tenant_id, missing, model=self.embedder.name)
        keys = list(stored)
        for key, value in zip(keys, cosine_scores(query, [stored[k] for k in keys]), strict=True):
            pool.cosine[key] = value

    def plan(self, text: str, *, limit: int, max_concepts: int = 10, mode: str = "hybrid") -> RetrievalPlan:
        return plan_retrieval(
            self.config, text, limit=limit, max_concepts=max_concepts, mode=mode,
            has_embedder=self.embedder is not None,
        )  # fmt: skip

    async def _names(self, tenant_id: str, keys: set[str]) -> dict[str, str]:
        found = await self.storage.find_entities(tenant_id, sorted(keys)) if keys else []
        return {e.key: e.name for e in found}

    async def retrieve(
        self, tenant_id: str, text: str, filters: MemoryFilters, plan: RetrievalPlan, now: datetime
    ) -> Retrieval:
        vector_task = asyncio.ensure_future(self._query_vector(text)) if plan.dense else None
        names_task: asyncio.Future[dict[str, str]] | None = None
        try:
            query = _Query(weights=dict.fromkeys(self._index_terms(text), 1.0) if plan.lexical else {})
            if plan.graph:
                await self._expand(tenant_id, text, plan, query)
                # Names of the linked and reached concepts: read beside the rest of the ranking.
                unnamed = {k for link in query.links for k in (link.concept_a, link.concept_b)}
                unnamed.update(key for _, key in query.related.values())
                unnamed -= {e.key for e in query.concepts}
                if unnamed:
                    names_task = asyncio.ensure_future(self._names(tenant_id, unnamed))
                await self._add_related_terms(tenant_id, query)
            elif query.weights:
                query.stats = await self.storage.lexical_stats(tenant_id, list(query.weights))
            pool = _Pool()
            present = [t for t in query.weights if query.stats.document_frequency.get(t)]
            if present:
                df, doc_count = query.stats.document_frequency, query.stats.doc_count
                candidate_terms = self._candidate_terms(present, query.weights, df, doc_count)
                pool.add(
                    await self.storage.lexical_candidates(
                        tenant_id, candidate_terms, filters, limit=plan.lexical_candidates, now=now,
                        weights=self._candidate_weights(present, query.weights, df, doc_count),
                    )
                )  # fmt: skip
            query.weights = {t: query.weights[t] for t in present}
            query_vector = await vector_task if vector_task is not None else None
            vector_task = None
            scored, contents = await self._rank(tenant_id, text, filters, plan, now, pool, query, query_vector)
            names = {e.key: e.name for e in query.concepts}
            if names_task is not None:
                names.update(await names_task)
                names_task = None
        finally:
            for task in (vector_task, names_task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
        return Retrieval(scored=scored, concepts=query.concepts, links=query.links, names=names, contents=contents)

    async def _expand(self, tenant_id: str, text: str, plan: RetrievalPlan, query: _Query) -> None:
        """The query's concepts, their links, and the terms of the concepts they reach."""
        # Two independent reads: concurrent where the adapter has a pool.
        query.stats, query.concepts = await asyncio.gather(
            self.storage.lexical_stats(tenant_id, list(query.weights)),
            self._match_concepts(tenant_id, text, plan.max_concepts),
        )
        if query.concepts:
            query.links = await self._links(tenant_id, query.concepts, plan.max_concepts, query.stats.doc_count)
        if query.links:
            query.related = await self._graph_terms(tenant_id, query.concepts, query.links, plan.max_concepts)

    async def _add_related_terms(self, tenant_id: str, query: _Query) -> None:
        weights = query.weights
        new_terms = [t for t in query.related if t not in weights]
        for term, (weight, _) in query.related.items():
            if weight > weights.get(term, 0.0):
                weights[term] = weight
        if new_terms:
            more = await self.storage.lexical_stats(tenant_id, new_terms)
            query.stats.document_frequency.update(more.document_frequency)

    async def _rank(
        self, tenant_id: str, text: str, filters: MemoryFilters, plan: RetrievalPlan, now: datetime,
        pool: _Pool, query: _Query, query_vector: bytes | None,
    ) -> tuple[list[Scored], dict[str, str]]:  # fmt: skip
        """The best candidates in order, and the plaintext of each (decrypted once)."""
        config = self.config
        if query_vector is not None and self.embedder is not None:
            nearest = await self.storage.vector_candidates(
                tenant_id, query_vector, filters, model=self.embedder.name,
                limit=plan.dense_candidates, scan_limit=config.vector_scan_limit, now=now,
            )  # fmt: skip
            for record, cosine in nearest:
                pool.memories.setdefault(record.id, record)
                pool.cosine[record.id] = cosine
            await self._cosines(tenant_id, query_vector, pool)
        if not pool.memories:
            return [], {}

        base, lexical = self._base_scores(pool, query.weights, query.stats)
        if plan.context:
            anchors = sorted(base, key=lambda k: (-base[k], k))[: max(config.context_anchors, plan.limit)]
            near = await self.storage.neighbours_many(
                tenant_id, [pool.memories[k] for k in anchors], filters, window=1, now=now
            )
            added = [m for records in near.values() for m in records if m.id not in pool.memories]
            pool.add(added)
            for anchor, records in near.items():
                for record in records:
                    pool.neighbours.setdefault(anchor, []).append(record.id)
                    pool.neighbours.setdefault(record.id, []).append(anchor)
            if added:
                if query_vector is not None:
                    await self._cosines(tenant_id, query_vector, pool)
                base, lexical = self._base_scores(pool, query.weights, query.stats)
        final = smooth(base, pool.neighbours, config.context_weight if config.context else 0.0)
        dense = scaled(pool.cosine, config.dense_floor) if pool.cosine else {}

        contents: dict[str, str] = {}
        concept_terms = self._concept_terms(query.concepts, query.related)
        # Time and recency move a score by at most a fifth: only the head can reach the top.
        head = sorted((k for k, v in final.items() if v > 0), key=lambda k: (-final[k], k))
        scored: list[Scored] = []
        for key in head[: plan.limit * 3 + 30]:
            score = final[key]
            memory = pool.memories[key]
            item = Scored(memory=memory, score=score, lexical=lexical.get(key, 0.0))
            item.semantic = pool.cosine.get(key, 0.0)
            item.dense = dense.get(key, 0.0)
            item.context = score - base.get(key, 0.0)
            if plan.temporal:
                contents[key] = self.cipher.decrypt(memory.content)
                if mentions_time(contents[key]):
                    item.temporal = config.time_boost
                    item.score += config.time_boost * score
            if plan.recency:
                item.recency = recency_score(memory.created_at, now)
                item.score += config.recency_weight * item.recency
            if concept_terms:
                term_set = set(memory.terms)
                item.concepts = list(dict.fromkeys(n for t, n in concept_terms if t in term_set))[:5]
            scored.append(item)
        best = top(scored, plan.limit)
        self._graph_shares(text, best, pool, query)
        for item in best:
            if item.memory.id not in contents:
                contents[item.memory.id] = self.cipher.decrypt(item.memory.content)
        return best, {item.memory.id: contents[item.memory.id] for item in best}

    def _graph_shares(self, text: str, best: list[Scored], pool: _Pool, query: _Query) -> None:
        """The part of each memory's lexical signal that the linked concepts' terms brought
        (BM25 adds up over terms, so their own BM25 over the whole is their share)."""
        own = set(self._index_terms(text))
        graph = {t: w for t, w in query.weights.items() if t in query.related and t not in own}
        if not graph:
            return
        shares = bm25(graph, [item.memory.terms for item in best], query.stats)
        for item, share in zip(best, shares, strict=True):
            total = pool.bm25.get(item.memory.id, 0.0)
            if total > 0:
                item.graph = item.lexical * min(share / total, 1.0)

    def _base_scores(
        self, pool: _Pool, weights: dict[str, float], stats: LexicalStats
    ) -> tuple[dict[str, float], dict[str, float]]:
        """The fused score of each candidate, and its scaled lexical part."""
        keys = list(pool.memories)
        lexical: dict[str, float] = {}
        if weights:
            new = [k for k in keys if k not in pool.bm25]
            raw = bm25(weights, [pool.memories[k].terms for k in new], stats)
            pool.bm25.update(zip(new, raw, strict=True))
            lexical = scaled(pool.bm25)
        signals = [(lexical, self.config.lexical_weight)]
        if pool.cosine:
            signals.append((scaled(pool.cosine, self.config.dense_floor), self.config.dense_weight))
        return fuse(signals, keys), lexical

    @staticmethod
    def _candidate_terms(
        present: Sequence[str], weights: dict[str, float], df: dict[str, int], doc_count: int
    ) -> list[str]:
        # Very common terms add little to BM25 but flood the candidate list; and in a
        # big tenant the index should rank a bounded number of postings: the rarest
        # terms are taken until POSTINGS_BUDGET (the rarest one always).
        ranked = sorted(present, key=lambda t: (df[t], t))
        rare = [t for t in ranked if df[t] <= max(doc_count * 0.2, 50)]
        chosen: list[str] = []
        postings = 0
        for term in rare if rare else ranked[:3]:
            if chosen and postings + df[term] > POSTINGS_BUDGET:
                break
            chosen.append(term)
            postings += df[term]
        return sorted(chosen, key=lambda t: (-weights[t], df[t]))[:64]

    @staticmethod
    def _candidate_weights(
        present: Sequence[str], weights: dict[str, float], df: dict[str, int], doc_count: int
    ) -> dict[str, float]:
        # For an index that reads each term's best postings (bounded per term, whatever
        # its frequency): query weight x idf, the very common terms left out as above.
        rare = [t for t in present if df[t] <= max(doc_count * 0.2, 50)] or sorted(present, key=lambda t: df[t])[:3]
        return {t: weights[t] * idf(max(doc_count, 1), df[t]) for t in rare}

    def _concept_terms(
        self, concepts: list[EntityRecord], related: dict[str, tuple[float, str]]
    ) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for entity in concepts:
            for term in self.cipher.index_terms(list(dict.fromkeys(analyze(entity.name)))):
                pairs.append((term, entity.key))
        pairs += [(term, key) for term, (_, key) in related.items()]
        return pairs


def concept_keys_in(text: str) -> list[str]:
    return [concept_key(c.name) for c in extract_concepts(text)]
