"""core/ratelimit.py: the per-tenant minute window, driven by the services' clock (no test
waits for a wall-clock minute), the cache prefix, and counting through a cache outage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from continuum.cache.memory import InProcessCache
from continuum.clock import ManualClock
from continuum.core.ratelimit import RateLimiter
from continuum.errors import RateLimited
from continuum.runtime import build_services
from continuum.settings import load_settings
from tests.unit.test_caching import SwitchableCache

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def limiter(cache, per_minute: int, clock: ManualClock, prefix: str = "continuum:") -> RateLimiter:
    return RateLimiter(cache, per_minute, clock=clock, prefix=prefix, fallback=InProcessCache())


async def test_rate_limit_keeps_counting_through_a_cache_outage():
    shared = SwitchableCache()
    limited = limiter(shared, 3, ManualClock(datetime.fromtimestamp(120.0, UTC)))
    for _ in range(3):
        await limited.check("t")
    with pytest.raises(RateLimited) as caught:
        await limited.check("t")
    assert caught.value.retry_after == 60
    shared.down = True
    for _ in range(3):
        await limited.check("u")
    with pytest.raises(RateLimited):
        await limited.check("u")


async def test_the_window_is_the_clock_minute_and_a_new_minute_starts_afresh():
    clock = ManualClock(START)
    limited = limiter(InProcessCache(), 5, clock)
    clock.advance(seconds=40)
    for _ in range(5):
        await limited.check("t")
    with pytest.raises(RateLimited) as caught:
        await limited.check("t")
    assert caught.value.retry_after == 20  # the minute ends 20 s later
    await limited.check("other")  # another tenant has its own budget
    clock.advance(seconds=20)
    for _ in range(5):
        await limited.check("t")
    with pytest.raises(RateLimited):
        await limited.check("t")


async def test_deployments_sharing_one_cache_count_apart_by_prefix():
    shared, clock = InProcessCache(), ManualClock(START)
    first, second = limiter(shared, 2, clock, "blue:"), limiter(shared, 2, clock, "green:")
    for _ in range(2):
        await first.check("t")
    await second.check("t")  # a full budget in the other deployment
    assert await shared.get(f"green:rate:t:{int(START.timestamp() // 60)}") == "1"


async def test_zero_per_minute_switches_the_limit_off():
    limited = limiter(InProcessCache(), 0, ManualClock(START))
    assert not limited.enabled
    for _ in range(100):
        await limited.check("t")


async def test_services_limit_with_their_clock_and_cache_prefix(tmp_path):
    settings = load_settings({
        "CONTINUUM_DB_PATH": str(tmp_path / "r.db"), "CONTINUUM_RATE_LIMIT_PER_MINUTE": "2",
        "CONTINUUM_CACHE_PREFIX": "deploy-a:",
    }, read_files=False)  # fmt: skip
    clock = ManualClock(START)
    services = build_services(settings, clock=clock)
    try:
        assert services.rate_limiter.clock is clock
        assert services.rate_limiter.prefix == "deploy-a:"
        await services.rate_limiter.check("t")
        await services.rate_limiter.check("t")
        with pytest.raises(RateLimited):
            await services.rate_limiter.check("t")
        clock.advance(minutes=1)
        await services.rate_limiter.check("t")
    finally:
        await services.close()
