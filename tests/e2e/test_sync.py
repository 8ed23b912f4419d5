"""Real-time sync over a real WebSocket client (`websockets`) against real `continuum serve`
processes: SQLite (in-process bus) and PostgreSQL + Redis (Redis pub/sub), a short heartbeat."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.instances import serve_instances
from tests.support.pg import REDIS_URL, create_database, delete_redis_keys, drop_database
from tests.support.servers import TARGETS, RunningServer

PING, IDLE = 0.4, 1.6  # the heartbeat the test servers keep (production: 30 s and 90 s)
HEARTBEAT = {"CONTINUUM_SYNC_PING_INTERVAL": str(PING), "CONTINUUM_SYNC_IDLE_TIMEOUT": str(IDLE)}
WAIT = 10.0


@pytest.fixture(scope="module")
def sync_server(target_name: str) -> Iterator[RunningServer]:
    running = TARGETS[target_name]().start(require_api_key=True, extra_env=HEARTBEAT)
    yield running
    running.stop()


def ws_url(server: RunningServer, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/v1/sync" + (f"?{query}" if query else "")


@asynccontextmanager
async def subscribed(
    server: RunningServer, key: str | None, query: str = "", headers: dict[str, str] | None = None, **options: Any
) -> AsyncIterator[ClientConnection]:
    headers = {**({"X-API-Key": key} if key else {}), **(headers or {})}
    async with websockets.connect(ws_url(server, query), additional_headers=headers, **options) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert hello["type"] == "sync.subscribed", hello
        yield ws


async def receive(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(ws.recv(), WAIT)) for _ in range(count)]


def new_key(server: RunningServer, tenant_id: str | None = None, **body: Any) -> tuple[str, str]:
    tenant_id = tenant_id or f"t-{secrets.token_hex(6)}"
    with server.admin() as admin:
        response = admin.post("/v1/keys", json={"tenant_id": tenant_id, **body})
        response.raise_for_status()
        return tenant_id, response.json()["api_key"]


@pytest.mark.targets("sqlite", "postgres")
async def test_events_arrive_in_commit_order(sync_server: RunningServer):
    tenant_id, key = new_key(sync_server)
    async with (
        subscribed(sync_server, key) as ws,
        httpx.AsyncClient(base_url=sync_server.url, headers={"X-API-Key": key}) as http,
    ):
        learned = (await http.post("/v1/learn", json={
            "user_message": "We deploy Orion to Frankfurt on Friday.", "ai_response": "Frankfurt, Friday: noted.",
        })).json()  # fmt: skip
        stored = (await http.post("/v1/memories", json={"content": "Orion uses PostgreSQL"})).json()
        assert (await http.patch(f"/v1/memories/{stored['id']}", json={"content": "Orion uses D1"})).status_code == 200
        assert (await http.delete(f"/v1/memories/{stored['id']}")).status_code in (200, 204)
        events: list[dict[str, Any]] = []
        while not events or events[-1]["type"] != "memory.deleted":
            events += await receive(ws, 1)
    kinds = [e["type"] for e in events]
    assert kinds[-3:] == ["memory.created", "memory.updated", "memory.deleted"]
    assert set(kinds[:-3]) == {"memory.created", "concept.discovered"}  # the learn: its memories, new concepts
    assert [e["data"]["memory"]["id"] for e in events if e["type"] == "memory.created"] == [
        *learned["memory_ids"],
        stored["id"],
    ]
    assert events[-2]["data"]["memory"]["content"] == "Orion uses D1"
    assert events[-1]["data"] == {"memory_id": stored["id"]}
    assert all(e["tenant_id"] == tenant_id for e in events)
    assert all(set(e) == {"id", "type", "tenant_id", "created_at", "data"} for e in events)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)  # time-ordered ids, sent in order


@pytest.mark.targets("sqlite", "postgres")
async def test_a_subscriber_hears_only_its_own_tenant(sync_server: RunningServer):
    _, key_a = new_key(sync_server)
    tenant_b, key_b = new_key(sync_server)
    async with subscribed(sync_server, key_a) as ws_a, subscribed(sync_server, key_b) as ws_b:
        with sync_server.client(key_a) as http:
            assert http.post("/v1/memories", json={"content": "tenant A's secret"}).status_code == 201
        with sync_server.client(key_b) as http:
            assert http.post("/v1/memories", json={"content": "tenant B's note"}).status_code == 201
        [heard_b] = await receive(ws_b, 1)
        [heard_a] = await receive(ws_a, 1)
        assert heard_b["tenant_id"] == tenant_b and heard_b["data"]["memory"]["content"] == "tenant B's note"
        assert heard_a["data"]["memory"]["content"] == "tenant A's secret"
        with pytest.raises(asyncio.TimeoutError):  # nothing else reached B
            await asyncio.wait_for(ws_b.recv(), 3 * PING)


@pytest.mark.targets("sqlite", "postgres")
async def test_the_admin_key_picks_a_tenant_and_types_filter(sync_server: RunningServer):
    tenant_id, key = new_key(sync_server)
    headers = {"X-Continuum-Tenant": tenant_id}
    async with subscribed(sync_server, sync_server.admin_key, "types=memory.deleted", headers=headers) as ws:
        with sync_server.client(key) as http:
            memory_id = http.post("/v1/memories", json={"content": "short-lived"}).json()["id"]
            assert http.delete(f"/v1/memories/{memory_id}").status_code in (200, 204)
        [event] = await receive(ws, 1)
    assert event["type"] == "memory.deleted" and event["tenant_id"] == tenant_id


@pytest.mark.targets("sqlite", "postgres")
async def test_bad_credentials_and_bad_input_are_refused_with_a_close_code(sync_server: RunningServer):
    _, write_key = new_key(sync_server)
    for key, code in ((None, 4401), ("ck_" + "x" * 40, 4401)):
        headers = {"X-API-Key": key} if key else {}
        async with websockets.connect(ws_url(sync_server), additional_headers=headers) as ws:
            with pytest.raises(websockets.ConnectionClosedError) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == code
        assert closed.value.rcvd.reason.startswith("unauthorized: ")
    async with websockets.connect(ws_url(sync_server, "types=memory.exploded"),
                                  additional_headers={"X-API-Key": write_key}) as ws:  # fmt: skip
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4422
    assert "memory.exploded" in closed.value.rcvd.reason
    with sync_server.client(write_key) as http:  # a plain GET is told what the route is
        answer = http.get("/v1/sync")
    assert answer.status_code == 426 and answer.json()["error"]["code"] == "upgrade_required"


@pytest.mark.targets("sqlite", "postgres")
async def test_a_revoked_key_loses_its_subscription(sync_server: RunningServer):
    tenant_id, key = new_key(sync_server)
    with sync_server.client(key) as http:
        key_id = http.get("/v1/keys").json()["keys"][0]["id"]
    async with subscribed(sync_server, key) as ws:
        with sync_server.client(sync_server.admin_key, **{"X-Continuum-Tenant": tenant_id}) as admin:
            assert admin.delete(f"/v1/keys/{key_id}").status_code in (200, 204)
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


@pytest.mark.targets("sqlite", "postgres")
async def test_erasing_the_tenant_is_the_last_event_its_subscriber_hears(sync_server: RunningServer):
    tenant_id, key = new_key(sync_server)
    async with subscribed(sync_server, key) as ws:
        with sync_server.admin() as admin:
            assert admin.delete(f"/v1/tenants/{tenant_id}").status_code == 200
        [erased] = await receive(ws, 1)
        assert erased["type"] == "tenant.erased" and erased["tenant_id"] == tenant_id
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


@pytest.mark.targets("sqlite")
async def test_heartbeat_pings_keep_a_listening_client_and_silence_closes_it(sync_server: RunningServer):
    _, key = new_key(sync_server)
    frames: list[str] = []

    class Frames(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            frames.append(record.getMessage())

    logger = logging.getLogger(f"sync-test-{secrets.token_hex(4)}")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Frames())
    async with subscribed(sync_server, key, logger=logger) as ws:
        await asyncio.sleep(IDLE * 1.5)  # listening (so answering pings) for longer than the idle timeout
        assert sum(1 for f in frames if f.startswith("< PING")) >= 2, frames
        await ws.send(json.dumps({"type": "ping"}))  # an application ping, for clients that cannot send one
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {"type": "sync.pong"}
        ws.transport.pause_reading()  # silence: pings go unanswered
        await asyncio.sleep(IDLE + 2 * PING)
        ws.transport.resume_reading()
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    assert "keepalive" in closed.value.rcvd.reason


@pytest.fixture(scope="module")
def two_instances() -> Iterator[list[RunningServer]]:
    database = create_database("continuum_sync")
    workdir = Path(tempfile.mkdtemp(prefix="continuum-sync-"))
    common = {"POSTGRES_URL": database, "REDIS_URL": REDIS_URL, "POSTGRES_POOL_SIZE": "2", **HEARTBEAT}
    common["CONTINUUM_CACHE_PREFIX"] = prefix = f"sync-e2e:{secrets.token_hex(6)}:"
    try:
        with serve_instances(common, [{}, {}], workdir) as servers:
            yield servers
    finally:
        drop_database(database)
        delete_redis_keys(prefix)


@pytest.mark.targets("postgres")
async def test_a_write_on_one_instance_reaches_subscribers_on_another(two_instances, target_name):
    a, b = two_instances
    tenant_id, key = new_key(a)
    _, other_key = new_key(a)
    async with subscribed(b, key) as on_b, subscribed(a, key) as on_a, subscribed(b, other_key) as other:
        with a.client(key) as http:
            memory_id = http.post("/v1/memories", json={"content": "written on A"}).json()["id"]
        with b.client(key) as http:
            assert http.delete(f"/v1/memories/{memory_id}").status_code in (200, 204)
        heard_on_b = await receive(on_b, 2)
        heard_on_a = await receive(on_a, 2)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(other.recv(), 3 * PING)
    for heard in (heard_on_a, heard_on_b):
        assert [e["type"] for e in heard] == ["memory.created", "memory.deleted"]
        assert heard[0]["data"]["memory"]["id"] == memory_id and heard[0]["tenant_id"] == tenant_id
    assert heard_on_a == heard_on_b


@pytest.mark.targets("workers", "workers-upstash")
def test_a_worker_says_where_real_time_sync_is_served(server: RunningServer):
    with server.admin() as admin:
        answer = admin.get("/v1/sync")
    assert answer.status_code == 501
    assert "served by the server runtimes" in answer.json()["error"]["message"]
