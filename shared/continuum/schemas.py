"""Request and response shapes of the HTTP API (the engine speaks core.operations; api.mapping maps).

Annotations are evaluated when each class is defined (no `from __future__ import
annotations`): pydantic would otherwise compile and evaluate every annotation string at
import, which doubles this module's import time (cold start on Lambda and Workers).
"""

import json
import math
import re
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from continuum.api.json_schema import (
    IDENTIFIER_PATTERN,
    METADATA_VALUE_REF,
    NO_NUL_PATTERN,
    NON_BLANK_PATTERN,
    Documented,
)
from continuum.ids import TENANT_PATTERN, is_valid_tenant_id  # noqa: F401 - re-exported for callers

MAX_CONTENT_CHARS = 100_000
MAX_QUERY_CHARS = 10_000
MAX_METADATA_BYTES = 16_384
MAX_BATCH = 1000


# ---- value types: the one set of validators of the write API and of import (export_format.py)
#
# Every text is valid Unicode without NUL (PostgreSQL cannot store NUL; a lone surrogate is
# not text), every moment converts to UTC within years 1 to 9999, and every number in
# metadata is a finite IEEE-754 double in magnitude: Infinity, NaN and 1e400 are not JSON
# numbers every reader can hold, and stored they would read back differently per backend.


def _checked_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no unpaired surrogates)") from None
    return value


def _non_blank(value: str) -> str:
    value = _checked_text(value)
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


def _identifier(value: str) -> str:
    value = _checked_text(value)
    if not value.strip():
        raise ValueError("must not be empty")
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("must not contain control characters")
    return value


# RFC 3339 date-times only (no offset: UTC). pydantic alone would also read numbers ("0.5" as
# seconds since 1970) and bare dates.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?")


def _rfc3339(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise ValueError("must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC (years 1 to 9999)") from None


def _number(value: float) -> None:
    """A finite double in magnitude (an int is kept exact but must fit the same range)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (Infinity, NaN and numbers beyond ±1.8e308 are not accepted)")
    if isinstance(value, int) and abs(value) > sys.float_info.max:
        raise ValueError("is a number beyond ±1.8e308 (the largest a JSON reader is sure to hold)")


def _metadata(value: dict[str, Any]) -> dict[str, Any]:
    def check(node: Any, depth: int, where: str) -> None:
        if depth > 8:
            raise ValueError("is nested too deeply (at most 8 levels)")
        try:
            if isinstance(node, str):
                _checked_text(node)
            elif isinstance(node, int | float) and not isinstance(node, bool):
                _number(node)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}" if where else str(exc)) from None
        if isinstance(node, dict):
            for key, item in node.items():
                try:
                    _checked_text(key)
                except ValueError as exc:
                    raise ValueError(f"key {key!r}: {exc}") from None
                check(item, depth + 1, f"{where}.{key}" if where else key)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                check(item, depth + 1, f"{where}[{index}]")

    check(value, 0, "")
    for key in value:
        if not key:
            raise ValueError("keys must not be empty")
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {MAX_METADATA_BYTES}")
    return value


def something_to_learn(user_message: str, ai_response: str) -> None:
    if not user_message.strip() and not ai_response.strip():
        raise ValueError("user_message and ai_response are both empty: nothing to learn")


Text = Annotated[str, AfterValidator(_checked_text), Documented(pattern=NO_NUL_PATTERN)]
Content = Annotated[
    str, Field(max_length=MAX_CONTENT_CHARS), AfterValidator(_non_blank), Documented(pattern=NON_BLANK_PATTERN)
]
MessageText = Annotated[
    str, Field(max_length=MAX_CONTENT_CHARS), AfterValidator(_checked_text), Documented(pattern=NO_NUL_PATTERN)
]
Query = Annotated[
    str, Field(max_length=MAX_QUERY_CHARS), AfterValidator(_non_blank), Documented(pattern=NON_BLANK_PATTERN)
]
Identifier = Annotated[
    str, Field(max_length=128), AfterValidator(_identifier), Documented(pattern=IDENTIFIER_PATTERN)
]
ConceptName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_identifier)]
ConceptType = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_identifier)]
Role = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Metadata = Annotated[
    dict[str, Any],
    AfterValidator(_metadata),
    Documented(
        description=f"At most {MAX_METADATA_BYTES} bytes as JSON, 8 levels deep; top-level keys not empty",
        propertyNames={"minLength": 1, "pattern": NO_NUL_PATTERN},
        additionalProperties={"$ref": METADATA_VALUE_REF},
    ),
]
Timestamp = Annotated[
    datetime, BeforeValidator(_rfc3339), AfterValidator(_aware), Documented(description="RFC 3339 date-time")
]
TenantId = Annotated[str, Field(pattern=TENANT_PATTERN)]


class Model(BaseModel):
    # Every model builds its validators on first use, not at import: a Lambda function or
    # Worker serving one route group builds only the models its own routes use (cold start).
    model_config = ConfigDict(defer_build=True)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, defer_build=True)


# ---- learn / recall / turn -------------------------------------------------------------


class LearnRequest(Strict):
    # Documentation: at least one of the two messages has text (the validator below).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"user_message": {"pattern": NON_BLANK_PATTERN}}},
                {"properties": {"ai_response": {"pattern": NON_BLANK_PATTERN}}},
            ]
        }
    )

    user_message: MessageText
    ai_response: MessageText
    thinking: MessageText | None = None
    instance_id: Identifier | None = None
    session_id: Identifier | None = None
    metadata: Metadata = Field(default_factory=dict)

    @field_validator("ai_response")
    @classmethod
    def _some_text(cls, value: str, info: Any) -> str:
        something_to_learn(str(info.data.get("user_message", "")), value)
        return value


class LearnResponse(Model):
    concepts_extracted: int
    decisions_detected: int
    links_created: int
    memory_ids: list[str]
    tenant_id: str


EXPLAIN = "Add each result's score parts (`explain`); computed fresh, never from the result cache"


class RecallRequest(Strict):
    message: Query
    max_concepts: int = Field(default=10, ge=1, le=100)
    limit: int = Field(default=10, ge=1, le=100)
    instance_id: Identifier | None = None
    session_id: Identifier | None = None
    explain: bool = Field(default=False, strict=True, description=EXPLAIN)


class ScoreParts(Model):
    lexical: float = Field(description="The query's own words (BM25)")
    graph: float = Field(description="Words of concepts linked to the query's concepts (BM25)")
    dense: float = Field(description="Embedding similarity (0 without embeddings)")
    context: float = Field(description="The best score among the neighbouring turns")
    time: float = Field(description="A 'when' question and a memory that places something in time")
    recency: float = Field(description="Age: newer memories break near-ties")


class ScoreExplanation(Model):
    """Why a result ranked where it did."""

    parts: ScoreParts = Field(description="Weighted contributions: they add up to `score` (before its rounding)")
    signals: ScoreParts = Field(
        description="Values before weights: lexical, graph, dense over the best candidate (0 to 1); context the "
        "best neighbour's fused score; time 0 or 1; recency 1 today, 0.5 at 30 days"
    )
    cosine: float = Field(description="Raw cosine similarity to the query (0 without embeddings)")


class Explained(Model):
    """A result whose `explain` appears only when the request asked for it (explain: true)."""

    explain: ScoreExplanation | None = Field(default=None, description="Only with explain: true")

    # No return annotation: pydantic would take it for the serialized schema (an untyped object).
    @model_serializer(mode="wrap")
    def _without_empty_explain(self, handler: SerializerFunctionWrapHandler):  # noqa: ANN202
        data = handler(self)
        if isinstance(data, dict) and data.get("explain", 0) is None:
            del data["explain"]
        return data


class RecalledMemory(Explained):
    id: str
    content: str
    role: str
    score: float
    created_at: datetime
    instance_id: str | None
    session_id: str | None
    metadata: dict[str, Any]
    concepts: list[str] = Field(default_factory=list, description="Concepts that linked it to the query")


class Relationship(Model):
    source: str
    target: str
    strength: float


class RecallResponse(Model):
    context: str
    memories: list[RecalledMemory]
    concepts_found: list[str]
    relationships_found: list[Relationship]
    query_time_ms: float
    tenant_id: str


class TurnRequest(LearnRequest):
    message: Query | None = Field(
        default=None, description="What to recall for; defaults to user_message"
    )
    max_concepts: int = Field(default=10, ge=1, le=100)
    limit: int = Field(default=10, ge=1, le=100)


class TurnResponse(Model):
    recall: RecallResponse
    learn: LearnResponse


# ---- memories --------------------------------------------------------------------------


EXPIRY = "When the memory stops being returned; must be in the future"


class MemoryCreate(Strict):
    content: Content
    role: Role = "user"
    instance_id: Identifier | None = None
    session_id: Identifier | None = None
    metadata: Metadata = Field(default_factory=dict)
    expires_at: Timestamp | None = Field(default=None, description=EXPIRY)


class MemoryBatchRequest(Strict):
    memories: list[MemoryCreate] = Field(min_length=1, max_length=MAX_BATCH)


class MemoryStored(Model):
    id: str
    status: str  # "stored" | "duplicate"
    tenant_id: str


class BatchItemResult(Model):
    id: str
    status: str


class MemoryBatchResponse(Model):
    results: list[BatchItemResult]
    tenant_id: str


def _not_null(*names: str) -> Any:
    """Documentation: these fields may be left out but not sent as null (the engine refuses null)."""

    def edit(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            branches = [branch for branch in field.pop("anyOf") if branch.get("type") != "null"]
            field.update(branches[0])
            field.pop("default", None)

    return edit


class MemoryUpdate(Strict):
    model_config = ConfigDict(json_schema_extra=_not_null("content", "role", "metadata"))

    content: Content | None = None
    role: Role | None = None
    metadata: Metadata | None = Field(default=None, description="Replaces the stored metadata whole")
    expires_at: Timestamp | None = Field(default=None, description=EXPIRY + "; null clears it")


class Memory(Model):
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


class MemoryList(Model):
    memories: list[Memory]
    next_cursor: str | None


# ---- search ------------------------------------------------------------------------------


class SearchMode(StrEnum):
    hybrid = "hybrid"
    lexical = "lexical"
    semantic = "semantic"


class SearchFilters(Strict):
    instance_id: Identifier | None = None
    session_id: Identifier | None = None
    role: Role | None = None
    metadata: Metadata = Field(default_factory=dict)
    since: Timestamp | None = None
    until: Timestamp | None = None


class SearchRequest(Strict):
    query: Query
    limit: int = Field(default=10, ge=1, le=100)
    mode: SearchMode = SearchMode.hybrid
    filters: SearchFilters = Field(default_factory=SearchFilters)
    explain: bool = Field(default=False, strict=True, description=EXPLAIN)


class SearchResult(Explained):
    id: str
    content: str
    score: float
    metadata: dict[str, Any]
    created_at: datetime
    instance_id: str | None
    session_id: str | None
    role: str


class SearchResponse(Model):
    results: list[SearchResult]
    query_time_ms: float


# ---- entities, stats, admin ------------------------------------------------------------


class Entity(Model):
    name: str
    entity_type: str
    description: str
    mention_count: int
    created_at: datetime
    last_seen_at: datetime


class EntityLink(Model):
    concept: str
    strength: float
    occurrences: int


class EntityDetail(Entity):
    links: list[EntityLink]


class EntityList(Model):
    entities: list[Entity]
    limit: int
    offset: int


class Stats(Model):
    tenant_id: str
    entities: int
    messages: int
    decisions: int
    attention_links: int
    memories: int


# ---- keys --------------------------------------------------------------------------------

KeyScope = Literal["read", "write"]
KEY_ID_PATTERN = r"^[A-Za-z0-9]{1,64}$"


class KeyCreate(Strict):
    tenant_id: TenantId
    name: Annotated[str, Field(max_length=200), AfterValidator(_checked_text)] | None = None
    scopes: Annotated[
        list[KeyScope],
        Field(
            min_length=1, max_length=2,
            description="`read`: recall, search, list, get, export. `write` (the default): also store, learn, "
            "update, delete, import. Admin routes need the admin key.",
        ),
    ] = Field(default_factory=lambda: ["write"])  # fmt: skip
    expires_at: Annotated[
        Timestamp | None, Field(description="When the key stops working (with a time zone); none: never.")
    ] = None


class Key(Model):
    """A key as listed: never the key itself or its hash."""

    id: str
    tenant_id: str
    name: str | None
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    scopes: list[str]
    status: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")


class KeyCreated(Key):
    api_key: str = Field(description="The key: shown once, only its hash is stored.")


class KeyList(Model):
    tenant_id: str
    keys: list[Key]


class Tenant(Model):
    tenant_id: str
    name: str | None
    created_at: datetime


class TenantList(Model):
    tenants: list[Tenant]


class TenantErased(Model):
    tenant_id: str
    erased: dict[str, int]


class ImportResult(Model):
    tenant_id: str
    imported: dict[str, int]
    skipped: dict[str, int]


class HealthResponse(Model):
    """With API keys required: `status` for anyone, `checks` for a tenant key, everything for the admin key."""

    status: str = Field(description="`ok`, `degraded` (cache or disk) or `down` (database; answered with 503)")
    checks: dict[str, str] | None = Field(
        default=None, description="database, cache and disk_space: ok, degraded, low, down or unknown"
    )
    version: str | None = Field(default=None, description="Admin key (or keys not required) only")
    uptime_seconds: float | None = Field(default=None, description="Admin key (or keys not required) only")
    details: dict[str, Any] | None = Field(
        default=None, description="Backends, latencies, errors, free disk: admin key (or keys not required) only"
    )
