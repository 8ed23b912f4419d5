from __future__ import annotations

from fastapi import Response

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.routes import RouteTable
from continuum.core.auth import require_admin

router = RouteTable(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
async def metrics(principal: PrincipalDep, services: ServicesDep) -> Response:
    """Prometheus text format. Needs the admin key when CONTINUUM_REQUIRE_API_KEY is on."""
    if services.settings.require_api_key:
        require_admin(principal)
    render = getattr(services.metrics, "render", None)
    if render is None:
        return Response("# metrics are exported another way on this runtime\n", media_type="text/plain")
    return Response(render(), media_type=services.metrics.content_type)  # type: ignore[attr-defined]
