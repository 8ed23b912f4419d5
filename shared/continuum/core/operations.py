"""What the engine's operations take and give: plain typed values, no I/O, no validation.

The HTTP API validates its request schemas and maps them to these (continuum.api.mapping);
the CLI builds them directly. Field names follow the HTTP shapes one to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from continuum.models import InsertResult, MemoryFilters

SearchMode = Literal["hybrid", "lexical", "semantic"]


# ---- learn / recall / turn -------------------------------------------------------------


@dataclass
class LearnInput:
    user_message: str
    ai_response: str
    thinking: str | None = None
    instance_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class LearnResult:
    concepts_extracted: int
    decisions_detected: int
    links_created: int
    memory_ids: list[str]
    tenant_id: str


@dataclass
class RecallQuery:
    message: str
    max_concepts: int = 10
    limit: int = 10
    instance_id: str | None = None
    session_id: str | None = None


@dataclass
class RecalledItem:
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
    source: str
    target: str
    strength: float


@dataclass
class Recall:
    context: str
    memories: list[RecalledItem]
    concepts_found: list[str]
    relationships_found: list[ConceptRelation]
    query_time_ms: float
    tenant_id: str


@dataclass
class TurnInput(LearnInput):
    message: str | None = None  # what to recall for; defaults to user_message
    max_concepts: int = 10
    limit: int = 10


@dataclass
class TurnResult:
    recall: Recall
    learn: LearnResult


# ---- memories --------------------------------------------------------------------------


@dataclass
class NewMemory:
    content: str
    role: str = "user"
    instance_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None


@dataclass
class StoredMemory:
    id: str
    status: str  # "stored" | "duplicate"
    tenant_id: str


@dataclass
class StoredBatch:
    results: list[InsertResult]
    tenant_id: str


@dataclass
class MemoryPatch:
    """A PATCH: only the fields named in `provided` change (`expires_at` None clears it)."""

    content: str | None = None
    role: str | None = None
    metadata: dict[str, Any] | None = None
    expires_at: datetime | None = None
    provided: frozenset[str] = frozenset()


@dataclass
class MemoryView:
    """A memory as callers see it: content in plaintext."""

    id: str
    content: str
    role: str
    instance_id: str | None
    session_id: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    tenant_id: str


@dataclass
class MemoryPage:
    memories: list[MemoryView]
    next_cursor: str | None


# ---- search ------------------------------------------------------------------------------


@dataclass
class SearchQuery:
    query: str
    limit: int = 10
    mode: SearchMode = "hybrid"
    filters: MemoryFilters = field(default_factory=MemoryFilters)


@dataclass
class SearchHit:
    id: str
    content: str
    score: float
    metadata: dict[str, Any]
    created_at: datetime
    instance_id: str | None
    session_id: str | None
    role: str


@dataclass
class SearchResults:
    results: list[SearchHit]
    query_time_ms: float


# ---- concepts, stats, admin ------------------------------------------------------------


@dataclass
class EntityView:
    name: str
    entity_type: str
    description: str
    mention_count: int
    created_at: datetime
    last_seen_at: datetime


@dataclass
class EntityLinkView:
    concept: str
    strength: float
    occurrences: int


@dataclass
class EntityDetailView(EntityView):
    links: list[EntityLinkView] = field(default_factory=list)


@dataclass
class EntityPage:
    entities: list[EntityView]
    limit: int
    offset: int


@dataclass
class TenantStats:
    tenant_id: str
    entities: int
    messages: int
    decisions: int
    attention_links: int
    memories: int


@dataclass
class KeyView:
    """A tenant key as listings show it: never the key, never its hash."""

    id: str
    tenant_id: str
    name: str | None
    prefix: str
    scopes: list[str]
    status: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass
class NewKey(KeyView):
    api_key: str = field(default="", repr=False)  # shown once to its creator, never logged


@dataclass
class KeyPage:
    tenant_id: str
    keys: list[KeyView]


@dataclass
class ErasedTenant:
    tenant_id: str
    erased: dict[str, int]
