"""Operational limits over real HTTP: rate limiting (429 + Retry-After) and body size (413).

The limiter counts per clock minute (tests/unit/test_ratelimit.py drives that window with a
manual clock). Here nothing waits for a fresh minute: a burst that happens to straddle a
minute boundary is run again with fresh tenants (a burst takes well under a second).
"""

from __future__ import annotations

import time

from tests.support.servers import TARGETS, RunningServer

ATTEMPTS = 3


def _minute() -> int:
    return int(time.time() // 60)


def _limited_burst(running: RunningServer) -> None:
    for _ in range(ATTEMPTS):
        _, first = running.new_tenant()
        _, second = running.new_tenant()
        with first, second:
            started = _minute()
            statuses = [first.get("/v1/stats").status_code for _ in range(5)]
            limited = first.get("/v1/stats")
            other = second.get("/v1/stats")
            if _minute() != started:
                continue  # the window turned mid-burst: its counts are split, run it again
            assert statuses == [200] * 5, statuses
            assert limited.status_code == 429
            assert limited.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            assert other.status_code == 200  # another tenant has its own budget
            return
    raise AssertionError(f"every burst straddled a minute boundary ({ATTEMPTS} tries)")


def test_rate_limit_per_tenant(target_name):
    running = TARGETS[target_name]().start(
        require_api_key=True, extra_env={"CONTINUUM_RATE_LIMIT_PER_MINUTE": "5", "CONTINUUM_MAX_BODY_BYTES": "4096"}
    )
    try:
        _limited_burst(running)
        with running.admin() as admin:
            for _ in range(7):
                assert admin.get("/v1/tenants").status_code == 200  # the operator is never locked out

        _, third = running.new_tenant()
        with third:
            too_big = third.post("/v1/memories", json={"content": "x" * 5000})
            assert too_big.status_code == 413
            assert "4096" in too_big.json()["error"]["message"]
            assert third.post("/v1/memories", json={"content": "x" * 1000}).status_code == 201
    finally:
        running.stop()
