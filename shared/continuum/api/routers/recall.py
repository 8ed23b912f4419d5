from __future__ import annotations

import logging

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.mapping import recall_query, respond
from continuum.api.routes import RouteTable
from continuum.schemas import RecallRequest, RecallResponse

router = RouteTable(tags=["recall"])
log = logging.getLogger("continuum.recall")


@router.post("/v1/recall", response_model=RecallResponse)
async def recall(body: RecallRequest, principal: PrincipalDep, services: ServicesDep) -> RecallResponse:
    """Ranked memories and a context block for the agent's next answer."""
    result = await services.engine.recall(principal.tenant_id, recall_query(body))
    log.info(
        "recall",
        extra={
            "instance_id": body.instance_id,
            "query_time_ms": result.query_time_ms,
            "concepts_found": len(result.concepts_found),
            "memories_returned": len(result.memories),
        },
    )
    return respond(RecallResponse, result)
