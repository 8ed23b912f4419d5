"""Crash durability: `kill -9` of the server in the middle of a write burst loses no write
it acknowledged. Four clients store memories, batches and learned exchanges; the server's
whole process group is SIGKILLed while they write; after a restart on the same database
every acknowledged id is present with its content (read back through the export).

SQLite: a fresh database file. PostgreSQL: a fresh database of our own on the shared
server (only the CONTINUUM process is killed, never PostgreSQL).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import serve
from tests.support.load import Load, kill_group, missing_writes
from tests.support.pg import REDIS_URL, delete_redis_keys, temporary_database
from tests.support.servers import RunningServer

pytestmark = pytest.mark.slow

BEFORE_KILL = 60  # acknowledged writes before the kill


@contextlib.contextmanager
def _database(backend: str, workdir: Path) -> Iterator[dict[str, str]]:
    if backend == "sqlite":
        yield {"CONTINUUM_DB_PATH": str(workdir / "crash.db")}
    else:
        with temporary_database("continuum_faults") as url:
            yield {"POSTGRES_URL": url, "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "4"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_every_acknowledged_write_survives_kill_9(backend: str, workdir: Path) -> None:
    with _database(backend, workdir) as env, serve(env, workdir) as server:
        _, client = server.new_tenant()
        with client:
            load = Load(server.url, client.headers["X-API-Key"], clients=4, label="crash", ok_statuses=(200, 201))
            with load:
                load.wait_for_acknowledged(BEFORE_KILL)
                kill_group(server.process)
                time.sleep(0.2)  # the clients meet the dead server
            acknowledged = dict(load.tally.acknowledged)
            assert not load.tally.problems, load.tally.problems[:5]
            assert load.tally.transport_errors, "the kill did not interrupt the burst"

            started = time.monotonic()
            server.process.start()
            restarted_in = time.monotonic() - started
            missing = missing_writes(client, acknowledged)
            print(
                f"{backend}: {len(acknowledged)} writes acknowledged before kill -9, "
                f"{len(load.tally.transport_errors)} requests cut, restarted in {restarted_in:.1f}s, "
                f"{len(missing)} missing"
            )
            assert not missing, missing[:10]
            assert client.get("/v1/stats").json()["memories"] >= len(acknowledged)
            after = client.post("/v1/memories", json={"content": "written after the crash"})
            assert after.status_code == 201, after.text


KEYED_WRITES = (
    ("/v1/learn", {"user_message": "Keyed before the crash: Ostrava is in Czechia.", "ai_response": "Noted."}),
    ("/v1/memories", {"content": "a keyed memory written before the crash"}),
    ("/v1/memories/batch", {"memories": [{"content": "keyed batch item one"}, {"content": "keyed batch item two"}]}),
)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_keyed_write_acknowledged_before_kill_9_is_replayed_after_restart(backend: str, workdir: Path) -> None:
    """The retry a client makes when its server died must not store the write twice."""
    prefix = f"faults-crash:{secrets.token_hex(6)}:"
    with _database(backend, workdir) as env:
        if backend == "postgres":  # the container deployment: records in the shared cache
            env.update(REDIS_URL=REDIS_URL, CONTINUUM_CACHE_PREFIX=prefix)
        try:
            with serve(env, workdir) as server:
                _, client = server.new_tenant()
                with client:
                    _replayed_after_kill(server, client)
        finally:
            if backend == "postgres":
                delete_redis_keys(prefix)


def _replayed_after_kill(server: RunningServer, client: httpx.Client) -> None:
    first = {path: client.post(path, json=body, headers={"Idempotency-Key": f"crash{path}"})
             for path, body in KEYED_WRITES}  # fmt: skip
    assert all(r.status_code in (200, 201) for r in first.values()), [r.text for r in first.values()]
    before = client.get("/v1/stats").json()
    kill_group(server.process)
    server.process.start()
    for path, body in KEYED_WRITES:
        again = client.post(path, json=body, headers={"Idempotency-Key": f"crash{path}"})
        assert again.headers.get("Idempotent-Replayed") == "true", (path, again.status_code, again.text)
        assert (again.status_code, again.content) == (first[path].status_code, first[path].content)
    assert client.get("/v1/stats").json() == before
