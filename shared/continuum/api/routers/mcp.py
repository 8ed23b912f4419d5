"""`POST /mcp`: the MCP server over streamable HTTP (stateless JSON; continuum/mcp/protocol.py).

Same keys as the API (Authorization: Bearer or X-API-Key; tenant from the key); a key
without the `write` scope may call the reading tools only. The Host header must name this
server (DNS-rebinding protection, continuum/mcp/hosts.py) before anything else is looked at.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Request, Response

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.routes import RouteTable
from continuum.core.auth import WRITE
from continuum.errors import ContinuumError, Forbidden
from continuum.mcp.backend import EngineBackend
from continuum.mcp.hosts import host_allowed, origin_allowed
from continuum.mcp.protocol import handle
from continuum.mcp.tools import Tools

router = RouteTable(tags=["mcp"])


class MisdirectedRequest(ContinuumError):
    status = 421
    code = "invalid_host"


async def checked_host(request: Request) -> None:
    settings = request.app.state.settings
    if not host_allowed(request.headers.get("host"), settings.mcp_allowed_hosts):
        raise MisdirectedRequest(
            "this server does not answer MCP for that Host header; add it to CONTINUUM_MCP_ALLOWED_HOSTS"
        )
    if not origin_allowed(request.headers.get("origin"), settings.mcp_allowed_hosts, settings.cors_origins):
        raise Forbidden("Origin not allowed for MCP; add its host to CONTINUUM_MCP_ALLOWED_HOSTS")


HostChecked = Annotated[None, Depends(checked_host)]


@router.post("/mcp", include_in_schema=False)
async def mcp(request: Request, _host: HostChecked, principal: PrincipalDep, services: ServicesDep) -> Response:
    """One JSON-RPC message in, one JSON answer out (202 for notifications)."""
    tools = Tools(EngineBackend(services.engine, principal.tenant_id), can_write=principal.allows(WRITE))
    answer = await handle(await request.body(), tools)
    if answer.body is None:
        return Response(status_code=202)
    body = json.dumps(answer.body, ensure_ascii=False).encode()
    return Response(body, status_code=answer.status, media_type="application/json")
