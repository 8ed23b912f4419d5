"""What each Stripe event means for a tenant's tier (core/stripe_events.py)."""

from __future__ import annotations

from typing import Any

import pytest

from continuum.core.stripe_events import interpret, subscription_tier
from continuum.models import BillingState

PRICES = {"price_pro": "pro", "prod_enterprise": "enterprise"}


def subscription(status: str = "active", *, price: str = "price_pro", product: str = "prod_x", **more: Any) -> dict:
    return {
        "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": status,
        "metadata": {"tenant_id": "acme"}, "items": {"data": [{"price": {"id": price, "product": product}}]}, **more,
    }  # fmt: skip


def event(kind: str, obj: dict, created: int = 1000) -> dict:
    return {"id": "evt_1", "type": kind, "created": created, "data": {"object": obj}}


@pytest.mark.parametrize("kind", ["customer.subscription.created", "customer.subscription.updated"])
@pytest.mark.parametrize("status", ["active", "trialing"])
def test_a_paying_subscription_sets_its_tier(kind: str, status: str) -> None:
    change = interpret(event(kind, subscription(status)), PRICES, "free")
    assert change.tenant_id == "acme"
    assert change.state == BillingState("pro", "active", "stripe", "cus_1", "sub_1", 1000)


def test_the_product_maps_when_the_price_does_not() -> None:
    sub = subscription(price="price_other", product="prod_enterprise")
    assert subscription_tier(sub, PRICES) == "enterprise"
    sub["items"]["data"][0]["price"]["product"] = {"id": "prod_enterprise", "object": "product"}  # expanded
    assert subscription_tier(sub, PRICES) == "enterprise"


def test_past_due_keeps_the_tier_and_other_statuses_are_the_default_tier() -> None:
    past_due = interpret(event("customer.subscription.updated", subscription("past_due")), PRICES, "free")
    assert past_due.state is not None and (past_due.state.tier, past_due.state.status) == ("pro", "past_due")
    for status in ("canceled", "unpaid", "incomplete", "incomplete_expired", "paused"):
        change = interpret(event("customer.subscription.updated", subscription(status)), PRICES, "free")
        assert change.state is not None and (change.state.tier, change.state.status) == ("free", status)


def test_a_deleted_subscription_is_the_default_tier() -> None:
    change = interpret(event("customer.subscription.deleted", subscription("canceled")), PRICES, "free")
    assert change.state == BillingState("free", "canceled", "stripe", "cus_1", "sub_1", 1000)


def test_a_failed_payment_downgrades_to_the_default_tier_past_due() -> None:
    invoice = {"id": "in_1", "object": "invoice", "customer": "cus_1", "subscription": "sub_1",
               "subscription_details": {"metadata": {"tenant_id": "acme"}}}  # fmt: skip
    change = interpret(event("invoice.payment_failed", invoice), PRICES, "free")
    assert change.state == BillingState("free", "past_due", "stripe", "cus_1", "sub_1", 1000)
    newer_api = {
        "id": "in_2",
        "customer": "cus_1",
        "parent": {"subscription_details": {"subscription": "sub_9", "metadata": {"tenant_id": "acme"}}},
    }
    change = interpret(event("invoice.payment_failed", newer_api), PRICES, "free")
    assert change.tenant_id == "acme" and change.state is not None and change.state.subscription_id == "sub_9"


def test_the_customer_metadata_names_the_tenant_when_expanded() -> None:
    sub = subscription(metadata={}, customer={"id": "cus_7", "metadata": {"tenant_id": "globex"}})
    change = interpret(event("customer.subscription.created", sub), PRICES, "free")
    assert change.tenant_id == "globex" and change.state is not None and change.state.customer_id == "cus_7"


def test_events_that_change_nothing_say_why() -> None:
    assert (
        interpret(event("charge.succeeded", {}), PRICES, "free").reason == "event type charge.succeeded is not handled"
    )
    no_tenant = interpret(event("customer.subscription.created", subscription(metadata={})), PRICES, "free")
    assert no_tenant.tenant_id is None and "tenant_id" in no_tenant.reason
    unmapped = interpret(event("customer.subscription.created", subscription(price="price_zz")), PRICES, "free")
    assert unmapped.tenant_id == "acme" and unmapped.state is None and "CONTINUUM_STRIPE_PRICES" in unmapped.reason
    junk = interpret({"id": "evt_x", "type": "customer.subscription.updated", "data": "nope"}, PRICES, "free")
    assert junk.state is None
