from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.mapping import respond
from continuum.api.routes import RouteTable
from continuum.schemas import EntityDetail, EntityList, Stats

router = RouteTable(tags=["entities"])


@router.get("/v1/entities", response_model=EntityList)
async def list_entities(
    principal: PrincipalDep,
    services: ServicesDep,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> EntityList:
    """Concepts, most mentioned first; `entity_type` is name, quoted or technical."""
    page = await services.engine.list_entities(principal.tenant_id, entity_type=entity_type, limit=limit, offset=offset)
    return respond(EntityList, page)


@router.get("/v1/entities/{name}", response_model=EntityDetail)
async def get_entity(
    name: Annotated[str, Path(min_length=1, max_length=200)], principal: PrincipalDep, services: ServicesDep
) -> EntityDetail:
    """One concept (case-insensitive name) with its strongest attention links."""
    return respond(EntityDetail, await services.engine.get_entity(principal.tenant_id, name))


@router.get("/v1/stats", response_model=Stats)
async def stats(principal: PrincipalDep, services: ServicesDep) -> Stats:
    return respond(Stats, await services.engine.stats(principal.tenant_id))
