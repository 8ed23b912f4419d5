"""Stripe's signature check by the stripe package (payments/stripe_webhook.py), with
deliveries signed as Stripe signs them (the package's own header generator)."""

from __future__ import annotations

import json
import sys
import time

import pytest
import stripe

from continuum.errors import InvalidInput, InvalidSignature, NotAvailable
from continuum.payments.stripe_webhook import verify_stripe_event

SECRET = "whsec_unit_test_secret"
EVENT = json.dumps({"id": "evt_1", "type": "customer.subscription.updated", "data": {"object": {}}})


def signed(payload: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def test_a_delivery_signed_with_the_secret_verifies() -> None:
    assert verify_stripe_event(EVENT.encode(), signed(EVENT), SECRET)["id"] == "evt_1"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        signed(EVENT, secret="whsec_someone_else"),
        signed(EVENT, timestamp=int(time.time()) - 3600),  # a replay an hour later
        signed(EVENT.replace("evt_1", "evt_2")),  # another body's signature
    ],
)
def test_bad_signatures_are_refused(header: str | None) -> None:
    with pytest.raises(InvalidSignature) as refused:
        verify_stripe_event(EVENT.encode(), header, SECRET)
    assert refused.value.status == 400 and SECRET not in refused.value.message


def test_a_signed_body_that_is_not_an_event_is_bad_input() -> None:
    for body in ("[1, 2]", '{"type": "x"}'):
        with pytest.raises(InvalidInput):
            verify_stripe_event(body.encode(), signed(body), SECRET)


def test_without_the_stripe_package_the_endpoint_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "stripe", None)  # as in the Lambda zip and the Worker bundle
    with pytest.raises(NotAvailable, match=r"continuum-memory\[billing\]"):
        verify_stripe_event(EVENT.encode(), "t=1,v1=00", SECRET)
