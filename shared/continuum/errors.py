"""Errors the core raises; the HTTP layer maps each to its status and JSON body."""

from __future__ import annotations


class ContinuumError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class InvalidInput(ContinuumError):
    status = 422
    code = "invalid_input"


class Unauthorized(ContinuumError):
    status = 401
    code = "unauthorized"


class Forbidden(ContinuumError):
    status = 403
    code = "forbidden"


class NotFound(ContinuumError):
    status = 404
    code = "not_found"


class Conflict(ContinuumError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ContinuumError):
    status = 413
    code = "payload_too_large"


class RateLimited(ContinuumError):
    status = 429
    code = "rate_limited"


class DependencyUnavailable(ContinuumError):
    """A backing service (database) is down: callers should retry later."""

    status = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int | None = 5) -> None:
        super().__init__(message, retry_after=retry_after)


class SubscriptionLost(DependencyUnavailable):
    """A real-time subscription ended on the server's side (event bus down or closing, or
    the subscriber fell too far behind): the client should reconnect."""
class QuotaExceeded(ContinuumError):
    """A tenant at its tier's memory or storage quota: upgrade, or delete to go on writing."""

    status = 402
    code = "quota_exceeded"


class NotAvailable(ContinuumError):
    """A feature this deployment or runtime does not serve (its package or setting is missing)."""

    status = 501
    code = "not_available"


class InvalidSignature(ContinuumError):
    """A signed request (a Stripe webhook) whose signature is missing, stale or wrong."""

    status = 400
    code = "invalid_signature"
