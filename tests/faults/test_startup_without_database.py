"""A server that starts before its database: it comes up anyway, answers 503 with
Retry-After (health: database down), and becomes fully usable by itself, migrations
included, once PostgreSQL appears. Containers and their databases start in any order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import serve, wait_for
from tests.support.pg import PrivateCluster

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop


@pytest.fixture
def stopped_cluster() -> Iterator[PrivateCluster]:
    pg = PrivateCluster().init()
    yield pg
    pg.destroy()


def test_serve_before_postgres_then_recover(stopped_cluster: PrivateCluster, workdir: Path) -> None:
    with serve({"POSTGRES_URL": stopped_cluster.admin_url}, workdir) as server:
        with server.client() as anonymous:
            health = anonymous.get("/v1/health")
        assert health.status_code == 503 and health.headers["Retry-After"]
        assert health.json() == {"status": "down"}  # strangers learn nothing more
        with server.admin() as admin:
            body = admin.get("/v1/health").json()
        assert body["status"] == "down" and body["checks"]["database"] == "down"
        with server.admin() as admin:
            refused = admin.post("/v1/memories", json={"content": "too early"})
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert refused.json()["error"]["code"] == "service_unavailable"
        assert "Traceback" not in server.process.logs()

        stopped_cluster.start()
        stopped_cluster.wait_ready()
        with server.client() as anonymous:
            wait_for(lambda: anonymous.get("/v1/health").status_code == 200, 30, "recovery after PostgreSQL started")
        tenant_id, client = server.new_tenant()
        with client:
            stored = client.post("/v1/memories", json={"content": "stored once the database arrived"})
            assert stored.status_code == 201
            assert client.get(f"/v1/memories/{stored.json()['id']}").json()["tenant_id"] == tenant_id
