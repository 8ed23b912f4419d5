"""The layered result cache: generations, invalidation, and stepping aside in an outage."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from continuum.cache.memory import InProcessCache
from continuum.clock import ManualClock
from continuum.core.caching import ResultCache
from continuum.core.operations.memories import NewMemory
from continuum.core.operations.recall import RecallQuery
from continuum.core.operations.search import SearchQuery
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


async def test_an_outage_bypasses_the_cache_and_keeps_unpublished_invalidations_pending():
    shared = SwitchableCache()
    cache = ResultCache(InProcessCache(), shared, ttl=60)
    await _put(cache, "t", "recall", "q", "stale-after-write")
    shared.down = True
    assert await _get(cache, "t", "recall", "q") is None  # no stale read while blind
    await cache.invalidate("t")  # a write: never refused because of the cache
    assert cache.pending == {"t"}
    assert await cache.health() == "degraded"
    shared.down = False
    assert await _get(cache, "t", "recall", "q") is None  # the pending invalidation was published first
    assert cache.pending == frozenset()
    assert await cache.health() == "ok"


async def test_health_checks_publish_pending_invalidations():
    shared = SwitchableCache()
    one = ResultCache(InProcessCache(), shared, ttl=60)
    two = ResultCache(InProcessCache(), shared, ttl=60)
    await _put(two, "t", "recall", "q", "old")
    shared.down = True
    await one.invalidate("t")
    shared.down = False
    assert await one.health() == "ok"  # an idle instance repairs on its health check
    assert await _get(two, "t", "recall", "q") is None


async def test_without_a_shared_cache_nothing_is_ever_pending():
    cache = ResultCache(InProcessCache(), None, ttl=60, repair_interval=0.01)
    await cache.invalidate("t")
    assert cache.pending == frozenset() and cache._repairing is None
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


# ---- one instance cut off from the shared cache: pending invalidations and their repair ------


class Link:
    """One instance's own way to a shared cache, which can be cut (every call fails like a
    dead connection) or made to fail only increments (the bump of an invalidation)."""

    name = "link"

    def __init__(self, shared: InProcessCache) -> None:
        self.shared = shared
        self.down = False
        self.incr_fails = False
        self.incr_gate: asyncio.Event | None = None  # when set, the next increment waits for it
        self.incr_waiting = asyncio.Event()

    def _check(self) -> None:
        if self.down:
            raise CacheUnavailable("connection reset")

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.shared, name)

        async def call(*args: Any) -> Any:
            self._check()
            return await attribute(*args)

        return call

    async def incr(self, key: str, ttl: int) -> int:
        self._check()
        if self.incr_gate is not None:
            gate, self.incr_gate = self.incr_gate, None
            self.incr_waiting.set()
            await gate.wait()
        if self.incr_fails:
            raise CacheUnavailable("connection reset")
        return await self.shared.incr(key, ttl)


def _instances(repair_interval: float | None = 0.01) -> tuple[ResultCache, ResultCache, Link]:
    """`one` behind a link that can be cut, `two` directly on the same shared cache."""
    shared = InProcessCache()
    link = Link(shared)
    one = ResultCache(InProcessCache(), link, ttl=60, repair_interval=repair_interval)  # type: ignore[arg-type]
    two = ResultCache(InProcessCache(), shared, ttl=60)
    return one, two, link


async def test_a_cut_instance_acknowledges_and_serves_its_own_tenant_from_the_database():
    one, two, link = _instances()
    await _put(one, "t", "recall", "q", "before the write")
    link.incr_fails = True  # the generation is readable, its bump fails
    await one.invalidate("t")  # the write is acknowledged all the same
    assert one.pending == {"t"}
    assert await _get(one, "t", "recall", "q") is None  # one knows its own write: the database
    await _put(one, "t", "recall", "q", "read meanwhile")  # and stores nothing for the tenant
    assert await _get(two, "t", "recall", "q") == "before the write"  # the bounded staleness
    await _put(one, "u", "recall", "q", "another tenant")
    assert await _get(one, "u", "recall", "q") == "another tenant"  # other tenants stay cached
    await one.close()


async def test_the_background_repair_publishes_without_another_request():
    one, two, link = _instances()
    await one.invalidate("t")
    assert one._repairing is None  # nothing pending, no task
    await _put(two, "t", "recall", "q", "before the write")
    link.down = True
    await one.invalidate("t")
    assert one._repairing is not None and not one._repairing.done()  # started by the failure
    assert await _get(two, "t", "recall", "q") == "before the write"  # while cut
    link.down = False  # the link heals; one handles no further request
    await asyncio.wait_for(one.wait_published(), timeout=2)
    assert await _get(two, "t", "recall", "q") is None
    await asyncio.sleep(0)  # the task ends once nothing is pending
    assert one._repairing.done() and one.pending == frozenset()
    await one.close()


async def test_without_background_work_the_next_use_of_the_cache_publishes():
    """Lambda and Workers run nothing between requests: the next request repairs."""
    one, two, link = _instances(repair_interval=None)
    await _put(two, "t", "recall", "q", "before the write")
    link.down = True
    await one.invalidate("t")
    assert one._repairing is None
    link.down = False
    assert await _get(two, "t", "recall", "q") == "before the write"  # nobody published yet
    await one.lookup("another tenant", "recall", "q")  # one's next request that uses the cache
    assert one.pending == frozenset()
    assert await _get(two, "t", "recall", "q") is None


async def test_a_publication_begun_before_a_later_failure_keeps_that_failure_pending():
    one, two, link = _instances(repair_interval=None)
    link.down = True
    await one.invalidate("t")  # pending
    link.down = False
    gate = asyncio.Event()
    link.incr_gate = gate
    replay = asyncio.create_task(one.health())  # publishes the pending invalidation ...
    await link.incr_waiting.wait()  # ... and is now waiting inside its increment
    link.incr_fails = True
    await one.invalidate("t")  # a later write whose bump fails meanwhile
    link.incr_fails = False
    gate.set()
    await replay
    assert one.pending == {"t"}  # the later write is still to be published
    await _put(two, "t", "recall", "q", "older than the later write")
    assert await _get(one, "t", "recall", "q") is None  # published first, then looked up
    assert one.pending == frozenset()
    assert await _get(two, "t", "recall", "q") is None


async def test_close_stops_the_repair_and_tries_once_more():
    one, two, link = _instances(repair_interval=60)
    await _put(two, "t", "recall", "q", "before the write")
    link.down = True
    await one.invalidate("t")
    task = one._repairing
    link.down = False
    await one.close()
    assert task is not None and task.cancelled()
    assert await _get(two, "t", "recall", "q") is None


async def test_an_in_process_copy_expires_with_the_shared_entry():
    """Staleness is bounded by the TTL: a copy taken into an instance's L1 late in the
    shared entry's life must not live a full TTL more."""
    now = [0.0]
    shared = InProcessCache(clock=lambda: now[0])
    one = ResultCache(InProcessCache(clock=lambda: now[0]), shared, ttl=10, wall_clock=lambda: now[0])
    two = ResultCache(InProcessCache(clock=lambda: now[0]), shared, ttl=10, wall_clock=lambda: now[0])
    await _put(two, "t", "recall", "q", "cached at 0")
    now[0] = 9
    assert await _get(one, "t", "recall", "q") == "cached at 0"  # copied into one's L1
    now[0] = 10.5
    assert await _get(one, "t", "recall", "q") is None


def test_only_a_process_that_lives_between_requests_repairs_in_the_background(tmp_path: Path) -> None:
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "p.db")}, read_files=False)
    shared = InProcessCache()
    for profile, interval in ((local_server(1), 1.0), (local_server(2), 1.0), (LAMBDA, None), (WORKER, None)):
        services = build_services(settings, profile=profile, shared_cache=shared)
        assert services.cache.repair_interval == interval, profile.name


async def test_a_cut_instances_writes_are_acknowledged_and_reach_the_others_when_the_link_heals(
    tmp_path: Path,
) -> None:
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "cut.db")}, read_files=False)
    shared = InProcessCache()
    link = Link(shared)
    storage = build_services(settings).storage
    one = build_services(settings, profile=local_server(2), storage=storage, shared_cache=link, clock=ManualClock())  # type: ignore[arg-type]
    two = build_services(settings, profile=local_server(2), storage=storage, shared_cache=shared, clock=ManualClock())
    one.cache.repair_interval = 0.01
    await storage.migrate()
    try:
        query = RecallQuery(message="When does Zephyr ship?")
        kept = await one.engine.store_memory("t", NewMemory(content="Zephyr ships on Friday."))
        assert "Friday" in _contents(await two.engine.recall("t", query))  # cached for everyone

        link.down = True
        stored = await one.engine.store_memory("t", NewMemory(content="Zephyr moved to Monday."))
        assert stored.status == "stored"  # acknowledged
        assert "Monday" in _contents(await one.engine.recall("t", query))  # at once on one
        link.down = False
        await asyncio.wait_for(one.cache.wait_published(), timeout=2)  # one handles nothing more
        assert "Monday" in _contents(await two.engine.recall("t", query))

        link.down = True
        await one.engine.delete_memory("t", kept.id)
        assert "Friday" not in _contents(await one.engine.recall("t", query))
        link.down = False
        await asyncio.wait_for(one.cache.wait_published(), timeout=2)
        assert "Friday" not in _contents(await two.engine.recall("t", query))
    finally:
        await one.close()
        await two.close()


async def test_a_404_retry_of_a_write_whose_process_died_before_invalidating_invalidates(tmp_path: Path) -> None:
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "died.db")}, read_files=False)
    shared = InProcessCache()
    storage = build_services(settings).storage
    two = build_services(settings, profile=local_server(2), storage=storage, shared_cache=shared, clock=ManualClock())
    await storage.migrate()
    try:
        query = RecallQuery(message="When does Zephyr ship?")
        kept = await two.engine.store_memory("t", NewMemory(content="Zephyr ships on Friday."))
        assert "Friday" in _contents(await two.engine.recall("t", query))  # cached
        assert await storage.delete_memory("t", kept.id, two.clock.now())  # committed by a process that then died
        with pytest.raises(NotFound):
            await two.engine.delete_memory("t", kept.id)  # the client's retry
        assert "Friday" not in _contents(await two.engine.recall("t", query))
    finally:
        await two.close()


async def test_requests_arriving_as_the_link_heals_publish_the_pending_invalidations_once():
    one, _, link = _instances(repair_interval=None)
    link.down = True
    for tenant in ("t", "u"):
        await one.invalidate(tenant)
    link.down = False
    bumps = 0
    real_incr = link.incr

    async def counted(key: str, ttl: int) -> int:
        nonlocal bumps
        bumps += 1
        await asyncio.sleep(0)  # let the other requests arrive while this one publishes
        return await real_incr(key, ttl)

    link.incr = counted  # type: ignore[method-assign]
    found = await asyncio.gather(*(one.lookup("t", "recall", "q") for _ in range(20)))
    assert all(lookup.value is None for lookup in found)
    assert one.pending == frozenset() and bumps == 2
