from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from continuum.api.deps import AdminDep, PrincipalDep, ServicesDep
from continuum.api.mapping import respond
from continuum.api.routes import RouteTable
from continuum.core.auth import Principal
from continuum.errors import Forbidden
from continuum.schemas import (
    KEY_ID_PATTERN,
    TENANT_PATTERN,
    Key,
    KeyCreate,
    KeyCreated,
    KeyList,
    Tenant,
    TenantErased,
    TenantList,
)

router = RouteTable(tags=["admin"])

TenantQuery = Annotated[
    str | None,
    Query(
        pattern=TENANT_PATTERN,
        description="The tenant whose keys these are (admin key; default: X-Continuum-Tenant, else 'default'). "
        "A tenant key may name only its own tenant.",
    ),
]


def _keys_tenant(principal: Principal, tenant_id: str | None) -> str:
    if tenant_id is None or tenant_id == principal.tenant_id:
        return principal.tenant_id
    if not principal.is_admin:
        raise Forbidden("a tenant key may only see its own tenant's keys")
    return tenant_id


@router.post("/v1/keys", response_model=KeyCreated, status_code=201)
async def create_key(body: KeyCreate, _: AdminDep, services: ServicesDep) -> KeyCreated:
    """A new API key for one tenant. The key is shown once; only its hash is stored.
    Default scope `write` (read and write); `read` keys can never change anything."""
    created = await services.admin.create_key(body.tenant_id, body.name, scopes=body.scopes, expires_at=body.expires_at)
    return respond(KeyCreated, created)


@router.get("/v1/keys", response_model=KeyList)
async def list_keys(principal: PrincipalDep, services: ServicesDep, tenant_id: TenantQuery = None) -> KeyList:
    """A tenant's keys, revoked and expired ones included: ids, names, prefixes, scopes, times;
    never a key or its hash. The admin key lists any tenant's; a tenant key its own."""
    return respond(KeyList, await services.admin.list_keys(_keys_tenant(principal, tenant_id)))


@router.delete("/v1/keys/{key_id}", response_model=Key)
async def revoke_key(
    key_id: Annotated[str, Path(pattern=KEY_ID_PATTERN)],
    principal: AdminDep,
    services: ServicesDep,
    tenant_id: TenantQuery = None,
) -> Key:
    """Revoke a key at once, on every instance. Revoking it again changes nothing."""
    return respond(Key, await services.admin.revoke_key(_keys_tenant(principal, tenant_id), key_id))


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
