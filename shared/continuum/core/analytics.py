"""Anonymous product analytics: what an event may hold, and the metrics tee that feeds it.

Events carry operation names (the route as declared, e.g. `POST /v1/recall`, never the
path a caller sent, which can hold ids), statuses, latency buckets and counts. The only
trace of who is a keyed hash of the tenant id (HMAC-SHA-256 under a server secret), so the
analytics host can count distinct tenants but cannot recover or confirm a tenant id.
No content, no user, session or instance id, no key ever reaches an event."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from continuum.ports import Analytics, Metrics

ANONYMOUS = "anonymous"
# upper bounds in seconds; a latency falls in the first bucket it is below
LATENCY_BUCKETS: tuple[tuple[float, str], ...] = (
    (0.01, "<10ms"), (0.05, "<50ms"), (0.1, "<100ms"), (0.25, "<250ms"), (1.0, "<1s"), (5.0, "<5s"),
)  # fmt: skip
# Person profiles would be keyed by the distinct id: none are made (no person, only counts).
BASE_PROPERTIES: dict[str, Any] = {"$process_person_profile": False}


def latency_bucket(seconds: float) -> str:
    for bound, name in LATENCY_BUCKETS:
        if seconds < bound:
            return name
    return ">=5s"


def tenant_hash(secret: bytes, tenant_id: str | None) -> str:
    if not tenant_id:
        return ANONYMOUS
    return "t_" + hmac.new(secret, tenant_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def derive_secret(configured: str | None, fallback: str | None, random: bytes) -> bytes:
    """The hash key: the configured secret, else one derived from another server secret (the
    same across restarts and instances), else `random` (distinct ids change per process)."""
    source = configured or fallback
    if source is None:
        return random
    return hashlib.sha256(b"continuum/analytics/" + source.encode("utf-8")).digest()


def request_properties(method: str, endpoint: str, status: int, seconds: float) -> dict[str, Any]:
    operation = f"{method} {endpoint}" if endpoint.startswith("/") else "unmatched"
    return {
        **BASE_PROPERTIES, "operation": operation, "status": status, "status_class": f"{status // 100}xx",
        "latency_bucket": latency_bucket(seconds),
    }  # fmt: skip


class AnalyticsMetrics:
    """A `Metrics` that passes everything on to `inner` and tells `analytics` about
    requests and the counts of what they stored; `tenant` names the current request's
    tenant (None outside one)."""

    def __init__(self, inner: Metrics, analytics: Analytics, secret: bytes, tenant: Callable[[], str | None]) -> None:
        self.inner = inner
        self.analytics = analytics
        self._secret = secret
        self._tenant = tenant

    def __getattr__(self, name: str) -> Any:  # what the inner metrics have beyond the port
        return getattr(self.inner, name)

    def _capture(self, event: str, properties: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # analytics must never fail a request
            self.analytics.capture(event, tenant_hash(self._secret, self._tenant()), properties)

    def request(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        self.inner.request(method, endpoint, status, seconds)
        self._capture("api request", request_properties(method, endpoint, status, seconds))

    def memories_stored(self, count: int) -> None:
        self.inner.memories_stored(count)
        self._capture("memories stored", {**BASE_PROPERTIES, "count": count})

    def concepts_extracted(self, count: int) -> None:
        self.inner.concepts_extracted(count)
        self._capture("concepts extracted", {**BASE_PROPERTIES, "count": count})

    def cache_hit(self) -> None:
        self.inner.cache_hit()

    def cache_miss(self) -> None:
        self.inner.cache_miss()

    def recall_latency(self, seconds: float) -> None:
        self.inner.recall_latency(seconds)
