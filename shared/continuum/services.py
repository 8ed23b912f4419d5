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
from continuum.ports import Metrics, Storage
from continuum.settings import Settings

if TYPE_CHECKING:
    from continuum.core.billing import Billing
    from continuum.core.portability import Portability


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

    @cached_property
    def portability(self) -> Portability:
        # Built on first use: only export/import need it, and its record validators cost
        # ~30 ms at import, which every serverless cold start would otherwise pay.
        from continuum.core.portability import Portability

        return Portability(self.engine)

    async def close(self) -> None:
        if self.engine.indexer is not None:
            await self.engine.indexer.close()
        await self.storage.close()
        await self.cache.close()  # stops its repair task, publishes what it can, closes its layers
