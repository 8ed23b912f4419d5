"""MCP over streamable HTTP, stateless: one JSON-RPC message per POST, one JSON answer.

Why not the `mcp` SDK's own HTTP server here: `/mcp` is served by the local server, by
its own Lambda function and by the Worker, and the SDK (with pydantic-settings,
sse-starlette, jsonschema, starlette's auth stack, opentelemetry) does not fit the Worker's
3 MB bundle and would add to the Lambda function's cold start. This module needs nothing
but the tools and pydantic, and keeps every runtime's `/mcp` identical: the app's own auth
(the same API keys, tenant from the key), rate limit, request ids and error envelope apply.

What it speaks: the handshake revisions (`initialize`, 2025-03-26 to 2025-11-25) with no
session (no `Mcp-Session-Id`: every request stands alone, so any instance can answer it),
JSON responses (no SSE stream: `GET /mcp` is 405), notifications acknowledged with 202.
A client that probes the stateless 2026-07-28 revision first (`server/discover`) gets
"method not found" and falls back to `initialize`, as the protocol prescribes.
"""

from __future__ import annotations

import json
import logging
from typing import Any, NamedTuple
from urllib.parse import unquote

from pydantic import ValidationError

from continuum import __version__
from continuum.mcp.backend import ToolFailure
from continuum.mcp.tools import RECALL_DESCRIPTION, RECALL_TEMPLATE, Tools, arguments_model

log = logging.getLogger("continuum.mcp")

PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
SERVER_INFO = {"name": "continuum", "title": "CONTINUUM memory", "version": __version__}
INSTRUCTIONS = (
    "CONTINUUM is this agent's long-term memory. Before answering, call `recall` with the user's "
    "message and use its context block; after answering, call `learn_turn` with the message and "
    "your answer. `remember` stores one fact; `search`, `list_memories` and `get_memory` read; "
    "`update_memory` and `forget` change or delete one memory by id."
)
RECALL_PREFIX = RECALL_TEMPLATE.split("{", 1)[0]

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603


class Answer(NamedTuple):
    """An HTTP answer: status and JSON body (None: 202 Accepted, no body)."""

    status: int
    body: dict[str, Any] | None


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def tool_list() -> list[dict[str, Any]]:
    tools = []
    for spec in Tools.SPECS:
        schema = arguments_model(spec.name).model_json_schema()
        schema.pop("title", None)
        tools.append({
            "name": spec.name,
            "description": spec.description,
            "inputSchema": schema,
            "annotations": {
                "readOnlyHint": not spec.writes,
                "destructiveHint": spec.destructive,
                "idempotentHint": not spec.writes or spec.destructive,
                "openWorldHint": False,
            },
        })  # fmt: skip
    return tools


def tool_result(result: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(result, ensure_ascii=False)
    return {"content": [{"type": "text", "text": text}], "structuredContent": result, "isError": False}


def tool_error(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}


async def call_tool(tools: Tools, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("name")
    if not isinstance(name, str) or name not in Tools.BY_NAME:
        raise RpcError(INVALID_PARAMS, f"unknown tool {name!r}; known: {', '.join(Tools.BY_NAME)}")
    arguments = params.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise RpcError(INVALID_PARAMS, "arguments must be an object")
    try:
        checked = arguments_model(name).model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors())
        return tool_error(f"invalid_request: {problems}")
    try:
        result = await tools.function(name)(**{field: getattr(checked, field) for field in type(checked).model_fields})
    except ToolFailure as exc:
        return tool_error(str(exc))
    return tool_result(result)


async def read_resource(tools: Tools, params: dict[str, Any]) -> dict[str, Any]:
    uri = params.get("uri")
    if not isinstance(uri, str) or not uri.startswith(RECALL_PREFIX) or len(uri) == len(RECALL_PREFIX):
        raise RpcError(INVALID_PARAMS, f"unknown resource {uri!r}; resources: {RECALL_TEMPLATE}")
    try:
        text = await tools.recall_context(unquote(uri[len(RECALL_PREFIX) :]))
    except ToolFailure as exc:
        raise RpcError(INVALID_PARAMS, str(exc)) from None
    return {"contents": [{"uri": uri, "mimeType": "text/plain", "text": text}]}


def initialize(params: dict[str, Any]) -> dict[str, Any]:
    asked = params.get("protocolVersion")
    version = asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]
    return {
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": False}, "resources": {"listChanged": False}},
        "serverInfo": SERVER_INFO,
        "instructions": INSTRUCTIONS,
    }


async def _dispatch(method: str, params: dict[str, Any], tools: Tools) -> dict[str, Any]:
    if method == "initialize":
        return initialize(params)
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": tool_list()}
    if method == "tools/call":
        return await call_tool(tools, params)
    if method == "resources/list":
        return {"resources": []}
    if method == "resources/templates/list":
        template = {"uriTemplate": RECALL_TEMPLATE, "name": "recall", "description": RECALL_DESCRIPTION,
                    "mimeType": "text/plain"}  # fmt: skip
        return {"resourceTemplates": [template]}
    if method == "resources/read":
        return await read_resource(tools, params)
    raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}")


async def handle(raw: bytes, tools: Tools) -> Answer:
    """One POSTed message -> the HTTP answer."""
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return Answer(400, _error(None, PARSE_ERROR, "the body is not JSON"))
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return Answer(400, _error(None, INVALID_REQUEST, "expected one JSON-RPC 2.0 message (an object)"))
    if "method" not in message:
        return Answer(202, None)  # a response to a server request: this server sends none
    method, request_id = message.get("method"), message.get("id")
    if "id" not in message:
        return Answer(202, None)  # notification (initialized, cancelled, ...)
    params = message.get("params") or {}
    if not isinstance(method, str) or not isinstance(params, dict):
        return Answer(400, _error(request_id, INVALID_REQUEST, "method must be a string and params an object"))
    try:
        result = await _dispatch(method, params, tools)
    except RpcError as exc:
        return Answer(200, _error(request_id, exc.code, exc.message))
    except Exception:
        log.exception("MCP request failed", extra={"method": method})
        return Answer(200, _error(request_id, INTERNAL_ERROR, "internal error; the server's logs say why"))
    return Answer(200, {"jsonrpc": "2.0", "id": request_id, "result": result})
