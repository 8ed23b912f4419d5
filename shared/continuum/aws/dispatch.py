"""Lambda: the webhook_dispatch function (serverless.yml), woken by the SQS queue the API
functions nudge after writes (continuum.aws.webhook_queue) and by a schedule every minute
(retries, and any wake-up lost). Each invocation drains the due deliveries of the outbox
while its time lasts; services are built once per warm instance, as the API functions' are."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Any

from continuum.aws.init_phase import init_done
from continuum.aws.secrets import SecretsLoader
from continuum.runtime.assembly import RuntimeBindings, assemble
from continuum.runtime.profiles import LAMBDA
from continuum.services import Services
from continuum.settings import SettingsError

log = logging.getLogger("continuum.lambda")
MARGIN_MS = 5_000  # stop claiming when less than the sender's timeout plus this remains


class WebhookDispatchHandler:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._loop = asyncio.new_event_loop()
        self._services: Services | None = None
        self._fingerprint = ""

    def _current(self) -> Services:
        loader = SecretsLoader(os.environ if self._environ is None else self._environ)
        settings, fingerprint = loader.load()
        if self._services is not None and fingerprint == self._fingerprint:
            return self._services
        if self._services is not None:
            self._loop.run_until_complete(self._services.close())
        if not settings.webhooks.enabled:
            raise SettingsError("webhook_dispatch needs CONTINUUM_ENABLE_WEBHOOKS=true")
        self._services = assemble(LAMBDA, settings, RuntimeBindings()).services
        self._fingerprint = fingerprint
        return self._services

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        asyncio.set_event_loop(self._loop)
        try:
            services = self._current()
        finally:
            init_done()
        webhooks = services.webhooks
        assert webhooks is not None
        budget_ms = (webhooks.config.timeout * 1000) + MARGIN_MS

        async def drain() -> int:
            total = 0
            while True:
                attempted = await webhooks.run_once()
                total += attempted
                remaining = context.get_remaining_time_in_millis() if context is not None else 60_000
                if attempted < webhooks.config.batch or remaining < budget_ms:
                    return total

        attempted = self._loop.run_until_complete(drain())
        if attempted:
            log.info("webhook deliveries attempted", extra={"count": attempted})
        return {"attempted": attempted}


def webhook_dispatch_handler(environ: Mapping[str, str] | None = None) -> WebhookDispatchHandler:
    return WebhookDispatchHandler(environ)
