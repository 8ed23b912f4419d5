from __future__ import annotations

from typing import Annotated

from fastapi import Path

from continuum.api.deps import AdminDep, ServicesDep
from continuum.api.mapping import respond
from continuum.api.routes import RouteTable
from continuum.schemas import TENANT_PATTERN, KeyCreate, KeyCreated, Tenant, TenantErased, TenantList

router = RouteTable(tags=["admin"])


@router.post("/v1/keys", response_model=KeyCreated, status_code=201)
async def create_key(body: KeyCreate, _: AdminDep, services: ServicesDep) -> KeyCreated:
    """A new API key for one tenant. The key is shown once; only its hash is stored."""
    return respond(KeyCreated, await services.admin.create_key(body.tenant_id, body.name))


@router.get("/v1/tenants", response_model=TenantList)
async def list_tenants(_: AdminDep, services: ServicesDep) -> TenantList:
    tenants = await services.admin.list_tenants()
    return TenantList(tenants=[respond(Tenant, t) for t in tenants])


@router.delete("/v1/tenants/{tenant_id}", response_model=TenantErased)
async def erase_tenant(
    tenant_id: Annotated[str, Path(pattern=TENANT_PATTERN)], _: AdminDep, services: ServicesDep
) -> TenantErased:
    """Erase every row of a tenant: memories, messages, concepts, links, keys."""
    return respond(TenantErased, await services.admin.erase_tenant(tenant_id))
