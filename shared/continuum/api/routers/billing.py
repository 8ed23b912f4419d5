"""Billing: a tenant's usage and tier, the operator's tier change, Stripe's webhook.

`POST /v1/billing/stripe` takes no API key: Stripe's signature (STRIPE_WEBHOOK_SECRET) is
its credential. docs/billing.md describes tiers, headers and the Stripe setup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path, Request

from continuum.api.deps import AdminDep, PrincipalDep, ServicesDep
from continuum.api.openapi import error
from continuum.api.routes import RouteTable
from continuum.core.billing import Billing, UsageReport
from continuum.errors import NotFound
from continuum.schemas import TENANT_PATTERN, Model, Strict
from continuum.services import Services

router = RouteTable(tags=["billing"])

DISABLED = "billing is not enabled on this deployment (set CONTINUUM_ENABLE_BILLING=true)"


class Limits(Model):
    memories: int | None = None
    storage_bytes: int | None = None
    requests_per_minute: int | None = None


class Used(Model):
    memories: int
    storage_bytes: int


class Usage(Model):
    tenant_id: str
    billing: bool  # false: no tiers on this deployment, nothing is limited by them
    tier: str | None = None
    status: str | None = None  # active, past_due, canceled, ...
    source: str | None = None  # default, admin, stripe
    limits: Limits
    usage: Used


class TierChange(Strict):
    tier: str


class StripeReceived(Model):
    id: str
    type: str
    applied: bool  # false: this event id was processed before, or it changes nothing
    duplicate: bool
    reason: str


def _billing(services: Services) -> Billing:
    if services.billing is None:
        raise NotFound(DISABLED)
    return services.billing


def _usage(report: UsageReport) -> Usage:
    tier, state = report.tier, report.state
    return Usage(
        tenant_id=report.tenant_id, billing=True, tier=tier.name, status=state.status, source=state.source,
        limits=Limits(
            memories=tier.memories, storage_bytes=tier.storage_bytes, requests_per_minute=tier.requests_per_minute
        ),
        usage=Used(memories=report.usage.memories, storage_bytes=report.usage.storage_bytes),
    )  # fmt: skip


@router.get("/v1/usage", response_model=Usage)
async def usage(principal: PrincipalDep, services: ServicesDep) -> Usage:
    """The caller's tenant (the admin key: X-Continuum-Tenant's): its tier, limits and usage."""
    tenant_id = principal.tenant_id
    if services.billing is None:
        used = await services.storage.tenant_usage(tenant_id)
        return Usage(
            tenant_id=tenant_id, billing=False, limits=Limits(),
            usage=Used(memories=used.memories, storage_bytes=used.storage_bytes),
        )  # fmt: skip
    return _usage(await services.billing.usage(tenant_id))


@router.put("/v1/tenants/{tenant_id}/tier", response_model=Usage)
async def set_tier(
    tenant_id: Annotated[str, Path(pattern=TENANT_PATTERN)], body: TierChange, _: AdminDep, services: ServicesDep
) -> Usage:
    """Set a tenant's tier (admin key); it applies at once here, within
    CONTINUUM_BILLING_CACHE_SECONDS on other instances. A later Stripe event changes it again."""
    billing = _billing(services)
    await billing.set_tier(tenant_id, body.tier)
    return _usage(await billing.usage(tenant_id))


@router.post(
    "/v1/billing/stripe",
    response_model=StripeReceived,
    responses={
        400: error("Stripe-Signature is missing, stale or does not verify with STRIPE_WEBHOOK_SECRET"),
        404: error("Billing or Stripe webhooks are not enabled on this deployment"),
        501: error("This runtime does not ship the stripe package (Lambda, Workers)"),
    },
)
async def stripe_webhook(
    request: Request,
    services: ServicesDep,
    stripe_signature: Annotated[str | None, Header(description="Stripe's signature of the body")] = None,
) -> StripeReceived:
    """Stripe's webhook: subscription created/updated/deleted and invoice.payment_failed set
    the tenant's tier (metadata `tenant_id`). Verified with STRIPE_WEBHOOK_SECRET; a bad
    signature is a 400; an event id already processed changes nothing."""
    receipt = await _billing(services).receive_stripe(await request.body(), stripe_signature)
    applied = receipt.applied and receipt.change.state is not None
    return StripeReceived(
        id=receipt.event_id, type=receipt.event_type, applied=applied, duplicate=not receipt.applied,
        reason="already processed" if not receipt.applied else receipt.change.reason,
    )  # fmt: skip
