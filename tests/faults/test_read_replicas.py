"""Read replicas (POSTGRES_READ_URLS) against a real streaming standby.

A private primary and a `pg_basebackup -R` hot standby (tests/support/pg_replica.py),
`continuum serve` processes over real HTTP. What is proved:
- tenant reads are served by the standby (the server's per-replica counters in
  /v1/health, and the standby's own pg_stat_activity shows them);
- with replay paused (the standby frozen in the past), no acknowledged write is ever
  missing from the next read, on the instance that took it and on another instance
  sharing Redis, while tenants that did not write keep reading from the standby;
- a standby that is down is skipped (reads and writes keep working on the primary),
  health reports it, and it is used again once back.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import wait_for
from tests.support.instances import serve_instances
from tests.support.pg import REDIS_URL, delete_redis_keys
from tests.support.pg_replica import ReplicatedPostgres, replicated_postgres
from tests.support.servers import RunningServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replicated() -> Iterator[ReplicatedPostgres]:
    with replicated_postgres() as pair:
        yield pair


def _settings(pair: ReplicatedPostgres, prefix: str) -> dict[str, str]:
    return {
        "POSTGRES_URL": pair.primary_url, "POSTGRES_READ_URLS": pair.standby_url,
        "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_READ_MAX_LAG": "60", "POSTGRES_READ_CHECK_INTERVAL": "0.05",
        "REDIS_URL": REDIS_URL, "CONTINUUM_CACHE_PREFIX": prefix,
        "CONTINUUM_CACHE_ENABLED": "false",  # every read reaches the database: what is measured here
    }  # fmt: skip


@pytest.fixture
def two_instances(replicated: ReplicatedPostgres, tmp_path: Path) -> Iterator[list[RunningServer]]:
    replicated.resume_replay()
    prefix = f"replicas:{secrets.token_hex(6)}:"
    with serve_instances(_settings(replicated, prefix), [{}, {}], tmp_path) as servers:
        yield servers
    delete_redis_keys(prefix)
    replicated.resume_replay()


def _replica(server: RunningServer) -> dict:
    with server.admin() as admin:
        body = admin.get("/v1/health").json()
    assert body["details"]["read_replicas"], body
    return body["details"]["read_replicas"][0] | {"check": body["checks"]["read_replicas"]}


def _store(client: httpx.Client, text: str) -> str:
    response = client.post("/v1/memories", json={"content": text, "session_id": "s"})
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]


def _assert_sees(client: httpx.Client, memory_id: str, word: str) -> None:
    got = client.get(f"/v1/memories/{memory_id}")
    assert got.status_code == 200, f"acknowledged memory {memory_id} missing: {got.text}"
    listed = client.get("/v1/memories", params={"limit": 100}).json()
    assert memory_id in {m["id"] for m in listed["memories"]}, "acknowledged memory missing from the list"
    found = client.post("/v1/search", json={"query": word, "limit": 50}).json()
    assert memory_id in {r["id"] for r in found["results"]}, "acknowledged memory missing from search"


def _ready(server: RunningServer) -> None:
    wait_for(lambda: _replica(server)["status"] == "up" and _replica(server)["lag_seconds"] is not None, 15,
             "replica usable")  # fmt: skip


def test_reads_land_on_the_standby(replicated: ReplicatedPostgres, two_instances: list[RunningServer]) -> None:
    server = two_instances[0]
    _ready(server)
    _, client = server.new_tenant()
    with client:
        ids = [_store(client, f"lantern harbor note {n}") for n in range(5)]
        replicated.wait_caught_up()
        before_app = _replica(server)["reads"]
        for _ in range(10):
            _assert_sees(client, ids[-1], "lantern")
            assert client.post("/v1/recall", json={"message": "lantern harbor"}).status_code == 200
            assert client.get("/v1/stats").status_code == 200
    served = _replica(server)["reads"] - before_app
    assert served >= 40, f"only {served} reads went to the standby"
    _, stranger = server.new_tenant()
    with stranger:  # a read served by the standby is scoped to its tenant like any other
        assert stranger.get(f"/v1/memories/{ids[-1]}").status_code == 404
        assert stranger.get("/v1/memories").json()["memories"] == []
    # The standby's own view: the server's connections there ran the application's reads.
    ran = replicated.standby_app_queries()
    assert any("memories" in query for query in ran), ran


def test_paused_replay_never_hides_an_acknowledged_write(
    replicated: ReplicatedPostgres, two_instances: list[RunningServer]
) -> None:
    first, second = two_instances
    _ready(first)
    _ready(second)
    tenant_id, writer = first.new_tenant()
    _, other_client = second.new_tenant()
    with writer, other_client, second.client(writer.headers["X-API-Key"]) as reader:
        other_id = _store(other_client, "copper willow bystander")
        replicated.wait_caught_up()
        wait_for(lambda: _replica(second)["lag_seconds"] is not None and _replica(second)["lag_seconds"] < 1, 10,
                 "replica caught up in the server's view")  # fmt: skip
        replicated.pause_replay()
        written: list[str] = []
        for n in range(15):
            memory_id = _store(writer, f"orbit meadow entry{n}")
            written.append(memory_id)
            _assert_sees(writer, memory_id, f"entry{n}")  # the instance that took the write
            _assert_sees(reader, memory_id, f"entry{n}")  # another instance, through Redis
        # The standby really is behind: the tenant's writes are not there.
        stale = replicated.standby_sql(f"SELECT count(*) FROM memories WHERE id = '{written[-1]}'", app_database=True)
        assert stale[0][0] == 0, "replay was not paused"
        # Another tenant, which wrote nothing since, keeps reading from the standby.
        before = _replica(second)["reads"]
        for _ in range(5):
            _assert_sees(other_client, other_id, "copper")
        assert _replica(second)["reads"] - before >= 15
        replicated.resume_replay()
        replicated.wait_caught_up()
        _back_on_standby(second, reader, written[-1], "entry14")
    assert tenant_id


def _back_on_standby(server: RunningServer, client: httpx.Client, memory_id: str, word: str) -> None:
    before = _replica(server)["reads"]

    def served_there() -> bool:
        _assert_sees(client, memory_id, word)
        return _replica(server)["reads"] > before

    wait_for(served_there, 10, "reads back on the standby")


def test_writes_under_flapping_replay_are_always_read_back(
    replicated: ReplicatedPostgres, two_instances: list[RunningServer]
) -> None:
    """Replay paused and resumed every 0.2-0.5 s while two writers (one per instance)
    each read every acknowledged write back through the other instance."""
    _ready(two_instances[0])
    _ready(two_instances[1])
    failures: list[str] = []
    stop = threading.Event()
    counts = [0, 0]

    def writer(index: int) -> None:
        _, mine = two_instances[index].new_tenant()
        other = two_instances[1 - index].client(mine.headers["X-API-Key"])
        with mine, other:
            n = 0
            while not stop.is_set():
                word = f"flap{index}x{n}"
                memory_id = _store(mine, f"velvet summit {word}")
                try:
                    _assert_sees(other, memory_id, word)
                except AssertionError as exc:
                    failures.append(f"{word}: {exc}")
                n += 1
            counts[index] = n

    threads = [threading.Thread(target=writer, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    rng = random.Random(5)
    deadline = time.monotonic() + 8
    try:
        while time.monotonic() < deadline:
            replicated.pause_replay()
            time.sleep(rng.uniform(0.2, 0.5))
            replicated.resume_replay()
            time.sleep(rng.uniform(0.2, 0.5))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        replicated.resume_replay()
    assert failures == []
    assert min(counts) >= 5, counts
    assert _replica(two_instances[0])["reads"] + _replica(two_instances[1])["reads"] > 0


def test_standby_down_reads_use_the_primary(replicated: ReplicatedPostgres, two_instances: list[RunningServer]) -> None:
    server = two_instances[0]
    _ready(server)
    _, client = server.new_tenant()
    with client:
        kept = _store(client, "saffron glacier zeppelin")
        replicated.stop_standby()
        try:
            # The first read may find the standby gone mid-request; it is retried on the primary.
            for n in range(5):
                memory_id = _store(client, f"saffron glacier during{n}")
                _assert_sees(client, memory_id, f"during{n}")
                _assert_sees(client, kept, "zeppelin")
            report = _replica(server)
            assert report["status"] == "down" and report["check"] == "degraded", report
            with server.admin() as admin:
                assert admin.get("/v1/health").json()["status"] == "degraded"
        finally:
            replicated.start_standby()
        wait_for(lambda: _replica(server)["status"] == "up", 20, "standby back in use")
        replicated.wait_caught_up()
        _ready(server)
        _back_on_standby(server, client, kept, "zeppelin")
