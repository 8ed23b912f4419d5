"""What one tenant should see, for the tenant-isolation property (tests/e2e/test_isolation_property.py).

A `TenantModel` holds what the server told one tenant (its memory ids, with content and
session where known, its message count, its Idempotency-Key records) and a `version`
that moves only with the tenant's own writes. `Observations` remembers each read at the
version it was made: the same read at the same version must answer the same, whatever
the other tenant did in between. `Markers` finds every tenant's marker tokens, tenant
ids and memory ids in a response, so a response can be checked for anyone else's data.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

import httpx

TAG_PREFIX = "zqx"  # every tenant's marker word starts with it; nothing else in the test does
TENANT_PREFIX = "isoprop-"
_TAG = re.compile(rf"{TAG_PREFIX}[a-z]{{7}}")
_TENANT = re.compile(rf"{TENANT_PREFIX}[0-9a-f]{{10}}")
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def new_tag() -> str:
    """A capitalised marker word (so the extractor makes it a concept): Zqx + 7 letters."""
    return TAG_PREFIX.capitalize() + "".join(secrets.choice(string.ascii_lowercase) for _ in range(7))


def new_tenant_id() -> str:
    return TENANT_PREFIX + secrets.token_hex(5)


@dataclass
class Memo:
    content: str | None  # None: stored by learn/turn, content not tracked
    session: str | None


@dataclass
class KeyedWrite:
    """A 2xx write made with an Idempotency-Key: what a retry must be answered with."""

    key: str
    path: str
    body: bytes
    status: int
    response: bytes


@dataclass
class TenantModel:
    label: str  # "A" or "B"
    tenant_id: str
    tag: str
    client: httpx.Client
    memories: dict[str, Memo] = field(default_factory=dict)
    messages: int = 0
    version: int = 0
    ever: set[str] = field(default_factory=set)  # every memory id this tenant ever held
    keyed: dict[str, KeyedWrite] = field(default_factory=dict)  # Idempotency-Key -> its first 2xx write
    last_keyed: KeyedWrite | None = None
    counter: int = 0

    @property
    def session(self) -> str:
        return f"s-{self.tag.lower()}"

    def next_number(self) -> int:
        self.counter += 1
        return self.counter

    def hold(self, memory_id: str, memo: Memo) -> None:
        self.memories[memory_id] = memo
        self.ever.add(memory_id)

    def changed(self) -> None:
        self.version += 1

    def reset(self, client: httpx.Client) -> None:
        """After the tenant was erased: no data, a new key; its Idempotency-Key records stay."""
        self.client = client
        self.memories.clear()
        self.messages = 0
        self.last_keyed = None
        self.changed()


class Markers:
    """Every tenant of the run, to find anyone else's tokens in one tenant's responses; the
    tenants' requests go through `call` and `write`, which check every answer."""

    def __init__(self) -> None:
        self.tenants: list[TenantModel] = []

    def add(self, tenant: TenantModel) -> None:
        self.tenants.append(tenant)

    def foreign_ids(self, tenant: TenantModel) -> set[str]:
        others = set().union(*(t.ever for t in self.tenants if t is not tenant))
        return others - tenant.ever

    def call(self, tenant: TenantModel, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One request of the tenant's: never a 5xx, never another tenant's token."""
        response = tenant.client.request(method, path, **kwargs)
        assert response.status_code < 500, f"{tenant.label} {what}: {response.status_code} {response.text[:300]}"
        self.assert_own(tenant, response, what)
        return response

    def write(self, tenant: TenantModel, path: str, payload: dict[str, Any], key: str | None) -> httpx.Response | None:
        """A write, with Idempotency-Key semantics checked; None when it was answered from
        the tenant's own earlier use of the key (a replay, or a refused reuse)."""
        body = json.dumps(payload).encode()
        headers = {"content-type": "application/json", **({"Idempotency-Key": key} if key else {})}
        response = self.call(tenant, "POST", path, f"POST {path}", content=body, headers=headers)
        first = tenant.keyed.get(key) if key else None
        if first is not None:
            if (first.path, first.body) == (path, body):
                assert response.headers.get("idempotent-replayed") == "true", response.text
                assert (response.status_code, response.content) == (first.status, first.response)
            else:
                assert response.status_code == 422, response.text
                assert response.json()["error"]["code"] == "idempotency_key_reused"
            return None
        # a key only the other tenant used is new here: processed, never their replay
        assert response.headers.get("idempotent-replayed") is None, response.text
        assert response.status_code in (200, 201), f"POST {path}: {response.status_code} {response.text[:300]}"
        if key:
            write = KeyedWrite(key, path, body, response.status_code, response.content)
            tenant.keyed[key] = tenant.last_keyed = write
        tenant.changed()
        return response

    def assert_own(self, tenant: TenantModel, response: httpx.Response, what: str) -> None:
        """No token of another tenant anywhere in the response (body and headers), but for
        what the request itself named (a 404 may echo the id it was asked for)."""
        text = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        asked = str(response.request.url) + "\n" + response.request.content.decode("utf-8", "replace")
        lowered, asked_lowered = text.lower(), asked.lower()
        tags = set(_TAG.findall(lowered)) - {tenant.tag.lower(), *_TAG.findall(asked_lowered)}
        tenants = set(_TENANT.findall(lowered)) - {tenant.tenant_id, *_TENANT.findall(asked_lowered)}
        ids = (set(_ULID.findall(text)) - set(_ULID.findall(asked))) & self.foreign_ids(tenant)
        leaks = {"marker words": sorted(tags), "tenant ids": sorted(tenants), "memory ids": sorted(ids)}
        assert not (tags or tenants or ids), f"{tenant.label} {what} reveals another tenant's data: {leaks}"
        if response.headers.get("content-type", "").startswith("application/json") and response.content:
            body = response.json()
            if isinstance(body, dict) and "tenant_id" in body:
                assert body["tenant_id"] == tenant.tenant_id, f"{tenant.label} {what}: {body['tenant_id']}"


class Observations:
    """Reads remembered by (tenant, read, version): a read repeated at the same version of
    its tenant must answer the same, so nothing another tenant does can move it."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], tuple[int, Any]] = {}

    def check(self, tenant: TenantModel, read: str, value: Any) -> None:
        key = (tenant.tenant_id, read)
        earlier = self.seen.get(key)
        if earlier is not None and earlier[0] == tenant.version:
            assert value == earlier[1], (
                f"{tenant.label}'s {read} changed without a write of its own:\n"
                f"before: {json.dumps(earlier[1])[:1500]}\nnow:    {json.dumps(value)[:1500]}"
            )
        self.seen[key] = (tenant.version, value)


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names}


def export_lines(response: httpx.Response) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert lines and lines[0]["type"] == "header", response.text[:300]
    return lines
