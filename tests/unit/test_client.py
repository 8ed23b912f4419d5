"""The SDK against a small real HTTP server that answers from a script: retries, back-off,
Retry-After, Idempotency-Key, error envelopes; and what importing the SDK pulls in.

The full API through the SDK, on every runtime, is tests/e2e/test_client.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from continuum.client import (
    AsyncContinuum,
    AuthenticationError,
    ConnectionError,
    Continuum,
    ContinuumError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from tests.support import layers
from tests.support.servers import REPO, free_port

STORED = {"id": "01JAAAAAAAAAAAAAAAAAAAAAAA", "status": "stored", "tenant_id": "acme"}
FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)


@dataclass
class Answer:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    hang_up: bool = False  # close the connection without answering (after reading the request)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class ScriptedServer:
    """Answers requests in order from `script` (the last answer repeats); records each request."""

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.seen: list[Seen] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                       body, time.monotonic()))  # fmt: skip
                index = min(len(outer.seen), len(outer.script)) - 1
                answer = outer.script[index]
                if answer.hang_up:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = b"" if answer.body is None else (
                    answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                )  # fmt: skip
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json", "X-Request-ID": f"req-{len(outer.seen)}",
                           **answer.headers}  # fmt: skip
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, *answers: Answer) -> None:
        self.script = list(answers)
        self.seen = []


@pytest.fixture(scope="module")
def _running() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def scripted(_running: ScriptedServer) -> ScriptedServer:
    _running.answer(Answer(200, {}))
    return _running


def envelope(code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message}}


def test_429_then_503_are_retried_after_retry_after_with_the_same_idempotency_key(scripted):
    scripted.answer(
        Answer(429, envelope("rate_limited", "slow down"), {"Retry-After": "1"}),
        Answer(503, envelope("service_unavailable", "database down"), {"Retry-After": "0"}),
        Answer(201, STORED),
    )
    with Continuum(scripted.url, "ck_test", retry=FAST) as client:
        stored = client.create_memory(content="remember this")
    assert stored.id == STORED["id"] and len(scripted.seen) == 3
    first, second, _ = scripted.seen
    assert second.at - first.at >= 1.0  # Retry-After honoured although the back-off alone is 10 ms
    keys = {seen.headers["idempotency-key"] for seen in scripted.seen}
    assert len(keys) == 1 and len(keys.pop()) == 36  # one uuid4 for the call, on every attempt
    assert {seen.body for seen in scripted.seen} == {b'{"content":"remember this"}'}
    assert first.headers["authorization"] == "Bearer ck_test" and "x-api-key" not in first.headers


def test_each_call_gets_its_own_key_and_reads_carry_none(scripted):
    scripted.answer(Answer(201, STORED))
    with Continuum(scripted.url, "ck_test") as client:
        client.create_memory(content="one")
        client.create_memory(content="two")
    assert len({seen.headers["idempotency-key"] for seen in scripted.seen}) == 2
    scripted.answer(Answer(200, {"results": [], "query_time_ms": 1.0}))
    with Continuum(scripted.url, "ck_test") as client:
        client.search(query="x")
    assert "idempotency-key" not in scripted.seen[0].headers  # POST /v1/search only reads


def test_back_off_grows_and_gives_up_after_max_retries(scripted):
    scripted.answer(Answer(503, envelope("service_unavailable", "down")))
    policy = RetryPolicy(max_retries=3, base_delay=0.1, max_delay=10)
    with Continuum(scripted.url, retry=policy) as client, pytest.raises(ServerError) as caught:
        client.stats()
    assert len(scripted.seen) == 4  # the first attempt and three retries
    assert caught.value.status == 503 and caught.value.code == "service_unavailable"
    assert caught.value.message == "down" and caught.value.request_id == "req-4"
    waits = [b.at - a.at for a, b in zip(scripted.seen, scripted.seen[1:], strict=False)]
    assert sum(waits) <= 0.1 + 0.2 + 0.4 + 0.5  # full jitter stays under the doubling caps


def test_a_retry_after_longer_than_the_policy_allows_raises_at_once(scripted):
    scripted.answer(Answer(429, envelope("rate_limited", "quota exhausted"), {"Retry-After": "3600"}))
    started = time.monotonic()
    with Continuum(scripted.url) as client, pytest.raises(RateLimitError) as caught:
        client.recall(message="anything")
    assert time.monotonic() - started < 1 and len(scripted.seen) == 1
    assert caught.value.retry_after == 3600


def test_errors_carry_status_code_message_details_and_request_id(scripted):
    details = [{"field": "content", "message": "must not be empty or only whitespace"}]
    scripted.answer(Answer(422, {"error": {"code": "invalid_input", "message": "content: must not be empty",
                                           "details": details}}))  # fmt: skip
    with Continuum(scripted.url) as client:
        with pytest.raises(InvalidRequestError) as caught:
            client.create_memory(content=" ")
        assert (caught.value.status, caught.value.code, caught.value.details) == (422, "invalid_input", details)
        assert caught.value.request_id == "req-1" and len(scripted.seen) == 1  # a 422 is final
        for status, kind in ((401, AuthenticationError), (403, AuthenticationError), (404, NotFoundError),
                             (500, ServerError)):  # fmt: skip
            scripted.answer(Answer(status, envelope("some_code", "what went wrong")))
            with pytest.raises(kind) as caught:
                client.get_memory("01JAAAAAAAAAAAAAAAAAAAAAAA")
            assert isinstance(caught.value, ContinuumError) and caught.value.code == "some_code"
        scripted.answer(Answer(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
        with pytest.raises(ServerError) as caught:
            client.stats()
        assert caught.value.code == "http_502" and "Bad Gateway" in caught.value.message


def test_a_write_that_may_have_arrived_is_retried_only_under_an_idempotency_key(scripted):
    scripted.answer(Answer(0, hang_up=True), Answer(201, STORED))
    with Continuum(scripted.url, retry=FAST) as client:
        assert client.create_memory(content="x").status == "stored"
    assert len(scripted.seen) == 2 and scripted.seen[0].headers["idempotency-key"] == scripted.seen[1].headers[
        "idempotency-key"]  # fmt: skip
    key_created = {"id": "k1", "tenant_id": "acme", "name": None, "prefix": "ck_x", "scopes": ["write"],
                   "status": "active", "created_at": "2026-01-01T00:00:00Z", "expires_at": None,
                   "revoked_at": None, "last_used_at": None, "api_key": "ck_secret"}  # fmt: skip
    scripted.answer(Answer(0, hang_up=True), Answer(201, key_created))
    with Continuum(scripted.url, retry=FAST) as client, pytest.raises(ConnectionError) as caught:
        client.create_key(tenant_id="acme")  # not keyed: a second key could be made
    assert len(scripted.seen) == 1 and caught.value.status == 0 and caught.value.code == "connection_error"


def test_an_unreachable_server_is_retried_then_a_connection_error():
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with Continuum(f"http://127.0.0.1:{port}", retry=FAST) as client, pytest.raises(ConnectionError) as caught:
        client.create_key(tenant_id="acme")  # never arrived: safe to retry even unkeyed
    assert isinstance(caught.value, OSError) and str(port) in caught.value.message
    assert time.monotonic() - started < 5


def test_a_deployment_without_idempotency_records_gets_plain_writes(scripted):
    scripted.answer(Answer(422, envelope("idempotency_unsupported", "needs a shared store")), Answer(201, STORED))
    with Continuum(scripted.url) as client:
        client.create_memory(content="x")
        client.create_memory(content="y")
    assert ["idempotency-key" in seen.headers for seen in scripted.seen] == [True, False, False]


def test_a_keyed_write_still_in_progress_is_retried(scripted):
    batch = {"results": [{"id": "01JAAAAAAAAAAAAAAAAAAAAAAA", "status": "stored"}], "tenant_id": "acme"}
    scripted.answer(Answer(409, envelope("conflict", "still being processed"), {"Retry-After": "0"}),
                    Answer(200, batch))  # fmt: skip
    with Continuum(scripted.url) as client:
        assert client.create_memories(memories=[{"content": "x"}]).__class__.__name__ == "MemoryBatchResponse"
    assert len(scripted.seen) == 2


def test_an_answer_of_the_wrong_shape_is_an_sdk_error_naming_it(scripted):
    scripted.answer(Answer(200, {"something": "else"}))
    with Continuum(scripted.url) as client, pytest.raises(ContinuumError) as caught:
        client.stats()
    assert caught.value.code == "unexpected_response" and "Stats" in caught.value.message
    assert caught.value.request_id == "req-1"


def test_health_reports_a_server_that_is_down_without_retrying(scripted):
    scripted.answer(Answer(503, {"status": "down", "checks": {"database": "down"}}, {"Retry-After": "5"}))
    with Continuum(scripted.url) as client:
        assert client.health().status == "down"
    assert len(scripted.seen) == 1


def test_configuration_from_the_environment(scripted, monkeypatch):
    monkeypatch.setenv("CONTINUUM_URL", scripted.url + "/")
    monkeypatch.setenv("CONTINUUM_API_KEY", "ck_from_env")
    scripted.answer(Answer(200, {"status": "ok"}))
    with Continuum(tenant="acme") as client:
        assert client.health().status == "ok" and client.base_url == scripted.url
        assert "ck_from_env" not in repr(client)
    sent = scripted.seen[0].headers
    assert sent["authorization"] == "Bearer ck_from_env" and sent["x-continuum-tenant"] == "acme"
    assert sent["user-agent"].startswith("continuum-python/")
    with pytest.raises(ValueError, match="http"):
        Continuum("ftp://example.com")


def test_cursor_pages_are_followed_and_limit_stops_early(scripted):
    def memory(n: int) -> dict[str, object]:
        return {"id": f"01JAAAAAAAAAAAAAAAAAAAAA{n:02d}", "content": f"m{n}", "role": "user", "instance_id": None,
                "session_id": None, "metadata": {}, "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z", "expires_at": None, "tenant_id": "acme"}  # fmt: skip

    pages = [Answer(200, {"memories": [memory(1), memory(2)], "next_cursor": "01JAAAAAAAAAAAAAAAAAAAAA02"}),
             Answer(200, {"memories": [memory(3)], "next_cursor": None})]  # fmt: skip
    scripted.answer(*pages)
    with Continuum(scripted.url) as client:
        assert [m.content for m in client.list_memories(page_size=2, metadata={"k": "v"})] == ["m1", "m2", "m3"]
    assert "cursor" not in scripted.seen[0].path and "cursor=01JAAAAAAAAAAAAAAAAAAAAA02" in scripted.seen[1].path
    assert "metadata=%7B%22k%22%3A%22v%22%7D" in scripted.seen[0].path
    scripted.answer(*pages)
    with Continuum(scripted.url) as client:
        assert [m.content for m in client.list_memories(page_size=2, limit=1)] == ["m1"]
    assert len(scripted.seen) == 1 and "limit=1" in scripted.seen[0].path


def test_the_async_client_retries_alike(scripted):
    scripted.answer(Answer(429, envelope("rate_limited", "slow down"), {"Retry-After": "0"}),
                    Answer(0, hang_up=True), Answer(201, STORED))  # fmt: skip

    async def run() -> str:
        async with AsyncContinuum(scripted.url, "ck_test", retry=FAST) as client:
            return (await client.create_memory(content="x")).status

    assert asyncio.run(run()) == "stored" and len(scripted.seen) == 3
    assert len({seen.headers["idempotency-key"] for seen in scripted.seen}) == 1


def test_importing_the_sdk_loads_neither_the_server_nor_its_frameworks():
    code = (
        "import sys, continuum.client; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'uvicorn') "
        "or m.startswith(('continuum.storage', 'continuum.core', 'continuum.runtime', 'continuum.server'))))"
    )
    env = {"PYTHONPATH": f"{REPO / 'shared'}:{REPO}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "[]"


def test_the_sdk_imports_only_the_ground_the_schemas_and_the_route_manifest():
    allowed = {"continuum.schemas", "continuum.api.manifest"}
    wrong = [
        f"{imp.source}:{imp.line} imports {imp.target}" for imp in layers.all_imports()
        if imp.source.startswith("continuum.client") and not imp.target.startswith("continuum.client")
        and layers.layer_of(imp.target) != "ground" and imp.target not in allowed
    ]  # fmt: skip
    assert wrong == []


def test_retry_after_is_read_as_seconds_or_an_http_date():
    from datetime import UTC, datetime

    from continuum.client.core import parse_retry_after

    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3 and parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:10 GMT", now) == 10
    assert parse_retry_after("Fri, 27 Nov 2026 11:59:00 GMT", now) == 0  # already past: retry now
    assert parse_retry_after("-4", now) == 0
    for unreadable in (None, "", "soon", "nan"):
        assert parse_retry_after(unreadable, now) is None


def test_back_off_is_full_jitter_under_a_doubling_cap_and_retry_after_is_a_floor():
    policy = RetryPolicy(max_retries=6, base_delay=0.5, max_delay=4.0, max_retry_after=30)
    for attempt in range(6):
        waits = [policy.delay(attempt, None) for _ in range(200)]
        cap = min(4.0, 0.5 * 2**attempt)
        assert all(0 <= w <= cap for w in waits) and max(waits) > cap / 2  # spread over the whole range
    assert all(2 <= policy.delay(0, 2) <= 2.55 for _ in range(100))
    assert policy.delay(6, None) is None and policy.delay(0, 31) is None
