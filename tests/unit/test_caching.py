"""The layered result cache: generations, invalidation, and stepping aside in an outage."""

from continuum.cache.memory import InProcessCache
from continuum.core.caching import ResultCache
from continuum.ports import CacheUnavailable


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


async def test_write_invalidates_for_every_instance_sharing_l2():
    shared = SwitchableCache()
    one = ResultCache(InProcessCache(), shared, ttl=60)
    two = ResultCache(InProcessCache(), shared, ttl=60)
    await one.put("t", "recall", {"q": 1}, {"answer": "old"})
    assert await two.get("t", "recall", {"q": 1}) == {"answer": "old"}
    await two.invalidate("t")
    assert await one.get("t", "recall", {"q": 1}) is None
    assert await two.get("t", "recall", {"q": 1}) is None


async def test_invalidation_is_per_tenant():
    cache = ResultCache(InProcessCache(), None, ttl=60)
    await cache.put("a", "search", "q", [1])
    await cache.put("b", "search", "q", [2])
    await cache.invalidate("a")
    assert await cache.get("a", "search", "q") is None
    assert await cache.get("b", "search", "q") == [2]


async def test_outage_bypasses_cache_and_replays_invalidations():
    shared = SwitchableCache()
    cache = ResultCache(InProcessCache(), shared, ttl=60)
    await cache.put("t", "recall", "q", "stale-after-write")
    shared.down = True
    assert await cache.get("t", "recall", "q") is None  # no stale read while blind
    await cache.invalidate("t")  # a write during the outage
    assert await cache.health() == "degraded"
    shared.down = False
    assert await cache.get("t", "recall", "q") is None  # the missed invalidation was replayed
    assert await cache.health() == "ok"


async def test_generation_restarts_never_revive_old_entries():
    shared = SwitchableCache()
    cache = ResultCache(InProcessCache(), shared, ttl=60)
    await cache.put("t", "recall", "q", "v1")
    await shared.close()  # the shared cache restarts empty; L1 still holds the old entry
    assert await cache.get("t", "recall", "q") is None


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
