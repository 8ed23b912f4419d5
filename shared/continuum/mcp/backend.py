"""What the MCP tools act through: a `Backend` (one tenant's memory), with the local
implementation over the engine. The remote one (over the Python SDK) is in `remote.py`.

Both take the API's request schemas and answer the API's response schemas, so a tool
validates its arguments once, with the limits the HTTP API applies, whichever backend runs.
"""

from __future__ import annotations

from typing import Protocol

from continuum.api.mapping import (
    learn_input,
    memory_filters,
    memory_patch,
    new_memory,
    recall_query,
    respond,
    search_query,
)
from continuum.core.engine import MemoryEngine
from continuum.schemas import (
    EntityDetail,
    EntityList,
    LearnRequest,
    LearnResponse,
    Memory,
    MemoryCreate,
    MemoryList,
    MemoryStored,
    MemoryUpdate,
    RecallRequest,
    RecallResponse,
    SearchFilters,
    SearchRequest,
    SearchResponse,
    Stats,
)


class Backend(Protocol):
    """One tenant's memory. Errors are `continuum.errors.ContinuumError` (local) or the
    SDK's `ContinuumError` (remote); the tools turn either into an MCP tool error."""

    async def learn(self, request: LearnRequest) -> LearnResponse: ...
    async def recall(self, request: RecallRequest) -> RecallResponse: ...
    async def search(self, request: SearchRequest) -> SearchResponse: ...
    async def create_memory(self, memory: MemoryCreate) -> MemoryStored: ...
    async def get_memory(self, memory_id: str) -> Memory: ...
    async def list_memories(self, filters: SearchFilters, *, cursor: str | None, limit: int) -> MemoryList: ...
    async def update_memory(self, memory_id: str, patch: MemoryUpdate) -> Memory: ...
    async def delete_memory(self, memory_id: str) -> None: ...
    async def list_entities(self, *, entity_type: str | None, limit: int) -> EntityList: ...
    async def get_entity(self, name: str) -> EntityDetail: ...
    async def stats(self) -> Stats: ...


class EngineBackend:
    """The engine itself, scoped to one tenant (the caller's, from its key)."""

    def __init__(self, engine: MemoryEngine, tenant_id: str) -> None:
        self.engine = engine
        self.tenant_id = tenant_id

    async def learn(self, request: LearnRequest) -> LearnResponse:
        return respond(LearnResponse, await self.engine.learn(self.tenant_id, learn_input(request)))

    async def recall(self, request: RecallRequest) -> RecallResponse:
        return respond(RecallResponse, await self.engine.recall(self.tenant_id, recall_query(request)))

    async def search(self, request: SearchRequest) -> SearchResponse:
        return respond(SearchResponse, await self.engine.search(self.tenant_id, search_query(request)))

    async def create_memory(self, memory: MemoryCreate) -> MemoryStored:
        return respond(MemoryStored, await self.engine.store_memory(self.tenant_id, new_memory(memory)))

    async def get_memory(self, memory_id: str) -> Memory:
        return respond(Memory, await self.engine.get_memory(self.tenant_id, memory_id))

    async def list_memories(self, filters: SearchFilters, *, cursor: str | None, limit: int) -> MemoryList:
        page = await self.engine.list_memories(self.tenant_id, memory_filters(filters), cursor=cursor, limit=limit)
        return respond(MemoryList, page)

    async def update_memory(self, memory_id: str, patch: MemoryUpdate) -> Memory:
        return respond(Memory, await self.engine.update_memory(self.tenant_id, memory_id, memory_patch(patch)))

    async def delete_memory(self, memory_id: str) -> None:
        await self.engine.delete_memory(self.tenant_id, memory_id)

    async def list_entities(self, *, entity_type: str | None, limit: int) -> EntityList:
        page = await self.engine.list_entities(self.tenant_id, entity_type=entity_type, limit=limit, offset=0)
        return respond(EntityList, page)

    async def get_entity(self, name: str) -> EntityDetail:
        return respond(EntityDetail, await self.engine.get_entity(self.tenant_id, name))

    async def stats(self) -> Stats:
        return respond(Stats, await self.engine.stats(self.tenant_id))


class ToolFailure(Exception):
    """A tool could not do what was asked: the API's error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
