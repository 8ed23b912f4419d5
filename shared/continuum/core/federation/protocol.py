"""The node-to-node protocol, pure: what a signature covers, the headers that carry it, and
the only payloads nodes exchange (concept names, types and link strengths; anything else
in a payload is refused, so nothing else can be sent or accepted by mistake).

A signature covers: a version tag, the method (or `RESPONSE <status>` for an answer), the
path, the signing time (whole seconds), a random nonce (an answer repeats its request's,
binding the two), the SHA-256 of the body and the signer's public key."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, NamedTuple

from continuum.errors import InvalidInput, Unauthorized
from continuum.models import FederatedConcept, FederatedLink

VERSION = "continuum-federation/v1"
NODE_HEADER = "x-continuum-node"
TIME_HEADER = "x-continuum-timestamp"
NONCE_HEADER = "x-continuum-nonce"
SIGNATURE_HEADER = "x-continuum-signature"

MAX_CONCEPTS = 1000  # per request
MAX_LINKS = 2000
MAX_NAME = 200
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
NONCE_PATTERN = re.compile(r"^[0-9a-f]{32}$")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, base64url without padding
STRENGTH_DIGITS = 3  # strengths travel rounded: a fine-grained value could single out a tenant's graph


class Signed(NamedTuple):
    """The signature headers of one request or answer."""

    public_key: str
    timestamp: int
    nonce: str
    signature: str

    def headers(self) -> dict[str, str]:
        return {
            NODE_HEADER: self.public_key,
            TIME_HEADER: str(self.timestamp),
            NONCE_HEADER: self.nonce,
            SIGNATURE_HEADER: self.signature,
        }


def node_id(public_key: str) -> str:
    """A peer's id: the first 16 hex digits of the SHA-256 of its public key."""
    return hashlib.sha256(public_key.encode("ascii")).hexdigest()[:16]


def signing_input(method: str, path: str, timestamp: int, nonce: str, body: bytes, public_key: str) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((VERSION, method.upper(), path, str(timestamp), nonce, digest, public_key)).encode("utf-8")


def response_method(status: int) -> str:
    return f"RESPONSE {status}"


def read_signed(headers: Mapping[str, str]) -> Signed:
    """The signature headers of a request (names case-insensitive); 401 naming what is wrong."""
    lowered = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in (NODE_HEADER, TIME_HEADER, NONCE_HEADER, SIGNATURE_HEADER) if not lowered.get(h)]
    if missing:
        raise Unauthorized(f"unsigned federation request: missing {', '.join(missing)}")
    raw_time = lowered[TIME_HEADER]
    if not raw_time.isdigit() or len(raw_time) > 12:
        raise Unauthorized(f"{TIME_HEADER} must be whole seconds since 1970")
    return Signed(lowered[NODE_HEADER], int(raw_time), lowered[NONCE_HEADER], lowered[SIGNATURE_HEADER])


# ---- payloads ------------------------------------------------------------------------------


def clean_name(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: must be a string")
    name = unicodedata.normalize("NFC", value).strip().casefold()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"{field}: must be 1 to {MAX_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput(f"{field}: must not contain control characters")
    return name


def _strict(item: Any, keys: set[str], field: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{field}: must be an object")
    extra = set(item) - keys
    if extra:
        raise InvalidInput(f"{field}: unexpected field {sorted(extra)[0]!r} (only {', '.join(sorted(keys))})")
    absent = keys - set(item)
    if absent:
        raise InvalidInput(f"{field}: missing {sorted(absent)[0]!r}")
    return item


def concept_out(concept: FederatedConcept) -> dict[str, str]:
    return {"name": concept.name, "type": concept.entity_type}


def link_out(link: FederatedLink) -> dict[str, Any]:
    return {"a": link.concept_a, "b": link.concept_b, "strength": round(link.strength, STRENGTH_DIGITS)}


def concepts_payload(concepts: list[FederatedConcept], links: list[FederatedLink]) -> dict[str, Any]:
    """What a node sends: concepts, and the links between them (no other link travels)."""
    names = {c.name for c in concepts}
    kept = [lk for lk in links if lk.concept_a in names and lk.concept_b in names]
    return {"concepts": [concept_out(c) for c in concepts], "links": [link_out(lk) for lk in kept]}


def parse_concepts_payload(payload: Any) -> tuple[list[FederatedConcept], list[FederatedLink]]:
    """A received payload, checked field by field (422 naming the first problem)."""
    body = _strict(payload, {"concepts", "links"}, "body")
    raw_concepts, raw_links = body["concepts"], body["links"]
    if not isinstance(raw_concepts, list) or len(raw_concepts) > MAX_CONCEPTS:
        raise InvalidInput(f"concepts: must be a list of at most {MAX_CONCEPTS}")
    if not isinstance(raw_links, list) or len(raw_links) > MAX_LINKS:
        raise InvalidInput(f"links: must be a list of at most {MAX_LINKS}")
    concepts: dict[tuple[str, str], FederatedConcept] = {}
    for i, item in enumerate(raw_concepts):
        entry = _strict(item, {"name", "type"}, f"concepts[{i}]")
        kind = entry["type"]
        if not isinstance(kind, str) or not TYPE_PATTERN.match(kind):
            raise InvalidInput(f"concepts[{i}].type: must match {TYPE_PATTERN.pattern}")
        concept = FederatedConcept(clean_name(entry["name"], f"concepts[{i}].name"), kind)
        concepts[(concept.name, kind)] = concept
    names = {c.name for c in concepts.values()}
    links: dict[tuple[str, str], FederatedLink] = {}
    for i, item in enumerate(raw_links):
        entry = _strict(item, {"a", "b", "strength"}, f"links[{i}]")
        a, b = clean_name(entry["a"], f"links[{i}].a"), clean_name(entry["b"], f"links[{i}].b")
        strength = entry["strength"]
        if isinstance(strength, bool) or not isinstance(strength, int | float) or not 0.0 <= strength <= 1.0:
            raise InvalidInput(f"links[{i}].strength: must be a number from 0 to 1")
        if a == b or a not in names or b not in names:
            raise InvalidInput(f"links[{i}]: must join two different concepts of the same payload")
        a, b = min(a, b), max(a, b)
        links[(a, b)] = FederatedLink(a, b, round(float(strength), STRENGTH_DIGITS))
    return list(concepts.values()), list(links.values())


def parse_pull(payload: Any) -> int:
    body = _strict(payload, {"limit"}, "body")
    limit = body["limit"]
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CONCEPTS:
        raise InvalidInput(f"limit: must be an integer from 1 to {MAX_CONCEPTS}")
    return limit
