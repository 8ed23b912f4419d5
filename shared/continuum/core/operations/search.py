"""The engine's operations on search: memories matching a query, lexically, semantically or both."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from continuum.core.operations.recall import ScoreExplanation
from continuum.models import MemoryFilters

SearchMode = Literal["hybrid", "lexical", "semantic"]


@dataclass
class SearchQuery:
    """A search: the query, how many results, the mode and the filters."""

    query: str
    limit: int = 10
    mode: SearchMode = "hybrid"
    filters: MemoryFilters = field(default_factory=MemoryFilters)
    explain: bool = False


@dataclass
class SearchHit:
    """A memory matching a search, with its score."""

    id: str
    content: str
    score: float
    metadata: dict[str, Any]
    created_at: datetime
    instance_id: str | None
    session_id: str | None
    role: str
    explain: ScoreExplanation | None = None


@dataclass
class SearchResults:
    """The matching memories, best first, and how long the search took."""

    results: list[SearchHit]
    query_time_ms: float
