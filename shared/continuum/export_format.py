"""The export format at the edge: validation of JSON Lines for import (HTTP and CLI).

Every line is validated against its type's shape before anything is written; valid
lines become the core's import rows (continuum.core.portability), content in plaintext.
Every value is checked by the same value types as the write API (continuum.schemas):
import accepts exactly the content, roles, identifiers, metadata and moments that
`POST /v1/memories` and `/v1/learn` accept. It also carries what only an export has
(ids, creation times, concepts and links), and keeps an expiry that has passed since.
"""

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from continuum.core.portability import VERSION, ImportedMemory, ImportRow
from continuum.errors import InvalidInput
from continuum.ids import is_valid_id
from continuum.models import DecisionRecord, EntityRecord, HistoryRecord, LinkRecord, MessageRecord
from continuum.schemas import (
    ConceptName,
    ConceptType,
    Content,
    Identifier,
    MessageText,
    Metadata,
    Role,
    Text,
    Timestamp,
    something_to_learn,
)


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HeaderLine(_Line):
    type: Literal["header"]
    format: Literal["continuum-export"]
    version: int
    tenant_id: Text
    exported_at: Text


class MemoryLine(_Line):
    type: Literal["memory"]
    id: str
    content: Content
    role: Role
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
    user_message: MessageText
    ai_response: MessageText
    thinking: MessageText | None
    metadata: Metadata
    created_at: Timestamp

    @model_validator(mode="after")
    def _some_text(self) -> "MessageLine":
        something_to_learn(self.user_message, self.ai_response)
        return self


class DecisionLine(_Line):
    type: Literal["decision"]
    id: Identifier
    instance_id: Identifier | None
    session_id: Identifier | None
    message_id: Identifier | None
    decision: MessageText
    created_at: Timestamp


class EntityLine(_Line):
    type: Literal["entity"]
    key: ConceptName
    name: ConceptName
    entity_type: ConceptType
    description: Text
    mention_count: Annotated[int, Field(ge=1)]
    created_at: Timestamp
    last_seen_at: Timestamp


class LinkLine(_Line):
    type: Literal["link"]
    source: ConceptName
    target: ConceptName
    strength: Annotated[float, Field(gt=0, le=1)]
    occurrences: Annotated[int, Field(ge=1)]
    created_at: Timestamp
    updated_at: Timestamp


class HistoryLine(_Line):
    """One change of a memory (also of one deleted since): the memory's change history."""

    type: Literal["history"]
    id: str
    memory_id: str
    event: Literal["ADD", "UPDATE", "DELETE"]
    old_content: Content | None
    new_content: Content | None
    instance_id: Identifier | None
    session_id: Identifier | None
    metadata: Metadata
    created_at: Timestamp


AnyLine = Annotated[
    HeaderLine | MemoryLine | MessageLine | DecisionLine | EntityLine | LinkLine | HistoryLine,
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
    if isinstance(record, HistoryLine):
        return HistoryRecord(
            id=record.id, memory_id=record.memory_id, event=record.event, old_content=record.old_content,
            new_content=record.new_content, instance_id=record.instance_id, session_id=record.session_id,
            metadata=record.metadata, created_at=record.created_at,
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
            message = str(first["msg"]).removeprefix("Value error, ")
            raise InvalidInput(f"import line {number}: {where}: {message}") from None
        if isinstance(record, HeaderLine):
            if record.version > VERSION:
                raise InvalidInput(
                    f"import line {number}: export version {record.version} is newer than this server"
                )
            continue
        if isinstance(record, MemoryLine) and not is_valid_id(record.id):
            raise InvalidInput(f"import line {number}: id: not a CONTINUUM memory id")
        if isinstance(record, HistoryLine):
            for field, value in (("id", record.id), ("memory_id", record.memory_id)):
                if not is_valid_id(value):
                    raise InvalidInput(f"import line {number}: {field}: not a CONTINUUM id")
        parsed.append(_row(record, tenant_id))
    return parsed
