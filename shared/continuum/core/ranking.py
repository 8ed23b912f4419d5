"""Scoring: BM25 over candidates with the tenant's own statistics, and the fusion of signals.

The database's full-text index only proposes candidates; the score is computed
here, identically on SQLite, PostgreSQL and D1, from per-tenant document
frequencies (so one tenant's data never shifts another tenant's ranking).

Every signal is brought to [0, 1] before fusion, so weights mean the same thing
whatever the corpus: lexical by the best BM25 in the pool, dense cosine by the
best cosine in the pool (below a floor, a cosine says nothing and counts 0).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from continuum.core.operations.recall import ScoreExplanation, ScoreParts
from continuum.core.ranking_config import RankingConfig
from continuum.core.text import normalize
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
    items = list(weights.items())
    for terms in documents:
        # Queries have a few terms and memories a few dozen: counting each query
        # term in the list is faster than building a Counter per document.
        norm = K1 * (1.0 - B + B * len(terms) / average)
        score = 0.0
        for term, weight in items:
            tf = terms.count(term) if isinstance(terms, list) else Counter(terms)[term]
            if tf:
                score += weight * tf * (K1 + 1.0) / (tf + norm)
        scores.append(score)
    return scores


@dataclass
class Scored:
    """A candidate memory with its final score, the signals behind it and the concepts that linked it.

    `lexical`: scaled BM25 of all query terms, `graph` the share of it that the linked
    concepts' terms brought; `semantic`: raw cosine, `dense` the same scaled above the
    floor; `context`: what the neighbouring turns added (weighted); `temporal`: the time
    boost applied (0 or `time_boost`); `recency`: the raw age decay."""

    memory: MemoryRecord
    score: float
    lexical: float = 0.0
    semantic: float = 0.0
    graph: float = 0.0
    recency: float = 0.0
    context: float = 0.0
    temporal: float = 0.0
    concepts: list[str] = field(default_factory=list)
    dense: float = 0.0


def explain(item: Scored, config: RankingConfig) -> ScoreExplanation:
    """The score of `item` split into its weighted parts (they add up to `item.score`) and
    the raw signals behind them (see ScoreExplanation)."""
    lexical = config.lexical_weight * (item.lexical - item.graph)
    graph = config.lexical_weight * item.graph
    dense = config.dense_weight * item.dense
    fused = lexical + graph + dense + item.context
    parts = ScoreParts(
        lexical=lexical, graph=graph, dense=dense, context=item.context,
        time=item.temporal * fused, recency=config.recency_weight * item.recency,
    )  # fmt: skip
    context_weight = config.context_weight if config.context else 0.0
    signals = ScoreParts(
        lexical=item.lexical - item.graph, graph=item.graph, dense=item.dense,
        context=item.context / context_weight if context_weight > 0 else 0.0,
        time=1.0 if item.temporal > 0 else 0.0, recency=item.recency,
    )  # fmt: skip
    return ScoreExplanation(
        parts=ScoreParts(**{k: round(v, 6) for k, v in vars(parts).items()}),
        signals=ScoreParts(**{k: round(v, 6) for k, v in vars(signals).items()}),
        cosine=round(item.semantic, 6),
    )


def recency_score(created_at: datetime, now: datetime, half_life_days: float = 30.0) -> float:
    # Ages are counted up to the end of the current UTC day, not to this second: scores
    # then stay identical all day (a restart, a retry or a cache hit gives the same
    # numbers) while memories keep their exact order by age.
    day_end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    age_days = max((day_end - created_at).total_seconds() / 86_400.0, 0.0)
    return 0.5 ** (age_days / half_life_days)


def scaled(values: Mapping[str, float], floor: float = 0.0) -> dict[str, float]:
    """Each value over the best one, after removing `floor` (values at or below it give 0)."""
    best = max(values.values(), default=0.0) - floor
    if best <= 0:
        return dict.fromkeys(values, 0.0)
    return {key: max(value - floor, 0.0) / best for key, value in values.items()}


def fuse(
    signals: Sequence[tuple[Mapping[str, float], float]], keys: Sequence[str]
) -> dict[str, float]:
    """Weighted sum of [0, 1] signals (a missing value counts 0)."""
    return {key: sum(weight * signal.get(key, 0.0) for signal, weight in signals) for key in keys}


def smooth(
    base: Mapping[str, float], neighbours: Mapping[str, Sequence[str]], weight: float
) -> dict[str, float]:
    """Conversation context: a turn gains `weight` times the best score next to it.

    An answer often sits one turn away from the words of the question ("Where did
    you go?" / "To Paris."); the pair is found through either of its turns.
    """
    if weight <= 0:
        return dict(base)
    out = {}
    for key, value in base.items():
        near = max((base.get(other, 0.0) for other in neighbours.get(key, ())), default=0.0)
        out[key] = value + weight * near
    return out


# "When" questions: words that ask for a time.
_TEMPORAL_QUERY = re.compile(
    r"\b(when|what\s+(?:year|month|day|date|time)|which\s+(?:year|month|day|date)|"
    r"how\s+long|how\s+many\s+(?:years|months|weeks|days)|since\s+when|what\s+age)\b"
)
# Expressions that place an event in time, relative or absolute, within a text.
_TEMPORAL_TEXT = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|ago|recently|lately|soon|"
    r"(?:last|next|this|past|coming|previous)\s+(?:week|weekend|month|year|night|summer|winter|spring|fall|"
    r"autumn|monday|tuesday|wednesday|thursday|friday|saturday|sunday|morning|evening)|"
    r"(?:few|couple\s+of|\d+|two|three|four|five|six)\s+(?:days|weeks|months|years)|"
    r"since|when\s+i\s+was|back\s+in|in\s+(?:19|20)\d\d)\b"
)


def asks_for_time(query: str) -> bool:
    return bool(_TEMPORAL_QUERY.search(normalize(query)))


def mentions_time(text: str) -> bool:
    return bool(_TEMPORAL_TEXT.search(normalize(text)))


def top(scored: list[Scored], limit: int) -> list[Scored]:
    """Best first; ties broken by id, so the order is deterministic."""
    scored.sort(key=lambda s: (-s.score, s.memory.id))
    return scored[:limit]
