"""The services one runtime serves with: what the API, the CLI and the entries receive.

Built by the composition root (`continuum.runtime.services.build_services`) from settings
and a runtime profile; everything here is a core service or a port.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from continuum.clock import Clock
from continuum.core.admin import AdminService
from continuum.core.auth import Authenticator
from continuum.core.caching import ResultCache
from continuum.core.engine import MemoryEngine
from continuum.core.ratelimit import RateLimiter
from continuum.core.sync import LiveSync, NoLiveSync
from continuum.errors import ContinuumError
from continuum.ports import Metrics, Storage
from continuum.settings import Settings

if TYPE_CHECKING:
    from continuum.core.billing import Billing
    from continuum.core.federation.service import FederationService
    from continuum.core.portability import Portability
    from continuum.core.webhook_service import Webhooks


NOT_SERVED = "real-time sync (GET /v1/sync) is served by the server runtimes (continuum serve, containers)"


@dataclass
class Services:
    """What a runtime serves with: the engine, admin, auth, rate limiter, cache, storage, metrics, clock."""

    settings: Settings
    storage: Storage
    cache: ResultCache
    engine: MemoryEngine
    admin: AdminService
    auth: Authenticator
    metrics: Metrics
    clock: Clock
    rate_limiter: RateLimiter
    billing: Billing | None = None  # tiers and quotas (CONTINUUM_ENABLE_BILLING)
    started: float = field(default_factory=time.monotonic)
    webhooks: Webhooks | None = None  # CONTINUUM_ENABLE_WEBHOOKS (docs/webhooks.md)
    # CONTINUUM_ENABLE_FEDERATION: the service, or the error a runtime without it answers
    federation: FederationService | ContinuumError | None = None
    # real-time sync (GET /v1/sync): built by the composition root where the runtime serves it
    sync: LiveSync | NoLiveSync = field(default_factory=lambda: NoLiveSync(NOT_SERVED))

    @cached_property
    def portability(self) -> Portability:
        # Built on first use: only export/import need it, and its record validators cost
        # ~30 ms at import, which every serverless cold start would otherwise pay.
        from continuum.core.portability import Portability

        return Portability(self.engine)

    async def close(self) -> None:
        await self.sync.close()  # hands over the events still pending, ends the subscriptions
        if self.engine.indexer is not None:
            await self.engine.indexer.close()
        if self.webhooks is not None:
            await self.webhooks.close()
        await self.storage.close()
        await self.cache.close()  # stops its repair task, publishes what it can, closes its layers
