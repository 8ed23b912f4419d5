"""Webhooks, the pure parts: signing a delivery, the retry schedule, which webhooks an
event goes to, which targets are refused (SSRF), and the events a write records in the
outbox (with content as stored). No I/O: the service (`webhook_service.py`) and the
sender adapter do that."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from continuum.clock import Clock
from continuum.core.crypto import ContentCipher
from continuum.core.events import EventFactory
from continuum.errors import InvalidInput
from continuum.ids import IdGenerator
from continuum.models import EVENT_TYPES, Event

SIGNATURE_HEADER = "X-Continuum-Signature"
TIMESTAMP_HEADER = "X-Continuum-Timestamp"
EVENT_HEADER = "X-Continuum-Event"
DELIVERY_HEADER = "X-Continuum-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MAX_RETRY_DELAY = timedelta(hours=6)
ERROR_TEXT_LIMIT = 300  # what a delivery keeps of a failure's description


# ---- signing --------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature of a delivery: hex HMAC-SHA256 over "{timestamp}.{body}"."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def delivery_headers(secret: str, timestamp: int, body: bytes, *, event_type: str, delivery_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "continuum-webhooks/1",
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: delivery_id,
    }


def delivery_body(payload: str, cipher: ContentCipher) -> bytes:
    """The bytes sent: the outbox's JSON with a memory's content decrypted (the outbox
    keeps it as stored)."""
    event: dict[str, Any] = json.loads(payload)
    memory = event.get("data", {}).get("memory")
    if isinstance(memory, dict) and isinstance(memory.get("content"), str):
        memory["content"] = cipher.decrypt(memory["content"])
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---- retry schedule -------------------------------------------------------------------


class RetrySchedule:
    """Exponential back-off with jitter: attempt n (1-based) failing waits about
    base * 2^(n-1), drawn from [half, full] of it, capped; after `max_attempts` the
    delivery is dead."""

    def __init__(self, base_seconds: float, max_attempts: int, *, rng: Callable[[], float] = random.random) -> None:
        self.base = base_seconds
        self.max_attempts = max_attempts
        self.rng = rng

    def delay(self, attempts: int) -> timedelta:
        full = min(self.base * 2 ** (attempts - 1), MAX_RETRY_DELAY.total_seconds())
        return timedelta(seconds=full * (0.5 + 0.5 * self.rng()))

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """After `attempts` failed attempts: when to try again, or None (dead)."""
        if attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts)


# ---- events a webhook receives ----------------------------------------------------------


def check_events(events: Iterable[str] | None) -> tuple[str, ...]:
    """The subscribed types, validated (none given: all)."""
    if events is None:
        return ()
    chosen = tuple(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"events: unknown event type {unknown[0]!r} (one of {', '.join(EVENT_TYPES)})")
    return chosen


def encode_events(events: Sequence[str]) -> str:
    """As stored: "*" for all, else ",a,b," (one LIKE '%,type,%' matches in every dialect)."""
    return "*" if not events else "," + ",".join(events) + ","


def decode_events(text: str) -> tuple[str, ...]:
    return () if text == "*" else tuple(e for e in text.split(",") if e)


def receives(events: Sequence[str], event_type: str) -> bool:
    return not events or event_type in events


# ---- targets (SSRF) --------------------------------------------------------------------


def check_url(url: str) -> str:
    """A webhook URL's host, or a 4xx naming the problem."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url: must start with http:// or https://")
    if not parts.hostname:
        raise InvalidInput("url: has no host")
    if parts.username or parts.password:
        raise InvalidInput("url: must not carry credentials")
    if len(url) > 2048:
        raise InvalidInput("url: longer than 2048 characters")
    return parts.hostname


def ip_literal(host: str) -> list[str] | None:
    """[host] when the host is an IP address itself (no lookup needed), else None."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return [host.strip("[]")]


def refused_address(addresses: Iterable[str], *, allow_private: bool) -> str | None:
    """The first address a delivery must not reach (private, loopback, link-local,
    multicast, reserved), unless private targets are allowed; None when all are public."""
    if allow_private:
        return None
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            return text
    return None


def refusal_message(host: str, address: str) -> str:
    return (
        f"url: {host} resolves to {address}, a private, loopback or link-local address; "
        "set CONTINUUM_WEBHOOK_ALLOW_PRIVATE=true to allow such targets"
    )


# ---- the events a write records in the outbox -----------------------------------------


class _AsStored(ContentCipher):
    """Leaves content as stored: the outbox keeps ciphertext when encryption is on."""

    def __init__(self) -> None:
        super().__init__(None)

    def decrypt(self, stored: str) -> str:
        return stored


class OutboxEvents(EventFactory):
    """The events a write records in the webhook outbox, in its own transaction (the
    `ports.OutboxEventSource` the storage is given): the same shapes as every channel's,
    with a memory's content as stored (ciphertext when encryption is on), decrypted at delivery."""

    def __init__(self, ids: IdGenerator, clock: Clock) -> None:
        super().__init__(ids, _AsStored())
        self.clock = clock


def payload_json(event: Event) -> str:
    return json.dumps(event.body(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def short_error(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_LIMIT else text[: ERROR_TEXT_LIMIT - 1] + "…"
