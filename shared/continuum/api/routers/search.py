from __future__ import annotations

from fastapi import APIRouter

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.schemas import SearchRequest, SearchResponse

router = APIRouter(tags=["search"])


@router.post("/v1/search", response_model=SearchResponse)
async def search(body: SearchRequest, principal: PrincipalDep, services: ServicesDep) -> SearchResponse:
    """Ranked memories for a query; `hybrid` (default) uses lexical, graph and embeddings if on."""
    return await services.engine.search(principal.tenant_id, body)
