"""Outages under load: four clients keep writing and reading (memories, batches, learn,
recall, search, list, get) while a dependency fails beneath a PostgreSQL + Redis server.

- PostgreSQL (a private cluster) stopped, then crashed (SIGKILL of the postmaster and
  every backend): requests get 503 with Retry-After, never a 500 or a hang; the server
  recovers by itself once PostgreSQL is back; no acknowledged write is lost.
- Redis (a private redis-server) killed, then paused (SIGSTOP): not one request fails,
  none waits long, health says `degraded` during the fault and `ok` afterwards; no
  acknowledged write is lost.

tests/faults/test_postgres_outage.py and test_cache_outage.py prove the same one request
at a time; here the faults land in the middle of concurrent traffic. The shared
PostgreSQL and Redis are never touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import RedisProcess, serve, wait_for
from tests.support.load import Load, missing_writes
from tests.support.pg import PrivateCluster, create_database, temporary_database
from tests.support.servers import RunningServer

pytestmark = pytest.mark.slow

CLIENTS = 4
SLOWEST = 5.0  # seconds: no request may wait longer than this during any fault
QUIET = 1.0  # seconds of only-2xx answers that count as recovered


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    pg = PrivateCluster().init()
    pg.start()
    pg.wait_ready()
    yield pg
    pg.destroy()


def _crash(cluster: PrivateCluster) -> None:
    """SIGKILL the postmaster and all its processes, as a machine crash would leave them."""
    assert cluster.data_dir is not None
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == postmaster:  # the parent pid
                children.append(int(stat.parent.name))
    for pid in (postmaster, *children):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in (postmaster, *children)):
        assert time.monotonic() < deadline, "PostgreSQL processes survived SIGKILL"
        time.sleep(0.05)


def _health(server: RunningServer) -> httpx.Response:
    with server.admin() as admin:
        return admin.get("/v1/health", timeout=10)


def _recovered(load: Load, since: float) -> bool:
    """Only 2xx answers for the last QUIET seconds, and enough of them."""
    if time.monotonic() - since < QUIET:
        return False
    window = load.statuses_since(time.monotonic() - QUIET)
    return sum(window.values()) >= CLIENTS and all(200 <= status < 300 for status in window)


def _wait_recovered(load: Load, timeout: float, what: str) -> float:
    started = time.monotonic()
    wait_for(lambda: _recovered(load, started), timeout, what, interval=0.1)
    return time.monotonic() - started - QUIET


def _verify(server: RunningServer, load: Load, api_key: str) -> None:
    assert not load.tally.problems, load.tally.problems[:5]
    assert not load.tally.transport_errors, load.tally.transport_errors[:5]
    assert max(load.tally.seconds) < SLOWEST, f"a request waited {max(load.tally.seconds):.1f}s"
    with server.client(api_key) as client:
        missing = missing_writes(client, load.tally.acknowledged)
    assert not missing, missing[:10]


def test_postgres_stopped_and_crashed_under_load(cluster: PrivateCluster, private_redis: RedisProcess,
                                                 workdir: Path) -> None:  # fmt: skip
    database = create_database("continuum_faults", admin_url=cluster.admin_url)
    env = {"POSTGRES_URL": database, "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "4",
           "REDIS_URL": private_redis.url}  # fmt: skip
    faults: dict[str, Callable[[], None]] = {
        "stopped": lambda: cluster.stop("fast"),
        "crashed": lambda: _crash(cluster),
    }
    with serve(env, workdir) as server:
        _, client = server.new_tenant()
        key = str(client.headers["X-API-Key"])
        client.close()
        with Load(server.url, key, clients=CLIENTS, reads=True, label="pg-outage") as load:
            load.wait_for_acknowledged(30)
            for name, fault in faults.items():
                began = time.monotonic()
                fault()
                wait_for(lambda began=began: load.statuses_since(began)[503] >= CLIENTS, 15, f"503s once {name}")
                health = _health(server)
                assert health.status_code == 503 and int(health.headers["Retry-After"]) >= 1, health.text
                assert health.json()["status"] == "down"
                time.sleep(1.0)  # the outage lasts, under load
                cluster.start()
                recovered_in = _wait_recovered(load, 30, f"recovery after PostgreSQL was {name}")
                assert _health(server).status_code == 200
                refused = load.statuses_since(began)[503]
                print(f"PostgreSQL {name}: {refused} answers 503, recovered {recovered_in:.1f}s after its restart")
        _verify(server, load, key)
        print(f"{len(load.tally.acknowledged)} acknowledged writes present; answers: {dict(load.tally.statuses)}")


def test_redis_killed_and_paused_under_load(private_redis: RedisProcess, workdir: Path) -> None:
    assert private_redis.proc is not None

    def pause() -> None:
        assert private_redis.proc is not None
        os.kill(private_redis.proc.pid, signal.SIGSTOP)

    def resume() -> None:
        assert private_redis.proc is not None
        os.kill(private_redis.proc.pid, signal.SIGCONT)

    faults = {"killed": (private_redis.stop, private_redis.start), "paused": (pause, resume)}
    with (
        temporary_database("continuum_faults") as database,
        serve({"POSTGRES_URL": database, "POSTGRES_POOL_SIZE": "2", "REDIS_URL": private_redis.url}, workdir) as server,
    ):
        _, client = server.new_tenant()
        key = str(client.headers["X-API-Key"])
        client.close()
        load = Load(server.url, key, clients=CLIENTS, reads=True, label="redis-outage", ok_statuses=(200, 201, 204))
        try:
            with load:
                load.wait_for_acknowledged(30)
                assert _health(server).json()["status"] == "ok"
                for name, (fault, repair) in faults.items():
                    fault()
                    wait_for(lambda: _health(server).json()["status"] == "degraded", 10, f"degraded once {name}")
                    time.sleep(1.0)  # the outage lasts, under load
                    began = time.monotonic()
                    repair()
                    wait_for(lambda: _health(server).json()["status"] == "ok", 15, f"ok once Redis is back ({name})")
                    print(f"Redis {name}: health ok {time.monotonic() - began:.1f}s after it came back")
        finally:
            if private_redis.proc is not None and private_redis.proc.poll() is None:
                os.kill(private_redis.proc.pid, signal.SIGCONT)
        _verify(server, load, key)
        slowest = max(load.tally.seconds)
        print(f"{load.tally.requests} requests, none failed, slowest {slowest:.2f}s: {dict(load.tally.statuses)}")
