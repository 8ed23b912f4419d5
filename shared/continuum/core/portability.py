"""Tenant export and import as JSON Lines: plaintext, portable across runtimes, lossless.

The first line is a header; each further line is one record with a "type". Derived
data (hashes, index terms, statistics) is not exported: import recomputes it with
the target deployment's analyser and encryption key. API keys are never exported.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from continuum.clock import to_iso
from continuum.core.engine import MemoryEngine
from continuum.models import (
    EXPORT_KINDS,
    DecisionRecord,
    EntityRecord,
    HistoryRecord,
    LinkRecord,
    MemoryRecord,
    MessageRecord,
)

FORMAT = "continuum-export"
VERSION = 1
PAGE = 500


@dataclass
class ImportedMemory:
    """A memory line of an export, in plaintext; import stores it as new."""

    id: str
    content: str
    role: str
    instance_id: str | None
    session_id: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


# Validated import lines (see continuum.export_format), content in plaintext.
ImportRow = ImportedMemory | MessageRecord | DecisionRecord | EntityRecord | LinkRecord | HistoryRecord


def _time(value: datetime | None) -> str | None:
    return to_iso(value) if value is not None else None


def _json_numbers(value: Any) -> Any:
    """Metadata with Infinity and NaN (stored on SQLite before the API refused them) as
    null, which is how the API reads them back: every export line is JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_numbers(item) for item in value]
    return value


def _dump(record: dict[str, Any]) -> str:
    if "metadata" in record:
        record["metadata"] = _json_numbers(record["metadata"])
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class Portability:
    def __init__(self, engine: MemoryEngine) -> None:
        self.engine = engine
        self.storage = engine.storage
        self.cipher = engine.cipher

    def _line(self, kind: str, row: Any) -> dict[str, Any]:
        decrypt = self.cipher.decrypt
        if kind == "memory":
            assert isinstance(row, MemoryRecord)
            return {
                "type": "memory", "id": row.id, "content": decrypt(row.content), "role": row.role,
                "instance_id": row.instance_id, "session_id": row.session_id, "metadata": row.metadata,
                "created_at": to_iso(row.created_at), "updated_at": to_iso(row.updated_at),
                "expires_at": _time(row.expires_at),
            }  # fmt: skip
        if kind == "message":
            assert isinstance(row, MessageRecord)
            return {
                "type": "message", "id": row.id, "instance_id": row.instance_id, "session_id": row.session_id,
                "user_message": decrypt(row.user_message), "ai_response": decrypt(row.ai_response),
                "thinking": decrypt(row.thinking) if row.thinking is not None else None,
                "metadata": row.metadata, "created_at": to_iso(row.created_at),
            }  # fmt: skip
        if kind == "decision":
            assert isinstance(row, DecisionRecord)
            return {
                "type": "decision", "id": row.id, "instance_id": row.instance_id, "session_id": row.session_id,
                "message_id": row.message_id, "decision": decrypt(row.decision),
                "created_at": to_iso(row.created_at),
            }  # fmt: skip
        if kind == "entity":
            assert isinstance(row, EntityRecord)
            return {
                "type": "entity", "key": row.key, "name": row.name, "entity_type": row.entity_type,
                "description": decrypt(row.description), "mention_count": row.mention_count,
                "created_at": to_iso(row.created_at), "last_seen_at": to_iso(row.last_seen_at),
            }  # fmt: skip
        if kind == "history":
            assert isinstance(row, HistoryRecord)
            return {
                "type": "history", "id": row.id, "memory_id": row.memory_id, "event": row.event,
                "old_content": decrypt(row.old_content) if row.old_content is not None else None,
                "new_content": decrypt(row.new_content) if row.new_content is not None else None,
                "instance_id": row.instance_id, "session_id": row.session_id, "metadata": row.metadata,
                "created_at": to_iso(row.created_at),
            }  # fmt: skip
        assert isinstance(row, LinkRecord)
        return {
            "type": "link", "source": row.concept_a, "target": row.concept_b, "strength": row.strength,
            "occurrences": row.occurrences, "created_at": to_iso(row.created_at),
            "updated_at": to_iso(row.updated_at),
        }  # fmt: skip

    async def export_lines(self, tenant_id: str) -> AsyncIterator[str]:
        """The tenant's data as JSONL lines (each ending in a newline), page by page."""
        header = {
            "type": "header", "format": FORMAT, "version": VERSION, "tenant_id": tenant_id,
            "exported_at": to_iso(self.engine.clock.now()),
        }  # fmt: skip
        yield _dump(header) + "\n"
        for kind in EXPORT_KINDS:
            after: str | None = None
            while True:
                page = await self.storage.export_page(tenant_id, kind, after=after, limit=PAGE)
                for row in page.rows:
                    yield _dump(self._line(kind, row)) + "\n"
                if page.next_after is None:
                    break
                after = page.next_after

    async def import_records(
        self, tenant_id: str, records: Sequence[ImportRow]
    ) -> tuple[Counter[str], Counter[str]]:
        """Write parsed records; existing identical ids are kept. Returns (imported, skipped)."""
        engine = self.engine
        now = engine.clock.now()
        await engine.ensure_tenant(tenant_id, now)
        imported: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        encrypt = self.cipher.encrypt
        buckets: dict[str, list[Any]] = {kind: [] for kind in EXPORT_KINDS}
        for record in records:
            if isinstance(record, ImportedMemory):
                memory = engine.new_memory(
                    tenant_id, record.content, role=record.role, instance_id=record.instance_id,
                    session_id=record.session_id, metadata=record.metadata, now=record.created_at,
                    expires_at=record.expires_at, memory_id=record.id, updated_at=record.updated_at,
                )  # fmt: skip
                buckets["memory"].append(memory)
            elif isinstance(record, MessageRecord):
                buckets["message"].append(replace(
                    record, tenant_id=tenant_id, user_message=encrypt(record.user_message),
                    ai_response=encrypt(record.ai_response),
                    thinking=encrypt(record.thinking) if record.thinking is not None else None,
                ))  # fmt: skip
            elif isinstance(record, DecisionRecord):
                buckets["decision"].append(replace(record, tenant_id=tenant_id, decision=encrypt(record.decision)))
            elif isinstance(record, EntityRecord):
                buckets["entity"].append(replace(record, tenant_id=tenant_id, description=encrypt(record.description)))
            elif isinstance(record, LinkRecord):
                a, b = sorted((record.concept_a, record.concept_b))
                buckets["link"].append(replace(record, concept_a=a, concept_b=b))
            elif isinstance(record, HistoryRecord):
                buckets["history"].append(replace(
                    record,
                    old_content=encrypt(record.old_content) if record.old_content is not None else None,
                    new_content=encrypt(record.new_content) if record.new_content is not None else None,
                ))  # fmt: skip
        for kind, rows in buckets.items():
            for start in range(0, len(rows), PAGE):
                chunk = rows[start : start + PAGE]
                if kind == "memory":
                    results = await self.storage.insert_memories(tenant_id, chunk, now)
                    stored = sum(1 for r in results if r.status == "stored")
                    imported[kind] += stored
                    skipped[kind] += len(chunk) - stored
                else:
                    await self.storage.import_rows(tenant_id, kind, chunk)
                    imported[kind] += len(chunk)
        await engine.cache.invalidate(tenant_id)
        return imported, skipped
