"""`continuum mcp`: the MCP server over stdio, for Claude Desktop, Claude Code, Cursor...

On the configured database directly (the same settings as every command; `--tenant`
chooses whose memory), or against a running server with `--url` and `--api-key` (the
tenant is the key's), through the Python SDK. Stdout carries the protocol alone: logs go
to stderr. The remote backend lives here, in an entry, because only an entry may import
both the MCP tools (http layer) and the SDK (tests/support/layers.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from continuum.cli.common import add_options, cli_settings, fail_cleanly, remote_options, run_async, tenant_option

if TYPE_CHECKING:  # imported when the command runs: `continuum --help` stays quick
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
    from continuum.client import ContinuumError
    from continuum.mcp.backend import ToolFailure

    try:
        return await result
    except ContinuumError as exc:
        raise ToolFailure(exc.code, exc.message) from None


def _given(model: Any) -> dict[str, Any]:
    """The fields the caller set, as JSON values (what the API would have received)."""
    return model.model_dump(mode="json", include=model.model_fields_set)


class RemoteBackend:
    """The MCP tools' backend over a running server, through the Python SDK (`--url`). The
    tools check their arguments with the API's schemas before a request leaves; the server
    checks them again and answers with the key's tenant. The SDK's errors (status, code,
    message) become `ToolFailure`s, so the agent reads the server's own message."""

    def __init__(self, client: Any) -> None:  # continuum.client.AsyncContinuum
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


def _stderr_logging(level: int = logging.WARNING) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


async def _serve_local(tenant: str) -> None:
    from continuum.cli.common import with_services
    from continuum.mcp.backend import EngineBackend
    from continuum.mcp.stdio import build_server

    async def action(services: Any) -> None:
        await build_server(EngineBackend(services.engine, tenant)).run_stdio_async()

    await with_services(cli_settings(), action)


async def _serve_remote(url: str, api_key: str | None) -> None:
    from continuum.client import AsyncContinuum
    from continuum.mcp.stdio import build_server

    async with AsyncContinuum(base_url=url, api_key=api_key) as client:
        await build_server(RemoteBackend(client)).run_stdio_async()


@click.command("mcp")
@add_options(remote_options)
@tenant_option
@fail_cleanly
def mcp_command(url: str | None, api_key: str | None, tenant: str) -> None:
    """Serve CONTINUUM's memory as MCP tools over stdio (for MCP clients to launch)."""
    from continuum.ids import is_valid_tenant_id

    _stderr_logging()
    if url:
        run_async(_serve_remote(url, api_key))
        return
    if not is_valid_tenant_id(tenant):
        raise click.BadParameter(f"{tenant!r} is not a valid tenant id", param_hint="--tenant")
    run_async(_serve_local(tenant))
