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
