"""`/v1/sync`: a tenant's events over a WebSocket, as they commit (docs/sync.md).

The client authenticates with the HTTP routes' headers (X-API-Key or Authorization:
Bearer; the admin key picks a tenant with X-Continuum-Tenant) and needs the `read` scope.
The server sends `{"type": "sync.subscribed", ...}` once the subscription is live, then
every event's JSON (`Event.body()`, the webhook payload), in commit order. Heartbeat:
the server (uvicorn, `continuum serve`) pings every CONTINUUM_SYNC_PING_INTERVAL and
drops a connection silent for CONTINUUM_SYNC_IDLE_TIMEOUT; a client that cannot send
pings may send `{"type": "ping"}` and gets `{"type": "sync.pong"}`. Refusals close the
socket with 4000 + the HTTP status the same error would have (4401, 4403, 4422, 4429,
4501) and the error's message as the reason; a lost subscription closes with 1013.

A plain GET (no upgrade) answers 426, or 501 on runtimes that serve no subscribers
(Lambda, Workers: the server runtimes serve them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.errors import error_response
from continuum.api.manifest import required_scope
from continuum.api.openapi import error
from continuum.api.routes import RouteTable
from continuum.core.auth import Principal, credential_from_headers, require_scope
from continuum.core.sync import Stream, SyncUnavailable, parse_types
from continuum.errors import ContinuumError
from continuum.services import Services

PATH = "/v1/sync"
CLOSE_REASON_BYTES = 123  # the most a WebSocket close frame carries
TRY_AGAIN_LATER = 1013


class SyncRoutes(RouteTable):
    """The HTTP route (declared as usual, so the manifest and OpenAPI see it) and, beside
    it, the WebSocket route on the same path."""

    def mount(self, app: FastAPI) -> None:
        super().mount(app)
        app.add_api_websocket_route(PATH, subscribe)


router = SyncRoutes(tags=["sync"])


@router.get(
    PATH,
    responses={
        426: error("A WebSocket endpoint: connect with a WebSocket client (docs/sync.md)"),
        501: error("This runtime serves no real-time subscribers (Lambda, Workers): the server runtimes do"),
    },
)
async def sync_over_http(principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    """Real-time sync is a WebSocket (`ws://host/v1/sync?types=...`, docs/sync.md), authenticated
    like every route: a plain request is told so (426), or where it is served (501)."""
    if not services.sync.available:
        raise SyncUnavailable(getattr(services.sync, "reason", "real-time sync is not served here"))
    response = error_response(
        426, "upgrade_required", f"{PATH} is a WebSocket: connect with a WebSocket client (ws:// or wss://)"
    )
    response.headers["Upgrade"] = "websocket"
    return response


def close_code(exc: ContinuumError) -> int:
    """4000 + the HTTP status for refusals; 1013 (try again later) when a dependency is down."""
    if exc.status == 503:
        return TRY_AGAIN_LATER
    return 4000 + exc.status if 400 <= exc.status < 600 else 1011


def close_reason(exc: ContinuumError) -> str:
    reason = f"{exc.code}: {exc.message}"
    encoded = reason.encode("utf-8")
    if len(encoded) <= CLOSE_REASON_BYTES:
        return reason
    return encoded[: CLOSE_REASON_BYTES - 3].decode("utf-8", errors="ignore") + "..."


async def _authenticate(websocket: WebSocket, services: Services) -> Principal:
    headers = websocket.headers
    credential = credential_from_headers(headers.get("x-api-key"), headers.get("authorization"))
    return await services.auth.authenticate(credential, acting_tenant=headers.get("x-continuum-tenant"))


async def subscribe(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        services: Services = await websocket.app.state.provider.get()
        principal = await _authenticate(websocket, services)
        if not principal.is_admin:
            await services.rate_limiter.check(principal.tenant_id)
        require_scope(principal, required_scope("GET", PATH))
        types = parse_types(websocket.query_params.get("types"))
        stream = await services.sync.subscribe(principal.tenant_id, types)
    except ContinuumError as exc:
        await websocket.close(close_code(exc), close_reason(exc))
        return
    try:
        await websocket.send_text(json.dumps({
            "type": "sync.subscribed", "tenant_id": principal.tenant_id,
            "types": sorted(types) if types is not None else None,
        }))  # fmt: skip
        refusal = await _relay(websocket, services, stream)
    except WebSocketDisconnect:
        return
    finally:
        await stream.close()
    if refusal is not None and websocket.application_state is not WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(close_code(refusal), close_reason(refusal))


async def _relay(websocket: WebSocket, services: Services, stream: Stream) -> ContinuumError | None:
    """Send the stream until the client leaves (None) or the server ends it (the error)."""

    async def forward() -> ContinuumError | None:
        while True:
            await websocket.send_text(await stream.next())

    async def listen() -> ContinuumError | None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            text = message.get("text")
            if text and '"ping"' in text:
                with contextlib.suppress(ValueError):
                    if json.loads(text).get("type") == "ping":
                        await websocket.send_text('{"type":"sync.pong"}')

    async def recheck() -> ContinuumError | None:
        # a key revoked (or its tenant erased) while connected ends the subscription
        while True:
            await asyncio.sleep(services.sync.ping_interval)
            principal = await _authenticate(websocket, services)
            require_scope(principal, required_scope("GET", PATH))

    tasks = [asyncio.create_task(job()) for job in (forward, listen, recheck)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finished = done.pop()
    exc = finished.exception()
    if isinstance(exc, ContinuumError):
        return exc
    if exc is not None and not isinstance(exc, WebSocketDisconnect):
        raise exc
    return None
