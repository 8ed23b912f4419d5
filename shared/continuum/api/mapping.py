"""Between the HTTP schemas and the engine's models: validated requests in, results out.

The engine's results carry the same field names as the response schemas, so a response
is read from a result by attribute (nested results included). Each function imports the
engine's value it builds: a Lambda function imports only its own (see continuum.core.operations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from continuum.models import MemoryFilters
from continuum.schemas import (
    LearnRequest,
    MemoryCreate,
    MemoryUpdate,
    RecallRequest,
    SearchFilters,
    SearchRequest,
    TurnRequest,
)

if TYPE_CHECKING:
    from continuum.core.operations.learn import LearnInput, TurnInput
    from continuum.core.operations.memories import MemoryPatch, NewMemory
    from continuum.core.operations.recall import RecallQuery
    from continuum.core.operations.search import SearchQuery

Response = TypeVar("Response", bound=BaseModel)


def respond(schema: type[Response], result: Any) -> Response:
    """The response schema filled from an engine result (a dataclass)."""
    return schema.model_validate(result, from_attributes=True)


def learn_input(body: LearnRequest) -> LearnInput:
    from continuum.core.operations.learn import LearnInput

    return LearnInput(
        user_message=body.user_message, ai_response=body.ai_response, thinking=body.thinking,
        instance_id=body.instance_id, session_id=body.session_id, metadata=body.metadata,
    )  # fmt: skip


def turn_input(body: TurnRequest) -> TurnInput:
    from continuum.core.operations.learn import TurnInput

    return TurnInput(
        user_message=body.user_message, ai_response=body.ai_response, thinking=body.thinking,
        instance_id=body.instance_id, session_id=body.session_id, metadata=body.metadata,
        message=body.message, max_concepts=body.max_concepts, limit=body.limit,
    )  # fmt: skip


def recall_query(body: RecallRequest) -> RecallQuery:
    from continuum.core.operations.recall import RecallQuery

    return RecallQuery(
        message=body.message, max_concepts=body.max_concepts, limit=body.limit,
        instance_id=body.instance_id, session_id=body.session_id, explain=body.explain,
    )  # fmt: skip


def memory_filters(filters: SearchFilters) -> MemoryFilters:
    return MemoryFilters(
        instance_id=filters.instance_id, session_id=filters.session_id, role=filters.role,
        metadata=filters.metadata, since=filters.since, until=filters.until,
    )  # fmt: skip


def search_query(body: SearchRequest) -> SearchQuery:
    from continuum.core.operations.search import SearchQuery

    return SearchQuery(
        query=body.query, limit=body.limit, mode=body.mode.value, filters=memory_filters(body.filters),
        explain=body.explain,
    )  # fmt: skip


def new_memory(body: MemoryCreate) -> NewMemory:
    from continuum.core.operations.memories import NewMemory

    return NewMemory(
        content=body.content, role=body.role, instance_id=body.instance_id, session_id=body.session_id,
        metadata=body.metadata, expires_at=body.expires_at,
    )  # fmt: skip


def memory_patch(body: MemoryUpdate) -> MemoryPatch:
    from continuum.core.operations.memories import MemoryPatch

    return MemoryPatch(
        content=body.content, role=body.role, metadata=body.metadata, expires_at=body.expires_at,
        provided=frozenset(body.model_fields_set),
    )  # fmt: skip
