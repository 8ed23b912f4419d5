"""Real-time sync's core (continuum/core/sync.py) and its wiring: the engine's writes reach
a subscriber through the live publisher, which never blocks or fails a write; event-type
filters; the runtimes that serve no subscribers say so."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from continuum.bus.memory import InProcessBus
from continuum.clock import ManualClock
from continuum.core.operations.memories import MemoryPatch, NewMemory
from continuum.core.sync import BusPublisher, LiveSync, NoLiveSync, SyncUnavailable, parse_types
from continuum.errors import InvalidInput
from continuum.models import Event
from continuum.runtime import build_services
from continuum.runtime.profiles import LAMBDA, WORKER, local_server
from continuum.settings import load_settings


def settings_for(tmp_path, **extra: str):
    return load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "s.db"), **extra}, read_files=False)


@pytest.fixture
async def served(tmp_path):
    built = build_services(settings_for(tmp_path), profile=local_server(), clock=ManualClock())
    await built.storage.migrate()
    yield built
    await built.close()


async def test_the_local_server_publishes_every_write_to_the_tenants_subscribers(served):
    assert isinstance(served.sync, LiveSync) and served.sync.bus.name == "memory"
    stream = await served.sync.subscribe("t1")
    others = await served.sync.subscribe("t2")
    engine = served.engine
    stored = await engine.store_memory("t1", NewMemory(content="Orion ships Friday"))
    await engine.update_memory("t1", stored.id, MemoryPatch(content="Orion ships Monday"))
    await engine.delete_memory("t1", stored.id)
    heard = [json.loads(await asyncio.wait_for(stream.next(), 5)) for _ in range(3)]
    assert [e["type"] for e in heard] == ["memory.created", "memory.updated", "memory.deleted"]
    assert heard[1]["data"]["memory"]["content"] == "Orion ships Monday"
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(others.next(), 0.05)
    await stream.close()
    await others.close()


async def test_a_filtered_stream_skips_other_types(served):
    stream = await served.sync.subscribe("t1", parse_types("memory.deleted"))
    stored = await served.engine.store_memory("t1", NewMemory(content="brief"))
    await served.engine.delete_memory("t1", stored.id)
    event = json.loads(await asyncio.wait_for(stream.next(), 5))
    assert event["type"] == "memory.deleted" and event["data"] == {"memory_id": stored.id}
    await stream.close()


def test_parse_types():
    assert parse_types(None) is None and parse_types(" ") is None
    assert parse_types("memory.created, tenant.erased") == {"memory.created", "tenant.erased"}
    with pytest.raises(InvalidInput, match=r"memory\.exploded"):
        parse_types("memory.created,memory.exploded")


class SlowBus(InProcessBus):
    """A bus that takes its time: publishing must not wait for it."""

    async def publish(self, tenant_id, messages):
        await asyncio.sleep(0.2)
        await super().publish(tenant_id, messages)


def event(n: int, tenant_id: str = "t") -> Event:
    from datetime import UTC, datetime

    return Event(id=f"evt_{n:04d}", type="memory.deleted", tenant_id=tenant_id,
                 occurred_at=datetime(2026, 1, 1, tzinfo=UTC), data={"memory_id": str(n)})  # fmt: skip


async def test_publishing_never_waits_for_the_bus_and_keeps_order():
    bus = SlowBus()
    subscription = await bus.subscribe("t")
    publisher = BusPublisher(bus)
    started = time.perf_counter()
    for n in range(5):
        await publisher.publish([event(n)])
    assert time.perf_counter() - started < 0.1
    heard = [json.loads(await asyncio.wait_for(subscription.next(), 5))["id"] for _ in range(5)]
    assert heard == [f"evt_{n:04d}" for n in range(5)]
    await publisher.close()


async def test_nothing_is_sent_for_a_tenant_nobody_listens_to():
    class Counting(InProcessBus):
        sent = 0

        async def publish(self, tenant_id, messages):
            Counting.sent += len(messages)

    publisher = BusPublisher(Counting())
    await publisher.publish([event(1, "nobody")])
    await publisher.close()
    assert Counting.sent == 0


async def test_a_failing_bus_never_fails_a_write(caplog):
    class Broken(InProcessBus):
        def listening(self, tenant_id):
            return True

        async def publish(self, tenant_id, messages):
            raise RuntimeError("bus exploded")

    publisher = BusPublisher(Broken())
    await publisher.publish([event(1)])
    await publisher.close()  # the sender logged the failure and lives on
    assert "live events not published" in caplog.text


async def test_closing_hands_over_what_is_pending():
    bus = SlowBus()
    subscription = await bus.subscribe("t")
    publisher = BusPublisher(bus)
    await publisher.publish([event(1)])
    await publisher.close()
    assert json.loads(await asyncio.wait_for(subscription.next(), 1))["id"] == "evt_0001"


@pytest.mark.parametrize("profile", [LAMBDA, WORKER], ids=lambda p: p.name)
async def test_serverless_runtimes_serve_no_subscribers_and_build_no_events(tmp_path, profile):
    built = build_services(settings_for(tmp_path), profile=profile)
    assert isinstance(built.sync, NoLiveSync) and not built.engine.writes.raises_events
    with pytest.raises(SyncUnavailable, match="served by the server runtimes"):
        await built.sync.subscribe("t")


async def test_several_workers_need_redis(tmp_path):
    built = build_services(settings_for(tmp_path), profile=local_server(2))
    with pytest.raises(SyncUnavailable, match="REDIS_URL"):
        await built.sync.subscribe("t")


def test_the_idle_timeout_must_outlast_the_ping_interval(tmp_path):
    from continuum.settings import SettingsError

    with pytest.raises(SettingsError, match="CONTINUUM_SYNC_IDLE_TIMEOUT"):
        settings_for(tmp_path, CONTINUUM_SYNC_PING_INTERVAL="30", CONTINUUM_SYNC_IDLE_TIMEOUT="20")
    sync = settings_for(tmp_path, CONTINUUM_SYNC_PING_INTERVAL="5", CONTINUUM_SYNC_IDLE_TIMEOUT="20").sync
    assert (sync.ping_interval, sync.idle_timeout) == (5.0, 20.0)
