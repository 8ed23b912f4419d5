"""One instance cut off from the shared cache while another still reaches it: the cut
instance acknowledges no write the other could fail to show (503 + Retry-After, nothing
changed), keeps answering reads from the database, and once the link heals a retried
write is acknowledged and visible on every instance at once (docs/caching.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import RedisProcess, wait_for
from tests.support.instances import serve_instances
from tests.support.pg import temporary_database
from tests.support.tcp_forwarder import TcpForwarder

pytestmark = pytest.mark.slow  # starts two real servers

QUESTION = "When does Zephyr ship?"


def _recall_text(client: httpx.Client) -> str:
    response = client.post("/v1/recall", json={"message": QUESTION})
    assert response.status_code == 200, response.text
    return " ".join(m["content"] for m in response.json()["memories"])


def _quick(call: Callable[[], httpx.Response]) -> httpx.Response:
    started = time.monotonic()
    response = call()
    assert time.monotonic() - started < 2.5, "a cut link may cost a little, never a long wait"
    return response


def test_an_instance_cut_off_from_the_shared_cache_acknowledges_nothing_the_others_miss(
    private_redis: RedisProcess, workdir: Path
) -> None:
    link = TcpForwarder(private_redis.port)
    link.start()
    try:
        with (
            temporary_database("continuum_partition") as database,
            serve_instances(
                {"POSTGRES_URL": database, "POSTGRES_POOL_SIZE": "2"},
                [{"REDIS_URL": f"redis://127.0.0.1:{link.port}/0"}, {"REDIS_URL": private_redis.url}],
                workdir,
            ) as (cut_off, connected),
        ):
            _, a = cut_off.new_tenant()
            b = connected.client(a.headers["X-API-Key"])
            with a, b:
                first = {"user_message": "The Zephyr project ships on Friday.", "ai_response": "Zephyr on Friday."}
                assert a.post("/v1/learn", json=first).status_code == 200
                assert "Friday" in _recall_text(b)  # cached on b (L1) and in the shared cache
                assert "Friday" in _recall_text(a)

                link.cut()

                moved = lambda: a.post("/v1/memories", json={"content": "Zephyr moved to Monday."})  # noqa: E731
                refused = _quick(moved)
                if refused.is_success:  # the property: whatever a acknowledges, b shows on its next request
                    assert "Monday" in _recall_text(b), "a acknowledged a write b does not show"
                assert refused.status_code == 503 and refused.headers["retry-after"], refused.text  # how it holds
                assert "Monday" not in _recall_text(b) and "Monday" not in _recall_text(a)  # nothing changed
                # reads on the cut instance come from the database: b's writes show there at once
                assert b.post("/v1/memories", json={"content": "Zephyr needs a Tuesday review."}).status_code == 201
                assert "Tuesday" in _quick(lambda: a.post("/v1/recall", json={"message": QUESTION})).text
                assert _quick(lambda: a.get("/v1/health")).json()["checks"]["cache"] == "degraded"

                link.heal()

                wait_for(lambda: a.get("/v1/health").json()["checks"]["cache"] == "ok", 15, "the link healing")
                retried = moved()
                assert retried.status_code == 201, retried.text
                assert "Monday" in _recall_text(b)  # b's next request shows what a acknowledged
                assert "Monday" in _recall_text(a)
    finally:
        link.stop()
