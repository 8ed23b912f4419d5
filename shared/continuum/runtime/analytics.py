"""Product analytics wiring: with POSTHOG_API_KEY set (and the `analytics` extra installed),
the runtime's metrics also feed anonymous usage events (docs/analytics.md)."""

from __future__ import annotations

import importlib.util
import logging
import os

from continuum.core.analytics import AnalyticsMetrics, derive_secret
from continuum.observability.logging import tenant_id_var
from continuum.ports import Metrics
from continuum.settings.groups import AnalyticsSettings

log = logging.getLogger("continuum.analytics")


def with_analytics(metrics: Metrics, config: AnalyticsSettings) -> Metrics:
    """`metrics`, teeing into PostHog when configured; unchanged when off or where the
    `posthog` package is missing (the Lambda zip, the Worker bundle: a warning says so)."""
    if not config.api_key:
        return metrics
    if importlib.util.find_spec("posthog") is None:
        log.warning(
            "POSTHOG_API_KEY is set but the posthog package is not installed here, so analytics are off: "
            "pip install 'continuum-memory[analytics]' (not in the Lambda zip or the Worker bundle)"
        )
        return metrics
    from continuum.observability.posthog import PosthogAnalytics

    analytics = PosthogAnalytics(config.api_key, config.host)
    secret = derive_secret(config.secret, config.fallback_secret, os.urandom(32))
    return AnalyticsMetrics(metrics, analytics, secret, tenant_id_var.get)
