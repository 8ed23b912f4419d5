"""The MCP tools: what each does (the description the agent reads), its typed arguments,
and what it asks of the backend. Written once; `protocol.py` (HTTP) and `stdio.py` (the
`mcp` SDK) serve the same functions, so the arguments' JSON Schema comes from the same
signatures on every transport.

Arguments are checked with the HTTP API's own request schemas (same limits, same
messages). A failure is a `ToolFailure` carrying the API's error code and message, which
every transport turns into an MCP tool error (`isError`), never a traceback.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from functools import cache, wraps
from typing import Annotated, Any, Literal, NamedTuple, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from continuum.errors import ContinuumError
from continuum.mcp.backend import Backend, ToolFailure
from continuum.schemas import (
    LearnRequest,
    MemoryCreate,
    MemoryUpdate,
    RecallRequest,
    SearchFilters,
    SearchRequest,
)

SessionId = Annotated[
    str | None, Field(description="Conversation or thread the memory belongs to (letters, digits, . _ : -)")
]
InstanceId = Annotated[str | None, Field(description="Agent or user the memory belongs to (letters, digits, . _ : -)")]
Metadata = Annotated[dict[str, Any] | None, Field(description="Free-form JSON object stored with the memory")]
MemoryId = Annotated[str, Field(min_length=1, max_length=128, description="A memory's id, as other tools return it")]

Result = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Awaitable[Result]])


class Filters(BaseModel):
    """Search filters (the API's `SearchFilters`, with a schema an MCP client can read)."""

    model_config = ConfigDict(extra="forbid")

    session_id: SessionId = None
    instance_id: InstanceId = None
    role: Annotated[str | None, Field(description="user, assistant, ...")] = None
    metadata: Annotated[dict[str, Any] | None, Field(description="Stored metadata contains these keys/values")] = None
    since: Annotated[str | None, Field(description="RFC 3339 date-time: created at or after")] = None
    until: Annotated[str | None, Field(description="RFC 3339 date-time: created before")] = None


class ToolSpec(NamedTuple):
    name: str
    description: str
    writes: bool  # needs the `write` scope
    destructive: bool = False


def _json(model: BaseModel) -> Result:
    return model.model_dump(mode="json")


def _build(schema: type[BaseModel], **fields: Any) -> Any:
    """The API's request model from the tool's arguments (None means left out)."""
    return schema.model_validate({name: value for name, value in fields.items() if value is not None})


def _invalid(exc: ValidationError) -> ToolFailure:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}" for error in exc.errors()
    )
    return ToolFailure("invalid_request", problems)


def guarded(function: F) -> F:
    """Errors of the backend or of the arguments become a `ToolFailure`."""

    @wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Result:
        try:
            return await function(*args, **kwargs)
        except ValidationError as exc:
            raise _invalid(exc) from None
        except ContinuumError as exc:
            raise ToolFailure(exc.code, exc.message) from None

    return run  # type: ignore[return-value]


class Tools:
    """The tools over one tenant's backend. `can_write` is False for a key without the
    `write` scope: the tools that change memory then refuse with `forbidden`."""

    SPECS: tuple[ToolSpec, ...] = (
        ToolSpec("remember", "Store one memory (a fact, preference, decision or note) for later recall. "
                 "Storing the same content again in the same scope answers status 'duplicate'.", writes=True),
        ToolSpec("learn_turn", "Learn from one conversation turn: stores the user's message and the assistant's "
                 "answer and extracts their concepts, decisions and links. Call it after every answer.", writes=True),
        ToolSpec("recall", "Before answering, recall what is known about a message: a ready-to-use context block "
                 "plus the ranked memories, the concepts found and their relationships.", writes=False),
        ToolSpec("search", "Search stored memories by text, ranked; filter by session, instance, role, metadata "
                 "or time. mode: hybrid (default), lexical or semantic.", writes=False),
        ToolSpec("get_memory", "Read one memory by its id.", writes=False),
        ToolSpec("list_memories", "List memories newest first, optionally for one session, instance or role; "
                 "pass next_cursor back as cursor for the next page.", writes=False),
        ToolSpec("update_memory", "Change one memory's content, role or metadata (metadata is replaced whole). "
                 "Only the arguments given change.", writes=True),
        ToolSpec("forget", "Delete exactly one memory, by its id. Nothing else is deleted.", writes=True,
                 destructive=True),
        ToolSpec("concepts", "The concepts (entities) CONTINUUM knows, most mentioned first, each with its "
                 "strongest links to other concepts; or one concept by name.", writes=False),
        ToolSpec("stats", "Counts of this tenant's memories, messages, concepts, decisions and links.", writes=False),
    )  # fmt: skip
    BY_NAME: dict[str, ToolSpec] = {spec.name: spec for spec in SPECS}

    def __init__(self, backend: Backend, *, can_write: bool = True) -> None:
        self.backend = backend
        self.can_write = can_write

    def _writing(self) -> None:
        if not self.can_write:
            raise ToolFailure("forbidden", "this API key's scopes do not include write")

    @guarded
    async def remember(
        self,
        content: Annotated[str, Field(description="What to remember, in plain words")],
        session_id: SessionId = None,
        instance_id: InstanceId = None,
        metadata: Metadata = None,
    ) -> Result:
        self._writing()
        memory = _build(MemoryCreate, content=content, session_id=session_id, instance_id=instance_id,
                        metadata=metadata)  # fmt: skip
        return _json(await self.backend.create_memory(memory))

    @guarded
    async def learn_turn(
        self,
        user_message: Annotated[str, Field(description="What the user said")],
        assistant_answer: Annotated[str, Field(description="What the assistant answered")],
        session_id: SessionId = None,
        instance_id: InstanceId = None,
        metadata: Metadata = None,
    ) -> Result:
        self._writing()
        request = _build(LearnRequest, user_message=user_message, ai_response=assistant_answer,
                         session_id=session_id, instance_id=instance_id, metadata=metadata)  # fmt: skip
        return _json(await self.backend.learn(request))

    @guarded
    async def recall(
        self,
        message: Annotated[str, Field(description="The message to answer (what to recall for)")],
        limit: Annotated[int, Field(ge=1, le=100, description="At most this many memories")] = 10,
        max_concepts: Annotated[int, Field(ge=1, le=100, description="At most this many concepts")] = 10,
        session_id: SessionId = None,
        instance_id: InstanceId = None,
    ) -> Result:
        request = _build(RecallRequest, message=message, limit=limit, max_concepts=max_concepts,
                         session_id=session_id, instance_id=instance_id)  # fmt: skip
        return _json(await self.backend.recall(request))

    @guarded
    async def search(
        self,
        query: Annotated[str, Field(description="Words to search for")],
        mode: Annotated[Literal["hybrid", "lexical", "semantic"], Field(description="Ranking signals")] = "hybrid",
        limit: Annotated[int, Field(ge=1, le=100, description="At most this many results")] = 10,
        filters: Annotated[Filters | None, Field(description="Only memories matching all of these")] = None,
    ) -> Result:
        chosen = filters.model_dump(exclude_none=True) if filters is not None else None
        request = _build(SearchRequest, query=query, mode=mode, limit=limit, filters=chosen)
        return _json(await self.backend.search(request))

    @guarded
    async def get_memory(self, memory_id: MemoryId) -> Result:
        return _json(await self.backend.get_memory(memory_id))

    @guarded
    async def list_memories(
        self,
        limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 20,
        cursor: Annotated[str | None, Field(max_length=512, description="A page's next_cursor")] = None,
        session_id: SessionId = None,
        instance_id: InstanceId = None,
        role: Annotated[str | None, Field(description="Only memories with this role (user, assistant, ...)")] = None,
    ) -> Result:
        filters = _build(SearchFilters, session_id=session_id, instance_id=instance_id, role=role)
        return _json(await self.backend.list_memories(filters, cursor=cursor, limit=limit))

    @guarded
    async def update_memory(
        self,
        memory_id: MemoryId,
        content: Annotated[str | None, Field(description="New content")] = None,
        role: Annotated[str | None, Field(description="New role")] = None,
        metadata: Annotated[dict[str, Any] | None, Field(description="New metadata (replaces it whole)")] = None,
    ) -> Result:
        self._writing()
        patch = _build(MemoryUpdate, content=content, role=role, metadata=metadata)
        if not patch.model_fields_set:
            raise ToolFailure("invalid_request", "give at least one of content, role, metadata")
        return _json(await self.backend.update_memory(memory_id, patch))

    @guarded
    async def forget(self, memory_id: MemoryId) -> Result:
        self._writing()
        await self.backend.delete_memory(memory_id)
        return {"deleted": memory_id}

    @guarded
    async def concepts(
        self,
        name: Annotated[str | None, Field(max_length=200, description="One concept by name (case-insensitive)")] = None,
        entity_type: Annotated[str | None, Field(max_length=40, description="name, quoted or technical")] = None,
        limit: Annotated[int, Field(ge=1, le=50, description="At most this many concepts")] = 10,
        links: Annotated[int, Field(ge=0, le=20, description="Strongest links shown per concept")] = 5,
    ) -> Result:
        if name is not None:
            names = [name]
        else:
            page = await self.backend.list_entities(entity_type=entity_type, limit=limit)
            names = [entity.name for entity in page.entities]
        found = []
        for each in names:
            detail = _json(await self.backend.get_entity(each))
            detail["links"] = detail["links"][:links]
            found.append(detail)
        return {"concepts": found}

    @guarded
    async def stats(self) -> Result:
        return _json(await self.backend.stats())

    async def recall_context(self, message: str) -> str:
        """The recall resource: the context block alone."""
        return str((await self.recall(message=message))["context"])

    def function(self, name: str) -> Callable[..., Awaitable[Result]]:
        if name not in self.BY_NAME:
            raise KeyError(name)
        function: Callable[..., Awaitable[Result]] = getattr(self, name)
        return function


RECALL_TEMPLATE = "continuum://recall/{message}"
RECALL_DESCRIPTION = "The context block CONTINUUM recalls for a message (URL-encode the message)"


@cache
def arguments_model(name: str) -> type[BaseModel]:
    """A model of one tool's arguments, from its signature: validates a call's arguments
    and gives the tool's input JSON Schema (`protocol.py`)."""
    function = getattr(Tools, name)
    hints = get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], default)
    return create_model(f"{name}Arguments", __config__=ConfigDict(extra="forbid"), **fields)
