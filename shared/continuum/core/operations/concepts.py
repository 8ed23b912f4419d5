"""The engine's operations on concepts (entities), their links, and a tenant's counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
