"""continuum.observability.posthog: capturing never waits, failures are swallowed and counted."""

from __future__ import annotations

import socket
import time

from continuum.observability.posthog import PosthogAnalytics


def test_an_unreachable_host_is_counted_not_raised() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    analytics = PosthogAnalytics("phc_test", f"http://127.0.0.1:{port}", flush_interval=0.1)
    started = time.perf_counter()
    for i in range(40):  # one batch
        analytics.capture("api request", "anonymous", {"status": 200, "n": i})
    assert time.perf_counter() - started < 0.5  # queued, not sent inline
    deadline = time.monotonic() + 15
    while analytics.failures == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    analytics.close()
    assert analytics.failures >= 1
