"""Every error leaves as JSON {"error": {"code", "message"}} (api/envelope.py) with the right status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from continuum.api.envelope import INTERNAL_ERROR, error_body
from continuum.errors import ContinuumError

log = logging.getLogger("continuum.api")

_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited", 503: "service_unavailable",
}  # fmt: skip


def error_response(
    status: int, code: str, message: str, *, retry_after: int | None = None,
    details: list[dict[str, Any]] | None = None, request: Request | None = None,
) -> JSONResponse:  # fmt: skip
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = error_body(code, message, details)
    if request is not None and "mem0" in getattr(request.scope.get("route"), "tags", ()):
        body["detail"] = message  # where mem0's client reads an error (api/routers/mem0.py)
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        source, parts = parts[0], parts[1:]
        if source != "body":
            return f"{source}.{'.'.join(parts)}" if parts else source
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (first.get("ctx") or {}).get("error", "malformed JSON")
        return error_response(400, "invalid_json", f"request body is not valid JSON: {reason}", request=request)
    if any(e.get("loc") == ("body",) and e.get("type") in {"model_attributes_type", "dict_type"} for e in errors):
        return error_response(
            422, "invalid_input", "body: must be a JSON object (send Content-Type: application/json)", request=request
        )
    details = []
    for error in errors[:20]:
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        details.append({"field": _field(tuple(error.get("loc", ()))), "message": message})
    first = details[0] if details else {"field": "body", "message": "invalid input"}
    return error_response(
        422, "invalid_input", f"{first['field']}: {first['message']}", details=details, request=request
    )


def _domain(request: Request, exc: ContinuumError) -> JSONResponse:
    if exc.status >= 500:
        log.warning("dependency error", extra={"error": exc.message, "code": exc.code})
    return error_response(exc.status, exc.code, exc.message, retry_after=exc.retry_after, request=request)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        # FastAPI's JSON parse of the body ran out of stack (api/middleware.py refuses
        # such bodies first; this names the problem should one get past it).
        code, message = "invalid_json", "request body is not valid JSON: nested too deeply"
    response = error_response(exc.status_code, code, message, request=request)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Only what escapes api/middleware.py's RequestMiddleware (which answers and logs
    the route's unhandled errors itself) reaches here; `exc_info=exc` because this
    handler runs outside the `except` block that caught it."""
    log.error("unhandled error", exc_info=exc, extra={"method": request.method, "path": request.url.path})
    return error_response(500, "internal_error", INTERNAL_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(ContinuumError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
