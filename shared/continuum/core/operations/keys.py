"""The engine's operations on tenant keys and tenant erasure (the admin routes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


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
    """A key just created: its listing view and, once, the key itself."""

    api_key: str = field(default="", repr=False)  # shown once to its creator, never logged


@dataclass
class KeyPage:
    """A tenant's keys."""

    tenant_id: str
    keys: list[KeyView]


@dataclass
class ErasedTenant:
    """A tenant erased: how many records of each kind were removed."""

    tenant_id: str
    erased: dict[str, int]
