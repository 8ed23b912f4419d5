"""api/middleware.py: request ids, the body limit (declared or streamed), metrics per route."""

from __future__ import annotations

import json
from typing import Any

from continuum.api.middleware import RequestMiddleware


class RecordingMetrics:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int]] = []

    def request(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        self.requests.append((method, endpoint, status))


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def call(app: Any, *, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        chunk = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/memories", "headers": headers}
    await app(scope, receive, send)
    return sent


def header(message: dict[str, Any], name: bytes) -> bytes | None:
    return next((v for k, v in message["headers"] if k == name), None)


async def test_a_printable_request_id_is_echoed_and_a_bad_one_replaced() -> None:
    app = RequestMiddleware(echo_app, max_body_bytes=1024)
    sent = await call(app, headers=[(b"x-request-id", b"abc-123")], chunks=[b"hi"])
    assert header(sent[0], b"x-request-id") == b"abc-123"
    sent = await call(app, headers=[(b"x-request-id", b"bad\nid")], chunks=[b"hi"])
    replaced = header(sent[0], b"x-request-id")
    assert replaced is not None and replaced != b"bad\nid" and len(replaced) == 32


async def test_a_declared_body_over_the_limit_is_413_before_the_app_runs() -> None:
    metrics = RecordingMetrics()
    app = RequestMiddleware(echo_app, max_body_bytes=10, metrics=metrics)
    sent = await call(app, headers=[(b"content-length", b"11")], chunks=[b"x" * 11])
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"
    assert header(sent[0], b"x-request-id") is not None
    assert metrics.requests == [("POST", "unmatched", 413)]


async def test_a_streamed_body_over_the_limit_is_cut_off_with_413() -> None:
    app = RequestMiddleware(echo_app, max_body_bytes=10)
    sent = await call(app, headers=[], chunks=[b"x" * 6, b"y" * 6])
    assert sent[0]["status"] == 413
    assert "CONTINUUM_MAX_BODY_BYTES" in json.loads(sent[1]["body"])["error"]["message"]


async def test_a_body_within_the_limit_reaches_the_app() -> None:
    metrics = RecordingMetrics()
    app = RequestMiddleware(echo_app, max_body_bytes=10, metrics=metrics)
    sent = await call(app, headers=[(b"content-length", b"10")], chunks=[b"x" * 5, b"y" * 5])
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"xxxxxyyyyy"
    assert metrics.requests == [("POST", "unmatched", 200)]
