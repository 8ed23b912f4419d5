"""The events a tenant's changes raise: one per stored, changed or deleted memory, one per
new concept, one per erasure; content in plaintext; none when no one listens."""

from __future__ import annotations

import pytest

from continuum.clock import ManualClock
from continuum.core.operations.learn import LearnInput
from continuum.core.operations.memories import MemoryPatch, NewMemory
from continuum.models import EVENT_TYPES, Event
from continuum.runtime import build_services
from continuum.settings import load_settings


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events) -> None:
        self.events.extend(events)


@pytest.fixture
async def services(tmp_path):
    settings = load_settings(
        {"CONTINUUM_DB_PATH": str(tmp_path / "e.db"), "CONTINUUM_ENCRYPTION_KEY": "ab" * 32}, read_files=False
    )
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    yield built
    await built.close()


async def test_writes_raise_one_event_per_change_with_plaintext(services):
    recorder = Recorder()
    writes = services.engine.writes
    writes.events = recorder
    await services.engine.learn("t", LearnInput(user_message="Orion runs on Kafka.", ai_response="Noted."))
    kinds = [e.type for e in recorder.events]
    assert kinds.count("memory.created") == 2 and "concept.discovered" in kinds
    assert {e.data["memory"]["content"] for e in recorder.events if e.type == "memory.created"} == {
        "Orion runs on Kafka.",
        "Noted.",
    }
    names = {e.data["concept"]["name"] for e in recorder.events if e.type == "concept.discovered"}
    assert "Orion" in names or "Kafka" in names

    recorder.events.clear()
    await services.engine.learn("t", LearnInput(user_message="Orion runs on Kafka.", ai_response="Noted."))
    assert recorder.events == []  # duplicates store nothing, concepts are known

    stored = await services.engine.store_memory("t", NewMemory(content="Deploys on Fridays."))
    await services.engine.update_memory("t", stored.id, MemoryPatch(content="Deploys on Mondays."))
    await services.engine.delete_memory("t", stored.id)
    await services.admin.erase_tenant("t")
    assert [e.type for e in recorder.events] == ["memory.created", "memory.updated", "memory.deleted", "tenant.erased"]
    updated = recorder.events[1]
    assert updated.data["memory"]["content"] == "Deploys on Mondays."
    assert recorder.events[2].data == {"memory_id": stored.id}
    assert all(e.tenant_id == "t" and e.type in EVENT_TYPES for e in recorder.events)
    ids = [e.id for e in recorder.events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    body = updated.body()
    assert set(body) == {"id", "type", "tenant_id", "created_at", "data"} and body["created_at"].endswith("Z")


async def test_no_listener_builds_no_events(services):
    assert not services.engine.writes.raises_events
