"""The engine's operations on concepts (entities), their links, and a tenant's counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class EntityView:
    """A concept (entity) as callers see it: description in plaintext."""

    name: str
    entity_type: str
    description: str
    mention_count: int
    created_at: datetime
    last_seen_at: datetime


@dataclass
class EntityLinkView:
    """A concept linked to another, the link's strength and occurrences."""

    concept: str
    strength: float
    occurrences: int


@dataclass
class EntityDetailView(EntityView):
    """A concept with its links."""

    links: list[EntityLinkView] = field(default_factory=list)


@dataclass
class EntityPage:
    """A page of concepts."""

    entities: list[EntityView]
    limit: int
    offset: int


@dataclass
class TenantStats:
    """How many records of each kind a tenant has."""

    tenant_id: str
    entities: int
    messages: int
    decisions: int
    attention_links: int
    memories: int
