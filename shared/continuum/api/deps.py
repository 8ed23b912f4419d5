"""Request dependencies: the services, who the caller is, and whether the caller's scopes
allow the route (the route manifest says which scope each route needs; every runtime
mounts the same routers, so every runtime enforces the same rule)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from continuum.api.manifest import required_scope
from continuum.api.quota import admit
from continuum.core.auth import Principal, credential_from_headers, require_admin, require_scope
from continuum.observability.logging import tenant_id_var
from continuum.services import Services


async def get_services(request: Request) -> Services:
    return await request.app.state.provider.get()


ServicesDep = Annotated[Services, Depends(get_services)]


def route_scope(request: Request) -> str:
    """The scope the matched route needs (by its declared path, the manifest's key)."""
    return required_scope(request.method, getattr(request.scope.get("route"), "path", ""))


async def get_principal(
    request: Request,
    services: ServicesDep,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header(description="Bearer <API key or JWT>")] = None,
    x_continuum_tenant: Annotated[str | None, Header(description="Tenant to act on (admin key only)")] = None,
) -> Principal:
    credential = credential_from_headers(x_api_key, authorization)
    principal = await services.auth.authenticate(credential, acting_tenant=x_continuum_tenant)
    tenant_id_var.set(principal.tenant_id)
    if not principal.is_admin:
        await admit(request, services, principal.tenant_id)
    require_scope(principal, route_scope(request))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_admin(principal: PrincipalDep) -> Principal:
    require_admin(principal)
    return principal


AdminDep = Annotated[Principal, Depends(get_admin)]
