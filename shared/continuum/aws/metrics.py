"""The Metrics port as CloudWatch Embedded Metric Format (Powertools Metrics): one JSON
document on stdout per invocation, which CloudWatch turns into metrics without API calls."""

from __future__ import annotations

from typing import Any

NAMESPACE = "Continuum"


class EmfMetrics:
    def __init__(self, *, namespace: str = NAMESPACE, service: str = "continuum") -> None:
        from aws_lambda_powertools import Metrics

        self._metrics = Metrics(namespace=namespace, service=service)

    def _add(self, name: str, unit: str, value: float) -> None:
        self._metrics.add_metric(name=name, unit=unit, value=value)

    def request(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        self._add("Requests", "Count", 1)
        self._add("RequestLatency", "Milliseconds", seconds * 1000)
        if status >= 500:
            self._add("ServerErrors", "Count", 1)
        elif status >= 400:
            self._add("ClientErrors", "Count", 1)

    def memories_stored(self, count: int) -> None:
        if count:
            self._add("MemoriesStored", "Count", count)

    def concepts_extracted(self, count: int) -> None:
        if count:
            self._add("ConceptsExtracted", "Count", count)

    def cache_hit(self) -> None:
        self._add("CacheHits", "Count", 1)

    def cache_miss(self) -> None:
        self._add("CacheMisses", "Count", 1)

    def recall_latency(self, seconds: float) -> None:
        self._add("RecallLatency", "Milliseconds", seconds * 1000)

    def cold_start(self, context: Any) -> None:
        self._metrics.provider.add_cold_start_metric(context)

    def flush(self) -> None:
        """Print the invocation's metrics (nothing when none were recorded)."""
        if self._metrics.provider.metric_set:
            self._metrics.flush_metrics()
