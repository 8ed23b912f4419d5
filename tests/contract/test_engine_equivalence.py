"""The product on every storage gives the same answers: the same script of learns,
stores, edits, searches and recalls through the engine, with the same clock and ids,
must produce identical results (ids, ranking, scores, contexts, counts, exports) on
every registered adapter."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pytest

from continuum.clock import ManualClock
from continuum.core.operations.learn import LearnInput
from continuum.core.operations.memories import MemoryPatch, NewMemory
from continuum.core.operations.recall import RecallQuery
from continuum.core.operations.search import SearchQuery
from continuum.core.portability import Portability
from continuum.ids import IdGenerator
from continuum.models import MemoryFilters
from continuum.runtime import build_services
from continuum.settings import Settings
from tests.contract.adapters import STORAGE_FACTORIES, selected_storages

pytestmark = pytest.mark.asyncio(loop_scope="session")

TURNS = [
    ("I decided to name the release Aurora and ship it in May.", "Aurora in May, noted."),
    ("Aurora needs the PostgreSQL migration first.", "Then PostgreSQL comes before Aurora."),
    ("Kim owns the Aurora launch checklist.", "Kim and Aurora, got it."),
    ("Redis caches recall results for Aurora.", "Redis in front of PostgreSQL, fine."),
    ("The 'blue-green' deploy needs two Kubernetes clusters.", "Two clusters for blue-green."),
    ("Kim prefers Grafana dashboards over Kibana.", "Grafana it is, Kim."),
    ("Ünïcode café naïve résumé 日本語 テスト", "Stored the unicode line."),
]
MEMOS = [
    NewMemory(content="Aurora's code name was Borealis", metadata={"source": "wiki", "n": 1}),
    NewMemory(content="Borealis was cancelled in 2019", metadata={"source": "wiki", "n": True}),
    NewMemory(content="PostgreSQL 16 upgrade is scheduled for June", session_id="ops", metadata={"n": "1"}),
    NewMemory(content="PostgreSQL 16 upgrade is scheduled for June", session_id="ops"),
    NewMemory(content="Grafana alert: Redis memory above 80 percent", role="note", session_id="ops"),
]
QUERIES = [
    "When does Aurora ship?",
    "Who owns the launch checklist?",
    "PostgreSQL migration and Redis",
    "Borealis",
    "Kubernetes blue-green clusters",
    "café résumé",
    "Grafana Kim",
]


class CountingIds(IdGenerator):
    """Ids from a counter: the same on every run (the alphabet includes the digits)."""

    def __init__(self) -> None:
        super().__init__()
        self._next = itertools.count(1)

    def new_id(self, at_ms: int | None = None) -> str:
        return f"{next(self._next):026d}"


async def _script(storage: Any) -> dict[str, Any]:
    clock = ManualClock(datetime(2030, 3, 1, 9, 0, tzinfo=UTC))
    services = build_services(Settings(cache_enabled=False), storage=storage, clock=clock)
    engine = services.engine
    engine.ids = CountingIds()
    tenant = "equivalence"
    out: dict[str, Any] = {"learn": [], "search": {}, "recall": {}}
    for user, ai in TURNS:
        clock.advance(minutes=7)
        out["learn"].append(
            asdict(await engine.learn(tenant, LearnInput(user_message=user, ai_response=ai, session_id="rel")))
        )
    clock.advance(hours=1)
    stored = await engine.store_batch(tenant, MEMOS)
    out["batch"] = asdict(stored)
    first = stored.results[0].id
    clock.advance(minutes=1)
    patch = MemoryPatch(content="Aurora's code name was Borealis, then Polaris", provided=frozenset({"content"}))
    out["update"] = asdict(await engine.update_memory(tenant, first, patch))
    await engine.delete_memory(tenant, stored.results[1].id)
    clock.advance(days=3)
    for query in QUERIES:
        for mode in ("hybrid", "lexical"):
            result = await engine.search(tenant, SearchQuery(query=query, mode=mode))
            out["search"][(query, mode)] = [(r.id, r.score, r.content) for r in result.results]
        recall = asdict(await engine.recall(tenant, RecallQuery(message=query)))
        del recall["query_time_ms"]
        out["recall"][query] = recall
    filtered = await engine.search(
        tenant, SearchQuery(query="PostgreSQL upgrade", filters=MemoryFilters(session_id="ops", metadata={"n": "1"}))
    )
    out["filtered"] = [(r.id, r.score) for r in filtered.results]
    out["stats"] = asdict(await engine.stats(tenant))
    out["entities"] = asdict(await engine.list_entities(tenant, entity_type=None, limit=50, offset=0))
    out["entity"] = asdict(await engine.get_entity(tenant, "Aurora"))
    portability = Portability(engine)
    out["export"] = [line async for line in portability.export_lines(tenant) if '"header"' not in line]
    return out


async def test_every_adapter_answers_exactly_like_the_first() -> None:
    names = selected_storages()
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        async with STORAGE_FACTORIES[name]() as storage:
            results[name] = await _script(storage)
    reference_name = names[0]
    reference = results[reference_name]
    assert reference["search"][("When does Aurora ship?", "hybrid")], "the script must find something"
    for name in names[1:]:
        for part in reference:
            assert results[name][part] == reference[part], f"{name} differs from {reference_name} in {part}"
