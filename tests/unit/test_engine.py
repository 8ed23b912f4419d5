"""The engine facade: one after-write step for every write, and cached reads that
answer exactly like fresh ones."""

from __future__ import annotations

import base64
from dataclasses import asdict

import pytest

from continuum.clock import ManualClock
from continuum.core.operations.learn import LearnInput
from continuum.core.operations.memories import MemoryPatch, NewMemory
from continuum.core.operations.recall import RecallQuery
from continuum.core.operations.search import SearchQuery
from continuum.runtime import build_services
from continuum.settings import load_settings


class Indexer:
    def __init__(self) -> None:
        self.submitted: list[list[str]] = []

    async def submit(self, tenant_id: str, memories: list) -> None:
        self.submitted.append([m.id for m in memories])

    def touch(self, tenant_id: str) -> None:
        pass

    async def close(self) -> None:
        pass


class Metrics:
    def __init__(self) -> None:
        self.stored: list[int] = []
        self.concepts: list[int] = []
        self.hits = 0

    def __getattr__(self, name: str):
        return lambda *args: None

    def memories_stored(self, count: int) -> None:
        self.stored.append(count)

    def concepts_extracted(self, count: int) -> None:
        self.concepts.append(count)

    def cache_hit(self) -> None:
        self.hits += 1


@pytest.fixture
async def services(tmp_path):
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "e.db")}, read_files=False)
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    yield built
    await built.close()


async def test_every_write_invalidates_indexes_what_it_stored_and_counts(services):
    engine = services.engine
    indexer, metrics = Indexer(), Metrics()
    engine.writes.indexer, engine.writes.metrics = indexer, metrics
    generations: list[int] = []
    invalidate = engine.cache.invalidate

    async def counted(tenant_id: str) -> None:
        generations.append(1)
        await invalidate(tenant_id)

    engine.writes.cache.invalidate = counted  # type: ignore[method-assign]

    learned = await engine.learn("t", LearnInput(user_message="Orion runs on Kafka.", ai_response="Noted."))
    batch = await engine.store_batch("t", [NewMemory(content="one"), NewMemory(content="one")])
    await engine.update_memory("t", batch.results[0].id, MemoryPatch(role="note", provided=frozenset({"role"})))
    await engine.update_memory("t", batch.results[0].id, MemoryPatch(content="two", provided=frozenset({"content"})))
    await engine.delete_memory("t", learned.memory_ids[0])

    assert len(generations) == 5
    assert indexer.submitted == [learned.memory_ids, [batch.results[0].id], [batch.results[0].id]]
    assert metrics.stored == [2, 1] and metrics.concepts == [2]


async def test_a_cached_recall_or_search_answers_like_a_fresh_one(services):
    engine = services.engine
    engine.cache.metrics = metrics = Metrics()
    await engine.learn("t", LearnInput(user_message="Orion streams its events through Kafka.", ai_response="Ok."))
    await engine.learn("t", LearnInput(user_message="Kafka runs on the Zeus cluster.", ai_response="Ok."))
    for read, query in ((engine.recall, RecallQuery(message="What does Orion depend on?")),
                        (engine.search, SearchQuery(query="Kafka cluster"))):  # fmt: skip
        fresh, cached = asdict(await read("t", query)), asdict(await read("t", query))
        fresh.pop("query_time_ms"), cached.pop("query_time_ms")
        assert cached == fresh
    assert metrics.hits == 2


async def test_every_change_of_a_memory_is_in_its_history_encrypted_at_rest(tmp_path):
    key = base64.b64encode(bytes(range(32))).decode()
    settings = load_settings(
        {"CONTINUUM_DB_PATH": str(tmp_path / "h.db"), "CONTINUUM_ENCRYPTION_KEY": key}, read_files=False
    )
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    engine = built.engine
    try:
        stored = await engine.store_memory("t1", NewMemory(content="likes tea", session_id="s", instance_id="a"))
        coffee = MemoryPatch(content="likes coffee", provided=frozenset({"content"}))
        await engine.update_memory("t1", stored.id, coffee)
        await engine.update_memory("t1", stored.id, MemoryPatch(metadata={"x": 1}, provided=frozenset({"metadata"})))
        await engine.delete_memory("t1", stored.id)
        entries = await engine.memory_history("t1", stored.id)
        assert [(e.event, e.old_content, e.new_content) for e in entries] == [
            ("ADD", None, "likes tea"),
            ("UPDATE", "likes tea", "likes coffee"),
            ("UPDATE", "likes coffee", "likes coffee"),
            ("DELETE", "likes coffee", None),
        ]
        assert (entries[0].instance_id, entries[0].session_id, entries[2].metadata) == ("a", "s", {"x": 1})
        raw = await built.storage.memory_history("t1", stored.id, limit=10)
        assert all("likes" not in (r.new_content or "") + (r.old_content or "") for r in raw)
        assert await engine.memory_history("t2", stored.id) == []
        learned = await engine.learn("t1", LearnInput(user_message="Orion ships", ai_response="Noted"))
        assert [[e.event for e in await engine.memory_history("t1", m)] for m in learned.memory_ids] == [["ADD"]] * 2
    finally:
        await built.close()
