"""Operational limits over real HTTP: rate limiting (429 + Retry-After) and body size (413)."""

from __future__ import annotations

import time

from tests.support.servers import TARGETS


def _wait_for_a_fresh_minute(needed_seconds: float = 25.0) -> None:
    """The limit counts per clock minute: start where the whole test fits in one."""
    left = 60 - time.time() % 60
    if left < needed_seconds:
        time.sleep(left + 0.5)


def test_rate_limit_per_tenant(target_name):
    running = TARGETS[target_name]().start(
        require_api_key=True, extra_env={"CONTINUUM_RATE_LIMIT_PER_MINUTE": "5", "CONTINUUM_MAX_BODY_BYTES": "4096"}
    )
    try:
        _, first = running.new_tenant()
        _, second = running.new_tenant()
        _wait_for_a_fresh_minute()
        with first, second:
            statuses = [first.get("/v1/stats").status_code for _ in range(8)]
            assert statuses[:5] == [200] * 5, statuses
            limited = first.get("/v1/stats")
            assert limited.status_code == 429
            assert limited.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            assert second.get("/v1/stats").status_code == 200  # another tenant has its own budget
            with running.admin() as admin:
                assert admin.get("/v1/tenants").status_code == 200  # the operator is never locked out

            _, third = running.new_tenant()
            with third:
                too_big = third.post("/v1/memories", json={"content": "x" * 5000})
                assert too_big.status_code == 413
                assert "4096" in too_big.json()["error"]["message"]
                assert third.post("/v1/memories", json={"content": "x" * 1000}).status_code == 201
    finally:
        running.stop()
