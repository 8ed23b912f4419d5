"""The layered result cache: generations, invalidation, and stepping aside in an outage."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from continuum.cache.memory import InProcessCache
from continuum.clock import ManualClock
from continuum.core.caching import InvalidationNotPublished, ResultCache
from continuum.core.operations import NewMemory, RecallQuery, SearchQuery
from continuum.errors import NotFound
from continuum.ports import CacheUnavailable
from continuum.runtime import build_services
from continuum.runtime.profiles import LAMBDA, WORKER, local_server
from continuum.settings import load_settings


class SwitchableCache(InProcessCache):
    """An in-process cache that can be made to fail like an unreachable Redis."""

    name = "switchable"

    def __init__(self):
        super().__init__()
        self.down = False

    def _check(self):
        if self.down:
            raise CacheUnavailable("connection refused")

    async def get(self, key):
        self._check()
        return await super().get(key)

    async def set(self, key, value, ttl):
        self._check()
        await super().set(key, value, ttl)

    async def set_if_absent(self, key, value, ttl):
        self._check()
        return await super().set_if_absent(key, value, ttl)

    async def incr(self, key, ttl):
        self._check()
        return await super().incr(key, ttl)

    async def ping(self):
        self._check()


async def _put(cache: ResultCache, tenant: str, namespace: str, parts: Any, value: Any) -> None:
    await cache.store(await cache.lookup(tenant, namespace, parts), value)


async def _get(cache: ResultCache, tenant: str, namespace: str, parts: Any) -> Any:
    return (await cache.lookup(tenant, namespace, parts)).value


async def test_write_invalidates_for_every_instance_sharing_l2():
    shared = SwitchableCache()
    one = ResultCache(InProcessCache(), shared, ttl=60)
    two = ResultCache(InProcessCache(), shared, ttl=60)
    await _put(one, "t", "recall", {"q": 1}, {"answer": "old"})
    assert await _get(two, "t", "recall", {"q": 1}) == {"answer": "old"}
    await two.invalidate("t")
    assert await _get(one, "t", "recall", {"q": 1}) is None
    assert await _get(two, "t", "recall", {"q": 1}) is None


async def test_invalidation_is_per_tenant():
    cache = ResultCache(InProcessCache(), None, ttl=60)
    await _put(cache, "a", "search", "q", [1])
    await _put(cache, "b", "search", "q", [2])
    await cache.invalidate("a")
    assert await _get(cache, "a", "search", "q") is None
    assert await _get(cache, "b", "search", "q") == [2]


async def test_a_value_is_stored_under_the_generation_its_lookup_read():
    shared = SwitchableCache()
    one = ResultCache(InProcessCache(), shared, ttl=60)
    two = ResultCache(InProcessCache(), shared, ttl=60)
    before = await one.lookup("t", "recall", "q")  # then the database is read ...
    await two.invalidate("t")  # ... a write lands on another instance ...
    await one.store(before, "computed before the write")  # ... and the old answer is stored
    assert await _get(one, "t", "recall", "q") is None
    assert await _get(two, "t", "recall", "q") is None


async def test_an_outage_bypasses_the_cache_and_refuses_unpublishable_writes():
    shared = SwitchableCache()
    cache = ResultCache(InProcessCache(), shared, ttl=60)
    await _put(cache, "t", "recall", "q", "stale-after-write")
    shared.down = True
    assert await _get(cache, "t", "recall", "q") is None  # no stale read while blind
    with pytest.raises(InvalidationNotPublished) as refused:
        await cache.before_write("t")  # a write is refused before it changes anything
    assert refused.value.status == 503 and refused.value.retry_after
    with pytest.raises(InvalidationNotPublished):
        await cache.invalidate("t")  # the link broke during a write: stored, not acknowledged
    assert await cache.health() == "degraded"
    shared.down = False
    assert await _get(cache, "t", "recall", "q") is None  # the missed invalidation was replayed
    assert await cache.health() == "ok"
    await cache.before_write("t")


async def test_health_checks_replay_missed_invalidations():
    shared = SwitchableCache()
    one = ResultCache(InProcessCache(), shared, ttl=60)
    two = ResultCache(InProcessCache(), shared, ttl=60)
    await _put(two, "t", "recall", "q", "old")
    shared.down = True
    with pytest.raises(InvalidationNotPublished):
        await one.invalidate("t")
    shared.down = False
    assert await one.health() == "ok"  # an idle instance repairs on its health check
    assert await _get(two, "t", "recall", "q") is None


async def test_without_a_shared_cache_writes_are_never_refused():
    cache = ResultCache(InProcessCache(), None, ttl=60)
    await cache.before_write("t")
    await cache.invalidate("t")
    assert await cache.health() == "ok"


async def test_generation_restarts_never_revive_old_entries():
    shared = SwitchableCache()
    cache = ResultCache(InProcessCache(), shared, ttl=60)
    await _put(cache, "t", "recall", "q", "v1")
    await shared.close()  # the shared cache restarts empty; L1 still holds the old entry
    assert await _get(cache, "t", "recall", "q") is None


async def test_an_evicted_local_generation_never_revives_old_entries():
    local = InProcessCache()
    cache = ResultCache(local, None, ttl=60)
    key = "continuum:gen:t"
    await local.delete(key)
    await cache.invalidate("t")  # the generation was evicted: INCR alone would restart it at 1
    await _put(cache, "t", "recall", "q", "computed at the first generation")
    await local.delete(key)  # evicted again (LRU), the entry survived
    await cache.invalidate("t")  # a write
    assert await _get(cache, "t", "recall", "q") is None


async def test_lru_bound_and_expiry():
    now = [0.0]
    local = InProcessCache(max_entries=2, clock=lambda: now[0])
    await local.set("a", "1", ttl=10)
    await local.set("b", "2", ttl=10)
    await local.get("a")
    await local.set("c", "3", ttl=10)
    assert await local.get("b") is None and await local.get("a") == "1"
    now[0] = 11
    assert await local.get("a") is None


# ---- a read that straddles a write -----------------------------------------------------------


class StallingStorage:
    """Storage whose next `stall_on` call reads the database at once, then holds its answer
    until released: a recall that read before a concurrent write and stores after it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.stall_on: str | None = None
        self.read_done = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name != self.stall_on:
            return attribute

        async def stalled(*args: Any, **kwargs: Any) -> Any:
            self.stall_on = None
            answer = await attribute(*args, **kwargs)
            self.read_done.set()
            await self.release.wait()
            return answer

        return stalled


def _contents(recall: Any) -> str:
    return " ".join(item.content for item in recall.memories)


RUNTIMES = {  # the profile, and whether its instances share a cache (Redis or Upstash)
    "one-process": (local_server(1), False),
    "several-workers": (local_server(2), True),
    "lambda": (LAMBDA, True),
    "worker": (WORKER, True),
}


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_result_read_before_a_write_is_never_served_after_it(tmp_path: Path, runtime: str) -> None:
    """The read's database answer predates the write; it is stored only after the write's
    invalidation. Stored under the generation read after that invalidation, it would be
    served (without the write) to every later reader on every instance sharing the cache."""
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "race.db")}, read_files=False)
    profile, sharing = RUNTIMES[runtime]
    shared = SwitchableCache() if sharing else None
    storage = StallingStorage(build_services(settings).storage)
    one = build_services(settings, profile=profile, storage=storage, shared_cache=shared, clock=ManualClock())
    two = build_services(settings, profile=profile, storage=storage, shared_cache=shared, clock=ManualClock())
    await storage.migrate()
    try:
        query = RecallQuery(message="When does Zephyr ship?")
        await one.engine.store_memory("t", NewMemory(content="Zephyr ships on Friday."))
        storage.stall_on = "lexical_candidates"
        reader = asyncio.create_task(one.engine.recall("t", query))
        await storage.read_done.wait()  # the reader has its (old) candidates
        await one.engine.store_memory("t", NewMemory(content="Zephyr moved to Monday."))  # acknowledged
        storage.release.set()
        assert "Monday" not in _contents(await reader)  # it began before the write: fine
        assert "Monday" in _contents(await one.engine.recall("t", query))
        if shared is not None:
            assert "Monday" in _contents(await two.engine.recall("t", query))
    finally:
        await one.close()
        await two.close()


async def test_a_cached_answer_never_shows_a_memory_past_its_expiry(tmp_path: Path) -> None:
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "expiry.db")}, read_files=False)
    clock = ManualClock()
    services = build_services(settings, clock=clock)
    await services.storage.migrate()
    try:
        engine = services.engine
        expires = clock.now() + timedelta(seconds=60)
        await engine.store_memory("t", NewMemory(content="Zephyr ships on Friday."))
        await engine.store_memory("t", NewMemory(content="Zephyr demo code 4471.", expires_at=expires))
        query = RecallQuery(message="Zephyr")
        search = SearchQuery(query="Zephyr")
        assert "4471" in _contents(await engine.recall("t", query))  # cached now
        assert "4471" in " ".join(hit.content for hit in (await engine.search("t", search)).results)
        clock.advance(seconds=61)
        assert "4471" not in _contents(await engine.recall("t", query))
        assert "4471" not in " ".join(hit.content for hit in (await engine.search("t", search)).results)
        assert "Friday" in _contents(await engine.recall("t", query))
    finally:
        await services.close()


class BreakingCache(SwitchableCache):
    """A shared cache whose link breaks at the next increment: after a write's database
    commit, before its invalidation."""

    def __init__(self):
        super().__init__()
        self.break_at_incr = False

    async def incr(self, key, ttl):
        if self.break_at_incr:
            self.down = True
        return await super().incr(key, ttl)


async def test_a_write_whose_link_breaks_is_stored_not_acknowledged_and_its_retry_publishes_it(
    tmp_path: Path,
) -> None:
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "broken.db")}, read_files=False)
    shared = BreakingCache()
    storage = build_services(settings).storage
    one = build_services(settings, profile=local_server(2), storage=storage, shared_cache=shared, clock=ManualClock())
    two = build_services(settings, profile=local_server(2), storage=storage, shared_cache=shared, clock=ManualClock())
    await storage.migrate()
    try:
        query = RecallQuery(message="When does Zephyr ship?")
        kept = await one.engine.store_memory("t", NewMemory(content="Zephyr ships on Friday."))
        assert "Friday" in _contents(await two.engine.recall("t", query))  # cached for everyone

        shared.break_at_incr = True
        with pytest.raises(InvalidationNotPublished):
            await one.engine.store_memory("t", NewMemory(content="Zephyr moved to Monday."))
        shared.break_at_incr = shared.down = False
        retried = await two.engine.store_memory("t", NewMemory(content="Zephyr moved to Monday."))
        assert retried.status == "duplicate"  # the first attempt was stored: the retry recognises it
        assert "Monday" in _contents(await two.engine.recall("t", query))
        assert await one.cache.health() == "ok"  # one replays what it could not send
        assert "Friday" in _contents(await two.engine.recall("t", query))  # cached again

        shared.break_at_incr = True
        with pytest.raises(InvalidationNotPublished):
            await one.engine.delete_memory("t", kept.id)
        shared.break_at_incr = shared.down = False
        with pytest.raises(NotFound):
            await two.engine.delete_memory("t", kept.id)  # the retry finds it gone, and says so everywhere
        assert "Friday" not in _contents(await two.engine.recall("t", query))
    finally:
        await one.close()
        await two.close()
