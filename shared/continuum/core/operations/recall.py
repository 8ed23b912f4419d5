"""The engine's operations on recall: the memories and concepts related to a message, and their context block."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class RecallQuery:
    """What to recall for: a message, how many memories and concepts, where from."""

    message: str
    max_concepts: int = 10
    limit: int = 10
    instance_id: str | None = None
    session_id: str | None = None
    explain: bool = False


@dataclass
class ScoreParts:
    """One value per ranking signal (see ScoreExplanation for what the values are)."""

    lexical: float = 0.0
    graph: float = 0.0
    dense: float = 0.0
    context: float = 0.0
    time: float = 0.0
    recency: float = 0.0


@dataclass
class ScoreExplanation:
    """Why a memory ranked where it did (docs/console.md#explain).

    `parts`: the weighted contributions, which add up to the score. `signals`: the values
    before weights: lexical, graph and dense each over the best in the candidate pool
    ([0, 1]); context the best fused score among the neighbouring turns; time 1 when the
    question asks when and the memory places something in time; recency the age decay
    (1 today, 0.5 at 30 days). `cosine`: the raw cosine similarity (0 without embeddings)."""

    parts: ScoreParts
    signals: ScoreParts
    cosine: float = 0.0


@dataclass
class RecalledItem:
    """A recalled memory, its score and the concepts that linked it to the message."""

    id: str
    content: str
    role: str
    score: float
    created_at: datetime
    instance_id: str | None
    session_id: str | None
    metadata: dict[str, Any]
    concepts: list[str] = field(default_factory=list)
    explain: ScoreExplanation | None = None


@dataclass
class ConceptRelation:
    """Two concepts linked in the tenant's graph, and how strongly."""

    source: str
    target: str
    strength: float


@dataclass
class Recall:
    """The memories and concepts related to a message, and the context block built from them."""

    context: str
    memories: list[RecalledItem]
    concepts_found: list[str]
    relationships_found: list[ConceptRelation]
    query_time_ms: float
    tenant_id: str
