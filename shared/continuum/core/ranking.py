"""Scoring: BM25 over candidates with the tenant's own statistics, plus fusion.

The database's full-text index only proposes candidates; the score is computed
here, identically on SQLite, PostgreSQL and D1, from per-tenant document
frequencies (so one tenant's data never shifts another tenant's ranking).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from continuum.models import LexicalStats, MemoryRecord

K1 = 1.2
B = 0.75


def idf(doc_count: int, df: int) -> float:
    return math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))


def bm25(
    query_weights: Mapping[str, float],
    documents: Sequence[Sequence[str]],
    stats: LexicalStats,
) -> list[float]:
    """BM25 of each document for weighted query terms."""
    doc_count = max(stats.doc_count, len(documents), 1)
    average = stats.average_length or (sum(len(d) for d in documents) / max(len(documents), 1)) or 1.0
    weights = {
        term: weight * idf(doc_count, stats.document_frequency.get(term, 1))
        for term, weight in query_weights.items()
    }
    scores = []
    for terms in documents:
        counts = Counter(terms)
        norm = K1 * (1.0 - B + B * len(terms) / average)
        score = 0.0
        for term, weight in weights.items():
            tf = counts.get(term)
            if tf:
                score += weight * tf * (K1 + 1.0) / (tf + norm)
        scores.append(score)
    return scores


@dataclass
class Scored:
    memory: MemoryRecord
    score: float
    lexical: float = 0.0
    semantic: float = 0.0
    graph: float = 0.0
    recency: float = 0.0
    concepts: list[str] = field(default_factory=list)


def recency_score(created_at: datetime, now: datetime, half_life_days: float = 30.0) -> float:
    age_days = max((now - created_at).total_seconds() / 86_400.0, 0.0)
    return 0.5 ** (age_days / half_life_days)


def top(scored: list[Scored], limit: int) -> list[Scored]:
    """Best first; ties broken by newer memory, then id, so order is deterministic."""
    scored.sort(key=lambda s: (-s.score, s.memory.id), reverse=False)
    return scored[:limit]
