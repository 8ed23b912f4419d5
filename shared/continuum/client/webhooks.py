"""Verifying a webhook delivery on the receiving side (docs/webhooks.md).

    from continuum.client.webhooks import verify_signature

    verify_signature(secret, request.headers["X-Continuum-Timestamp"], raw_body,
                     request.headers["X-Continuum-Signature"])  # raises if forged or stale

Standard library only: a receiver needs nothing else of the SDK."""

from __future__ import annotations

import hashlib
import hmac
import time


class InvalidSignature(ValueError):
    """The delivery is not signed with this secret, or its timestamp is out of tolerance."""


def expected_signature(secret: str, timestamp: str | int, body: bytes | str) -> str:
    """Hex HMAC-SHA256 of "{timestamp}.{body}" under the webhook's secret."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + raw, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes | str,
    signature: str,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> None:
    """Raise `InvalidSignature` unless `signature` signs `body` at `timestamp` with `secret`
    and the timestamp is within `tolerance` seconds of now (0: no age check), which stops replays."""
    try:
        moment = int(timestamp)
    except (TypeError, ValueError):
        raise InvalidSignature("X-Continuum-Timestamp is not a number of seconds") from None
    if not hmac.compare_digest(expected_signature(secret, moment, body), signature.strip()):
        raise InvalidSignature("the signature does not match this secret and body")
    if tolerance and abs((time.time() if now is None else now) - moment) > tolerance:
        raise InvalidSignature(f"the timestamp is more than {tolerance}s away from now")
