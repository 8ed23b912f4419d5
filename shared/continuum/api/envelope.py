"""The error envelope every runtime answers with: `{"error": {"code", "message"}}`.

One definition for the app's exception handlers (`api/errors.py`), the Lambda handler's
answers before an app exists (`aws/handler.py`) and the Worker's misconfigured isolate.
Standard library only, so those early paths import nothing else.
"""

from __future__ import annotations

import json
from typing import Any

INTERNAL_ERROR = "internal error; the request id in X-Request-ID identifies it"


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def error_json(code: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    return json.dumps(error_body(code, message, details), separators=(",", ":"), ensure_ascii=False).encode()


def error_headers(body: bytes, retry_after: int | None = None) -> list[tuple[bytes, bytes]]:
    """ASGI headers of an envelope answer."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    return headers


class ErrorApp:
    """An ASGI app answering every request with one error (a runtime that could not start)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            return
        body = error_json(self.code, self.message)
        await send({"type": "http.response.start", "status": self.status, "headers": error_headers(body)})
        await send({"type": "http.response.body", "body": body})
