"""api/middleware.py: request ids, the body limit (declared or streamed), metrics per route."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from continuum.api.errors import install_error_handlers
from continuum.api.middleware import RequestMiddleware
from continuum.observability.logging import JsonFormatter


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


# ---- an unhandled error: a 500 that can be traced ----------------------------------------


class CapturedLogs(logging.Handler):
    """Formats each record as it is emitted (the request's context is set only then)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(self.format(record)))


def failing_app(*, middleware: bool = True) -> FastAPI:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the storage said no")

    @app.post("/echo")
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    install_error_handlers(app)
    if middleware:
        app.add_middleware(RequestMiddleware, max_body_bytes=1 << 20)
    return app


@pytest.fixture
def api_logs() -> Iterator[CapturedLogs]:
    handler = CapturedLogs()
    logger = logging.getLogger("continuum.api")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def test_an_unhandled_error_is_a_500_carrying_its_request_id(api_logs: CapturedLogs) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/boom", "raw_path": b"/boom", "query_string": b"", "root_path": "",
        "headers": [(b"x-request-id", b"trace-me-42")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    # The app answers and returns normally: the server keeps the connection alive.
    await failing_app()(scope, receive, send)
    assert sent[0]["status"] == 500
    assert header(sent[0], b"x-request-id") == b"trace-me-42"
    assert json.loads(sent[1]["body"])["error"]["code"] == "internal_error"
    logged = [e for e in api_logs.entries if e["message"] == "unhandled error"]
    assert len(logged) == 1
    assert logged[0]["request_id"] == "trace-me-42"
    assert "RuntimeError: the storage said no" in logged[0]["exception"]
    assert 'raise RuntimeError("the storage said no")' in logged[0]["exception"]


async def test_a_500_without_an_incoming_id_gets_a_fresh_one_that_the_log_names(api_logs: CapturedLogs) -> None:
    transport = httpx.ASGITransport(app=failing_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    request_id = response.headers.get("x-request-id")
    assert request_id and len(request_id) == 32
    assert "X-Request-ID" in response.json()["error"]["message"]
    assert [e["request_id"] for e in api_logs.entries if e["message"] == "unhandled error"] == [request_id]


# ---- NUL in the URL ---------------------------------------------------------------------


async def call_get(app: Any, path: str, query: bytes = b"") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": path, "query_string": query, "headers": []}, receive, send)
    return sent


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/v1/entities/a\x00b", b"", "path"),
        ("/v1/memories/01M8\x00", b"", "path"),
        ("/v1/entities", b"entity_type=%00", "query.entity_type"),
        ("/v1/entities", b"limit=5&entity_type=a%00b", "query.entity_type"),
        ("/v1/memories", b"cursor=x\x00", "query.cursor"),
        ("/v1/memories", b"%00=1", "query"),
    ],
)
async def test_a_nul_anywhere_in_the_url_is_a_422_naming_where(path: str, query: bytes, field: str) -> None:
    metrics = RecordingMetrics()
    sent = await call_get(RequestMiddleware(echo_app, max_body_bytes=10, metrics=metrics), path, query)
    assert sent[0]["status"] == 422
    assert header(sent[0], b"x-request-id") is not None
    error = json.loads(sent[1]["body"])["error"]
    assert error["code"] == "invalid_input"
    assert error["message"] == f"{field}: must not contain NUL characters"
    assert error["details"] == [{"field": field, "message": "must not contain NUL characters"}]
    assert metrics.requests == [("GET", "unmatched", 422)]


async def test_a_url_without_nul_reaches_the_app() -> None:
    sent = await call_get(RequestMiddleware(echo_app, max_body_bytes=10), "/v1/entities/a%2500b", b"q=%2500&r=0")
    assert sent[0]["status"] == 200


async def test_a_body_nested_too_deeply_is_refused_before_the_app_parses_it() -> None:
    # In a Python Worker the standard JSON parser overflows the JavaScript stack on such a
    # body and kills the isolate: the app must never see it.
    metrics = RecordingMetrics()
    app = RequestMiddleware(echo_app, max_body_bytes=1 << 20, metrics=metrics)
    for deep in (b"[" * 10_000 + b"]" * 10_000, b'{"a": ' * 201 + b"1" + b"}" * 201, b"[" * 10_000):
        sent = await call(app, headers=[(b"content-type", b"application/json")], chunks=[deep[:7], deep[7:]])
        assert sent[0]["status"] == 400
        assert json.loads(sent[1]["body"])["error"] == {
            "code": "invalid_json", "message": "request body is not valid JSON: nested too deeply (at most 200 levels)"
        }  # fmt: skip
    assert metrics.requests == [("POST", "unmatched", 400)] * 3


async def test_json_within_the_depth_limit_reaches_the_app_whole() -> None:
    app = RequestMiddleware(echo_app, max_body_bytes=1 << 20)
    wide = b"[" + b",".join([b'{"a": [1, {"b": "[[[[{{{{"}]}'] * 500) + b"]"
    for body in (b'{"a": ' * 199 + b"1" + b"}" * 199, wide, b"[[[[ not json at all"):
        for content_type in (b"application/json", b"application/merge-patch+json", b""):
            sent = await call(app, headers=[(b"content-type", content_type)], chunks=[body[:5], body[5:]])
            assert (sent[0]["status"], sent[1]["body"]) == (200, body)


async def test_a_json_body_over_the_limit_is_still_413() -> None:
    app = RequestMiddleware(echo_app, max_body_bytes=10)
    sent = await call(app, headers=[(b"content-type", b"application/json")], chunks=[b"[" * 6, b"]" * 6])
    assert sent[0]["status"] == 413


async def test_a_body_nested_too_deeply_for_the_parser_is_a_400_saying_so() -> None:
    """api/errors.py names the parser's failure, should such a body ever get past the middleware."""
    transport = httpx.ASGITransport(app=failing_app(middleware=False))
    deep = b"[" * 10_000 + b"]" * 10_000
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.post("/echo", content=deep, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert response.json()["error"]["message"].startswith("request body is not valid JSON: nested too deeply")
