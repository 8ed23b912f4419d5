"""Stripe webhook deliveries: the signature checked by the `stripe` package itself
(`WebhookSignature.verify_header`: HMAC-SHA256 of "t.payload" with the endpoint's secret,
the timestamp within the tolerance), then the event as plain JSON.

The package comes with the `billing` extra; the Lambda zip and the Worker bundle leave it
out, and there the endpoint answers 501 naming what is missing.
"""

from __future__ import annotations

import json
from typing import Any

from continuum.errors import InvalidInput, InvalidSignature, NotAvailable

TOLERANCE_SECONDS = 300  # Stripe's own default: a delivery older than this is refused

MISSING = (
    "Stripe webhooks need the stripe package (pip install 'continuum-memory[billing]'), which this "
    "runtime does not ship (the Lambda zip and the Worker bundle leave it out): point the Stripe "
    "endpoint at a server or container deployment of the same database"
)


def verify_stripe_event(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The verified event; InvalidSignature (400) when the signature does not hold."""
    try:
        import stripe
    except ImportError:
        raise NotAvailable(MISSING) from None
    if not signature:
        raise InvalidSignature("Stripe-Signature header is missing")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature("webhook body is not UTF-8 text") from None
    try:
        stripe.WebhookSignature.verify_header(text, signature, secret, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        raise InvalidSignature(
            f"Stripe-Signature does not verify with STRIPE_WEBHOOK_SECRET (or is older than {TOLERANCE_SECONDS} s)"
        ) from None
    try:
        event = json.loads(text)
    except ValueError:
        raise InvalidInput("webhook body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise InvalidInput("webhook body is not a Stripe event (no id or type)")
    return event
