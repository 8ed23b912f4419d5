"""What the OpenAPI document says beyond the routes' own declarations.

`error_responses(route)` gives each route the error answers its shape can produce (a body
can be malformed or too large, a credential missing or refused, a path can name nothing,
every route can lose its database), all as the one envelope `Error`; routes declare their
specific answers on top (`RouteTable` merges both). `install(app, ...)` completes the
document once, when it is first asked for: credentials become security schemes instead
of header parameters, the acting-tenant header gets its pattern, write routes get their
Idempotency-Key header, and the search modes are those this deployment serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from continuum.api.deps import get_principal, get_services
from continuum.api.json_schema import METADATA_VALUE_SCHEMA
from continuum.ids import TENANT_PATTERN

if TYPE_CHECKING:
    from fastapi import FastAPI

    from continuum.settings import Settings


class _Documentation(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built only when the document is asked for


class ErrorField(_Documentation):
    field: str = Field(description="Where the problem is: `body.field`, `query.name`, `path.name`, `header.name`")
    message: str


class ErrorBody(_Documentation):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_input`, `not_found`, `rate_limited`")
    message: str = Field(description="What went wrong, for a human; names the field for invalid input")
    details: list[ErrorField] | None = Field(default=None, description="Every invalid field (422 only)")


class Error(_Documentation):
    """The envelope of every error answer."""

    error: ErrorBody


# A reference, not `"model": Error`: the responses are added after FastAPI analysed the route,
# so `complete` adds the component itself.
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}
CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization"})
SECURITY_SCHEMES = {
    "ApiKey": {
        "type": "apiKey", "in": "header", "name": "X-API-Key", "description": "A tenant API key or the admin key"
    },
    "Bearer": {
        "type": "http", "scheme": "bearer", "description": "An API key, or a JWT (HS256) with a `tenant_id` claim"
    },
}
# Read for the admin key only; empty is the same as absent (tenant `default`).
ACTING_TENANT = {"type": "string", "pattern": f"^({TENANT_PATTERN.strip('^$')})?$"}
# Printable, as the Idempotency-Key middleware demands, and without edge spaces, which HTTP strips.
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Replays the first 2xx answer to retries with the same key and body (24 h by default); "
    "the same key with another body is a 422, a retry while the first attempt runs a 409.",
    "schema": {"type": "string", "pattern": r"^[!-~]([ -~]{0,253}[!-~])?$"},
}
_DESCRIPTIONS = {
    400: "The body is not valid JSON",
    401: "Missing or invalid credentials (X-API-Key or Authorization: Bearer)",
    402: "The tenant's memory or storage quota is reached (billing: docs/billing.md)",
    403: "The credential may not use this route (admin routes need the admin key)",
    404: "Nothing with that id or name in the caller's tenant",
    409: "A request with the same Idempotency-Key is still running",
    413: "The body is larger than CONTINUUM_MAX_BODY_BYTES",
    422: "Invalid input; `message` names the field, `details` lists every invalid field",
    429: "The tenant's rate limit (CONTINUUM_RATE_LIMIT_PER_MINUTE) is spent",
    503: "A dependency (the database, the idempotency store) is unavailable; retry later",
}


def error(description: str) -> dict[str, Any]:
    """A route's own error answer, in the envelope (for its `responses`)."""
    return {"description": description, "content": ERROR_CONTENT}


def _calls(dependant: Dependant, function: Callable[..., Any]) -> bool:
    return any(d.call is function or _calls(d, function) for d in dependant.dependencies)


def error_responses(route: APIRoute, *, write: bool) -> dict[int | str, dict[str, Any]]:
    """The error answers `route` can give, by what it takes and what it depends on."""
    dependant = route.dependant
    has_body = route.body_field is not None or "requestBody" in (route.openapi_extra or {})
    statuses: set[int] = set()
    if route.body_field is not None:
        statuses.add(400)
    if has_body:
        statuses.add(413)
    if _calls(dependant, get_principal):
        statuses |= {401, 403, 422, 429}
    if dependant.path_params:
        statuses.add(404)
    if write:
        statuses |= {402, 409, 422}  # 402: a billing quota (docs/billing.md)
    if has_body or dependant.query_params or dependant.path_params or dependant.header_params:
        statuses.add(422)
    if _calls(dependant, get_services):
        statuses.add(503)
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(statuses):
        response = error(_DESCRIPTIONS[status])
        if status in (409, 429, 503):
            response["headers"] = RETRY_AFTER
        responses[status] = response
    return responses


def install(app: FastAPI, settings: Settings, *, write_routes: frozenset[tuple[str, str]] | None) -> None:
    """Complete the app's document when it is first generated. `write_routes`: the routes
    under Idempotency-Key (None: this runtime has no Idempotency-Key store)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate(), settings, write_routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(
    document: dict[str, Any], settings: Settings, write_routes: frozenset[tuple[str, str]] | None
) -> dict[str, Any]:
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    schemas = components.setdefault("schemas", {})
    error = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error.pop("$defs", {}))
    schemas["Error"] = error
    schemas["MetadataValue"] = METADATA_VALUE_SCHEMA
    optional = [] if settings.require_api_key else [{}]  # open mode: anonymous calls act on tenant `default`
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            names = {p["name"].lower() for p in parameters if p.get("in") == "header"}
            if names & CREDENTIAL_HEADERS:
                operation["security"] = [{"ApiKey": []}, {"Bearer": []}, *optional]
                parameters = [p for p in parameters if p["name"].lower() not in CREDENTIAL_HEADERS]
            for parameter in parameters:
                if parameter["name"].lower() == "x-continuum-tenant":
                    parameter["schema"] = ACTING_TENANT
                    parameter["description"] = "Admin key only: the tenant to act on (absent or empty: `default`)"
            if write_routes is not None and (method.upper(), path) in write_routes:
                parameters.append(IDEMPOTENCY_KEY)
            if parameters:
                operation["parameters"] = parameters
            else:
                operation.pop("parameters", None)
    modes = schemas.get("SearchMode")
    if modes is not None and not settings.enable_embeddings:
        modes["enum"] = [mode for mode in modes["enum"] if mode != "semantic"]
        modes["description"] = "`semantic` is served when CONTINUUM_ENABLE_EMBEDDINGS is on"
    return document
