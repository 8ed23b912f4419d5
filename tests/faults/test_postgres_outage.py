"""PostgreSQL going away under a running server: requests get 503 with Retry-After
(never a 500, never a hang), health says the database is down, and when PostgreSQL
comes back the server recovers by itself with every acknowledged write present.

The database here is a private cluster (initdb + pg_ctl on a free port), crashed with
`pg_ctl stop -m immediate`; the shared server is never touched.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from continuum.errors import DependencyUnavailable
from continuum.models import MemoryFilters
from continuum.settings import Settings
from continuum.storage.postgres import PostgresStorage
from tests.contract.test_storage_contract import memory
from tests.faults.conftest import serve, wait_for
from tests.support.pg import PrivateCluster, create_database

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    pg = PrivateCluster().init()
    pg.start()
    pg.wait_ready()
    yield pg
    pg.destroy()


@pytest.fixture
def running(cluster: PrivateCluster) -> Iterator[PrivateCluster]:
    if not cluster.is_running():
        cluster.start()
    yield cluster
    if not cluster.is_running():
        cluster.start()


class Writer(threading.Thread):
    """Stores memories in a loop, remembering which ones were acknowledged."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.stop_flag = threading.Event()
        self.acknowledged: dict[str, str] = {}  # id -> content
        self.statuses: list[int] = []
        self.problems: list[str] = []

    def run(self) -> None:
        number = 0
        while not self.stop_flag.is_set():
            number += 1
            content = f"write number {number} during the outage test"
            try:
                response = self.client.post("/v1/memories", json={"content": content})
            except httpx.HTTPError as exc:
                self.problems.append(f"transport error: {exc}")
                continue
            self.statuses.append(response.status_code)
            if response.status_code == 201:
                self.acknowledged[response.json()["id"]] = content
            elif response.status_code == 503:
                if "Retry-After" not in response.headers:
                    self.problems.append("503 without Retry-After")
                time.sleep(0.05)
            else:
                self.problems.append(f"{response.status_code}: {response.text[:200]}")


def test_outage_gives_503_and_the_server_recovers_with_acknowledged_writes(
    running: PrivateCluster, workdir: Path
) -> None:
    database = create_database("continuum_faults", admin_url=running.admin_url)
    env = {"POSTGRES_URL": database, "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2"}
    with serve(env, workdir) as server:
        _, client = server.new_tenant()
        with client:
            for n in range(5):
                assert client.post("/v1/memories", json={"content": f"before the outage {n}"}).status_code == 201
            writer = Writer(server.client(client.headers["X-API-Key"]))
            writer.start()
            time.sleep(0.5)

            running.stop("immediate")  # a crash, not a polite shutdown
            outage_started = time.monotonic()
            time.sleep(0.3)
            for call in (
                lambda: client.post("/v1/learn", json={"user_message": "during the outage", "ai_response": "ok"}),
                lambda: client.post("/v1/search", json={"query": "anything never asked before"}),
                lambda: client.get("/v1/memories"),
                lambda: client.get("/v1/stats"),
            ):
                started = time.monotonic()
                response = call()
                assert response.status_code == 503, response.text
                assert int(response.headers["Retry-After"]) >= 1
                assert response.json()["error"]["code"] == "service_unavailable"
                assert time.monotonic() - started < 5
            health = client.get("/v1/health")
            assert health.status_code == 503 and health.headers.get("Retry-After")
            assert health.json()["checks"]["database"] == "down"
            time.sleep(max(0.0, 3 - (time.monotonic() - outage_started)))

            running.start()
            recovered_in = time.monotonic()
            wait_for(lambda: client.get("/v1/health").status_code == 200, 30, "recovery after PostgreSQL returned")
            recovered_in = time.monotonic() - recovered_in
            time.sleep(0.5)  # a few writes after recovery
            writer.stop_flag.set()
            writer.join(timeout=30)

            refused = writer.statuses.count(503)
            print(
                f"writer: {len(writer.acknowledged)} acknowledged, {refused} refused; recovered in {recovered_in:.1f}s"
            )
            assert not writer.problems, writer.problems[:5]
            assert set(writer.statuses) <= {201, 503}
            assert 503 in writer.statuses, "the outage was never seen"
            assert writer.statuses[-1] == 201, "the server did not recover"
            assert recovered_in < 15
            # every acknowledged write is there, with its content
            for memory_id, content in writer.acknowledged.items():
                got = client.get(f"/v1/memories/{memory_id}")
                assert got.status_code == 200, (memory_id, got.text)
                assert got.json()["content"] == content
            assert client.get("/v1/stats").json()["memories"] >= 5 + len(writer.acknowledged)
            assert client.post("/v1/learn", json={"user_message": "after", "ai_response": "fine"}).status_code == 200


@pytest.mark.asyncio(loop_scope="session")
async def test_a_serverless_connection_fails_fast_and_reconnects(running: PrivateCluster) -> None:
    """The one-connection-per-warm-instance mode (AWS Lambda) recovers by itself too."""
    url = create_database("continuum_faults", admin_url=running.admin_url)
    storage = PostgresStorage(Settings(postgres_url=url).postgres, serverless=True)
    now = datetime.now(UTC)
    try:
        await storage.connect()
        await storage.migrate()
        kept = memory("lambda", "written before the crash")
        assert [r.status for r in await storage.insert_memories("lambda", [kept], now)] == ["stored"]

        await asyncio.to_thread(running.stop, "immediate")
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(DependencyUnavailable) as failure:
                await storage.list_memories("lambda", MemoryFilters(), before_id=None, limit=5, now=now)
            assert failure.value.retry_after and failure.value.retry_after >= 1
            assert time.monotonic() - started < 5
        with pytest.raises(DependencyUnavailable):
            await storage.ping()

        await asyncio.to_thread(running.start)
        deadline = time.monotonic() + 20
        while True:
            try:
                await storage.ping()
                break
            except DependencyUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)
        assert (await storage.get_memory("lambda", kept.id, now)).content == "written before the crash"
    finally:
        await storage.close()
