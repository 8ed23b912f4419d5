"""Product analytics against a real local HTTP receiver standing in for the PostHog host:
a `continuum serve` process with POSTHOG_API_KEY / POSTHOG_HOST set sends its usage events
there through the `posthog` client, and what arrives holds operation names, statuses,
latency buckets and counts, a keyed hash of the tenant, and nothing it must not (no
content, no tenant, user, session, instance or memory id, no API key)."""

from __future__ import annotations

import gzip
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from continuum.core.analytics import derive_secret, tenant_hash
from tests.support.servers import SqliteTarget


class Receiver:
    """A threaded HTTP server that answers 200 to every POST and keeps the bodies."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                received.append((self.path, body))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": 1}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def events(self) -> list[dict[str, Any]]:
        found = []
        for _, body in list(self.requests):
            payload = json.loads(body)
            found += payload.get("batch", []) if isinstance(payload, dict) else []
        return found


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


def test_usage_events_arrive_and_hold_nothing_they_must_not(receiver: Receiver) -> None:
    secret = secrets.token_hex(16)
    server = SqliteTarget().start(
        require_api_key=True,
        extra_env={"POSTHOG_API_KEY": "phc_test_project", "POSTHOG_HOST": receiver.url,
                   "CONTINUUM_ANALYTICS_SECRET": secret},
    )  # fmt: skip
    forbidden: list[str] = [server.admin_key or "", secret]
    try:
        tenant_id, client = server.new_tenant(f"tenant-{secrets.token_hex(5)}")
        session, instance, user = (f"{kind}-{secrets.token_hex(5)}" for kind in ("sess", "agent", "user"))
        sentence = f"Nadia prefers the {secrets.token_hex(4)} dashboard in Oslo"
        with client:
            learned = client.post(
                "/v1/learn",
                json={"user_message": sentence, "ai_response": "Understood", "session_id": session,
                      "instance_id": instance, "metadata": {"user_id": user}},
            )  # fmt: skip
            assert learned.status_code == 200
            memory_id = learned.json()["memory_ids"][0]
            assert client.post("/v1/recall", json={"message": "Which dashboard does Nadia like?"}).status_code == 200
            assert client.get(f"/v1/memories/{memory_id}").status_code == 200
            assert client.get("/v1/memories/m-does-not-exist").status_code in (404, 422)
            forbidden += [tenant_id, session, instance, user, sentence, memory_id, client.headers["X-API-Key"]]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(receiver.events()) < 5:
            time.sleep(0.2)
    finally:
        server.stop()  # a clean stop flushes what is still queued

    events = receiver.events()
    assert all(path.startswith("/batch") for path, _ in receiver.requests), [p for p, _ in receiver.requests]
    operations = {e["properties"].get("operation") for e in events if e["event"] == "api request"}
    assert {"POST /v1/learn", "POST /v1/recall", "GET /v1/memories/{memory_id}"} <= operations, operations
    learn = next(e for e in events if e["properties"].get("operation") == "POST /v1/learn")
    assert learn["properties"]["status"] == 200 and learn["properties"]["latency_bucket"].startswith(("<", ">"))
    expected = tenant_hash(derive_secret(secret, None, b""), tenant_id)
    assert learn["distinct_id"] == expected
    assert any(e["event"] == "memories stored" and e["properties"]["count"] >= 1 for e in events)

    wire = b"\n".join(body for _, body in receiver.requests)
    for value in filter(None, forbidden):
        assert value.encode() not in wire, f"{value!r} reached the analytics host"
    assert b"Nadia" not in wire and b"Oslo" not in wire and b"dashboard" not in wire
