"""The export format at the edge: validation of JSON Lines for import (HTTP and CLI).

Every line is validated against its type's shape before anything is written; valid
lines become the core's import rows (continuum.core.portability), content in plaintext.
"""

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from continuum.core.portability import VERSION, ImportedMemory, ImportRow
from continuum.errors import InvalidInput
from continuum.ids import is_valid_id
from continuum.models import DecisionRecord, EntityRecord, LinkRecord, MessageRecord
from continuum.schemas import Identifier, Metadata, Text, Timestamp


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


def _row(record: BaseModel, tenant_id: str) -> ImportRow:
    if isinstance(record, MemoryLine):
        return ImportedMemory(
            id=record.id, content=record.content, role=record.role, instance_id=record.instance_id,
            session_id=record.session_id, metadata=record.metadata, created_at=record.created_at,
            updated_at=record.updated_at, expires_at=record.expires_at,
        )  # fmt: skip
    if isinstance(record, MessageLine):
        return MessageRecord(
            id=record.id, tenant_id=tenant_id, instance_id=record.instance_id, session_id=record.session_id,
            user_message=record.user_message, ai_response=record.ai_response, thinking=record.thinking,
            metadata=record.metadata, created_at=record.created_at,
        )  # fmt: skip
    if isinstance(record, DecisionLine):
        return DecisionRecord(
            id=record.id, tenant_id=tenant_id, instance_id=record.instance_id, session_id=record.session_id,
            message_id=record.message_id, decision=record.decision, created_at=record.created_at,
        )  # fmt: skip
    if isinstance(record, EntityLine):
        return EntityRecord(
            tenant_id=tenant_id, key=record.key, name=record.name, entity_type=record.entity_type,
            description=record.description, mention_count=record.mention_count,
            created_at=record.created_at, last_seen_at=record.last_seen_at,
        )  # fmt: skip
    assert isinstance(record, LinkLine)
    return LinkRecord(
        concept_a=record.source, concept_b=record.target, strength=record.strength,
        occurrences=record.occurrences, created_at=record.created_at, updated_at=record.updated_at,
    )  # fmt: skip


def parse_import(lines: Iterable[str], tenant_id: str, *, first_line: int = 1) -> list[ImportRow]:
    """Validate every line before anything is written; errors name the line."""
    parsed: list[ImportRow] = []
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
        parsed.append(_row(record, tenant_id))
    return parsed
