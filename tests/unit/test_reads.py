"""The engine's reads and the result cache: an explained recall or search (explain: true) is
computed fresh, never answered from the cache nor stored in it, and the plain answers keep
their cache key."""

from __future__ import annotations

import pytest

from continuum.clock import ManualClock
from continuum.core.operations.learn import LearnInput
from continuum.core.operations.recall import RecallQuery
from continuum.core.operations.search import SearchQuery
from continuum.runtime import build_services
from continuum.settings import load_settings


class CountingMetrics:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.hits = 0
        self.misses = 0

    def cache_hit(self) -> None:
        self.hits += 1

    def cache_miss(self) -> None:
        self.misses += 1

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
async def engine(tmp_path):
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "r.db")}, read_files=False)
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    built.engine.reads.cache.metrics = CountingMetrics(built.engine.reads.cache.metrics)
    await built.engine.learn("t", LearnInput(user_message="Orion runs on Kafka.", ai_response="Kafka suits Orion."))
    yield built.engine
    await built.close()


async def test_an_explained_search_neither_reads_nor_fills_the_cache(engine):
    metrics = engine.reads.cache.metrics
    explained = await engine.search("t", SearchQuery(query="Orion", explain=True))
    assert explained.results and all(r.explain is not None for r in explained.results)
    assert (metrics.hits, metrics.misses) == (0, 0)  # the cache was not even asked
    plain = await engine.search("t", SearchQuery(query="Orion"))
    assert all(r.explain is None for r in plain.results) and metrics.misses == 1
    again = await engine.search("t", SearchQuery(query="Orion"))
    assert metrics.hits == 1 and all(r.explain is None for r in again.results)
    explained_again = await engine.search("t", SearchQuery(query="Orion", explain=True))
    assert all(r.explain is not None for r in explained_again.results) and metrics.hits == 1


async def test_an_explained_recall_is_computed_fresh_and_the_plain_one_is_cached(engine):
    metrics = engine.reads.cache.metrics
    plain = await engine.recall("t", RecallQuery(message="What about Orion?"))
    cached = await engine.recall("t", RecallQuery(message="What about Orion?"))
    assert metrics.hits == 1 and [m.id for m in cached.memories] == [m.id for m in plain.memories]
    explained = await engine.recall("t", RecallQuery(message="What about Orion?", explain=True))
    assert metrics.hits == 1 and all(m.explain is not None for m in explained.memories)
    assert [m.score for m in explained.memories] == [m.score for m in plain.memories]
    assert explained.context == plain.context
