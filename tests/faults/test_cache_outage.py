"""With the shared cache (Redis, or Upstash over REST) stopped under two running
instances, every request still succeeds, reads and writes alike, from the database;
health says the cache is degraded, nothing stale is ever served, and once the cache is
back health is ok and every write acknowledged during the outage is visible on every
instance (docs/caching.md)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.conftest import RedisProcess, wait_for
from tests.support.instances import serve_instances
from tests.support.pg import free_port, temporary_database
from tests.support.upstash_server import UpstashServer

pytestmark = pytest.mark.slow  # starts real servers: outside the quick loop

SLOW = 2.5  # seconds: a dead cache may cost a little, never a long wait
QUESTION = "When does Zephyr ship?"


def _timed(send: Callable[..., httpx.Response], *args: Any, **kwargs: Any) -> httpx.Response:
    """`send(*args, **kwargs)`, which must succeed, and soon."""
    started = time.monotonic()
    response = send(*args, **kwargs)
    assert time.monotonic() - started < SLOW, f"{response.request.method} {response.request.url} took too long"
    assert response.is_success, f"{response.request.method} {response.request.url}: {response.text}"
    return response


def _recall_text(client: httpx.Client) -> str:
    response = _timed(client.post, "/v1/recall", json={"message": QUESTION})
    return " ".join(m["content"] for m in response.json()["memories"])


def _search_text(client: httpx.Client) -> str:
    response = _timed(client.post, "/v1/search", json={"query": "outage note"})
    return " ".join(hit["content"] for hit in response.json()["results"])


@pytest.mark.parametrize("kind", ["redis", "upstash"])
def test_every_request_succeeds_while_the_cache_is_down_and_every_write_shows_everywhere_after(
    kind: str, private_redis: RedisProcess, workdir: Path
) -> None:
    upstash: UpstashServer | None = None
    if kind == "redis":
        cache_env = {"REDIS_URL": private_redis.url}
        stop, start = private_redis.stop, private_redis.start
    else:  # Upstash down, its Redis (and the generations in it) kept: the missed invalidations matter
        upstash = UpstashServer(private_redis.url, free_port(), secrets.token_hex(16), workdir)
        upstash.start()
        cache_env = {"UPSTASH_REDIS_REST_URL": upstash.url, "UPSTASH_REDIS_REST_TOKEN": upstash.token}
        stop, start = upstash.stop, upstash.start
    try:
        with (
            temporary_database("continuum_faults") as database,
            serve_instances({"POSTGRES_URL": database, "POSTGRES_POOL_SIZE": "2", **cache_env}, [{}, {}], workdir) as (
                first,
                second,
            ),
        ):
            _, a = first.new_tenant()
            b = second.client(a.headers["X-API-Key"])
            with a, b, first.admin() as admin, second.admin() as admin_b:
                health = admin.get("/v1/health").json()  # details are the admin key's
                assert health["checks"]["cache"] == "ok" and health["details"]["cache_backend"] == kind
                learn = {"user_message": "The Zephyr project ships on Friday.", "ai_response": "Zephyr on Friday."}
                assert a.post("/v1/learn", json=learn).status_code == 200
                edited = _timed(a.post, "/v1/memories", json={"content": "first outage note"}).json()["id"]
                erased = _timed(a.post, "/v1/memories", json={"content": "second outage note"}).json()["id"]
                for client in (a, b):  # cached on both instances and in the shared cache
                    assert "Friday" in _recall_text(client) and "second outage note" in _search_text(client)

                stop()

                # every write succeeds, on either instance, and shows at once on both (both read the database)
                moved = {"user_message": "Zephyr moved to Monday.", "ai_response": "Zephyr on Monday then."}
                _timed(a.post, "/v1/learn", json=moved)
                _timed(b.post, "/v1/memories", json={"content": "third outage note, written in the outage"})
                _timed(a.patch, f"/v1/memories/{edited}", json={"content": "first outage note, edited"})
                _timed(b.delete, f"/v1/memories/{erased}")
                for client in (a, b):
                    assert "Monday" in _recall_text(client)
                    found = _search_text(client)
                    assert "written in the outage" in found and "edited" in found and "second" not in found
                    assert _timed(client.get, f"/v1/memories/{edited}").json()["content"].endswith("edited")
                    assert _timed(client.get, "/v1/memories").json()
                    _timed(client.get, "/v1/entities")
                    _timed(client.get, "/v1/export")
                    assert _timed(client.get, "/v1/stats").json()["messages"] == 2
                # keys made during the outage work at once (their lookups go to the database)
                new_key = _timed(admin.post, "/v1/keys", json={"tenant_id": "made-in-outage"})
                with second.client(new_key.json()["api_key"]) as fresh:
                    assert _timed(fresh.get, "/v1/stats").json()["tenant_id"] == "made-in-outage"

                for client in (admin, admin_b):
                    body = _timed(client.get, "/v1/health").json()
                    assert body["status"] == "degraded"
                    assert body["checks"]["cache"] == "degraded" and body["checks"]["database"] == "ok"
                    assert body["details"].get("cache_error")

                start()

                for client in (a, b):
                    wait_for(lambda c=client: c.get("/v1/health").json()["checks"]["cache"] == "ok", 15, "recovery")
                for client in (a, b):  # every acknowledged write, on every instance, from the cache again
                    assert "Monday" in _recall_text(client)
                    found = _search_text(client)
                    assert "written in the outage" in found and "edited" in found and "second" not in found
                again = {"user_message": "Zephyr slipped to Wednesday.", "ai_response": "Wednesday for Zephyr."}
                _timed(b.post, "/v1/learn", json=again)
                assert "Wednesday" in _recall_text(a) and "Wednesday" in _recall_text(b)
                assert a.get("/v1/health").json()["status"] == "ok"
    finally:
        if upstash is not None:
            upstash.stop()
