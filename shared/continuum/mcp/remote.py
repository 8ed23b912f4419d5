"""The backend over a running server, through the Python SDK (`continuum mcp --url`).

The tools check their arguments with the API's schemas before a request leaves; the
server checks them again and answers with the key's tenant. The SDK's errors (HTTP status,
code, message) become `ToolFailure`s, so the agent reads the server's own message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from continuum.client import AsyncContinuum, ContinuumError
from continuum.mcp.backend import ToolFailure
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

T = TypeVar("T")


async def _call(result: Awaitable[T]) -> T:
    try:
        return await result
    except ContinuumError as exc:
        raise ToolFailure(exc.code, exc.message) from None


def _given(model: Any) -> dict[str, Any]:
    """The fields the caller set, as JSON values (what the API would have received)."""
    return model.model_dump(mode="json", include=model.model_fields_set)


class RemoteBackend:
    def __init__(self, client: AsyncContinuum) -> None:
        self.client = client

    async def learn(self, request: LearnRequest) -> LearnResponse:
        return await _call(self.client.learn(**_given(request)))

    async def recall(self, request: RecallRequest) -> RecallResponse:
        return await _call(self.client.recall(**_given(request)))

    async def search(self, request: SearchRequest) -> SearchResponse:
        return await _call(self.client.search(**_given(request)))

    async def create_memory(self, memory: MemoryCreate) -> MemoryStored:
        return await _call(self.client.create_memory(**_given(memory)))

    async def get_memory(self, memory_id: str) -> Memory:
        return await _call(self.client.get_memory(memory_id))

    async def list_memories(self, filters: SearchFilters, *, cursor: str | None, limit: int) -> MemoryList:
        return await _call(self.client.list_memories_page(**_given(filters), cursor=cursor, limit=limit))

    async def update_memory(self, memory_id: str, patch: MemoryUpdate) -> Memory:
        return await _call(self.client.update_memory(memory_id, **_given(patch)))

    async def delete_memory(self, memory_id: str) -> None:
        await _call(self.client.delete_memory(memory_id))

    async def list_entities(self, *, entity_type: str | None, limit: int) -> EntityList:
        return await _call(self.client.entities(entity_type=entity_type, limit=limit))

    async def get_entity(self, name: str) -> EntityDetail:
        return await _call(self.client.entity(name))

    async def stats(self) -> Stats:
        return await _call(self.client.stats())


@asynccontextmanager
async def remote_backend(url: str, api_key: str | None) -> AsyncIterator[RemoteBackend]:
    async with AsyncContinuum(base_url=url, api_key=api_key) as client:
        yield RemoteBackend(client)
