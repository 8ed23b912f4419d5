"""Product analytics through PostHog's client (`posthog`, the `analytics` extra).

The client queues events and sends them in batches from its own thread, so capturing
never waits on the network; a failed batch is dropped, counted and logged (once per
hundred failures), never raised."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("continuum.analytics")

FLUSH_AT = 50  # events per batch
FLUSH_INTERVAL = 2.0  # seconds at most before a partial batch goes
MAX_QUEUE = 10_000  # beyond this the client drops events rather than grow


class PosthogAnalytics:
    def __init__(self, api_key: str, host: str | None, *, flush_interval: float = FLUSH_INTERVAL) -> None:
        from posthog import Posthog

        self.failures = 0
        self._lock = threading.Lock()
        self._client = Posthog(
            api_key, host=host or None, on_error=self._failed, flush_at=FLUSH_AT, flush_interval=flush_interval,
            max_queue_size=MAX_QUEUE, max_retries=1, timeout=5, disable_geoip=True,
            enable_exception_autocapture=False, enable_local_evaluation=False,
        )  # fmt: skip

    def _failed(self, error: Any, batch: Any) -> None:
        with self._lock:
            self.failures += 1
            failures = self.failures
        if failures % 100 == 1:
            log.warning("analytics batch not sent", extra={"failures": failures, "error": type(error).__name__})

    def capture(self, event: str, distinct_id: str, properties: dict[str, Any]) -> None:
        try:
            self._client.capture(event, distinct_id=distinct_id, properties=properties, disable_geoip=True)
        except Exception:
            self._failed(None, None)

    def close(self) -> None:
        try:
            self._client.shutdown()
        except Exception:
            self._failed(None, None)
