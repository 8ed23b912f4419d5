"""The stateless JSON-RPC transport over a real engine (SQLite): the messages it accepts,
the answers it gives, and that it lists the same tools as the SDK's MCPServer (stdio)."""

from __future__ import annotations

import json
from typing import Any

from continuum.mcp.backend import EngineBackend
from continuum.mcp.protocol import PROTOCOL_VERSIONS, handle
from continuum.mcp.stdio import build_server
from continuum.mcp.tools import Tools


def tools_for(services: Any, tenant: str = "t1", *, can_write: bool = True) -> Tools:
    return Tools(EngineBackend(services.engine, tenant), can_write=can_write)


async def rpc(tools: Tools, method: str, params: dict[str, Any] | None = None, request_id: Any = 1) -> Any:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    answer = await handle(json.dumps(message).encode(), tools)
    assert answer.status == 200 and answer.body is not None and answer.body["id"] == request_id, answer
    return answer.body


async def test_initialize_negotiates_a_handshake_version(services) -> None:
    tools = tools_for(services)
    chosen = (await rpc(tools, "initialize", {"protocolVersion": "2025-06-18"}))["result"]
    assert chosen["protocolVersion"] == "2025-06-18" and chosen["serverInfo"]["name"] == "continuum"
    assert set(chosen["capabilities"]) == {"tools", "resources"}
    newest = (await rpc(tools, "initialize", {"protocolVersion": "2099-01-01"}))["result"]
    assert newest["protocolVersion"] == PROTOCOL_VERSIONS[0]
    # A client probing the stateless revision first falls back on "method not found".
    assert (await rpc(tools, "server/discover", {}))["error"]["code"] == -32601


async def test_malformed_messages_notifications_and_responses(services) -> None:
    tools = tools_for(services)
    assert (await handle(b"{", tools)).status == 400
    assert (await handle(b"[1, 2]", tools)).body["error"]["code"] == -32600  # type: ignore[index]
    assert (await handle(b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', tools)).status == 400
    note = await handle(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}', tools)
    assert note.status == 202 and note.body is None
    reply = await handle(b'{"jsonrpc": "2.0", "id": 5, "result": {}}', tools)
    assert reply.status == 202
    bad_params = await handle(b'{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": [1]}', tools)
    assert bad_params.status == 400


async def test_tool_calls_and_their_errors(services) -> None:
    tools = tools_for(services)
    stored = (await rpc(tools, "tools/call", {"name": "remember", "arguments": {"content": "Kim uses Vim"}}))["result"]
    assert stored["isError"] is False and stored["structuredContent"]["status"] == "stored"
    assert json.loads(stored["content"][0]["text"]) == stored["structuredContent"]
    unknown = await rpc(tools, "tools/call", {"name": "nope", "arguments": {}})
    assert unknown["error"]["code"] == -32602 and "remember" in unknown["error"]["message"]
    extra = (await rpc(tools, "tools/call", {"name": "stats", "arguments": {"tenant_id": "other"}}))["result"]
    assert extra["isError"] and "tenant_id" in extra["content"][0]["text"]
    missing = (await rpc(tools, "tools/call", {"name": "forget", "arguments": {}}))["result"]
    assert missing["isError"] and "memory_id" in missing["content"][0]["text"]
    absent = (await rpc(tools, "tools/call", {"name": "forget", "arguments": {"memory_id": "01X"}}))["result"]
    assert absent["isError"] and absent["content"][0]["text"].startswith("not_found:")
    bad_meta = {"name": "remember", "arguments": {"content": "x", "metadata": {"": 1}}}
    assert (await rpc(tools, "tools/call", bad_meta))["result"]["content"][0]["text"].startswith("invalid_request:")


async def test_a_key_without_write_reads_only(services) -> None:
    writer, reader = tools_for(services), tools_for(services, can_write=False)
    stored = await writer.remember(content="Quarterly report is due on the 5th")
    denied = (await rpc(reader, "tools/call", {"name": "forget", "arguments": {"memory_id": stored["id"]}}))["result"]
    assert denied["isError"] and denied["content"][0]["text"].startswith("forbidden:")
    assert (await reader.get_memory(memory_id=stored["id"]))["id"] == stored["id"]


async def test_the_recall_resource(services) -> None:
    tools = tools_for(services)
    await tools.remember(content="The staging database lives in Frankfurt")
    listed = (await rpc(tools, "resources/templates/list"))["result"]["resourceTemplates"]
    assert [t["uriTemplate"] for t in listed] == ["continuum://recall/{message}"]
    read = (await rpc(tools, "resources/read", {"uri": "continuum://recall/staging%20database"}))["result"]
    assert "Frankfurt" in read["contents"][0]["text"]
    assert (await rpc(tools, "resources/read", {"uri": "file:///etc/passwd"}))["error"]["code"] == -32602


async def test_http_and_stdio_list_the_same_tools(services) -> None:
    tools = tools_for(services)
    listed = {t["name"]: t for t in (await rpc(tools, "tools/list"))["result"]["tools"]}
    server = build_server(EngineBackend(services.engine, "t1"))
    sdk = {t.name: t for t in await server.list_tools()}
    assert set(listed) == set(sdk) == set(Tools.BY_NAME)
    for name, tool in sdk.items():
        ours = listed[name]
        assert ours["description"] == tool.description
        assert set(ours["inputSchema"]["properties"]) == set(tool.input_schema["properties"])
        assert set(ours["inputSchema"].get("required", [])) == set(tool.input_schema.get("required", []))
        assert ours["annotations"]["readOnlyHint"] == tool.annotations.read_only_hint  # type: ignore[union-attr]
