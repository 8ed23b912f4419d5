"""The tools on the `mcp` SDK's `MCPServer`, served over stdio (`continuum mcp`).

The SDK builds each tool's input schema from the same signatures `protocol.py` reads and
validates the arguments; a `ToolFailure` becomes the SDK's `ToolError`, which the client
receives as a tool result with `isError` set (code and message, no traceback).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from continuum import __version__
from continuum.mcp.backend import Backend, ToolFailure
from continuum.mcp.protocol import INSTRUCTIONS
from continuum.mcp.tools import RECALL_DESCRIPTION, RECALL_TEMPLATE, Tools


def _reporting(function: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[dict[str, Any]]]:
    @wraps(function)
    async def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return await function(*args, **kwargs)
        except ToolFailure as exc:
            raise ToolError(str(exc)) from None

    return run


def build_server(backend: Backend, *, can_write: bool = True) -> MCPServer:
    tools = Tools(backend, can_write=can_write)
    server: MCPServer = MCPServer(
        "continuum", title="CONTINUUM memory", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    for spec in Tools.SPECS:
        annotations = ToolAnnotations(
            read_only_hint=not spec.writes, destructive_hint=spec.destructive,
            idempotent_hint=not spec.writes or spec.destructive, open_world_hint=False,
        )  # fmt: skip
        server.add_tool(
            _reporting(tools.function(spec.name)), name=spec.name, description=spec.description,
            annotations=annotations, structured_output=True,
        )  # fmt: skip

    @server.resource(RECALL_TEMPLATE, name="recall", description=RECALL_DESCRIPTION, mime_type="text/plain")
    async def recall_context(message: str) -> str:
        try:
            return await tools.recall_context(message)
        except ToolFailure as exc:
            raise ValueError(str(exc)) from None

    return server
