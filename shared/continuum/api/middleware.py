"""One ASGI middleware: request id, body-size limit, timing, metrics, the access log and
the last resort for unhandled errors.

Pure ASGI (not BaseHTTPMiddleware) so that it adds no task hop per request and can
cut a body off mid-stream when it exceeds the limit. An exception no handler took is
answered here, inside the request's context: the 500 carries its X-Request-ID, the log
line names the request and holds the traceback, and nothing is re-raised, so the
server keeps the connection alive.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from pydantic_core import from_json

from continuum.api.envelope import INTERNAL_ERROR, error_headers, error_json
from continuum.observability.logging import request_id_var, tenant_id_var
from continuum.ports import Metrics

log = logging.getLogger("continuum.access")
errors_log = logging.getLogger("continuum.api")

Scope = dict[str, Any]
Message = dict[str, Any]

MAX_JSON_DEPTH = 200  # pydantic-core's own limit; a valid request nests about 12 levels
NESTED_TOO_DEEPLY = f"request body is not valid JSON: nested too deeply (at most {MAX_JSON_DEPTH} levels)"


class _BodyTooLarge(Exception):
    pass


def _nul_in_url(scope: Scope) -> str | None:
    """The part of the URL holding a NUL character (`path` or `query.<name>`), if any.

    No value the API stores or looks up may contain NUL (PostgreSQL cannot hold it), so a
    NUL anywhere in the URL is refused before routing, on every route and backend alike.
    """
    if "\x00" in scope.get("path", ""):
        return "path"
    raw: bytes = scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:
        return None
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            name = name.replace("\x00", "")
            return f"query.{name}" if name else "query"
    return None


def _is_json(content_type: str) -> bool:
    """Whether FastAPI would parse the body as JSON (it may when no type is given)."""
    media = content_type.partition(";")[0].strip().lower()
    return not media or media == "application/json" or media.endswith("+json")


def _nested_too_deeply(body: bytes) -> bool:
    """Whether parsing `body` would nest deeper than MAX_JSON_DEPTH. The standard parser
    (which FastAPI uses) recurses once per level: on CPython 10,000 levels raise
    RecursionError, but in a Python Worker (Pyodide) they overflow the JavaScript stack
    and kill the isolate. Checked with pydantic-core's parser, which stops at its
    limit; only a body with more brackets than that limit can be that deep."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    try:
        from_json(body)
    except ValueError as exc:
        return "recursion limit" in str(exc)
    return False


async def read_body(receive: Any) -> bytes:
    """The whole request body (what arrived of it, if the client disconnects first)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Any) -> Any:
    """A receive that hands the app the body already read, then the server's messages."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class RequestMiddleware:
    def __init__(self, app: Any, *, max_body_bytes: int, metrics: Metrics | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        id_token = request_id_var.set(request_id)
        tenant_token = tenant_id_var.set(None)
        status = 500
        response_started = False
        # the request's own request.state (a copy, as uvicorn makes: runtimes that do not
        # copy must not share it between requests); what the app asks to answer with
        state = scope["state"] = dict(scope.get("state") or {})

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
                extra = state.get("continuum_headers")  # rate limit and quotas (api/quota.py)
                if extra:
                    message["headers"] += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
            await send(message)

        async def refuse(refused: int, body: bytes) -> None:
            nonlocal status
            status = refused
            await send_wrapper({"type": "http.response.start", "status": refused, "headers": error_headers(body)})
            await send({"type": "http.response.body", "body": body})

        declared = headers.get("content-length")
        nul_field = _nul_in_url(scope)
        try:
            if nul_field is not None:
                problem = {"field": nul_field, "message": "must not contain NUL characters"}
                message = f"{nul_field}: {problem['message']}"
                await refuse(422, error_json("invalid_input", message, [problem]))
                return
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                raise _BodyTooLarge
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        raise _BodyTooLarge
                return message

            app_receive = limited_receive
            if _is_json(headers.get("content-type", "")):
                body = await read_body(limited_receive)
                if _nested_too_deeply(body):
                    await refuse(400, error_json("invalid_json", NESTED_TOO_DEEPLY))
                    return
                app_receive = _replay(body, receive)
            await self.app(scope, app_receive, send_wrapper)
        except _BodyTooLarge:
            if response_started:
                raise
            status = 413
            body = error_json(
                "payload_too_large", f"request body exceeds {self.max_body_bytes} bytes (CONTINUUM_MAX_BODY_BYTES)"
            )
            await send_wrapper({"type": "http.response.start", "status": 413, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
        except Exception as exc:
            errors_log.error("unhandled error", exc_info=exc, extra={"method": scope["method"], "path": scope["path"]})
            if response_started:
                raise  # too late for a 500: the server drops the connection
            status = 500
            body = error_json("internal_error", INTERNAL_ERROR)
            await send_wrapper({"type": "http.response.start", "status": 500, "headers": error_headers(body)})
            await send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            if self.metrics is not None:
                self.metrics.request(scope["method"], endpoint, status, elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "endpoint": endpoint,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "tenant_id": tenant_id_var.get(),
                },
            )
            request_id_var.reset(id_token)
            tenant_id_var.reset(tenant_token)
