"""Tiers and quotas: what each tenant may store and how often it may call.

Memory and storage quotas read the tenant's usage counters, which the database keeps in
the same atomic write as every memory insert, change and delete (one primary-key read
per write request; nothing is counted per request). A write is refused (402) once the
tenant is AT its limit, so one request may cross the limit by at most its own size.

A tenant's tier is read from storage and kept in this instance for `cache_seconds`: a
tier change is seen at once by the instance that made it and within that bound by the
others (no read per request for it). Requests per minute are counted by the rate
limiter with the tier's limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from continuum.clock import Clock
from continuum.core.stripe_events import StripeChange, interpret
from continuum.errors import ContinuumError, InvalidInput, NotFound, QuotaExceeded
from continuum.models import BillingState, TenantUsage
from continuum.ports import Storage

MAX_CACHED_TENANTS = 10_000

# (payload, Stripe-Signature header) -> the verified event (an adapter: payments/)
Verifier = Callable[[bytes, "str | None"], dict[str, Any]]


class Tier(NamedTuple):
    """A tier's quotas; None is unlimited."""

    name: str
    memories: int | None = None
    storage_bytes: int | None = None
    requests_per_minute: int | None = None


class BillingConfig(NamedTuple):
    tiers: dict[str, Tier]
    default_tier: str
    prices: dict[str, str]  # Stripe price or product id -> tier name
    cache_seconds: int = 30


class Admission(NamedTuple):
    """What one request learned: headers to answer with, and the error refusing it, if any."""

    headers: dict[str, str]
    error: ContinuumError | None = None


class StripeReceipt(NamedTuple):
    event_id: str
    event_type: str
    applied: bool  # False: processed before (a replay), nothing changed
    change: StripeChange


class UsageReport(NamedTuple):
    tenant_id: str
    tier: Tier
    state: BillingState
    usage: TenantUsage


def quota_headers(tier: Tier, usage: TenantUsage) -> dict[str, str]:
    """X-Continuum-Quota-* headers: each limited quota's limit and what is used of it."""
    headers = {"X-Continuum-Tier": tier.name}
    for name, limit, used in (
        ("Memories", tier.memories, usage.memories),
        ("Storage", tier.storage_bytes, usage.storage_bytes),
    ):
        if limit is not None:
            headers[f"X-Continuum-Quota-{name}-Limit"] = str(limit)
            headers[f"X-Continuum-Quota-{name}-Used"] = str(used)
    return headers


def over_quota(tenant_id: str, tier: Tier, usage: TenantUsage) -> QuotaExceeded | None:
    if tier.memories is not None and usage.memories >= tier.memories:
        return QuotaExceeded(
            f"memory quota reached for tenant {tenant_id}: {usage.memories} of {tier.memories} memories "
            f"stored (tier {tier.name}); delete memories or move to a larger tier"
        )
    if tier.storage_bytes is not None and usage.storage_bytes >= tier.storage_bytes:
        return QuotaExceeded(
            f"storage quota reached for tenant {tenant_id}: {usage.storage_bytes} of {tier.storage_bytes} bytes "
            f"stored (tier {tier.name}); delete memories or move to a larger tier"
        )
    return None


class Billing:
    def __init__(
        self, config: BillingConfig, storage: Storage, clock: Clock, *, verifier: Verifier | None = None
    ) -> None:
        self.config = config
        self.verifier = verifier
        self.storage = storage
        self.clock = clock
        self._states: dict[str, tuple[float, BillingState]] = {}

    def tier(self, name: str) -> Tier:
        """The tier called `name`; the default tier when the table no longer has it."""
        tiers = self.config.tiers
        return tiers.get(name) or tiers[self.config.default_tier]

    def default_state(self) -> BillingState:
        return BillingState(tier=self.config.default_tier, source="default")

    async def state(self, tenant_id: str, *, fresh: bool = False) -> BillingState:
        cached = self._states.get(tenant_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now and not fresh:
            return cached[1]
        state = await self.storage.billing_state(tenant_id) or self.default_state()
        if len(self._states) >= MAX_CACHED_TENANTS:
            self._states.clear()
        self._states[tenant_id] = (now + self.config.cache_seconds, state)
        return state

    def forget(self, tenant_id: str) -> None:
        self._states.pop(tenant_id, None)

    async def tier_of(self, tenant_id: str) -> Tier:
        return self.tier((await self.state(tenant_id)).tier)

    async def check_quota(self, tenant_id: str, tier: Tier) -> Admission:
        """For a request that adds memories: the quota headers, and 402 when at a limit."""
        if tier.memories is None and tier.storage_bytes is None:
            return Admission({"X-Continuum-Tier": tier.name})
        usage = await self.storage.tenant_usage(tenant_id)
        return Admission(quota_headers(tier, usage), over_quota(tenant_id, tier, usage))

    async def usage(self, tenant_id: str) -> UsageReport:
        state = await self.state(tenant_id, fresh=True)
        return UsageReport(tenant_id, self.tier(state.tier), state, await self.storage.tenant_usage(tenant_id))

    async def set_tier(self, tenant_id: str, tier: str) -> BillingState:
        """The operator's change: applies now (later Stripe events change it again)."""
        if tier not in self.config.tiers:
            raise InvalidInput(f"tier: unknown tier {tier!r}; tiers: {', '.join(self.config.tiers)}")
        held = await self.storage.billing_state(tenant_id)
        state = BillingState(
            tier=tier, status="active", source="admin",
            customer_id=held.customer_id if held else None, subscription_id=held.subscription_id if held else None,
            changed_at=max(int(self.clock.now().timestamp()), held.changed_at if held else 0),
        )  # fmt: skip
        stored = await self.storage.set_billing_state(tenant_id, state)
        self.forget(tenant_id)
        return stored

    async def receive_stripe(self, payload: bytes, signature: str | None) -> StripeReceipt:
        """Verify a Stripe delivery and apply it once: a replayed event id changes nothing."""
        if self.verifier is None:
            raise NotFound("Stripe webhooks are not configured on this deployment: set STRIPE_WEBHOOK_SECRET")
        event = self.verifier(payload, signature)
        change = interpret(event, self.config.prices, self.config.default_tier)
        applied = await self.storage.apply_billing_event(
            event["id"], event["type"], self.clock.now(), tenant_id=change.tenant_id, state=change.state
        )
        if applied and change.tenant_id is not None:
            self.forget(change.tenant_id)
        return StripeReceipt(event["id"], event["type"], applied, change)
