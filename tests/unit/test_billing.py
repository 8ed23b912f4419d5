"""Tiers and quotas (core/billing.py) over a real SQLite store, and their settings
(settings/billing.py): defaults, JSON tiers, the checks naming the variable at fault."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from continuum.clock import ManualClock
from continuum.core.billing import Billing, BillingConfig, Tier, over_quota, quota_headers
from continuum.errors import InvalidInput, NotFound, QuotaExceeded
from continuum.models import BillingState, TenantUsage
from continuum.runtime.services import build_billing
from continuum.settings import SettingsError, load_settings
from continuum.settings.billing import DEFAULT_TIERS
from continuum.storage.sqlite import SqliteStorage

TIERS = {
    "small": Tier("small", memories=2, storage_bytes=1000, requests_per_minute=5),
    "large": Tier("large"),
}
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest_asyncio.fixture
async def billing(tmp_path) -> AsyncIterator[Billing]:  # type: ignore[no-untyped-def]
    storage = SqliteStorage(str(tmp_path / "b.db"))
    await storage.connect()
    await storage.migrate()
    yield Billing(BillingConfig(TIERS, "small", {"price_large": "large"}, cache_seconds=60), storage, ManualClock(NOW))
    await storage.close()


def test_over_quota_names_the_quota_its_limit_and_usage() -> None:
    tier = TIERS["small"]
    assert over_quota("t", tier, TenantUsage(1, 999)) is None
    memories = over_quota("t", tier, TenantUsage(2, 10))
    assert isinstance(memories, QuotaExceeded) and memories.status == 402
    assert "memory quota" in memories.message and "2 of 2" in memories.message and "small" in memories.message
    storage = over_quota("t", tier, TenantUsage(1, 1000))
    assert storage is not None and "storage quota" in storage.message and "1000 of 1000 bytes" in storage.message
    assert over_quota("t", TIERS["large"], TenantUsage(10**9, 10**12)) is None


def test_quota_headers_show_limited_quotas_only() -> None:
    assert quota_headers(TIERS["small"], TenantUsage(1, 20)) == {
        "X-Continuum-Tier": "small",
        "X-Continuum-Quota-Memories-Limit": "2", "X-Continuum-Quota-Memories-Used": "1",
        "X-Continuum-Quota-Storage-Limit": "1000", "X-Continuum-Quota-Storage-Used": "20",
    }  # fmt: skip
    assert quota_headers(TIERS["large"], TenantUsage(1, 20)) == {"X-Continuum-Tier": "large"}


@pytest.mark.asyncio
async def test_a_tenant_without_a_state_has_the_default_tier(billing: Billing) -> None:
    assert await billing.tier_of("nobody") == TIERS["small"]
    report = await billing.usage("nobody")
    assert report.state.source == "default" and report.usage == TenantUsage(0, 0)


@pytest.mark.asyncio
async def test_set_tier_applies_at_once_here_and_refuses_unknown_tiers(billing: Billing) -> None:
    assert (await billing.tier_of("t1")).name == "small"  # now cached
    await billing.set_tier("t1", "large")
    assert (await billing.tier_of("t1")).name == "large"
    with pytest.raises(InvalidInput, match="unknown tier 'gold'"):
        await billing.set_tier("t1", "gold")


@pytest.mark.asyncio
async def test_another_instance_sees_a_tier_change_after_its_cache_expires(billing: Billing) -> None:
    other = Billing(billing.config._replace(cache_seconds=0), billing.storage, billing.clock)
    assert (await other.tier_of("t2")).name == "small"
    await billing.set_tier("t2", "large")
    assert (await other.tier_of("t2")).name == "large"  # staleness bound 0: read each time


@pytest.mark.asyncio
async def test_a_stored_tier_missing_from_the_table_falls_back_to_the_default(billing: Billing) -> None:
    await billing.storage.set_billing_state("t3", BillingState("retired", changed_at=1))
    assert await billing.tier_of("t3") == TIERS["small"]


@pytest.mark.asyncio
async def test_check_quota_reads_the_counters(billing: Billing) -> None:
    admission = await billing.check_quota("t4", TIERS["small"])
    assert admission.error is None and admission.headers["X-Continuum-Quota-Memories-Used"] == "0"
    unlimited = await billing.check_quota("t4", TIERS["large"])
    assert unlimited == (({"X-Continuum-Tier": "large"}), None)


@pytest.mark.asyncio
async def test_stripe_deliveries_need_the_secret(billing: Billing) -> None:
    with pytest.raises(NotFound, match="STRIPE_WEBHOOK_SECRET"):
        await billing.receive_stripe(b"{}", "t=1,v1=00")


@pytest.mark.asyncio
async def test_a_delivery_applies_once_and_forgets_the_cached_tier(billing: Billing) -> None:
    event = {
        "id": "evt_a", "type": "customer.subscription.created", "created": 100,
        "data": {"object": {"id": "sub_a", "customer": "cus_a", "status": "active", "metadata": {"tenant_id": "t5"},
                            "items": {"data": [{"price": {"id": "price_large", "product": "prod_l"}}]}}},
    }  # fmt: skip
    billing.verifier = lambda payload, signature: event
    assert (await billing.tier_of("t5")).name == "small"
    first = await billing.receive_stripe(b"", "sig")
    assert first.applied and (await billing.tier_of("t5")).name == "large"
    again = await billing.receive_stripe(b"", "sig")
    assert not again.applied


# ---- settings ------------------------------------------------------------------------


def _settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings({"CONTINUUM_ENABLE_BILLING": "true", **env}, read_files=False)


def test_billing_is_off_by_default_and_the_default_tiers_are_documented() -> None:
    assert load_settings({}, read_files=False).enable_billing is False
    group = _settings().billing
    assert group.tiers == DEFAULT_TIERS and group.default_tier == "free" and group.stripe_prices == {}
    assert set(DEFAULT_TIERS) == {"free", "pro", "enterprise"}


def test_tiers_come_from_json_and_a_quota_left_out_is_unlimited(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tiers = json.dumps({"basic": {"memories": 10}, "max": {}})
    settings = _settings(
        CONTINUUM_TIERS=tiers, CONTINUUM_DEFAULT_TIER="basic", CONTINUUM_STRIPE_PRICES='{"price_1": "max"}',
        CONTINUUM_DB_PATH=str(tmp_path / "m.db"),
    )  # fmt: skip
    group = settings.billing
    assert group.tiers["basic"] == {"memories": 10, "storage_bytes": None, "requests_per_minute": None}
    assert group.stripe_prices == {"price_1": "max"}
    built = build_billing(settings, storage=None, clock=ManualClock(NOW))  # type: ignore[arg-type]
    assert built.config.tiers["max"] == Tier("max") and built.verifier is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CONTINUUM_TIERS": "{not json"}, "CONTINUUM_TIERS is not valid JSON"),
        ({"CONTINUUM_TIERS": "[]"}, "CONTINUUM_TIERS must be a non-empty JSON object"),
        ({"CONTINUUM_TIERS": '{"a": {"memories": -1}}', "CONTINUUM_DEFAULT_TIER": "a"}, "a.memories must be"),
        ({"CONTINUUM_TIERS": '{"a": {"memorys": 1}}', "CONTINUUM_DEFAULT_TIER": "a"}, "unknown quota 'memorys'"),
        ({"CONTINUUM_TIERS": '{"a": {}}'}, "CONTINUUM_DEFAULT_TIER 'free' is not a tier"),
        ({"CONTINUUM_STRIPE_PRICES": '{"price_1": "gold"}'}, "maps to unknown tier 'gold'"),
    ],
)
def test_wrong_billing_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        _settings(**env)


def test_the_webhook_secret_is_masked_in_the_group() -> None:
    group = _settings(STRIPE_WEBHOOK_SECRET="whsec_very_secret").billing
    assert "whsec_very_secret" not in repr(group)
