"""The SDK's exceptions: one per kind of failure, each carrying what the server said.

The server answers every error as `{"error": {"code", "message", "details"?}}` with an
`X-Request-ID` header (api/envelope.py); these classes carry those fields so a caller can
branch on `code` and quote `request_id` in a support request.
"""

from __future__ import annotations

import builtins
import json
from typing import Any


class ContinuumError(Exception):
    """A request that did not succeed. `status` is 0 when no HTTP answer arrived."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details = details or []
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class AuthenticationError(ContinuumError):
    """401 (no, wrong, expired or revoked credential) or 403 (the key may not do this)."""


class NotFoundError(ContinuumError):
    """404: no such memory, concept, key or route in this tenant."""


class InvalidRequestError(ContinuumError):
    """400 or 422: the request broke a rule; `details` names each field and its problem."""


class ConflictError(ContinuumError):
    """409: e.g. another memory in the same scope already holds the new content."""


class RateLimitError(ContinuumError):
    """429: still rate limited after the retries; `retry_after` says how long to wait."""


class ServerError(ContinuumError):
    """5xx: the server or one of its dependencies failed (503s are retried first)."""


class ConnectionError(ContinuumError, builtins.ConnectionError):
    """No HTTP answer: the server could not be reached, or the connection broke or timed out."""


_BY_STATUS: dict[int, type[ContinuumError]] = {
    400: InvalidRequestError, 401: AuthenticationError, 403: AuthenticationError, 404: NotFoundError,
    409: ConflictError, 422: InvalidRequestError, 429: RateLimitError,
}  # fmt: skip


def error_class(status: int) -> type[ContinuumError]:
    return _BY_STATUS.get(status, ServerError if status >= 500 else ContinuumError)


def envelope(body: bytes) -> dict[str, Any] | None:
    """The `error` object of an answer, if it has the server's envelope."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


def error_from_response(
    status: int, body: bytes, request_id: str | None, retry_after: float | None = None
) -> ContinuumError:
    found = envelope(body)
    if found is not None:
        code = str(found.get("code") or f"http_{status}")
        message = str(found.get("message") or "")
        details = found.get("details") if isinstance(found.get("details"), list) else None
    else:  # not CONTINUUM's answer (a proxy, a gateway): show the start of what came back
        code = f"http_{status}"
        message = body[:200].decode("utf-8", "replace").strip() or "no error body"
    return error_class(status)(status, code, message, request_id, details=details if found else None,
                               retry_after=retry_after)  # fmt: skip
