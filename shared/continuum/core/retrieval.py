"""Finding the memories that matter for a text: lexical + concept graph + recency.

1. The query is analysed into index terms (stemmed; keyed hashes when encrypting).
2. Known concepts in the query are looked up, and their strongest attention links
   bring related concepts whose terms join the query with a lower weight.
3. The full-text index proposes candidates; BM25 with the tenant's statistics
   scores them; a small recency term breaks near-ties toward newer memories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from continuum.core.crypto import ContentCipher
from continuum.core.extraction import concept_key, extract_concepts
from continuum.core.ranking import Scored, bm25, recency_score, top
from continuum.core.text import analyze, query_terms, words
from continuum.models import EntityRecord, LinkRecord, MemoryFilters
from continuum.ports import Storage

CANDIDATES = 300
GRAPH_TERM_WEIGHT = 0.35
RECENCY_WEIGHT = 0.02
MAX_NGRAM = 3


@dataclass
class RetrievalOptions:
    limit: int = 10
    max_concepts: int = 10
    use_graph: bool = True
    use_recency: bool = True


@dataclass
class Retrieval:
    scored: list[Scored]
    concepts: list[EntityRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)


def _ngram_keys(text: str) -> list[str]:
    tokens = words(text)
    keys: list[str] = []
    for size in range(1, MAX_NGRAM + 1):
        for start in range(len(tokens) - size + 1):
            keys.append(" ".join(tokens[start : start + size]))
    return keys


class Retriever:
    def __init__(self, storage: Storage, cipher: ContentCipher) -> None:
        self.storage = storage
        self.cipher = cipher

    async def _concepts(
        self, tenant_id: str, text: str, max_concepts: int
    ) -> tuple[list[EntityRecord], list[LinkRecord]]:
        keys = list(dict.fromkeys([c.key for c in extract_concepts(text)] + _ngram_keys(text)))
        matched = await self.storage.find_entities(tenant_id, keys[:400])
        if not matched:
            return [], []
        matched.sort(key=lambda e: (-e.mention_count, e.key))
        matched = matched[:max_concepts]
        links = await self.storage.entity_links(
            tenant_id, [e.key for e in matched], limit=max_concepts * 3
        )
        return matched, links

    def _index_terms(self, text: str) -> list[str]:
        return self.cipher.index_terms(query_terms(text))

    async def retrieve(
        self,
        tenant_id: str,
        text: str,
        filters: MemoryFilters,
        options: RetrievalOptions,
        now: datetime,
    ) -> Retrieval:
        weights: dict[str, float] = dict.fromkeys(self._index_terms(text), 1.0)
        concepts: list[EntityRecord] = []
        links: list[LinkRecord] = []
        related_terms: dict[str, str] = {}
        if options.use_graph:
            concepts, links = await self._concepts(tenant_id, text, options.max_concepts)
            matched_keys = {e.key for e in concepts}
            for link in links:
                related = link.other(link.concept_a if link.concept_a in matched_keys else link.concept_b)
                for term in self.cipher.index_terms(list(dict.fromkeys(analyze(related)))):
                    boost = GRAPH_TERM_WEIGHT * link.strength
                    if term not in weights or weights[term] < boost:
                        weights[term] = max(weights.get(term, 0.0), boost)
                        related_terms.setdefault(term, related)
        if not weights:
            return Retrieval(scored=[], concepts=concepts, links=links)

        stats = await self.storage.lexical_stats(tenant_id, list(weights))
        present = [t for t in weights if stats.document_frequency.get(t)]
        if not present:
            return Retrieval(scored=[], concepts=concepts, links=links)
        # Very common terms add little to BM25 but flood the candidate list.
        candidate_terms = self._candidate_terms(present, weights, stats.document_frequency, stats.doc_count)
        candidates = await self.storage.lexical_candidates(
            tenant_id, candidate_terms, filters, limit=max(CANDIDATES, options.limit * 5), now=now
        )
        documents = [c.terms for c in candidates]
        lexical = bm25({t: weights[t] for t in present}, documents, stats)
        best = max(lexical, default=0.0) or 1.0
        concept_terms = self._concept_terms(concepts, related_terms)
        scored = []
        for memory, raw, terms in zip(candidates, lexical, documents, strict=True):
            if raw <= 0:
                continue
            item = Scored(memory=memory, score=0.0, lexical=raw / best)
            if options.use_recency:
                item.recency = recency_score(memory.created_at, now)
            term_set = set(terms)
            item.concepts = [name for term, name in concept_terms if term in term_set][:5]
            item.score = item.lexical + RECENCY_WEIGHT * item.recency
            scored.append(item)
        return Retrieval(scored=top(scored, options.limit), concepts=concepts, links=links)

    @staticmethod
    def _candidate_terms(
        present: Sequence[str], weights: dict[str, float], df: dict[str, int], doc_count: int
    ) -> list[str]:
        ranked = sorted(present, key=lambda t: (df[t], t))
        rare = [t for t in ranked if df[t] <= max(doc_count * 0.2, 50)]
        chosen = rare if rare else ranked[:3]
        return sorted(chosen, key=lambda t: (-weights[t], df[t]))[:64]

    def _concept_terms(
        self, concepts: list[EntityRecord], related_terms: dict[str, str]
    ) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for entity in concepts:
            for term in self.cipher.index_terms(list(dict.fromkeys(analyze(entity.name)))):
                pairs.append((term, entity.name))
        pairs += list(related_terms.items())
        return pairs


def concept_keys_in(text: str) -> list[str]:
    return [concept_key(c.name) for c in extract_concepts(text)]
