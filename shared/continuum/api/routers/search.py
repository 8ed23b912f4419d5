from __future__ import annotations

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.mapping import respond, search_query
from continuum.api.routes import RouteTable
from continuum.schemas import SearchRequest, SearchResponse

router = RouteTable(tags=["search"])


@router.post("/v1/search", response_model=SearchResponse)
async def search(body: SearchRequest, principal: PrincipalDep, services: ServicesDep) -> SearchResponse:
    """Ranked memories for a query; `hybrid` (default) uses lexical, graph and embeddings if on."""
    return respond(SearchResponse, await services.engine.search(principal.tenant_id, search_query(body)))
