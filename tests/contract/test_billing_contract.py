"""The billing part of the storage contract, on every adapter: usage counters kept in the
same write as memory inserts, changes and deletes (whichever path wrote them), tiers
that an older change never overwrites, processed Stripe events claimed once, and a
tenant's billing state erased with it and never seen by another tenant."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest

from continuum.models import BillingState, TenantUsage
from continuum.ports import Storage
from tests.contract.test_storage_contract import NOW, changes_for, learn_write, memory

pytestmark = pytest.mark.asyncio(loop_scope="session")


def size(content: str, metadata: str = "{}") -> int:
    return len(content.encode()) + len(metadata.encode())


async def test_usage_counts_inserts_updates_and_deletes(storage: Storage, tenant: str) -> None:
    assert await storage.tenant_usage(tenant) == TenantUsage(0, 0)
    first, second = memory(tenant, "héllo wörld"), memory(tenant, "second memory")
    await storage.insert_memories(tenant, [first, second, memory(tenant, "héllo wörld")], NOW)  # a duplicate
    assert await storage.tenant_usage(tenant) == TenantUsage(2, size("héllo wörld") + size("second memory"))

    await storage.update_memory(tenant, second.id, changes_for("a longer second memory"), NOW)
    assert await storage.tenant_usage(tenant) == TenantUsage(2, size("héllo wörld") + size("a longer second memory"))

    assert await storage.delete_memory(tenant, first.id, NOW)
    assert await storage.tenant_usage(tenant) == TenantUsage(1, size("a longer second memory"))


async def test_usage_counts_learned_memories_and_expired_ones_until_purged(storage: Storage, tenant: str) -> None:
    await storage.learn(tenant, learn_write(tenant, "learned one", "learned two", ["Ada"]))
    assert (await storage.tenant_usage(tenant)).memories == 2
    short = memory(tenant, "short lived", expires=NOW + timedelta(seconds=1))
    await storage.insert_memories(tenant, [short], NOW)
    assert (await storage.tenant_usage(tenant)).memories == 3  # stored until removed
    await storage.insert_memories(tenant, [memory(tenant, "later")], NOW + timedelta(minutes=1))
    assert (await storage.tenant_usage(tenant)).memories == 3  # the expired row went in that write


async def test_usage_is_per_tenant(storage: Storage, tenant: str) -> None:
    other = f"t-{secrets.token_hex(6)}"
    await storage.insert_memories(tenant, [memory(tenant, "mine")], NOW)
    await storage.insert_memories(other, [memory(other, "theirs, longer")], NOW)
    assert await storage.tenant_usage(tenant) == TenantUsage(1, size("mine"))
    assert await storage.tenant_usage(other) == TenantUsage(1, size("theirs, longer"))


async def test_billing_state_keeps_the_latest_change(storage: Storage, tenant: str) -> None:
    assert await storage.billing_state(tenant) is None
    newer = BillingState("pro", "active", "stripe", "cus_1", "sub_1", changed_at=200)
    assert await storage.set_billing_state(tenant, newer) == newer
    older = BillingState("free", "canceled", "stripe", None, None, changed_at=100)
    assert await storage.set_billing_state(tenant, older) == newer  # an older change never undoes a newer
    admin = BillingState("enterprise", "active", "admin", changed_at=300)
    held = await storage.set_billing_state(tenant, admin)
    assert held == BillingState("enterprise", "active", "admin", "cus_1", "sub_1", 300)  # ids kept
    assert await storage.billing_state(f"t-{secrets.token_hex(6)}") is None


async def test_billing_events_apply_once(storage: Storage, tenant: str) -> None:
    event_id = f"evt_{secrets.token_hex(8)}"
    state = BillingState("pro", "active", "stripe", "cus_2", "sub_2", changed_at=50)
    first = await storage.apply_billing_event(
        event_id, "customer.subscription.created", NOW, tenant_id=tenant, state=state
    )
    assert first is True
    assert await storage.billing_state(tenant) == state
    await storage.set_billing_state(tenant, BillingState("free", "active", "admin", changed_at=60))
    replay = await storage.apply_billing_event(
        event_id, "customer.subscription.created", NOW, tenant_id=tenant, state=state
    )
    assert replay is False
    assert (await storage.billing_state(tenant)).tier == "free"  # the replay changed nothing
    ignored = f"evt_{secrets.token_hex(8)}"
    assert await storage.apply_billing_event(ignored, "charge.succeeded", NOW, tenant_id=None, state=None)
    assert not await storage.apply_billing_event(ignored, "charge.succeeded", NOW, tenant_id=None, state=None)


async def test_concurrent_deliveries_of_one_event_apply_once(storage: Storage, tenant: str) -> None:
    event_id = f"evt_{secrets.token_hex(8)}"
    state = BillingState("pro", "active", "stripe", changed_at=70)
    results = await asyncio.gather(
        *(storage.apply_billing_event(event_id, "customer.subscription.updated", NOW, tenant_id=tenant, state=state)
          for _ in range(4))
    )  # fmt: skip
    assert sorted(results) == [False, False, False, True]


async def test_erase_removes_billing_state_and_counters(storage: Storage, tenant: str) -> None:
    await storage.ensure_tenant(tenant, None, NOW)
    await storage.insert_memories(tenant, [memory(tenant, "to be erased")], NOW)
    await storage.set_billing_state(tenant, BillingState("pro", changed_at=10))
    event_id = f"evt_{secrets.token_hex(8)}"
    await storage.apply_billing_event(event_id, "customer.subscription.updated", NOW, tenant_id=tenant, state=None)
    await storage.erase_tenant(tenant)
    assert await storage.billing_state(tenant) is None
    assert await storage.tenant_usage(tenant) == TenantUsage(0, 0)
    await storage.insert_memories(tenant, [memory(tenant, "a new life")], NOW)
    assert await storage.tenant_usage(tenant) == TenantUsage(1, size("a new life"))
