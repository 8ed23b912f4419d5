from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import StreamingResponse

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.routes import RouteTable
from continuum.errors import InvalidInput
from continuum.export_format import parse_import
from continuum.schemas import ImportResult

router = RouteTable(tags=["export"])


@router.get(
    "/v1/export",
    response_class=StreamingResponse,
    responses={200: {"description": "JSON Lines, a header line first",
                     "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)
async def export(principal: PrincipalDep, services: ServicesDep) -> StreamingResponse:
    """The caller's tenant as JSON Lines (memories, messages, decisions, concepts, links)."""

    async def lines() -> AsyncIterator[bytes]:
        async for line in services.portability.export_lines(principal.tenant_id):
            yield line.encode("utf-8")

    filename = f"continuum-{principal.tenant_id}.jsonl"
    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/v1/import",
    response_model=ImportResult,
    openapi_extra={"requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)
async def import_(request: Request, principal: PrincipalDep, services: ServicesDep) -> ImportResult:
    """Load an export (JSON Lines) into the caller's tenant. Every line is validated
    before anything is written; ids already present are kept."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("body: import must be UTF-8 JSON Lines") from None
    records = parse_import(text.splitlines(), principal.tenant_id)
    imported, skipped = await services.portability.import_records(principal.tenant_id, records)
    return ImportResult(tenant_id=principal.tenant_id, imported=dict(imported), skipped=dict(skipped))
