"""What a Stripe event (already verified, parsed JSON) means for a tenant's tier.

The tenant is the `tenant_id` in the metadata of the subscription (or of its customer when
the event carries the customer expanded); an invoice event reads the subscription's
metadata that Stripe copies onto the invoice. The tier is the one CONTINUUM_STRIPE_PRICES
gives the subscription's price id, else its product id.

- customer.subscription.created / updated: an active or trialing subscription sets its
  tier; past_due keeps its tier in state `past_due`; any other status (canceled, unpaid,
  incomplete, incomplete_expired, paused) is the default tier.
- customer.subscription.deleted: the default tier, state `canceled`.
- invoice.payment_failed: the default tier at once, state `past_due` (Stripe retries the
  payment; the subscription.updated that follows a successful retry restores the tier).
Every other type is recorded and ignored.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from continuum.models import BillingState

HANDLED = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_failed",
)
PAYING = ("active", "trialing")


class StripeChange(NamedTuple):
    """The tenant an event concerns and its new state (None: nothing to change), and why."""

    tenant_id: str | None
    state: BillingState | None
    reason: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tenant(*objects: dict[str, Any]) -> str | None:
    for obj in objects:
        tenant = _dict(obj.get("metadata")).get("tenant_id")
        if isinstance(tenant, str) and tenant:
            return tenant
    return None


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def subscription_tier(subscription: dict[str, Any], prices: dict[str, str]) -> str | None:
    """The tier of the first item whose price (else product) is mapped."""
    for item in _dict(subscription.get("items")).get("data") or []:
        price = _dict(_dict(item).get("price") or _dict(item).get("plan"))
        for key in (_id(price), _id(price.get("product"))):
            if key is not None and key in prices:
                return prices[key]
    return None


def interpret(event: dict[str, Any], prices: dict[str, str], default_tier: str) -> StripeChange:
    kind = event.get("type")
    obj = _dict(_dict(event.get("data")).get("object"))
    created = event.get("created")
    changed_at = created if isinstance(created, int) else 0
    if kind not in HANDLED:
        return StripeChange(None, None, f"event type {kind} is not handled")
    if kind == "invoice.payment_failed":
        details = _dict(obj.get("subscription_details")) or _dict(_dict(obj.get("parent")).get("subscription_details"))
        tenant = _tenant(details, obj, _dict(obj.get("customer")))
        subscription = _id(obj.get("subscription")) or _id(details.get("subscription"))
        if tenant is None:
            return StripeChange(None, None, "no tenant_id in the invoice's subscription metadata")
        state = BillingState(
            tier=default_tier, status="past_due", source="stripe",
            customer_id=_id(obj.get("customer")), subscription_id=subscription, changed_at=changed_at,
        )  # fmt: skip
        return StripeChange(tenant, state, "payment failed: default tier until paid")
    tenant = _tenant(obj, _dict(obj.get("customer")))
    if tenant is None:
        return StripeChange(None, None, "no tenant_id in the subscription's (or customer's) metadata")
    ids = {"customer_id": _id(obj.get("customer")), "subscription_id": _id(obj), "changed_at": changed_at}
    status = obj.get("status")
    if kind == "customer.subscription.deleted":
        return StripeChange(tenant, BillingState(default_tier, "canceled", "stripe", **ids), "subscription ended")
    tier = subscription_tier(obj, prices)
    if tier is None:
        return StripeChange(tenant, None, "no price or product of the subscription is in CONTINUUM_STRIPE_PRICES")
    if status in PAYING:
        return StripeChange(tenant, BillingState(tier, "active", "stripe", **ids), f"subscription {status}")
    if status == "past_due":
        return StripeChange(tenant, BillingState(tier, "past_due", "stripe", **ids), "subscription past due")
    return StripeChange(tenant, BillingState(default_tier, str(status), "stripe", **ids), f"subscription {status}")
