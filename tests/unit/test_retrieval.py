"""Retrieval: each ranking component switched on and off over the real engine on a SQLite file,
and what a recall costs in storage calls and round trips."""

from __future__ import annotations

import pytest

from continuum.clock import ManualClock
from continuum.core.operations.learn import LearnInput
from continuum.core.operations.memories import NewMemory
from continuum.core.operations.recall import RecallQuery
from continuum.core.operations.search import SearchQuery
from continuum.core.retrieval import RankingConfig
from continuum.models import MemoryFilters
from continuum.runtime import build_services
from continuum.runtime.adapters import ranking_config
from continuum.settings import load_settings
from continuum.storage.sqlite import SqliteStorage
from tests.support.counting_storage import CountingStorage


@pytest.fixture
async def engine(tmp_path):
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "r.db"), "CONTINUUM_CACHE_ENABLED": "false"},
                             read_files=False)  # fmt: skip
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    yield built.engine
    await built.close()


def configure(engine, **changes):
    engine.retriever.config = engine.retriever.config._replace(**changes)


async def store(engine, tenant, *items):
    memories = [NewMemory(**item) if isinstance(item, dict) else NewMemory(content=item) for item in items]
    result = await engine.store_batch(tenant, memories)
    return [r.id for r in result.results]


async def search(engine, tenant, query, **kwargs):
    response = await engine.search(tenant, SearchQuery(query=query, **kwargs))
    return [r.content for r in response.results]


async def test_settings_switch_each_component(tmp_path):
    settings = load_settings(
        {"CONTINUUM_RANK_GRAPH": "false", "CONTINUUM_RANK_CONTEXT": "off", "CONTINUUM_RANK_TIME": "0",
         "CONTINUUM_RANK_LEXICAL": "true", "CONTINUUM_VECTOR_SCAN_LIMIT": "1000",
         "CONTINUUM_DB_PATH": str(tmp_path / "s.db")},
        read_files=False,
    )  # fmt: skip
    built = build_services(settings, clock=ManualClock())
    config = built.engine.retriever.config
    assert (config.graph, config.context, config.time, config.lexical) == (False, False, False, True)
    assert config.vector_scan_limit == 1000
    await built.close()


def test_defaults_are_the_best_general_recall():
    config = RankingConfig()
    assert (config.lexical, config.graph, config.context, config.time, config.recency) == (True,) * 5
    assert (config.candidates, config.dense_candidates, config.vector_scan_limit, config.context_anchors) == (
        150, 100, 20_000, 20,
    )
    assert (config.lexical_weight, config.dense_weight, config.dense_floor, config.graph_term_weight) == (
        1.0, 1.0, 0.1, 0.35,
    )
    assert (config.hub_share, config.second_hop, config.context_weight, config.time_boost, config.recency_weight) == (
        0.05, 0.5, 0.7, 0.2, 0.02,
    )
    defaults = load_settings({}, read_files=False).ranking
    assert ranking_config(defaults) == RankingConfig()


async def test_context_finds_the_answer_next_to_the_question(engine):
    await store(
        engine, "t",
        {"content": "Where did you travel last summer?", "session_id": "s1"},
        {"content": "To Lisbon, with my sister.", "session_id": "s1"},
        {"content": "Unrelated chatter about gardening", "session_id": "s1"},
        {"content": "A different conversation entirely", "session_id": "s2"},
    )  # fmt: skip
    with_context = await search(engine, "t", "travel last summer")
    assert with_context[:2] == ["Where did you travel last summer?", "To Lisbon, with my sister."]
    configure(engine, context=False)
    assert await search(engine, "t", "travel last summer") == ["Where did you travel last summer?"]


async def test_context_stays_inside_the_session_and_the_filters(engine):
    await store(
        engine, "t",
        {"content": "Something said before", "session_id": "a"},
        {"content": "The quokka question", "session_id": "b", "role": "user"},
        {"content": "An assistant reply", "session_id": "b", "role": "assistant"},
        {"content": "A user follow-up", "session_id": "b", "role": "user"},
    )  # fmt: skip
    everything = await search(engine, "t", "quokka")
    assert "Something said before" not in everything
    assert set(everything) == {"The quokka question", "An assistant reply"}
    only_users = await search(engine, "t", "quokka", filters=MemoryFilters(role="user"))
    assert only_users == ["The quokka question", "A user follow-up"]


async def test_when_questions_prefer_memories_that_place_events_in_time(engine):
    await store(engine, "t", "Ana adopted the puppy Rex", "Ana adopted the puppy yesterday")
    assert (await search(engine, "t", "When did Ana adopt the puppy?"))[0] == "Ana adopted the puppy yesterday"
    # the same question without a time word: no preference, the tie goes to the older memory
    assert (await search(engine, "t", "Did Ana adopt the puppy?"))[0] == "Ana adopted the puppy Rex"
    configure(engine, time=False)
    assert (await search(engine, "t", "When did Ana adopt the puppy?"))[0] == "Ana adopted the puppy Rex"


async def test_graph_reaches_a_concept_two_links_away(engine):
    for user, ai in (
        ("Orion streams its events through Kafka.", "Noted: Orion depends on Kafka."),
        ("Kafka runs on the Zeus cluster.", "So Kafka depends on Zeus."),
    ):
        await engine.learn("t", LearnInput(user_message=user, ai_response=ai))
    await store(engine, "t", "Zeus maintenance happens every Friday")
    hybrid = await search(engine, "t", "Is Orion at risk?")
    assert "Zeus maintenance happens every Friday" in hybrid
    assert "Zeus maintenance happens every Friday" not in await search(engine, "t", "Is Orion at risk?", mode="lexical")
    configure(engine, second_hop=0.0)
    assert "Zeus maintenance happens every Friday" not in await search(engine, "t", "Is Orion at risk?")
    configure(engine, second_hop=0.5, graph=False)
    assert "Zeus maintenance happens every Friday" not in await search(engine, "t", "Is Orion at risk?")


async def test_recall_context_block_names_dates_and_linking_concepts(engine):
    await engine.learn("t", LearnInput(user_message="Orion ships on Kafka.", ai_response="Orion and Kafka noted."))
    recalled = await engine.recall("t", RecallQuery(message="What about Orion?"))
    assert recalled.memories and "Orion" in recalled.context
    assert any("Orion" in m.concepts for m in recalled.memories)
    first = recalled.memories[0]
    assert first.created_at.strftime("%Y-%m-%d") in recalled.context


async def test_recalled_memories_name_linking_concepts_as_they_were_written(engine):
    await engine.learn("t", LearnInput(user_message="Orion streams its events through Kafka.", ai_response="Ok."))
    await engine.learn("t", LearnInput(user_message="Kafka runs on the Zeus cluster.", ai_response="Ok."))
    recalled = await engine.recall("t", RecallQuery(message="What does Orion depend on?"))
    linked = {name for memory in recalled.memories for name in memory.concepts}
    assert {"Orion", "Kafka"} <= linked  # the query's concept and one reached through the graph
    assert linked == {name for name in linked if name[0].isupper()}  # display names, never index keys


async def test_semantic_mode_needs_an_embedder(engine):
    from continuum.errors import InvalidInput

    with pytest.raises(InvalidInput, match="semantic"):
        await engine.search("t", SearchQuery(query="x", mode="semantic"))


async def test_lexical_off_without_embeddings_still_ranks_lexically(engine):
    await store(engine, "t", "The quokka is a small marsupial")
    configure(engine, lexical=False)
    assert await search(engine, "t", "quokka") == ["The quokka is a small marsupial"]



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


async def test_explained_parts_add_up_to_each_score_whatever_is_switched_on(engine):
    for user, ai in (
        ("Orion streams its events through Kafka.", "Noted: Orion depends on Kafka."),
        ("Kafka runs on the Zeus cluster.", "So Kafka depends on Zeus."),
        ("When did Orion launch? Last week.", "Orion launched last week, on Kafka."),
    ):
        await engine.learn("t", LearnInput(user_message=user, ai_response=ai, session_id="s"))
    await store(engine, "t", "Zeus maintenance happens every Friday")
    for changes in ({}, {"context": False}, {"time": False, "recency": False}, {"graph": False}):
        configure(engine, **{"context": True, "time": True, "recency": True, "graph": True, **changes})
        for message in ("Is Orion at risk?", "When did Orion launch?"):
            recalled = await engine.recall("t", RecallQuery(message=message, explain=True))
            assert recalled.memories, (changes, message)
            for memory in recalled.memories:
                parts = vars(memory.explain.parts)
                assert sum(parts.values()) == pytest.approx(memory.score, abs=1e-4), (changes, message, parts)
                if changes.get("context") is False:
                    assert parts["context"] == 0
                if changes.get("graph") is False:
                    assert parts["graph"] == 0
    configure(engine, graph=True, context=True, time=True, recency=True)
    # Zeus is two links from Orion: its memory is found by the graph's words alone
    found = await engine.search("t", SearchQuery(query="Is Orion at risk?", explain=True))
    zeus = next(r for r in found.results if r.content.startswith("Zeus maintenance"))
    assert zeus.explain.parts.graph > 0 and zeus.explain.parts.lexical == 0
    plain = await engine.search("t", SearchQuery(query="Is Orion at risk?"))
    assert all(r.explain is None for r in plain.results)
    assert [r.id for r in plain.results] == [r.id for r in found.results]
