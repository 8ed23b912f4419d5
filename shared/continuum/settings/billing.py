"""Billing settings: the tier table (CONTINUUM_TIERS, JSON), the default tier, the Stripe
price/product -> tier map (CONTINUUM_STRIPE_PRICES, JSON), and their checks.

Off unless CONTINUUM_ENABLE_BILLING=true: a deployment without billing serves every tenant
without quotas, as before (CONTINUUM_RATE_LIMIT_PER_MINUTE still applies).
"""

# No `from __future__ import annotations` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef), which doubles what defining it costs on every cold start.

import json
from typing import Any, NamedTuple

from continuum.settings.parsing import SettingsError

QUOTAS = ("memories", "storage_bytes", "requests_per_minute")

# null (None) is unlimited
DEFAULT_TIERS: dict[str, dict[str, int | None]] = {
    "free": {"memories": 1_000, "storage_bytes": 10 * 1024 * 1024, "requests_per_minute": 60},
    "pro": {"memories": 100_000, "storage_bytes": 1024 * 1024 * 1024, "requests_per_minute": 600},
    "enterprise": {"memories": None, "storage_bytes": None, "requests_per_minute": None},
}


class BillingSettings(NamedTuple):
    enabled: bool
    tiers: dict  # name -> {quota: limit or None (unlimited)}
    default_tier: str
    stripe_prices: dict  # Stripe price or product id -> tier name
    stripe_webhook_secret: str | None
    cache_seconds: int  # how stale a tenant's tier may be on another instance

    def __repr__(self) -> str:
        shown = self._replace(stripe_webhook_secret="***" if self.stripe_webhook_secret else None)
        return "BillingSettings(" + ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, shown, strict=True)) + ")"


def _object(raw: str, variable: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise SettingsError(f"{variable} is not valid JSON: {exc}") from None
    if not isinstance(value, dict) or not value:
        raise SettingsError(f"{variable} must be a non-empty JSON object")
    return value


def parse_tiers(raw: str | None) -> dict[str, dict[str, int | None]]:
    """`{"name": {"memories": n|null, "storage_bytes": n|null, "requests_per_minute": n|null}}`;
    a quota left out is unlimited."""
    if raw is None:
        return {name: dict(limits) for name, limits in DEFAULT_TIERS.items()}
    tiers: dict[str, dict[str, int | None]] = {}
    for name, limits in _object(raw, "CONTINUUM_TIERS").items():
        if not isinstance(limits, dict):
            raise SettingsError(f"CONTINUUM_TIERS: tier {name!r} must be an object of quotas ({', '.join(QUOTAS)})")
        unknown = sorted(set(limits) - set(QUOTAS))
        if unknown:
            raise SettingsError(
                f"CONTINUUM_TIERS: tier {name!r} has unknown quota {unknown[0]!r}; known: {', '.join(QUOTAS)}"
            )
        checked: dict[str, int | None] = {}
        for quota in QUOTAS:
            value = limits.get(quota)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise SettingsError(f"CONTINUUM_TIERS: {name}.{quota} must be a whole number >= 0 or null (unlimited)")
            checked[quota] = value
        tiers[str(name)] = checked
    return tiers


def parse_prices(raw: str | None, tiers: dict[str, Any]) -> dict[str, str]:
    if raw is None:
        return {}
    prices = _object(raw, "CONTINUUM_STRIPE_PRICES")
    for price, tier in prices.items():
        if tier not in tiers:
            raise SettingsError(
                f"CONTINUUM_STRIPE_PRICES: {price!r} maps to unknown tier {tier!r}; tiers: {', '.join(tiers)}"
            )
    return {str(k): str(v) for k, v in prices.items()}


def billing_settings(s: Any) -> BillingSettings:
    """The group of a flat `Settings` (raises SettingsError when a value is wrong)."""
    tiers = parse_tiers(s.billing_tiers)
    if s.default_tier not in tiers:
        raise SettingsError(f"CONTINUUM_DEFAULT_TIER {s.default_tier!r} is not a tier; tiers: {', '.join(tiers)}")
    return BillingSettings(
        enabled=s.enable_billing, tiers=tiers, default_tier=s.default_tier,
        stripe_prices=parse_prices(s.stripe_prices, tiers), stripe_webhook_secret=s.stripe_webhook_secret,
        cache_seconds=s.billing_cache_seconds,
    )  # fmt: skip
