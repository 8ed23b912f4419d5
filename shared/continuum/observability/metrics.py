"""Prometheus metrics with the specification's names, in a registry of our own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PrometheusMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "continuum_requests_total", "HTTP requests", ["method", "endpoint", "status"], registry=self.registry
        )
        self.duration = Histogram(
            "continuum_request_duration_seconds", "HTTP request duration", ["method", "endpoint"],
            buckets=_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.stored = Counter("continuum_memories_stored", "Memories stored", registry=self.registry)
        self.concepts = Counter("continuum_concepts_extracted", "Concepts extracted", registry=self.registry)
        self.hits = Counter("continuum_cache_hits", "Result cache hits", registry=self.registry)
        self.misses = Counter("continuum_cache_misses", "Result cache misses", registry=self.registry)
        # Hits and misses under one name, so a hit rate is one ratio (the alert and dashboard use it).
        self.cache_requests = Counter(
            "continuum_cache_requests", "Result cache look-ups by result", ["result"], registry=self.registry
        )
        self.cache_requests.labels("hit")
        self.cache_requests.labels("miss")
        self.recall = Histogram(
            "continuum_recall_duration_seconds", "Recall latency inside the engine",
            buckets=_BUCKETS, registry=self.registry,
        )  # fmt: skip

    def request(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(method, endpoint, str(status)).inc()
        self.duration.labels(method, endpoint).observe(seconds)

    def memories_stored(self, count: int) -> None:
        if count:
            self.stored.inc(count)

    def concepts_extracted(self, count: int) -> None:
        if count:
            self.concepts.inc(count)

    def cache_hit(self) -> None:
        self.hits.inc()
        self.cache_requests.labels("hit").inc()

    def cache_miss(self) -> None:
        self.misses.inc()
        self.cache_requests.labels("miss").inc()

    def recall_latency(self, seconds: float) -> None:
        self.recall.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
