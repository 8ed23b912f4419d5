"""Billing state with one SQL shape in every dialect: the usage counters (kept by the
triggers of migration 0010, read here), each tenant's tier, and the processed Stripe
events. Every statement is scoped by tenant, but the event-id claim (an event id is
global: Stripe's)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from continuum.models import BillingState, TenantUsage
from continuum.storage.sql.dialect import Dialect, Runner, Statement

STATE_COLUMNS = "tier, status, source, customer_id, subscription_id, changed_at"


class SqlBilling:
    """The `Storage` port's billing methods over a runner and its dialect."""

    def __init__(self, db: Runner, dialect: Dialect) -> None:
        self.db = db
        self.d = dialect

    async def tenant_usage(self, tenant_id: str) -> TenantUsage:
        rows = await self.db.fetch(
            f"SELECT memories, storage_bytes FROM tenant_usage WHERE tenant_id = {self.d.p}", (tenant_id,)
        )
        if not rows:
            return TenantUsage()
        # a counter never goes below zero, whatever order concurrent writes landed in
        return TenantUsage(
            memories=max(0, int(rows[0]["memories"])), storage_bytes=max(0, int(rows[0]["storage_bytes"]))
        )

    async def billing_state(self, tenant_id: str) -> BillingState | None:
        rows = await self.db.fetch(
            f"SELECT {STATE_COLUMNS} FROM tenant_billing WHERE tenant_id = {self.d.p}", (tenant_id,)
        )
        return _state(rows[0]) if rows else None

    def _upsert(
        self, tenant_id: str, state: BillingState, *, guard: str = "", extra: tuple[Any, ...] = ()
    ) -> Statement:
        """Write the tenant's state unless its row holds a newer change (`changed_at`)."""
        p = self.d.p
        values = (
            tenant_id, state.tier, state.status, state.source, state.customer_id, state.subscription_id,
            state.changed_at,
        )  # fmt: skip
        head = f"INSERT INTO tenant_billing (tenant_id, {STATE_COLUMNS}) "
        body = (
            f"VALUES ({', '.join([p] * len(values))})"
            if not guard
            else f"SELECT {', '.join([p] * len(values))} WHERE {guard}"
        )
        return (
            f"{head}{body} ON CONFLICT (tenant_id) DO UPDATE SET tier = excluded.tier, status = excluded.status, "
            "source = excluded.source, "
            "customer_id = COALESCE(excluded.customer_id, tenant_billing.customer_id), "
            "subscription_id = COALESCE(excluded.subscription_id, tenant_billing.subscription_id), "
            "changed_at = excluded.changed_at WHERE tenant_billing.changed_at <= excluded.changed_at",
            (*values, *extra),
        )

    async def set_billing_state(self, tenant_id: str, state: BillingState) -> BillingState:
        """Store the tenant's state (kept when the stored one is newer); the state now held."""
        await self.db.run_batch([self._upsert(tenant_id, state)])
        held = await self.billing_state(tenant_id)
        assert held is not None
        return held

    async def apply_billing_event(
        self, event_id: str, event_type: str, now: datetime, *, tenant_id: str | None, state: BillingState | None
    ) -> bool:
        """Record the event as processed and, when it carries one, write the tenant's state,
        in one atomic batch; False (and nothing written) when the event was processed before.
        The claim is a nonce: the state is written only if THIS call's claim landed."""
        p = self.d.p
        claim = uuid.uuid4().hex
        statements: list[Statement] = [
            (
                "INSERT INTO billing_events (event_id, tenant_id, event_type, claim, processed_at) "
                f"VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (event_id) DO NOTHING",
                (event_id, tenant_id, event_type, claim, self.d.moment(now)),
            )
        ]
        if tenant_id is not None and state is not None:
            guard = f"EXISTS (SELECT 1 FROM billing_events WHERE event_id = {p} AND claim = {p})"
            statements.append(self._upsert(tenant_id, state, guard=guard, extra=(event_id, claim)))
        await self.db.run_batch(statements)
        rows = await self.db.fetch(f"SELECT claim FROM billing_events WHERE event_id = {p}", (event_id,))
        return bool(rows) and rows[0]["claim"] == claim


def _state(row: Any) -> BillingState:
    return BillingState(
        tier=row["tier"],
        status=row["status"],
        source=row["source"],
        customer_id=row["customer_id"],
        subscription_id=row["subscription_id"],
        changed_at=int(row["changed_at"]),
    )
