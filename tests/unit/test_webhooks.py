"""The pure parts of webhooks (continuum.core.webhooks): signing, the retry schedule, event
matching, the SSRF rule, the delivered body; and the SDK's verify helper against them."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from continuum.client.webhooks import InvalidSignature, expected_signature, verify_signature
from continuum.clock import ManualClock
from continuum.core.crypto import ContentCipher
from continuum.core.webhooks import (
    MAX_RETRY_DELAY,
    OutboxEvents,
    RetrySchedule,
    check_events,
    check_url,
    decode_events,
    delivery_body,
    delivery_headers,
    encode_events,
    ip_literal,
    new_secret,
    payload_json,
    receives,
    refused_address,
    sign,
)
from continuum.errors import InvalidInput
from continuum.ids import IdGenerator
from continuum.models import MemoryRecord

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":"evt_1"}'
    manual = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_k", 1700000000, body) == manual == expected_signature("whsec_k", "1700000000", body)
    headers = delivery_headers("whsec_k", 1700000000, body, event_type="memory.created", delivery_id="dlv_1")
    assert headers["X-Continuum-Signature"] == manual and headers["X-Continuum-Timestamp"] == "1700000000"
    assert headers["X-Continuum-Event"] == "memory.created" and headers["X-Continuum-Delivery"] == "dlv_1"
    assert new_secret().startswith("whsec_") and new_secret() != new_secret()


def test_the_sdk_verifies_and_refuses_forgeries_and_stale_timestamps() -> None:
    body, at = b'{"a":1}', 1700000000
    good = sign("s", at, body)
    verify_signature("s", str(at), body, good, now=at + 10)
    verify_signature("s", at, body.decode(), good, now=at + 10_000, tolerance=0)
    for secret, stamp, raw, sig, now in [
        ("other", at, body, good, at), ("s", at, b'{"a":2}', good, at), ("s", at + 1, body, good, at),
        ("s", at, body, good, at + 301), ("s", "soon", body, good, at),
    ]:  # fmt: skip
        with pytest.raises(InvalidSignature):
            verify_signature(secret, stamp, raw, sig, now=now)


def test_retries_back_off_exponentially_with_jitter_then_die() -> None:
    low, high = RetrySchedule(10, 5, rng=lambda: 0.0), RetrySchedule(10, 5, rng=lambda: 1.0)
    assert [low.delay(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert [high.delay(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert high.delay(30) == MAX_RETRY_DELAY
    assert high.next_attempt(4, NOW) == NOW + timedelta(seconds=80)
    assert high.next_attempt(5, NOW) is None  # the fifth attempt failed: dead


def test_events_are_checked_encoded_and_matched() -> None:
    assert check_events(None) == () and check_events(["memory.created", "memory.created"]) == ("memory.created",)
    with pytest.raises(InvalidInput, match=r"unknown event type 'memory\.read'"):
        check_events(["memory.read"])
    assert encode_events(()) == "*" and decode_events("*") == ()
    assert decode_events(encode_events(("memory.created", "tenant.erased"))) == ("memory.created", "tenant.erased")
    assert receives((), "tenant.erased") and receives(("memory.created",), "memory.created")
    assert not receives(("memory.created",), "memory.deleted")


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.8", "172.16.3.4", "192.168.1.1", "169.254.169.254", "::1", "fe80::1", "fc00::1",
     "100.64.0.1", "0.0.0.0", "::ffff:127.0.0.1", "224.0.0.1", "fe80::1%eth0"],
)  # fmt: skip
def test_private_loopback_and_link_local_targets_are_refused(address: str) -> None:
    assert refused_address(["93.184.216.34", address], allow_private=False) == address
    assert refused_address([address], allow_private=True) is None


def test_public_targets_pass_and_urls_are_checked() -> None:
    assert refused_address(["93.184.216.34", "2606:2800:220:1::1"], allow_private=False) is None
    assert check_url("https://hooks.example.com/x?y=1") == "hooks.example.com"
    assert ip_literal("10.0.0.1") == ["10.0.0.1"] and ip_literal("[::1]") == ["::1"] and ip_literal("a.b") is None
    for bad, why in [("ftp://x.com/", "http"), ("https:///path", "no host"), ("https://u:p@x.com/", "credentials")]:
        with pytest.raises(InvalidInput, match=why):
            check_url(bad)


def test_the_outbox_keeps_content_as_stored_and_delivery_decrypts_it() -> None:
    cipher = ContentCipher(b"k" * 32)
    sealed = cipher.encrypt("the plan")
    record = MemoryRecord(
        id="m1", tenant_id="t", content=sealed, content_hash="h", search_terms="", role="user", instance_id=None,
        session_id=None, metadata={"a": 1}, created_at=NOW, updated_at=NOW, expires_at=None,
    )  # fmt: skip
    event = OutboxEvents(IdGenerator(), ManualClock(NOW)).created("t", [record], NOW)[0]
    stored = payload_json(event)
    assert "the plan" not in stored and sealed in stored
    sent = json.loads(delivery_body(stored, cipher))
    assert sent == {**event.body(), "data": {"memory": {**event.data["memory"], "content": "the plan"}}}
    assert set(sent) == {"id", "type", "tenant_id", "created_at", "data"}
    gone = OutboxEvents(IdGenerator(), ManualClock(NOW)).erased("t", NOW)
    erased = json.loads(delivery_body(payload_json(gone), cipher))
    assert erased["type"] == "tenant.erased" and erased["data"] == {}
