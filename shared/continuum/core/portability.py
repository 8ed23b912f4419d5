"""Tenant export and import as JSON Lines: plaintext, portable across runtimes, lossless.

The first line is a header; each further line is one record with a "type". Derived
data (hashes, index terms, statistics) is not exported: import recomputes it with
the target deployment's analyser and encryption key. API keys are never exported.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from continuum.clock import to_iso
from continuum.core.engine import MemoryEngine
from continuum.errors import InvalidInput
from continuum.ids import is_valid_id
from continuum.models import (
    EXPORT_KINDS,
    DecisionRecord,
    EntityRecord,
    LinkRecord,
    MemoryRecord,
    MessageRecord,
)
from continuum.schemas import Identifier, Metadata, Text, Timestamp

FORMAT = "continuum-export"
VERSION = 1
PAGE = 500


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HeaderLine(_Line):
    type: Literal["header"]
    format: Literal["continuum-export"]
    version: int
    tenant_id: str
    exported_at: str


class MemoryLine(_Line):
    type: Literal["memory"]
    id: str
    content: Annotated[str, Field(min_length=1, max_length=100_000)]
    role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    instance_id: Identifier | None
    session_id: Identifier | None
    metadata: Metadata
    created_at: Timestamp
    updated_at: Timestamp
    expires_at: Timestamp | None


class MessageLine(_Line):
    type: Literal["message"]
    id: Identifier
    instance_id: Identifier | None
    session_id: Identifier | None
    user_message: Text
    ai_response: Text
    thinking: Text | None
    metadata: Metadata
    created_at: Timestamp


class DecisionLine(_Line):
    type: Literal["decision"]
    id: Identifier
    instance_id: Identifier | None
    session_id: Identifier | None
    message_id: Identifier | None
    decision: Text
    created_at: Timestamp


class EntityLine(_Line):
    type: Literal["entity"]
    key: Annotated[str, Field(min_length=1, max_length=200)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    entity_type: Annotated[str, Field(min_length=1, max_length=40)]
    description: Text
    mention_count: Annotated[int, Field(ge=1)]
    created_at: Timestamp
    last_seen_at: Timestamp


class LinkLine(_Line):
    type: Literal["link"]
    source: Annotated[str, Field(min_length=1, max_length=200)]
    target: Annotated[str, Field(min_length=1, max_length=200)]
    strength: Annotated[float, Field(gt=0, le=1)]
    occurrences: Annotated[int, Field(ge=1)]
    created_at: Timestamp
    updated_at: Timestamp


AnyLine = Annotated[
    HeaderLine | MemoryLine | MessageLine | DecisionLine | EntityLine | LinkLine,
    Field(discriminator="type"),
]
_LINE = TypeAdapter(AnyLine)


def _time(value: datetime | None) -> str | None:
    return to_iso(value) if value is not None else None


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


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

    @staticmethod
    def parse(lines: Iterable[str], *, first_line: int = 1) -> list[Any]:
        """Validate every line before anything is written; errors name the line."""
        parsed: list[Any] = []
        for number, raw in enumerate(lines, start=first_line):
            text = raw.strip()
            if not text:
                continue
            try:
                record = _LINE.validate_json(text)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"][1:]) or "line"
                raise InvalidInput(f"import line {number}: {where}: {first['msg']}") from None
            if isinstance(record, HeaderLine):
                if record.version > VERSION:
                    raise InvalidInput(
                        f"import line {number}: export version {record.version} is newer than this server"
                    )
                continue
            if isinstance(record, MemoryLine) and not is_valid_id(record.id):
                raise InvalidInput(f"import line {number}: id: not a CONTINUUM memory id")
            parsed.append(record)
        return parsed

    async def import_records(self, tenant_id: str, records: list[Any]) -> tuple[Counter[str], Counter[str]]:
        """Write parsed records; existing identical ids are kept. Returns (imported, skipped)."""
        engine = self.engine
        now = engine.clock.now()
        await engine._ensure_tenant(tenant_id, now)
        imported: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        encrypt = self.cipher.encrypt
        buckets: dict[str, list[Any]] = {kind: [] for kind in EXPORT_KINDS}
        for record in records:
            if isinstance(record, MemoryLine):
                memory = engine.new_memory(
                    tenant_id, record.content, role=record.role, instance_id=record.instance_id,
                    session_id=record.session_id, metadata=record.metadata, now=record.created_at,
                    expires_at=record.expires_at, memory_id=record.id, updated_at=record.updated_at,
                )  # fmt: skip
                buckets["memory"].append(memory)
            elif isinstance(record, MessageLine):
                buckets["message"].append(MessageRecord(
                    id=record.id, tenant_id=tenant_id, instance_id=record.instance_id,
                    session_id=record.session_id, user_message=encrypt(record.user_message),
                    ai_response=encrypt(record.ai_response),
                    thinking=encrypt(record.thinking) if record.thinking is not None else None,
                    metadata=record.metadata, created_at=record.created_at,
                ))  # fmt: skip
            elif isinstance(record, DecisionLine):
                buckets["decision"].append(DecisionRecord(
                    id=record.id, tenant_id=tenant_id, instance_id=record.instance_id,
                    session_id=record.session_id, message_id=record.message_id,
                    decision=encrypt(record.decision), created_at=record.created_at,
                ))  # fmt: skip
            elif isinstance(record, EntityLine):
                buckets["entity"].append(EntityRecord(
                    tenant_id=tenant_id, key=record.key, name=record.name, entity_type=record.entity_type,
                    description=encrypt(record.description), mention_count=record.mention_count,
                    created_at=record.created_at, last_seen_at=record.last_seen_at,
                ))  # fmt: skip
            elif isinstance(record, LinkLine):
                a, b = sorted((record.source, record.target))
                buckets["link"].append(LinkRecord(
                    concept_a=a, concept_b=b, strength=record.strength, occurrences=record.occurrences,
                    created_at=record.created_at, updated_at=record.updated_at,
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
