from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from pydantic_core import from_json

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.json_schema import CURSOR_PATTERN, METADATA_VALUE_REF, NO_NUL_PATTERN
from continuum.api.mapping import memory_filters, memory_patch, new_memory, respond
from continuum.api.openapi import error
from continuum.api.routes import RouteTable
from continuum.schemas import (
    Identifier,
    Memory,
    MemoryBatchRequest,
    MemoryBatchResponse,
    MemoryCreate,
    MemoryList,
    MemoryStored,
    MemoryUpdate,
    SearchFilters,
    Timestamp,
)

router = RouteTable(tags=["memories"])

# `metadata` on GET /v1/memories: one JSON object, as `filters.metadata` of POST /v1/search.
# Declared here rather than as a FastAPI parameter: OpenAPI describes a JSON-encoded query
# parameter with `content`, which FastAPI does not generate.
METADATA_PARAMETER = {
    "name": "metadata",
    "in": "query",
    "required": False,
    "description": "A JSON object: only memories whose metadata has each top-level key with exactly "
    'that value (JSON types respected: 1 is not "1" or true), e.g. `{"project":"orion"}` URL-encoded',
    "content": {"application/json": {"schema": {
        "type": "object",
        "propertyNames": {"minLength": 1, "pattern": NO_NUL_PATTERN},
        "additionalProperties": {"$ref": METADATA_VALUE_REF},
    }}},
}  # fmt: skip


def _invalid_metadata(message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", "metadata"), "msg": message, "type": "value_error"}])


def metadata_filter(request: Request) -> dict[str, Any]:
    """The `metadata` query parameter, read and checked as search's metadata filter is."""
    given = request.query_params.getlist("metadata")
    if not given:
        return {}
    if len(given) > 1:
        raise _invalid_metadata("give one JSON object (the parameter appears more than once)")
    try:  # pydantic-core's parser stops at its depth limit (the standard one can overflow a Worker's stack)
        value = from_json(given[0], allow_inf_nan=False)
    except ValueError:
        raise _invalid_metadata('must be a JSON object such as {"project":"orion"} (URL-encoded)') from None
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        raise _invalid_metadata(f"must be a JSON object, not {kind}")
    try:
        return SearchFilters(metadata=value).metadata
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _invalid_metadata(str(first.get("msg", "invalid value")).removeprefix("Value error, ")) from None


@router.post(
    "/v1/memories",
    response_model=MemoryStored,
    status_code=201,
    responses={
        200: {"model": MemoryStored, "description": "The same content is already stored in this scope: "
              "`status` is `duplicate` and `id` the stored memory's"},
    },
)
async def create_memory(
    body: MemoryCreate, principal: PrincipalDep, services: ServicesDep, response: Response
) -> MemoryStored:
    """Store one memory; the same content again in the same scope answers "duplicate" (200)."""
    stored = respond(MemoryStored, await services.engine.store_memory(principal.tenant_id, new_memory(body)))
    if stored.status == "duplicate":
        response.status_code = 200
    return stored


@router.post("/v1/memories/batch", response_model=MemoryBatchResponse)
async def create_memories(
    body: MemoryBatchRequest, principal: PrincipalDep, services: ServicesDep
) -> MemoryBatchResponse:
    """Store up to 1000 memories in one atomic write; results are in input order."""
    stored = await services.engine.store_batch(principal.tenant_id, [new_memory(m) for m in body.memories])
    return respond(MemoryBatchResponse, stored)


@router.get("/v1/memories", response_model=MemoryList, openapi_extra={"parameters": [METADATA_PARAMETER]})
async def list_memories(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, description="A page's `next_cursor`")] = None,
    instance_id: Annotated[Identifier | None, Query()] = None,
    session_id: Annotated[Identifier | None, Query()] = None,
    role: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] = None,
    since: Annotated[Timestamp | None, Query(description="RFC 3339 date-time")] = None,
    until: Annotated[Timestamp | None, Query(description="RFC 3339 date-time")] = None,
) -> MemoryList:
    """Newest first; pass `next_cursor` back as `cursor` for the next page. `metadata`: a JSON object to match."""
    filters = SearchFilters(
        instance_id=instance_id, session_id=session_id, role=role, since=since, until=until,
        metadata=metadata_filter(request),
    )  # fmt: skip
    page = await services.engine.list_memories(principal.tenant_id, memory_filters(filters), cursor=cursor, limit=limit)
    return respond(MemoryList, page)


@router.get("/v1/memories/{memory_id}", response_model=Memory)
async def get_memory(memory_id: str, principal: PrincipalDep, services: ServicesDep) -> Memory:
    return respond(Memory, await services.engine.get_memory(principal.tenant_id, memory_id))


@router.patch(
    "/v1/memories/{memory_id}",
    response_model=Memory,
    responses={409: error("Another memory in the same scope already holds the new content")},
)
async def update_memory(memory_id: str, body: MemoryUpdate, principal: PrincipalDep, services: ServicesDep) -> Memory:
    """Change content, role, metadata (replaced whole) or expiry (null clears it)."""
    updated = await services.engine.update_memory(principal.tenant_id, memory_id, memory_patch(body))
    return respond(Memory, updated)


@router.delete("/v1/memories/{memory_id}", status_code=204)
async def delete_memory(memory_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    await services.engine.delete_memory(principal.tenant_id, memory_id)
    return Response(status_code=204)
