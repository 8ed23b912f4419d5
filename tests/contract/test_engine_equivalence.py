"""The product on every storage gives the same answers: the same script of learns,
stores, edits, searches and recalls through the engine, with the same clock and ids,
must produce identical results (ids, ranking, scores, contexts, counts, exports) on
every registered adapter."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from continuum.clock import ManualClock
from continuum.core.portability import Portability
from continuum.ids import IdGenerator
from continuum.runtime import build_services
from continuum.schemas import (
    LearnRequest,
    MemoryBatchRequest,
    MemoryCreate,
    MemoryUpdate,
    RecallRequest,
    SearchFilters,
    SearchRequest,
)
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
    MemoryCreate(content="Aurora's code name was Borealis", metadata={"source": "wiki", "n": 1}),
    MemoryCreate(content="Borealis was cancelled in 2019", metadata={"source": "wiki", "n": True}),
    MemoryCreate(content="PostgreSQL 16 upgrade is scheduled for June", session_id="ops", metadata={"n": "1"}),
    MemoryCreate(content="PostgreSQL 16 upgrade is scheduled for June", session_id="ops"),
    MemoryCreate(content="Grafana alert: Redis memory above 80 percent", role="note", session_id="ops"),
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
            (await engine.learn(tenant, LearnRequest(user_message=user, ai_response=ai, session_id="rel"))).model_dump()
        )
    clock.advance(hours=1)
    stored = await engine.store_batch(tenant, MemoryBatchRequest(memories=MEMOS))
    out["batch"] = stored.model_dump()
    first = stored.results[0].id
    clock.advance(minutes=1)
    out["update"] = (
        await engine.update_memory(tenant, first, MemoryUpdate(content="Aurora's code name was Borealis, then Polaris"))
    ).model_dump(mode="json")
    await engine.delete_memory(tenant, stored.results[1].id)
    clock.advance(days=3)
    for query in QUERIES:
        for mode in ("hybrid", "lexical"):
            result = await engine.search(tenant, SearchRequest(query=query, mode=mode))
            out["search"][(query, mode)] = [(r.id, r.score, r.content) for r in result.results]
        recall = await engine.recall(tenant, RecallRequest(message=query))
        out["recall"][query] = recall.model_dump(mode="json", exclude={"query_time_ms"})
    filtered = await engine.search(
        tenant, SearchRequest(query="PostgreSQL upgrade", filters=SearchFilters(session_id="ops", metadata={"n": "1"}))
    )
    out["filtered"] = [(r.id, r.score) for r in filtered.results]
    out["stats"] = (await engine.stats(tenant)).model_dump()
    out["entities"] = (await engine.list_entities(tenant, entity_type=None, limit=50, offset=0)).model_dump(mode="json")
    out["entity"] = (await engine.get_entity(tenant, "Aurora")).model_dump(mode="json")
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
