"""Admin operations: tenant keys, the tenant list, and complete tenant erasure."""

from __future__ import annotations

from continuum.clock import Clock
from continuum.core.auth import KEYS_SCOPE, generate_api_key, hash_api_key
from continuum.core.caching import ResultCache
from continuum.core.engine import MemoryEngine
from continuum.core.operations import ErasedTenant, NewKey
from continuum.errors import NotFound
from continuum.models import ApiKeyRecord, TenantRecord
from continuum.ports import Storage


class AdminService:
    def __init__(self, storage: Storage, cache: ResultCache, engine: MemoryEngine, clock: Clock) -> None:
        self.storage = storage
        self.cache = cache
        self.engine = engine
        self.clock = clock

    async def create_key(self, tenant_id: str, name: str | None = None) -> NewKey:
        now = self.clock.now()
        await self.storage.ensure_tenant(tenant_id, name, now)
        key = generate_api_key()
        await self.storage.create_api_key(
            ApiKeyRecord(
                key_hash=hash_api_key(key),
                tenant_id=tenant_id,
                name=name,
                key_prefix=key[:10],
                created_at=now,
            )
        )
        await self.cache.invalidate(KEYS_SCOPE)
        return NewKey(api_key=key, tenant_id=tenant_id)

    async def list_tenants(self) -> list[TenantRecord]:
        return await self.storage.list_tenants()

    async def erase_tenant(self, tenant_id: str) -> ErasedTenant:
        known = {t.tenant_id for t in await self.storage.list_tenants()}
        counts = await self.storage.counts(tenant_id)
        if tenant_id not in known and not any(counts.__dict__.values()):
            # may be the retry of an erasure whose process died before invalidating: its
            # keys must stop working everywhere now, not when their cached lookups expire
            await self._invalidate(tenant_id)
            raise NotFound(f"tenant {tenant_id} not found")
        erased = await self.storage.erase_tenant(tenant_id)
        self.engine.forget_tenant(tenant_id)
        await self._invalidate(tenant_id)
        return ErasedTenant(tenant_id=tenant_id, erased=erased.__dict__)

    async def _invalidate(self, tenant_id: str) -> None:
        """The tenant's results and every cached key lookup (its keys are gone)."""
        await self.cache.invalidate(tenant_id)
        await self.cache.invalidate(KEYS_SCOPE)
