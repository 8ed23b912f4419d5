"""continuum.core.analytics: what an event may hold, and the metrics tee."""

from __future__ import annotations

from typing import Any

from continuum.core.analytics import AnalyticsMetrics, derive_secret, latency_bucket, request_properties, tenant_hash
from continuum.ports import NullMetrics


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    def capture(self, event: str, distinct_id: str, properties: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("host down")
        self.events.append((event, distinct_id, properties))

    def close(self) -> None:
        pass


def test_latency_buckets() -> None:
    assert [latency_bucket(s) for s in (0.001, 0.02, 0.07, 0.2, 0.5, 2, 9)] == [
        "<10ms", "<50ms", "<100ms", "<250ms", "<1s", "<5s", ">=5s",
    ]  # fmt: skip


def test_the_tenant_is_a_keyed_hash() -> None:
    key = derive_secret("s" * 32, None, b"")
    assert tenant_hash(key, "acme") == tenant_hash(key, "acme") != tenant_hash(key, "acme2")
    assert tenant_hash(derive_secret("t" * 32, None, b""), "acme") != tenant_hash(key, "acme")
    assert "acme" not in tenant_hash(key, "acme") and tenant_hash(key, None) == "anonymous"
    assert derive_secret(None, "admin-key", b"r") == derive_secret(None, "admin-key", b"x")  # stable
    assert derive_secret(None, None, b"r") == b"r"


def test_operations_are_route_templates_never_paths() -> None:
    props = request_properties("GET", "/v1/memories/{memory_id}", 404, 0.003)
    assert props["operation"] == "GET /v1/memories/{memory_id}" and props["status_class"] == "4xx"
    assert request_properties("GET", "unmatched", 404, 0.003)["operation"] == "unmatched"


def test_the_tee_passes_everything_on_and_never_raises() -> None:
    recorder = Recorder()
    tenant = {"id": "acme"}
    metrics = AnalyticsMetrics(NullMetrics(), recorder, b"k" * 32, lambda: tenant["id"])
    metrics.request("POST", "/v1/learn", 200, 0.02)
    metrics.memories_stored(2)
    metrics.concepts_extracted(3)
    metrics.cache_hit()
    metrics.cache_miss()
    metrics.recall_latency(0.1)
    assert [e for e, _, _ in recorder.events] == ["api request", "memories stored", "concepts extracted"]
    assert all(d == tenant_hash(b"k" * 32, "acme") for _, d, _ in recorder.events)
    broken = AnalyticsMetrics(NullMetrics(), Recorder(fail=True), b"k" * 32, lambda: None)
    broken.request("POST", "/v1/learn", 200, 0.02)  # no exception
