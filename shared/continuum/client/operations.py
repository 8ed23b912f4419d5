"""Each API operation as a `Call`: its method, route and the model of its answer.

The clients (`sync.py`, `aio.py`) give the operations their keyword arguments and send.
"""

from __future__ import annotations

from typing import Any

from continuum.client.core import Call, call
from continuum.schemas import (
    EntityDetail,
    EntityList,
    HealthResponse,
    Key,
    KeyCreated,
    KeyList,
    LearnResponse,
    Memory,
    MemoryBatchResponse,
    MemoryList,
    MemoryStored,
    RecallResponse,
    SearchResponse,
    Stats,
    TurnResponse,
)


def health() -> Call:
    return call("GET", "/v1/health", HealthResponse, accept=(503,))


def learn(body: dict[str, Any]) -> Call:
    return call("POST", "/v1/learn", LearnResponse, body=body)


def recall(body: dict[str, Any]) -> Call:
    return call("POST", "/v1/recall", RecallResponse, body=body)


def turn(body: dict[str, Any]) -> Call:
    return call("POST", "/v1/turn", TurnResponse, body=body)


def search(body: dict[str, Any]) -> Call:
    return call("POST", "/v1/search", SearchResponse, body=body)


def create_memory(body: dict[str, Any]) -> Call:
    return call("POST", "/v1/memories", MemoryStored, body=body)


def create_memories(body: dict[str, Any]) -> Call:
    return call("POST", "/v1/memories/batch", MemoryBatchResponse, body=body)


def list_memories(params: dict[str, Any]) -> Call:
    return call("GET", "/v1/memories", MemoryList, params=params)


def get_memory(memory_id: str) -> Call:
    return call("GET", "/v1/memories/{memory_id}", Memory, path_args={"memory_id": memory_id})


def update_memory(memory_id: str, body: dict[str, Any]) -> Call:
    return call("PATCH", "/v1/memories/{memory_id}", Memory, body=body, path_args={"memory_id": memory_id})


def delete_memory(memory_id: str) -> Call:
    return call("DELETE", "/v1/memories/{memory_id}", None, path_args={"memory_id": memory_id})


def entities(params: dict[str, Any]) -> Call:
    return call("GET", "/v1/entities", EntityList, params=params)


def entity(name: str) -> Call:
    return call("GET", "/v1/entities/{name}", EntityDetail, path_args={"name": name})


def stats() -> Call:
    return call("GET", "/v1/stats", Stats)


def create_key(body: dict[str, Any]) -> Call:
    return call("POST", "/v1/keys", KeyCreated, body=body)


def list_keys(tenant_id: str | None) -> Call:
    return call("GET", "/v1/keys", KeyList, params={"tenant_id": tenant_id})


def revoke_key(key_id: str, tenant_id: str | None) -> Call:
    return call("DELETE", "/v1/keys/{key_id}", Key, params={"tenant_id": tenant_id}, path_args={"key_id": key_id})
