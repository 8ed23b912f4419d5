"""One instance cut off from the shared cache while another still reaches it
(docs/caching.md): the cut instance acknowledges its writes (they are durable in the
database) and shows them itself at once; the other may show an answer cached before
them, but only until the link heals (the cut instance then publishes the invalidation
by itself, within about a second, without handling another request) and never longer
than the result TTL.

Before, the cut instance published its missed invalidation only when it handled its
next request: the other instance kept the old answer indefinitely after the heal (the
first test failed at `_visible_within`). With writes refused while cut (503), it failed
at the acknowledgement.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import RedisProcess
from tests.support.instances import serve_instances
from tests.support.pg import temporary_database
from tests.support.tcp_forwarder import TcpForwarder

pytestmark = pytest.mark.slow  # starts two real servers

QUESTION = "When does Zephyr ship?"
FIRST = {"user_message": "The Zephyr project ships on Friday.", "ai_response": "Zephyr on Friday."}


def _recall_text(client: httpx.Client) -> str:
    response = client.post("/v1/recall", json={"message": QUESTION})
    assert response.status_code == 200, response.text
    return " ".join(m["content"] for m in response.json()["memories"])


def _quick(call: Callable[[], httpx.Response]) -> httpx.Response:
    started = time.monotonic()
    response = call()
    assert time.monotonic() - started < 2.5, "a cut link may cost a little, never a long wait"
    return response


def _visible_within(client: httpx.Client, word: str, seconds: float) -> float:
    """Poll `client`'s recall until it shows `word`; how long that took."""
    started = time.monotonic()
    while word not in _recall_text(client):
        assert time.monotonic() - started < seconds, f"{word!r} not shown within {seconds}s"
        time.sleep(0.05)
    return time.monotonic() - started


@contextlib.contextmanager
def _cut_and_connected(
    redis: RedisProcess, workdir: Path, common: dict[str, str]
) -> Iterator[tuple[TcpForwarder, httpx.Client, httpx.Client]]:
    """Two instances of one deployment: `cut` reaches Redis through a forwarder (the link
    a test cuts), `connected` directly; clients of one tenant on each, its answer to
    QUESTION cached on both and in Redis."""
    link = TcpForwarder(redis.port)
    link.start()
    try:
        with (
            temporary_database("continuum_partition") as database,
            serve_instances(
                {"POSTGRES_URL": database, "POSTGRES_POOL_SIZE": "2", **common},
                [{"REDIS_URL": f"redis://127.0.0.1:{link.port}/0"}, {"REDIS_URL": redis.url}],
                workdir,
            ) as (cut_off, connected),
        ):
            _, a = cut_off.new_tenant()
            b = connected.client(a.headers["X-API-Key"])
            with a, b:
                assert a.post("/v1/learn", json=FIRST).status_code == 200
                assert "Friday" in _recall_text(b)  # cached on b (L1) and in the shared cache
                assert "Friday" in _recall_text(a)
                yield link, a, b
    finally:
        link.stop()


def test_a_cut_instance_acknowledges_shows_its_writes_and_repairs_the_others_when_the_link_heals(
    private_redis: RedisProcess, workdir: Path
) -> None:
    with _cut_and_connected(private_redis, workdir, {}) as (link, a, b):
        link.cut()

        stored = _quick(lambda: a.post("/v1/memories", json={"content": "Zephyr moved to Monday."}))
        assert stored.status_code == 201, stored.text  # durable in the database: acknowledged
        assert "Monday" in _quick(lambda: a.post("/v1/recall", json={"message": QUESTION})).text  # a: at once
        assert _quick(lambda: a.get("/v1/health")).json()["checks"]["cache"] == "degraded"
        # b still answers from the shared cache, which a could not tell: the window the
        # guarantee bounds (if b showed the write already, this test would prove nothing)
        assert "Monday" not in _recall_text(b)

        link.heal()  # from here on, a handles no request until b shows the write
        took = _visible_within(b, "Monday", 2.5)
        print(f"b showed a's write {took:.2f}s after the link healed")

        assert "Monday" in _recall_text(a)
        assert a.get("/v1/health").json()["checks"]["cache"] == "ok"


def test_while_the_link_stays_cut_the_others_show_the_write_within_the_result_ttl(
    private_redis: RedisProcess, workdir: Path
) -> None:
    ttl = 3
    with _cut_and_connected(private_redis, workdir, {"CONTINUUM_CACHE_TTL": str(ttl)}) as (link, a, b):
        link.cut()
        stored = _quick(lambda: a.post("/v1/memories", json={"content": "Zephyr moved to Monday."}))
        assert stored.status_code == 201, stored.text
        # the answer b cached before the write expires at most `ttl` after it was stored,
        # which was before the acknowledgement (1 s of slack for polling on a busy machine)
        took = _visible_within(b, "Monday", ttl + 1)
        print(f"b showed a's write {took:.2f}s after it was acknowledged, link still cut")
        assert _quick(lambda: a.get("/v1/health")).json()["checks"]["cache"] == "degraded"  # still cut
