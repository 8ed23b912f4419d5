"""Admin operations: tenant keys (create, list, revoke), the tenant list, and complete tenant erasure.

The values returned are imported where they are built: every process builds an
`AdminService`, few serve the admin routes (see continuum.core.operations).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

from continuum.clock import Clock
from continuum.core.auth import KEYS_SCOPE, WRITE, generate_api_key, hash_api_key, normalize_scopes
from continuum.core.caching import ResultCache
from continuum.core.engine import MemoryEngine
from continuum.errors import InvalidInput, NotFound
from continuum.ids import new_id
from continuum.models import ApiKeyRecord, TenantRecord
from continuum.ports import Storage

if TYPE_CHECKING:
    from continuum.core.operations.keys import ErasedTenant, KeyPage, KeyView, NewKey


def key_view(record: ApiKeyRecord, now: datetime) -> KeyView:
    from continuum.core.operations.keys import KeyView

    status = "revoked" if record.revoked_at is not None else "active" if record.is_live(now) else "expired"
    return KeyView(
        id=record.key_id, tenant_id=record.tenant_id, name=record.name, prefix=record.key_prefix,
        scopes=list(record.scopes), status=status, created_at=record.created_at, expires_at=record.expires_at,
        revoked_at=record.revoked_at, last_used_at=record.last_used_at,
    )  # fmt: skip


class AdminService:
    def __init__(self, storage: Storage, cache: ResultCache, engine: MemoryEngine, clock: Clock) -> None:
        self.storage = storage
        self.cache = cache
        self.engine = engine
        self.clock = clock

    async def create_key(
        self,
        tenant_id: str,
        name: str | None = None,
        *,
        scopes: Iterable[str] = (WRITE,),
        expires_at: datetime | None = None,
    ) -> NewKey:
        """A new key for the tenant (the default, `write`, is what every key could do before
        scopes existed). Several keys of one tenant live side by side: rotate by creating
        the next key, moving clients to it, then revoking the old one."""
        now = self.clock.now()
        granted = normalize_scopes(scopes)
        if not granted:
            raise InvalidInput("scopes: give at least one of 'read', 'write'")
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("expires_at: must be in the future")
        await self.storage.ensure_tenant(tenant_id, name, now)
        key = generate_api_key()
        record = ApiKeyRecord(
            key_hash=hash_api_key(key), tenant_id=tenant_id, name=name, key_prefix=key[:10], created_at=now,
            key_id=new_id(), scopes=granted, expires_at=expires_at,
        )  # fmt: skip
        await self.storage.create_api_key(record)
        await self.cache.invalidate(KEYS_SCOPE)
        from continuum.core.operations.keys import NewKey

        return NewKey(**asdict(key_view(record, now)), api_key=key)

    async def list_keys(self, tenant_id: str) -> KeyPage:
        from continuum.core.operations.keys import KeyPage

        now = self.clock.now()
        return KeyPage(tenant_id, [key_view(r, now) for r in await self.storage.list_api_keys(tenant_id)])

    async def revoke_key(self, tenant_id: str, key_id: str) -> KeyView:
        """Revoke at once: the `_keys` generation moves, so no instance sharing the cache
        answers from a lookup cached before (and without a shared cache, a server of several
        processes caches no lookup at all)."""
        now = self.clock.now()
        record = await self.storage.revoke_api_key(tenant_id, key_id, now)
        await self.cache.invalidate(KEYS_SCOPE)
        if record is None:
            raise NotFound(f"tenant {tenant_id} has no key {key_id}")
        return key_view(record, now)

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
        writes = self.engine.writes
        if writes.raises_events:
            await writes.events.publish([writes.event_factory.erased(tenant_id, self.engine.clock.now())])
        from continuum.core.operations.keys import ErasedTenant

        return ErasedTenant(tenant_id=tenant_id, erased=erased.__dict__)

    async def _invalidate(self, tenant_id: str) -> None:
        """The tenant's results and every cached key lookup (its keys are gone)."""
        await self.cache.invalidate(tenant_id)
        await self.cache.invalidate(KEYS_SCOPE)
