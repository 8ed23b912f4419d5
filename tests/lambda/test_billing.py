"""Billing on the Lambda handlers, in-process with real API Gateway events against a real
PostgreSQL: the memory quota (402 + headers) on the memories function, the per-tier rate
limit (429 + X-RateLimit-*), the admin's tier change and usage on the admin function, and
the Stripe webhook answering 501 where the zip leaves the stripe package out."""

from __future__ import annotations

import json
import secrets
import sys

import pytest

from .support import LambdaContext, answer, event

TIERS = {
    "tiny": {"memories": 1, "requests_per_minute": 1000},
    "roomy": {"memories": 3},
    "burst": {"requests_per_minute": 2},
}
BILLING = {
    "CONTINUUM_ENABLE_BILLING": "true", "CONTINUUM_TIERS": json.dumps(TIERS), "CONTINUUM_DEFAULT_TIER": "tiny",
    "CONTINUUM_BILLING_CACHE_SECONDS": "0", "STRIPE_WEBHOOK_SECRET": "whsec_lambda_test",
}  # fmt: skip


@pytest.fixture(scope="module")
def functions(deployment):  # type: ignore[no-untyped-def]
    from continuum.aws.handler import LambdaHandler

    env = {**deployment.env, **BILLING}
    return {name: LambdaHandler(name, environ=env) for name in ("admin", "memories", "entities")}


def call(functions, name: str, method: str, path: str, *, key: str, **kwargs):  # type: ignore[no-untyped-def]
    headers = {"x-api-key": key, **kwargs.pop("headers", {})}
    return answer(functions[name](event("v2", method, path, headers=headers, **kwargs), LambdaContext()))


def new_tenant(functions, deployment) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    tenant_id = f"t-{secrets.token_hex(5)}"
    status, _, body = call(
        functions, "admin", "POST", "/v1/keys", key=deployment.admin_key, body={"tenant_id": tenant_id}
    )
    assert status == 201, body
    return tenant_id, body["api_key"]


def test_memory_quota_and_tier_change_across_functions(functions, deployment) -> None:  # type: ignore[no-untyped-def]
    tenant_id, key = new_tenant(functions, deployment)
    status, headers, _ = call(functions, "memories", "POST", "/v1/memories", key=key, body={"content": "first"})
    assert status == 201 and headers["x-continuum-quota-memories-limit"] == "1"
    status, headers, body = call(functions, "memories", "POST", "/v1/memories", key=key, body={"content": "second"})
    assert status == 402 and body["error"]["code"] == "quota_exceeded", body
    assert headers["x-continuum-quota-memories-used"] == "1" and headers["x-continuum-tier"] == "tiny"

    status, _, body = call(functions, "admin", "PUT", f"/v1/tenants/{tenant_id}/tier", key=deployment.admin_key,
                           body={"tier": "roomy"})  # fmt: skip
    assert status == 200 and body["limits"]["memories"] == 3, body
    status, _, _ = call(functions, "memories", "POST", "/v1/memories", key=key, body={"content": "second"})
    assert status == 201  # another function (instance) sees the change: the staleness bound is 0 here
    status, _, usage = call(functions, "admin", "GET", "/v1/usage", key=key)
    assert status == 200 and usage["tenant_id"] == tenant_id and usage["usage"]["memories"] == 2


def test_rate_limit_follows_the_tier(functions, deployment) -> None:  # type: ignore[no-untyped-def]
    tenant_id, key = new_tenant(functions, deployment)
    call(functions, "admin", "PUT", f"/v1/tenants/{tenant_id}/tier", key=deployment.admin_key, body={"tier": "burst"})
    answers = [call(functions, "entities", "GET", "/v1/stats", key=key) for _ in range(3)]
    statuses = [status for status, _, _ in answers]
    if statuses != [200, 200, 429]:  # a burst straddling a minute boundary: once more
        answers = [call(functions, "entities", "GET", "/v1/stats", key=key) for _ in range(3)]
        statuses = [status for status, _, _ in answers]
    assert statuses[-1] == 429 and statuses.count(200) <= 2
    headers = answers[-1][1]
    assert headers["x-ratelimit-limit"] == "2" and headers["x-ratelimit-remaining"] == "0"
    assert headers["retry-after"] == headers["x-ratelimit-reset"]


def test_the_stripe_webhook_is_refused_clearly_without_the_package(functions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "stripe", None)  # the zip leaves it out (the billing extra)
    status, _, body = call(functions, "admin", "POST", "/v1/billing/stripe", key="",
                           body={"id": "evt_1", "type": "customer.subscription.updated"},
                           headers={"stripe-signature": "t=1,v1=00"})  # fmt: skip
    assert status == 501 and body["error"]["code"] == "not_available"
    assert "continuum-memory[billing]" in body["error"]["message"]
