"""Retrieval's storage traffic: what one recall costs in calls and round trips."""

from __future__ import annotations

from continuum.clock import ManualClock
from continuum.core.operations import LearnInput, RecallQuery
from continuum.runtime import build_services
from continuum.settings import load_settings
from continuum.storage.sqlite import SqliteStorage
from tests.support.counting_storage import CountingStorage


async def test_a_recall_with_graph_links_resolves_concept_names_without_a_round_trip_of_its_own(tmp_path):
    settings = load_settings({"CONTINUUM_CACHE_ENABLED": "false"}, read_files=False)
    storage = CountingStorage(SqliteStorage(str(tmp_path / "count.db")))
    built = build_services(settings, storage=storage, clock=ManualClock())  # type: ignore[arg-type]
    await storage.migrate()
    engine = built.engine
    await engine.learn("t", LearnInput(user_message="Orion streams its events through Kafka.", ai_response="Ok."))
    await engine.learn("t", LearnInput(user_message="Kafka runs on the Zeus cluster.", ai_response="Ok."))
    storage.reset()

    recalled = await engine.recall("t", RecallQuery(message="What does Orion depend on?"))

    assert recalled.relationships_found and {"Orion", "Kafka"} <= {n for m in recalled.memories for n in m.concepts}
    # Rounds: the terms' statistics beside the concept match; first-hop links; second-hop
    # links; the new terms' statistics beside the names of the linked and reached concepts;
    # candidates; neighbours. Before, the engine looked the names up again after
    # retrieval, a seventh round of its own (8 calls in 7 round trips).
    assert storage.calls.count("find_entities") == 2
    assert len(storage.calls) == 8
    assert storage.round_trips == 6
    await built.close()
