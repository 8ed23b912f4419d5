"""The local server's webhook dispatcher: a background task that drains the outbox while
the server runs (started and stopped by the assembly's lifecycle hooks). Lambda drains it
from a queue consumer and the Worker from a cron (docs/webhooks.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from continuum.core.webhook_service import Webhooks
from continuum.errors import DependencyUnavailable
from continuum.services import Services

log = logging.getLogger("continuum.webhooks")


async def dispatch_forever(get_services: Callable[[], Awaitable[Services]], interval: float) -> None:
    """Every `interval` seconds (at once again after a full batch), attempt the due deliveries."""
    services: Services | None = None
    while services is None:
        try:
            services = await get_services()
        except DependencyUnavailable:
            await asyncio.sleep(interval)
    webhooks = services.webhooks
    if webhooks is None:
        return
    while True:
        attempted = 0
        try:
            attempted = await webhooks.run_once()
        except DependencyUnavailable as exc:
            log.warning("webhook dispatch: database unavailable; will retry", extra={"error": exc.message})
        except Exception:  # the dispatcher must never stop the server
            log.exception("webhook dispatch failed; will retry")
        if attempted < webhooks.config.batch:
            await asyncio.sleep(interval)


async def drain(webhooks: Webhooks, *, rounds: int = 10) -> int:
    """Attempt due deliveries until fewer than a batch are due (at most `rounds` batches):
    a cron's run (the Worker). Failures are logged; the next run retries."""
    total = 0
    for _ in range(rounds):
        try:
            attempted = await webhooks.run_once()
        except Exception:
            log.exception("webhook dispatch failed; the next run retries")
            break
        total += attempted
        if attempted < webhooks.config.batch:
            break
    if total:
        log.info("webhook deliveries attempted", extra={"count": total})
    return total


def start_dispatcher(get_services: Callable[[], Awaitable[Services]], interval: float) -> Callable[[], Awaitable[None]]:
    task = asyncio.create_task(dispatch_forever(get_services, interval))

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
