"""The Prometheus metrics: cache look-ups counted both as hits/misses and by result."""

from __future__ import annotations

from continuum.observability.metrics import PrometheusMetrics


def _value(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{"))
    return float(line.rsplit(" ", 1)[1])


def test_cache_requests_count_hits_and_misses_by_result() -> None:
    metrics = PrometheusMetrics()
    before = metrics.render().decode()
    assert _value(before, 'continuum_cache_requests_total{result="hit"}') == 0  # present before any look-up
    metrics.cache_hit()
    metrics.cache_hit()
    metrics.cache_miss()
    text = metrics.render().decode()
    assert _value(text, 'continuum_cache_requests_total{result="hit"}') == 2
    assert _value(text, 'continuum_cache_requests_total{result="miss"}') == 1
    assert _value(text, "continuum_cache_hits_total") == 2
    assert _value(text, "continuum_cache_misses_total") == 1
