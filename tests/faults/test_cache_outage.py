"""With the shared cache (Redis, or Upstash over REST) stopped, every read still
succeeds from the database, every write is refused with a 503 and Retry-After before it
changes anything (other instances could not be told about it: docs/caching.md), keys can
still be created, health says the cache is degraded, nothing stale is ever served, and
everything returns to normal when the cache comes back."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import RedisProcess, serve, wait_for
from tests.support.pg import free_port, temporary_database
from tests.support.upstash_server import UpstashServer

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop

SLOW = 2.5  # seconds: a dead cache may cost a little, never a long wait


def _timed(call: Callable[[], httpx.Response]) -> httpx.Response:
    started = time.monotonic()
    response = call()
    assert time.monotonic() - started < SLOW, f"{response.request.method} {response.request.url} took too long"
    return response


def _recall_text(client: httpx.Client, message: str) -> str:
    response = _timed(lambda: client.post("/v1/recall", json={"message": message}))
    assert response.status_code == 200, response.text
    return " ".join(m["content"] for m in response.json()["memories"])


@pytest.mark.parametrize("kind", ["redis", "upstash"])
def test_reads_succeed_and_writes_are_refused_unchanged_while_the_cache_is_down(
    kind: str, private_redis: RedisProcess, workdir: Path
) -> None:
    upstash: UpstashServer | None = None
    if kind == "redis":
        cache_env = {"REDIS_URL": private_redis.url}
        stop, start = private_redis.stop, private_redis.start
    else:
        upstash = UpstashServer(private_redis.url, free_port(), secrets.token_hex(16), workdir)
        upstash.start()
        cache_env = {"UPSTASH_REDIS_REST_URL": upstash.url, "UPSTASH_REDIS_REST_TOKEN": upstash.token}
        stop, start = upstash.stop, upstash.start
    try:
        with (
            temporary_database("continuum_faults") as database,
            serve({"POSTGRES_URL": database, "POSTGRES_POOL_SIZE": "2", **cache_env}, workdir) as server,
        ):
            _, client = server.new_tenant()
            with client, server.admin() as admin:
                health = client.get("/v1/health").json()
                assert health["checks"]["cache"] == "ok" and health["details"]["cache_backend"] == kind
                learn = {"user_message": "The Zephyr project ships on Friday.", "ai_response": "Zephyr on Friday."}
                assert client.post("/v1/learn", json=learn).status_code == 200
                assert "Friday" in _recall_text(client, "When does Zephyr ship?")  # now cached in L1 and L2
                created = client.post("/v1/memories", json={"content": "cache outage note"})
                assert created.status_code == 201, created.text
                memory_id = created.json()["id"]

                stop()

                # every read answers, from the database
                assert "Friday" in _recall_text(client, "When does Zephyr ship?")
                search = _timed(lambda: client.post("/v1/search", json={"query": "Zephyr Friday"}))
                assert search.status_code == 200 and search.json()["results"]
                assert _timed(lambda: client.get(f"/v1/memories/{memory_id}")).status_code == 200
                assert _timed(lambda: client.get("/v1/memories")).status_code == 200
                assert _timed(lambda: client.get("/v1/entities")).status_code == 200
                assert _timed(lambda: client.get("/v1/export")).status_code == 200
                # a write other instances could not be told about is refused, changing nothing (docs/caching.md)
                moved = {"user_message": "Zephyr moved to Monday.", "ai_response": "Zephyr on Monday then."}
                writes = [
                    lambda: client.post("/v1/learn", json=moved),
                    lambda: client.post("/v1/memories", json={"content": "written in the outage"}),
                    lambda: client.patch(f"/v1/memories/{memory_id}", json={"content": "edited note"}),
                    lambda: client.delete(f"/v1/memories/{memory_id}"),
                ]
                for write in writes:
                    refused = _timed(write)
                    assert refused.status_code == 503, refused.text
                    assert refused.headers["retry-after"] and refused.json()["error"]["code"] == "service_unavailable"
                assert _timed(lambda: client.get(f"/v1/memories/{memory_id}")).json()["content"] == "cache outage note"
                assert _timed(lambda: client.get("/v1/stats")).json()["messages"] == 1
                # keys made during the outage work at once (their lookups go to the database)
                new_key = _timed(lambda: admin.post("/v1/keys", json={"tenant_id": "made-in-outage"}))
                assert new_key.status_code in (200, 201), new_key.text
                with server.client(new_key.json()["api_key"]) as fresh:
                    assert _timed(lambda: fresh.get("/v1/stats")).json()["tenant_id"] == "made-in-outage"

                health = _timed(lambda: client.get("/v1/health"))
                assert health.status_code == 200
                body = health.json()
                assert body["status"] == "degraded"
                assert body["checks"]["cache"] == "degraded" and body["checks"]["database"] == "ok"
                assert body["details"].get("cache_error")

                start()

                wait_for(lambda: client.get("/v1/health").json()["checks"]["cache"] == "ok", 15, "cache recovery")
                # the refused writes, retried, are acknowledged and visible at once
                for write in writes:
                    assert write().status_code in (200, 201, 204)
                assert "Monday" in _recall_text(client, "When does Zephyr ship?")
                again = {"user_message": "Zephyr slipped to Wednesday.", "ai_response": "Wednesday for Zephyr."}
                assert client.post("/v1/learn", json=again).status_code == 200
                assert "Wednesday" in _recall_text(client, "When does Zephyr ship?")
                assert client.get("/v1/health").json()["status"] == "ok"
    finally:
        if upstash is not None:
            upstash.stop()
