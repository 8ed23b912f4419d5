"""The engine's operations on memories: stored one by one or in batches, read, listed, patched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from continuum.models import InsertResult


@dataclass
class NewMemory:
    """A memory to store as given (no extraction)."""

    content: str
    role: str = "user"
    instance_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    created_at: datetime | None = None  # the memory's own time (default: when it is stored)


@dataclass
class StoredMemory:
    """A stored memory's id and whether it was new ("stored") or a "duplicate"."""

    id: str
    status: str  # "stored" | "duplicate"
    tenant_id: str


@dataclass
class StoredBatch:
    """The outcome of each memory of a batch, in order."""

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
    """A page of memories and the cursor of the next page (None: the last page)."""

    memories: list[MemoryView]
    next_cursor: str | None


@dataclass
class HistoryEntry:
    """One change of a memory ("ADD", "UPDATE", "DELETE"), contents in plaintext."""

    id: str
    memory_id: str
    event: str
    old_content: str | None
    new_content: str | None
    metadata: dict[str, Any]
    created_at: datetime
    instance_id: str | None
    session_id: str | None
