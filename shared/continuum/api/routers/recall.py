from __future__ import annotations

from fastapi import APIRouter

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.schemas import RecallRequest, RecallResponse

router = APIRouter(tags=["recall"])


@router.post("/v1/recall", response_model=RecallResponse)
async def recall(body: RecallRequest, principal: PrincipalDep, services: ServicesDep) -> RecallResponse:
    """Ranked memories and a context block for the agent's next answer."""
    return await services.engine.recall(principal.tenant_id, body)
