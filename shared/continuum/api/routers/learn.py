from __future__ import annotations

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.mapping import learn_input, respond
from continuum.api.routes import RouteTable
from continuum.schemas import LearnRequest, LearnResponse

router = RouteTable(tags=["learn"])


@router.post("/v1/learn", response_model=LearnResponse)
async def learn(body: LearnRequest, principal: PrincipalDep, services: ServicesDep) -> LearnResponse:
    """Store a conversation turn: extract concepts and decisions, strengthen links."""
    return respond(LearnResponse, await services.engine.learn(principal.tenant_id, learn_input(body)))
