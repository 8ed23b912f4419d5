"""Billing over real HTTP on every target: quotas (402 + X-Continuum-Quota-*), per-tier
requests per minute (429 + X-RateLimit-*), the admin's tier change, usage per tenant, and
Stripe deliveries signed the way Stripe signs them (the stripe package's own header
generator): applied, a replay ignored, a bad signature refused. The Worker ships no
stripe package, so there the webhook answers 501 naming what is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import stripe

from tests.support.servers import TARGETS, RunningServer

SECRET = "whsec_e2e_billing_secret"
TIERS = {
    "tiny": {"memories": 2, "storage_bytes": 1_000_000, "requests_per_minute": 1000},
    "roomy": {"memories": 5},
    "burst": {"requests_per_minute": 3},
}
ENV = {
    "CONTINUUM_ENABLE_BILLING": "true",
    "CONTINUUM_TIERS": json.dumps(TIERS),
    "CONTINUUM_DEFAULT_TIER": "tiny",
    "CONTINUUM_STRIPE_PRICES": json.dumps({"price_roomy": "roomy"}),
    "CONTINUUM_BILLING_CACHE_SECONDS": "0",  # several processes may serve: every tier read is fresh
    "STRIPE_WEBHOOK_SECRET": SECRET,
}
WITHOUT_STRIPE = ("workers",)  # the Worker bundle leaves the stripe package out


@pytest.fixture(scope="module")
def billed(target_name: str) -> Iterator[RunningServer]:
    running = TARGETS[target_name]().start(require_api_key=True, extra_env=ENV)
    try:
        yield running
    finally:
        running.stop()


def _delivery(running: RunningServer, event: dict, *, secret: str = SECRET):  # type: ignore[no-untyped-def]
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    with running.client() as anyone:  # no API key: the signature is the credential
        return anyone.post(
            "/v1/billing/stripe", content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )  # fmt: skip


def _subscription_event(event_id: str, tenant_id: str, status: str = "active") -> dict:
    return {
        "id": event_id, "object": "event", "type": "customer.subscription.updated", "created": int(time.time()) + 5,
        "data": {"object": {
            "id": f"sub_{event_id}", "object": "subscription", "customer": "cus_e2e", "status": status,
            "metadata": {"tenant_id": tenant_id},
            "items": {"data": [{"price": {"id": "price_roomy", "product": "prod_roomy"}}]},
        }},
    }  # fmt: skip


def test_memory_quota_is_enforced_with_headers_and_usage_is_per_tenant(billed: RunningServer) -> None:
    tenant_id, client = billed.new_tenant()
    other_id, other = billed.new_tenant()
    with client, other:
        for i in range(2):
            stored = client.post("/v1/memories", json={"content": f"quota memory {i}"})
            assert stored.status_code == 201, stored.text
            assert stored.headers["X-Continuum-Quota-Memories-Limit"] == "2"
            assert stored.headers["X-Continuum-Quota-Memories-Used"] == str(i)
        refused = client.post("/v1/memories", json={"content": "one too many"})
        assert refused.status_code == 402, refused.text
        error = refused.json()["error"]
        assert error["code"] == "quota_exceeded" and "2 of 2 memories" in error["message"]
        assert refused.headers["X-Continuum-Tier"] == "tiny"
        assert refused.headers["X-Continuum-Quota-Memories-Used"] == "2"
        assert int(refused.headers["X-RateLimit-Remaining"]) > 0
        learned = client.post("/v1/learn", json={"user_message": "I live in Paris", "ai_response": "Noted"})
        assert learned.status_code == 402  # every route that adds memories
        assert client.post("/v1/recall", json={"message": "where do I live"}).status_code == 200  # reads go on

        usage = client.get("/v1/usage").json()
        assert usage["tenant_id"] == tenant_id and usage["tier"] == "tiny" and usage["source"] == "default"
        assert usage["usage"]["memories"] == 2 and usage["usage"]["storage_bytes"] > 0
        assert usage["limits"] == {"memories": 2, "storage_bytes": 1_000_000, "requests_per_minute": 1000}
        theirs = other.get("/v1/usage").json()
        assert theirs["tenant_id"] == other_id and theirs["usage"] == {"memories": 0, "storage_bytes": 0}
        assert other.post("/v1/memories", json={"content": "another tenant's budget"}).status_code == 201

        with billed.admin() as admin:
            assert admin.get("/v1/usage", headers={"X-Continuum-Tenant": tenant_id}).json()["usage"]["memories"] == 2
            assert client.put(f"/v1/tenants/{tenant_id}/tier", json={"tier": "roomy"}).status_code == 403
            changed = admin.put(f"/v1/tenants/{tenant_id}/tier", json={"tier": "roomy"})
            assert changed.status_code == 200 and changed.json()["limits"]["memories"] == 5
            assert admin.put(f"/v1/tenants/{tenant_id}/tier", json={"tier": "gold"}).status_code == 422
        assert client.post("/v1/memories", json={"content": "room again"}).status_code == 201

        deleted = client.get("/v1/memories").json()["memories"][0]["id"]
        assert client.delete(f"/v1/memories/{deleted}").status_code in (200, 204)
        assert client.get("/v1/usage").json()["usage"]["memories"] == 2


def test_requests_per_minute_follow_the_tier(billed: RunningServer) -> None:
    for _ in range(3):  # a burst straddling a minute boundary is run again
        tenant_id, client = billed.new_tenant()
        with client, billed.admin() as admin:
            assert admin.put(f"/v1/tenants/{tenant_id}/tier", json={"tier": "burst"}).status_code == 200
            minute = int(time.time() // 60)
            answers = [client.get("/v1/stats") for _ in range(4)]
            if int(time.time() // 60) != minute:
                continue
            assert [a.status_code for a in answers] == [200, 200, 200, 429]
            assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["3"] * 4
            assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
            limited = answers[-1]
            assert limited.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            assert limited.headers["X-RateLimit-Reset"] == limited.headers["Retry-After"]
            return
    raise AssertionError("every burst straddled a minute boundary")


def test_stripe_deliveries_change_the_tier_once(billed: RunningServer, target_name: str) -> None:
    tenant_id, client = billed.new_tenant()
    event = _subscription_event(f"evt_{tenant_id}", tenant_id)
    first = _delivery(billed, event)
    if target_name.startswith(WITHOUT_STRIPE):
        assert first.status_code == 501 and first.json()["error"]["code"] == "not_available"
        assert "continuum-memory[billing]" in first.json()["error"]["message"]
        return
    assert first.status_code == 200, first.text
    assert first.json() == {
        "id": event["id"], "type": "customer.subscription.updated", "applied": True, "duplicate": False,
        "reason": "subscription active",
    }  # fmt: skip
    with client:
        usage = client.get("/v1/usage").json()
        assert (usage["tier"], usage["source"], usage["limits"]["memories"]) == ("roomy", "stripe", 5)

        with billed.admin() as admin:  # the operator moves the tenant back; a replay must not undo that
            admin.put(f"/v1/tenants/{tenant_id}/tier", json={"tier": "tiny"})
        replay = _delivery(billed, event)
        assert replay.status_code == 200 and replay.json()["duplicate"] is True and replay.json()["applied"] is False
        assert client.get("/v1/usage").json()["tier"] == "tiny"

        forged = _delivery(billed, _subscription_event(f"evt2_{tenant_id}", tenant_id), secret="whsec_forger")
        assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_signature"
        assert SECRET not in forged.text
        assert client.get("/v1/usage").json()["tier"] == "tiny"

        failed = {
            "id": f"evt3_{tenant_id}", "type": "invoice.payment_failed", "created": int(time.time()) + 10,
            "data": {"object": {"id": "in_1", "customer": "cus_e2e", "subscription": "sub_1",
                                "subscription_details": {"metadata": {"tenant_id": tenant_id}}}},
        }  # fmt: skip
        assert _delivery(billed, failed).json()["applied"] is True
        usage = client.get("/v1/usage").json()
        assert (usage["tier"], usage["status"]) == ("tiny", "past_due")


def test_the_stripe_webhook_needs_billing_on(target_name: str, open_server: RunningServer) -> None:
    answer = _delivery(open_server, _subscription_event("evt_off", "default"))
    assert answer.status_code == 404 and "CONTINUUM_ENABLE_BILLING" in answer.json()["error"]["message"]
    with open_server.client() as client:  # usage is still reported, with nothing limited
        usage = client.get("/v1/usage").json()
        assert usage["billing"] is False and usage["limits"] == {
            "memories": None,
            "storage_bytes": None,
            "requests_per_minute": None,
        }
