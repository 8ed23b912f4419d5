from __future__ import annotations

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.mapping import respond, turn_input
from continuum.api.routes import RouteTable
from continuum.schemas import TurnRequest, TurnResponse

router = RouteTable(tags=["turn"])


@router.post("/v1/turn", response_model=TurnResponse)
async def turn(body: TurnRequest, principal: PrincipalDep, services: ServicesDep) -> TurnResponse:
    """Learn a turn, then recall for `message` (default: the user message), in one call."""
    return respond(TurnResponse, await services.engine.turn(principal.tenant_id, turn_input(body)))
