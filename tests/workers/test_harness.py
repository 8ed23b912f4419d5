"""`wrangler/serve-local` as a person runs it: READY line, the cron handler, embeddings through
the Workers AI binding (a JS stand-in: there is no local Workers AI), and a local D1 whose
migrations wrangler applied and the D1 adapter recognises. The HTTP suite itself runs on
this harness as the e2e target `workers` (tests/support/targets_workers.py)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from continuum.storage.d1 import D1Storage
from continuum.storage.d1.store import migration_name
from continuum.storage.sql.migrate import load_migrations
from tests.support.d1_local import LocalD1
from tests.support.servers import clean_env, free_port
from tests.support.workers_env import WRANGLER_DIR, require_tooling

pytestmark = pytest.mark.slow  # starts real servers, builds or models: outside the quick loop

ADMIN = "admin-" + "w" * 24


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    require_tooling()
    state = tmp_path_factory.mktemp("serve-local")
    port = free_port()
    env = clean_env({
        "CONTINUUM_API_KEY": ADMIN, "CONTINUUM_REQUIRE_API_KEY": "true", "CONTINUUM_LOG_LEVEL": "WARNING",
        "CONTINUUM_ENABLE_EMBEDDINGS": "true", "CONTINUUM_EMBEDDING_PROVIDER": "workers-ai",
        "CONTINUUM_EMBEDDING_WRITE": "inline",
    })  # fmt: skip
    log = open(state / "serve-local.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(WRANGLER_DIR / "serve-local"), str(port), "--persist-to", str(state / "d1")],
        env=env, stdout=subprocess.PIPE, stderr=log, start_new_session=True,
    )  # fmt: skip
    line, deadline = b"", time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(b"READY"):
                break
    try:
        assert line.decode().strip() == f"READY http://127.0.0.1:{port}", (state / "serve-local.log").read_text()
        yield f"http://127.0.0.1:{port}", state, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def tenant_client(served):
    url, _, _ = served
    with httpx.Client(base_url=url, headers={"X-API-Key": ADMIN}, timeout=60) as admin:
        key = admin.post("/v1/keys", json={"tenant_id": "harness"}).json()["api_key"]
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
        yield client


def test_semantic_search_through_the_workers_ai_binding(tenant_client):
    for text in ("The billing service runs on Postgres", "Our cat sleeps on the sofa", "Invoices are sent monthly"):
        assert tenant_client.post("/v1/memories", json={"content": text}).status_code == 201
    found = tenant_client.post("/v1/search", json={"query": "billing service", "mode": "semantic"})
    assert found.status_code == 200, found.text
    results = found.json()["results"]
    assert results and results[0]["content"] == "The billing service runs on Postgres"


def test_cron_handler_purges_expired_memories(served, tenant_client):
    url, _, _ = served
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    created = tenant_client.post("/v1/memories", json={"content": "a short-lived reminder", "expires_at": soon})
    assert created.status_code == 201, created.text
    before = tenant_client.get("/v1/stats").json()["memories"]
    time.sleep(3)
    assert tenant_client.get(f"/v1/memories/{created.json()['id']}").status_code == 404
    ran = httpx.get(f"{url}/__scheduled", params={"cron": "*/15 * * * *"}, timeout=60)
    assert ran.status_code == 200
    assert tenant_client.get("/v1/stats").json()["memories"] == before - 1


async def test_wrangler_migrations_are_what_the_adapter_expects(served):
    """Run last: stops the server, then opens its D1 directly."""
    _, state, proc = served
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    local = LocalD1(state / "d1")
    try:
        storage = D1Storage(local)
        assert await storage.pending_migrations() == []
        rows = (await local.prepare("SELECT name FROM d1_migrations ORDER BY id").all())["results"]
        assert [r["name"] for r in rows] == [migration_name(m.version) for m in load_migrations("sqlite")]
        assert (await storage.counts("harness")).memories >= 3
    finally:
        local.close()
