"""One cache contract on every adapter: in-process, Redis, Upstash (REST, through the
real upstash-redis client and the tests' protocol server in front of redis-server).

Also the layered result cache on top of a shared adapter: two instances sharing L2
each see the other's writes at once (generation invalidation), and a dead shared
cache costs little and only degrades (CacheUnavailable, never an error upward): an
invalidation it could not take is kept pending and published once it answers. A result
is stored under the generation read before its database read, on every adapter.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import pytest

from continuum.cache.memory import InProcessCache
from continuum.core.caching import ResultCache
from continuum.ports import Cache, CacheUnavailable
from tests.support.pg import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _put(cache: ResultCache, tenant: str, namespace: str, parts: Any, value: Any) -> None:
    await cache.store(await cache.lookup(tenant, namespace, parts), value)


async def _get(cache: ResultCache, tenant: str, namespace: str, parts: Any) -> Any:
    return (await cache.lookup(tenant, namespace, parts)).value


@pytest.fixture
def key() -> str:
    return f"k-{secrets.token_hex(6)}"


async def test_get_set_delete_round_trip(cache: Cache, key: str) -> None:
    assert await cache.get(key) is None
    for value in ("plain", "", "ünïcode ✓ 日本語 🚀", "OK", "x" * 100_000, '{"json": [1, 2]}', "PONG"):
        await cache.set(key, value, 60)
        assert await cache.get(key) == value
    await cache.set(key + "2", "second", 60)
    await cache.delete(key, key + "2", key + "-never-set")
    assert await cache.get(key) is None and await cache.get(key + "2") is None
    await cache.delete()  # nothing to delete is fine


async def test_set_if_absent_only_sets_once(cache: Cache, key: str) -> None:
    assert await cache.set_if_absent(key, "first", 60) is True
    assert await cache.set_if_absent(key, "second", 60) is False
    assert await cache.get(key) == "first"


async def test_values_expire(cache: Cache, key: str) -> None:
    await cache.set(key, "short", 1)
    await cache.set_if_absent(key + "n", "short", 1)
    assert await cache.get(key) == "short"
    await asyncio.sleep(1.2)
    assert await cache.get(key) is None
    assert await cache.get(key + "n") is None


async def test_incr_counts_and_expires_from_its_first_increment(cache: Cache, key: str) -> None:
    assert [await cache.incr(key, 1) for _ in range(3)] == [1, 2, 3]
    assert await cache.incr(key, 1000) == 4  # a later ttl does not extend the first one
    assert await cache.get(key) == "4"
    await asyncio.sleep(1.2)
    assert await cache.get(key) is None
    assert await cache.incr(key, 60) == 1


async def test_incr_continues_a_counter_created_by_set(cache: Cache, key: str) -> None:
    await cache.set_if_absent(key, "41", 60)
    assert await cache.incr(key, 60) == 42


async def test_concurrent_increments_are_not_lost(cache: Cache, key: str) -> None:
    values = await asyncio.gather(*(cache.incr(key, 60) for _ in range(12)))
    assert sorted(values) == list(range(1, 13))


async def test_ping(cache: Cache) -> None:
    await cache.ping()


async def test_two_instances_sharing_the_cache_see_each_others_writes(cache: Cache, key: str) -> None:
    """The recall-after-learn rule across instances: L1 per instance, L2 shared."""
    prefix = f"{key}:"
    a = ResultCache(InProcessCache(), cache, ttl=60, prefix=prefix)
    b = ResultCache(InProcessCache(), cache, ttl=60, prefix=prefix)
    await _put(a, "tenant", "recall", {"q": 1}, {"answer": "old"})
    assert await _get(b, "tenant", "recall", {"q": 1}) == {"answer": "old"}  # filled from L2
    assert await _get(a, "tenant", "recall", {"q": 1}) == {"answer": "old"}  # from L1
    await b.invalidate("tenant")  # a write on instance b
    assert await _get(a, "tenant", "recall", {"q": 1}) is None  # instance a sees it at once
    assert await _get(b, "tenant", "recall", {"q": 1}) is None
    await _put(a, "other", "recall", {"q": 1}, {"answer": "kept"})
    await a.invalidate("tenant")
    assert await _get(b, "other", "recall", {"q": 1}) == {"answer": "kept"}  # per tenant
    assert await a.health() == "ok"


async def test_a_result_computed_before_a_write_is_never_served_after_it(cache: Cache, key: str) -> None:
    prefix = f"{key}:"
    a = ResultCache(InProcessCache(), cache, ttl=60, prefix=prefix)
    b = ResultCache(InProcessCache(), cache, ttl=60, prefix=prefix)
    before = await a.lookup("tenant", "recall", {"q": 1})  # a reads the database next ...
    await b.invalidate("tenant")  # ... while b's write lands and is acknowledged ...
    await a.store(before, {"answer": "without the write"})  # ... then a stores what it read
    assert await _get(a, "tenant", "recall", {"q": 1}) is None
    assert await _get(b, "tenant", "recall", {"q": 1}) is None


# ---- a shared cache that is down ------------------------------------------------------------


def _dead_adapters() -> list[tuple[str, Cache]]:
    from continuum.cache.redis import RedisCache
    from continuum.cache.upstash import UpstashCache

    port = free_port()  # nothing listens there
    return [
        ("redis", RedisCache(f"redis://127.0.0.1:{port}/0")),
        ("upstash", UpstashCache(f"http://127.0.0.1:{port}", "t")),
    ]


@pytest.mark.parametrize("name", ["redis", "upstash"])
async def test_a_dead_shared_cache_fails_fast_with_cache_unavailable(name: str) -> None:
    cache = dict(_dead_adapters())[name]
    try:
        started = time.monotonic()
        for call in (
            lambda: cache.get("k"),
            lambda: cache.set("k", "v", 5),
            lambda: cache.set_if_absent("k", "v", 5),
            lambda: cache.delete("k"),
            lambda: cache.incr("k", 5),
            lambda: cache.ping(),
        ):
            with pytest.raises(CacheUnavailable):
                await call()
        assert time.monotonic() - started < 3.0
    finally:
        await cache.close()


@pytest.mark.parametrize("name", ["redis", "upstash"])
async def test_result_cache_degrades_to_misses_when_the_shared_cache_is_down(name: str) -> None:
    shared = dict(_dead_adapters())[name]
    layered = ResultCache(InProcessCache(), shared, ttl=60)
    try:
        assert await _get(layered, "t", "recall", {"q": 1}) is None
        await _put(layered, "t", "recall", {"q": 1}, {"a": 1})
        await layered.invalidate("t")  # a write is acknowledged; its invalidation waits
        assert layered.pending == {"t"}
        assert await _get(layered, "t", "recall", {"q": 1}) is None  # nothing served that L2 could not vouch for
        assert await layered.health() == "degraded"
        assert layered.degraded_reason
    finally:
        await shared.close()


async def test_a_cache_that_restarts_empty_never_revives_old_generations(cache: Cache, key: str) -> None:
    prefix = f"{key}:"
    a = ResultCache(InProcessCache(), cache, ttl=60, prefix=prefix)
    b = ResultCache(InProcessCache(), cache, ttl=60, prefix=prefix)
    await a.invalidate("tenant")  # the first write creates the generation
    await _put(a, "tenant", "recall", {"q": 1}, {"answer": "before"})
    await cache.delete(f"{prefix}gen:tenant")  # the shared cache restarts empty (or evicts the key)
    await b.invalidate("tenant")  # a write elsewhere
    assert await _get(a, "tenant", "recall", {"q": 1}) is None  # a's L1 entry is not served again
