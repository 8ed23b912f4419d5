"""The `mcp` SDK's own client against CONTINUUM's MCP server, and the scenarios every
transport must pass (tests/e2e/test_mcp.py, tests/lambda/test_mcp.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx2
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp import Client, StdioServerParameters

TOOLS = {"remember", "learn_turn", "recall", "search", "get_memory", "list_memories", "update_memory", "forget",
         "concepts", "stats"}  # fmt: skip
Connect = Callable[[], AbstractAsyncContextManager[Client]]


@asynccontextmanager
async def over_http(url: str, api_key: str | None = None, **headers: str) -> AsyncIterator[Client]:
    """The SDK's streamable-HTTP client on `url` (the /mcp endpoint), the key as Bearer."""
    sent = dict(headers)
    if api_key:
        sent["Authorization"] = f"Bearer {api_key}"
    http = httpx2.AsyncClient(headers=sent, timeout=httpx2.Timeout(60.0))
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def over_stdio(*args: str, env: dict[str, str]) -> Client:
    """`continuum mcp ARGS` as a subprocess, the SDK's stdio client on its pipes."""
    command = [sys.executable, "-m", "continuum.cli.main", "mcp", *args]
    merged = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **env}
    return Client(StdioServerParameters(command=command[0], args=command[1:], env=merged))


def run(scenario: Awaitable[Any]) -> Any:
    return asyncio.run(scenario)  # type: ignore[arg-type]


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured result; fails the test when the tool reports an error."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None, (tool, result)
    return result.structured_content


async def failure(client: Client, tool: str, **arguments: Any) -> str:
    """The text of a tool error (the call must fail as an MCP tool error)."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, (tool, result)
    text = " ".join(getattr(part, "text", "") for part in result.content)
    assert "Traceback" not in text, text
    return text


async def every_tool(client: Client, *, tenant_id: str) -> None:
    """List the tools, call each one, check what each answers and the errors."""
    listed = await client.list_tools()
    assert {tool.name for tool in listed.tools} == TOOLS
    for tool in listed.tools:
        assert tool.description and tool.input_schema.get("type") == "object", tool
    assert next(t for t in listed.tools if t.name == "forget").input_schema["required"] == ["memory_id"]

    stored = await call(client, "remember", content="Dana prefers PostgreSQL for the billing service",
                        session_id="s1", metadata={"team": "billing"})  # fmt: skip
    assert stored["status"] == "stored" and stored["tenant_id"] == tenant_id
    again = await call(client, "remember", content="Dana prefers PostgreSQL for the billing service", session_id="s1")
    assert again == {**stored, "status": "duplicate"}
    learned = await call(client, "learn_turn", user_message="We decided to deploy Orion on Kubernetes with Helm.",
                         assistant_answer="Kubernetes with Helm charts suits Orion.", session_id="s2")  # fmt: skip
    assert len(learned["memory_ids"]) == 2 and learned["tenant_id"] == tenant_id

    recalled = await call(client, "recall", message="Which database does Dana prefer for billing?")
    assert "PostgreSQL" in recalled["context"] and recalled["memories"][0]["id"] == stored["id"]
    found = await call(client, "search", query="Orion Kubernetes", mode="lexical", filters={"session_id": "s2"})
    assert found["results"] and all(r["session_id"] == "s2" for r in found["results"])
    assert (await call(client, "get_memory", memory_id=stored["id"]))["metadata"] == {"team": "billing"}
    page = await call(client, "list_memories", session_id="s1", limit=10)
    assert [m["id"] for m in page["memories"]] == [stored["id"]]
    updated = await call(client, "update_memory", memory_id=stored["id"], metadata={"team": "payments"})
    assert updated["metadata"] == {"team": "payments"} and updated["content"].startswith("Dana prefers")
    concepts = (await call(client, "concepts", limit=5))["concepts"]
    assert concepts and all({"name", "links", "mention_count"} <= set(c) for c in concepts)
    named = (await call(client, "concepts", name=concepts[0]["name"]))["concepts"]
    assert [c["name"] for c in named] == [concepts[0]["name"]]
    stats = await call(client, "stats")
    assert stats["memories"] == 3 and stats["tenant_id"] == tenant_id

    assert await call(client, "forget", memory_id=stored["id"]) == {"deleted": stored["id"]}
    assert "not_found" in await failure(client, "get_memory", memory_id=stored["id"])
    assert "not_found" in await failure(client, "forget", memory_id=stored["id"])
    assert (await call(client, "stats"))["memories"] == 2  # forget removed that one, nothing wider

    # Errors are MCP errors: bad arguments and unknown ids are tool errors, an unknown tool
    # is a protocol error; none of them is a traceback.
    assert "invalid_request" in await failure(client, "search", query="   ")
    assert "invalid_request" in await failure(client, "update_memory", memory_id=learned["memory_ids"][0])
    assert "not_found" in await failure(client, "update_memory", memory_id="01NOSUCHMEMORY", content="x")
    try:
        result = await client.call_tool("drop_everything", {})
    except MCPError as exc:
        assert "drop_everything" in str(exc)
    else:  # a server may also answer an unknown tool as a tool error
        assert result.is_error, result
    assert (await call(client, "stats"))["memories"] == 2


async def isolation(owner: Client, other: Client, *, other_tenant: str) -> None:
    """What `owner` stores, `other` (another tenant's key) can neither see, change nor delete."""
    mine = await call(owner, "remember", content="The vault code for project Zephyr is kept by Priya")
    assert "not_found" in await failure(other, "get_memory", memory_id=mine["id"])
    assert "not_found" in await failure(other, "update_memory", memory_id=mine["id"], content="stolen")
    assert "not_found" in await failure(other, "forget", memory_id=mine["id"])
    assert not (await call(other, "search", query="vault Zephyr Priya"))["results"]
    assert "Zephyr" not in (await call(other, "recall", message="vault code Zephyr"))["context"]
    assert not (await call(other, "list_memories"))["memories"]
    assert (await call(other, "stats")) == {**(await call(other, "stats")), "memories": 0, "tenant_id": other_tenant}
    kept = await call(owner, "get_memory", memory_id=mine["id"])
    assert kept["content"] == "The vault code for project Zephyr is kept by Priya"
