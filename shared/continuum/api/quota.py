"""Admission of a tenant's request: requests per minute (the tier's limit when billing is
on, else CONTINUUM_RATE_LIMIT_PER_MINUTE) and, on routes that add memories, the tier's
memory and storage quotas (core/billing.py). The X-RateLimit-* and X-Continuum-Quota-*
headers go on the response, refused or not (api/middleware.py adds them)."""

from __future__ import annotations

from fastapi import Request

from continuum.api.manifest import WRITE_ROUTES
from continuum.services import Services

# the routes that add memories (a manifest write, or an import), whose quotas are checked
QUOTA_ROUTES = WRITE_ROUTES | {("POST", "/v1/import")}
HEADERS_STATE = "continuum_headers"  # request.state key api/middleware.py reads


def _answer_with(request: Request, headers: dict[str, str]) -> None:
    if headers:
        held: dict[str, str] = getattr(request.state, HEADERS_STATE, {})
        setattr(request.state, HEADERS_STATE, {**held, **headers})


async def admit(request: Request, services: Services, tenant_id: str) -> None:
    """Count the request; raise RateLimited (429) or QuotaExceeded (402) when it is refused."""
    limiter = services.rate_limiter
    billing = services.billing
    headers: dict[str, str] = {}
    try:
        if billing is None:
            if limiter.enabled:
                window = await limiter.count(tenant_id, limiter.per_minute)
                headers.update(window.headers())
                if window.exceeded:
                    raise window.error(tenant_id)
            return
        tier = await billing.tier_of(tenant_id)
        if tier.requests_per_minute is not None:
            window = await limiter.count(tenant_id, tier.requests_per_minute)
            headers.update(window.headers())
            if window.exceeded:
                raise window.error(tenant_id)
        route = (request.method, getattr(request.scope.get("route"), "path", ""))
        if route in QUOTA_ROUTES:
            admission = await billing.check_quota(tenant_id, tier)
            headers.update(admission.headers)
            if admission.error is not None:
                raise admission.error
        else:
            headers["X-Continuum-Tier"] = tier.name
    finally:
        _answer_with(request, headers)
