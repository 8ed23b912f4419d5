"""The events a tenant's changes raise, one set for every channel (webhooks, real-time sync).

`data` by type:
- memory.created / memory.updated: {"memory": {id, content, role, instance_id, session_id,
  metadata, created_at, updated_at, expires_at}} (content decrypted)
- memory.deleted: {"memory_id": id}
- concept.discovered: {"concept": {"key", "name", "type"}}
- tenant.erased: {}
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from continuum.core.crypto import ContentCipher
from continuum.ids import IdGenerator
from continuum.models import ConceptMention, Event, MemoryRecord


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def memory_json(record: MemoryRecord, cipher: ContentCipher) -> dict[str, Any]:
    return {
        "id": record.id,
        "content": cipher.decrypt(record.content),
        "role": record.role,
        "instance_id": record.instance_id,
        "session_id": record.session_id,
        "metadata": record.metadata,
        "created_at": _when(record.created_at),
        "updated_at": _when(record.updated_at),
        "expires_at": _when(record.expires_at),
    }


class EventFactory:
    """Builds events with fresh ids (time-ordered: a subscriber can sort by id)."""

    def __init__(self, ids: IdGenerator, cipher: ContentCipher) -> None:
        self.ids = ids
        self.cipher = cipher

    def _event(self, kind: str, tenant_id: str, now: datetime, data: dict[str, Any]) -> Event:
        return Event(id=f"evt_{self.ids.new_id()}", type=kind, tenant_id=tenant_id, occurred_at=now, data=data)

    def created(self, tenant_id: str, records: Iterable[MemoryRecord], now: datetime) -> list[Event]:
        return [self._event("memory.created", tenant_id, now, {"memory": memory_json(r, self.cipher)}) for r in records]

    def updated(self, tenant_id: str, record: MemoryRecord, now: datetime) -> Event:
        return self._event("memory.updated", tenant_id, now, {"memory": memory_json(record, self.cipher)})

    def deleted(self, tenant_id: str, memory_ids: Iterable[str], now: datetime) -> list[Event]:
        return [self._event("memory.deleted", tenant_id, now, {"memory_id": m}) for m in memory_ids]

    def discovered(self, tenant_id: str, concepts: Iterable[ConceptMention], now: datetime) -> list[Event]:
        return [
            self._event(
                "concept.discovered", tenant_id, now, {"concept": {"key": c.key, "name": c.name, "type": c.kind}}
            )
            for c in concepts
        ]

    def erased(self, tenant_id: str, now: datetime) -> Event:
        return self._event("tenant.erased", tenant_id, now, {})
