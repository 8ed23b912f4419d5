"""Prometheus text for one Worker isolate (no prometheus_client in the Worker bundle).

Same metric names and labels as the server's `PrometheusMetrics`. On Workers each
isolate counts its own requests, so `/metrics` shows one isolate's view; fleet-wide
numbers come from Workers Observability (wrangler.toml `[observability]`).
"""

from __future__ import annotations

import math
from collections import defaultdict

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    escaped = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for v in values)
    return "{" + ",".join(f'{n}="{v}"' for n, v in zip(names, escaped, strict=True)) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value))


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * len(_BUCKETS)
        self.total = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.total += 1
        self.sum += seconds
        for index, bound in enumerate(_BUCKETS):
            if seconds <= bound:
                self.counts[index] += 1


class IsolateMetrics:
    """The Metrics port, kept in memory, rendered in Prometheus text format 0.0.4."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], float] = defaultdict(float)
        self.durations: dict[tuple[str, str], _Histogram] = defaultdict(_Histogram)
        self.stored = 0.0
        self.concepts = 0.0
        self.hits = 0.0
        self.misses = 0.0
        self.recall = _Histogram()

    def request(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        self.requests[(method, endpoint, str(status))] += 1
        self.durations[(method, endpoint)].observe(seconds)

    def memories_stored(self, count: int) -> None:
        self.stored += count

    def concepts_extracted(self, count: int) -> None:
        self.concepts += count

    def cache_hit(self) -> None:
        self.hits += 1

    def cache_miss(self) -> None:
        self.misses += 1

    def recall_latency(self, seconds: float) -> None:
        self.recall.observe(seconds)

    def _counter(self, lines: list[str], name: str, help_text: str, samples: dict[tuple[str, ...], float],
                 names: tuple[str, ...] = ()) -> None:  # fmt: skip
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
        lines += [f"{name}{_labels(names, key)} {_number(value)}" for key, value in sorted(samples.items())]

    def _histogram(self, lines: list[str], name: str, help_text: str, series: dict[tuple[str, ...], _Histogram],
                   names: tuple[str, ...] = ()) -> None:  # fmt: skip
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        for key, histogram in sorted(series.items()):
            for bound, count in zip(_BUCKETS, histogram.counts, strict=True):
                lines.append(f"{name}_bucket{_labels((*names, 'le'), (*key, _number(bound)))} {_number(count)}")
            lines.append(f"{name}_bucket{_labels((*names, 'le'), (*key, '+Inf'))} {_number(histogram.total)}")
            lines.append(f"{name}_count{_labels(names, key)} {_number(histogram.total)}")
            lines.append(f"{name}_sum{_labels(names, key)} {_number(histogram.sum)}")

    def render(self) -> bytes:
        lines: list[str] = []
        self._counter(lines, "continuum_requests_total", "HTTP requests", dict(self.requests),
                      ("method", "endpoint", "status"))  # fmt: skip
        self._histogram(lines, "continuum_request_duration_seconds", "HTTP request duration",
                        dict(self.durations), ("method", "endpoint"))  # fmt: skip
        self._counter(lines, "continuum_memories_stored_total", "Memories stored", {(): self.stored})
        self._counter(lines, "continuum_concepts_extracted_total", "Concepts extracted", {(): self.concepts})
        self._counter(lines, "continuum_cache_hits_total", "Result cache hits", {(): self.hits})
        self._counter(lines, "continuum_cache_misses_total", "Result cache misses", {(): self.misses})
        self._histogram(lines, "continuum_recall_duration_seconds", "Recall latency inside the engine",
                        {(): self.recall})  # fmt: skip
        return ("\n".join(lines) + "\n").encode("utf-8")
