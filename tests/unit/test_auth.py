"""core/auth.py: credentials from headers, and who a credential makes the caller under an
`AuthConfig` (admin key, tenant API keys stored hashed, JWTs, open mode)."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from continuum.cache.memory import InProcessCache
from continuum.clock import ManualClock
from continuum.core.auth import (
    DEFAULT_TENANT,
    KEYS_SCOPE,
    TOUCH_EVERY,
    AuthConfig,
    Authenticator,
    Principal,
    credential_from_headers,
    generate_api_key,
    hash_api_key,
    normalize_scopes,
    require_admin,
    require_scope,
)
from continuum.core.caching import ResultCache
from continuum.errors import Forbidden, Unauthorized
from continuum.models import ApiKeyRecord

ADMIN = "admin-" + "a" * 24
SECRET = "s" * 32
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class KeyStore:
    """The storage calls the authenticator makes (lookup by hash, last-use stamp), counted."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKeyRecord] = {}
        self.lookups = 0
        self.touches: list[tuple[str, datetime]] = []
        self.touch_error: Exception | None = None

    def add(self, tenant_id: str, **fields: Any) -> str:
        key = generate_api_key()
        self.keys[hash_api_key(key)] = ApiKeyRecord(hash_api_key(key), tenant_id, None, key[:10], NOW, **fields)
        return key

    async def find_api_key(self, digest: str) -> ApiKeyRecord | None:
        self.lookups += 1
        return self.keys.get(digest)

    async def touch_api_key(self, tenant_id: str, digest: str, now: datetime, *, every: timedelta) -> None:
        if self.touch_error is not None:
            raise self.touch_error
        self.touches.append((tenant_id, now))


def authenticator(
    config: AuthConfig, store: KeyStore | None = None, *, cache: ResultCache | None = None, clock: Any = None
) -> Authenticator:
    cache = cache or ResultCache(InProcessCache(), None, ttl=60)
    return Authenticator(config, store or KeyStore(), cache, clock or ManualClock(NOW))  # type: ignore[arg-type]


KEYS = AuthConfig(require_api_key=True, admin_key=ADMIN)


def test_credential_from_headers():
    assert credential_from_headers(" k ", "Bearer other") == "k"
    assert credential_from_headers(None, "Bearer  tok ") == "tok"
    assert credential_from_headers(None, "Token ck_key") == "ck_key"  # mem0's client
    assert credential_from_headers(None, None) is None
    for bad in ("Basic abc", "Bearer "):
        with pytest.raises(Unauthorized):
            credential_from_headers(None, bad)


def test_config_repr_hides_secrets():
    text = repr(AuthConfig(require_api_key=True, admin_key=ADMIN, jwt_secret=SECRET))
    assert ADMIN not in text and SECRET not in text


async def test_open_mode_is_the_default_tenant_and_admin_only_without_an_admin_key():
    anonymous = await authenticator(AuthConfig(require_api_key=False)).authenticate(None)
    assert (anonymous.tenant_id, anonymous.is_admin, anonymous.method) == (DEFAULT_TENANT, True, "anonymous")
    guarded = await authenticator(AuthConfig(require_api_key=False, admin_key=ADMIN)).authenticate(None)
    assert not guarded.is_admin
    with pytest.raises(Forbidden):
        require_admin(guarded)
    with pytest.raises(Unauthorized, match="missing credentials"):
        await authenticator(AuthConfig(require_api_key=True)).authenticate(None)


async def test_admin_key_acts_on_any_valid_tenant():
    auth = authenticator(AuthConfig(require_api_key=True, admin_key=ADMIN))
    principal = await auth.authenticate(ADMIN, acting_tenant="acme")
    assert (principal.tenant_id, principal.is_admin, principal.method) == ("acme", True, "admin-key")
    assert (await auth.authenticate(ADMIN)).tenant_id == DEFAULT_TENANT
    with pytest.raises(Unauthorized, match="X-Continuum-Tenant"):
        await auth.authenticate(ADMIN, acting_tenant="../etc")
    with pytest.raises(Unauthorized):
        await authenticator(AuthConfig(require_api_key=True, admin_key="")).authenticate("")


async def test_tenant_keys_are_looked_up_by_hash_once_then_cached():
    store = KeyStore()
    key = store.add("acme")
    auth = authenticator(KEYS, store)
    for _ in range(3):
        principal = await auth.authenticate(key)
        assert (principal.tenant_id, principal.is_admin, principal.method) == ("acme", False, "api-key")
    assert store.lookups == 1
    with pytest.raises(Unauthorized, match="invalid API key"):
        await auth.authenticate(generate_api_key())
    with pytest.raises(Unauthorized):
        await auth.authenticate("not-a-continuum-key")


async def test_jwt_carries_the_tenant():
    auth = authenticator(AuthConfig(require_api_key=True, jwt_secret=SECRET))
    token = jwt.encode({"tenant_id": "acme", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    principal = await auth.authenticate(token)
    assert (principal.tenant_id, principal.is_admin, principal.method) == ("acme", False, "jwt")
    expired = jwt.encode({"tenant_id": "acme", "exp": int(time.time()) - 120}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="expired"):
        await auth.authenticate(expired)
    forged = jwt.encode({"tenant_id": "acme"}, "x" * 32, algorithm="HS256")
    with pytest.raises(Unauthorized, match="invalid token"):
        await auth.authenticate(forged)
    no_tenant = jwt.encode({"sub": "someone"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="tenant_id"):
        await auth.authenticate(no_tenant)


def test_auth_imports_neither_settings_nor_http_schemas():
    code = (
        "import sys, continuum.core.auth; "
        "print([m for m in ('continuum.settings', 'continuum.schemas') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_scopes_are_read_and_write_and_write_brings_read():
    assert normalize_scopes(["write"]) == ("read", "write")
    assert normalize_scopes(["read", "read"]) == ("read",)
    assert normalize_scopes(["admin", "delete"]) == ()
    reader = Principal("acme", is_admin=False, method="api-key", scopes=("read",))
    assert reader.allows("read") and not reader.allows("write") and not reader.allows("admin")
    writer = Principal("acme", is_admin=False, method="api-key")
    assert writer.allows("write") and not writer.allows("admin")
    assert Principal("acme", is_admin=True, method="admin-key", scopes=()).allows("admin")
    with pytest.raises(Forbidden, match="'write' scope; this key has: read"):
        require_scope(reader, "write")
    with pytest.raises(Forbidden, match="admin key"):
        require_scope(writer, "admin")
    require_scope(writer, "read")


async def test_a_key_carries_its_scopes_and_id():
    store = KeyStore()
    key = store.add("acme", key_id="K1", scopes=("read",))
    principal = await authenticator(KEYS, store).authenticate(key)
    assert (principal.tenant_id, principal.scopes, principal.key_id) == ("acme", ("read",), "K1")


async def test_an_expired_key_is_refused_even_from_the_cache():
    store, clock = KeyStore(), ManualClock(NOW)
    key = store.add("acme", expires_at=NOW + timedelta(seconds=10))
    auth = authenticator(KEYS, store, clock=clock)
    assert (await auth.authenticate(key)).tenant_id == "acme"
    clock.advance(seconds=10)
    with pytest.raises(Unauthorized, match="expired"):
        await auth.authenticate(key)
    assert store.lookups == 1  # the cached lookup, checked against the clock


async def test_a_revoked_key_is_refused_by_every_instance_sharing_the_cache():
    store, shared = KeyStore(), InProcessCache()  # the shared cache (Redis, Upstash) of two instances
    key = store.add("acme")
    instances = [ResultCache(InProcessCache(), shared, ttl=300) for _ in range(2)]
    first, second = (authenticator(KEYS, store, cache=cache) for cache in instances)
    for auth in (first, second):
        await auth.authenticate(key)  # both have the lookup in their own L1 now
    store.keys[hash_api_key(key)] = replace(store.keys[hash_api_key(key)], revoked_at=NOW)
    await instances[0].invalidate(KEYS_SCOPE)  # what AdminService.revoke_key does
    for auth in (first, second):
        with pytest.raises(Unauthorized, match="revoked"):
            await auth.authenticate(key)


async def test_last_use_is_written_at_most_once_a_minute_per_key_and_never_fails_a_request():
    store, clock = KeyStore(), ManualClock(NOW)
    key, other = store.add("acme"), store.add("acme")
    auth = authenticator(KEYS, store, clock=clock)
    for _ in range(5):
        await auth.authenticate(key)
        clock.advance(seconds=10)
    await auth.authenticate(other)
    assert store.touches == [("acme", NOW), ("acme", NOW + timedelta(seconds=50))]
    clock.advance(seconds=TOUCH_EVERY.total_seconds())
    store.touch_error = RuntimeError("database gone")
    assert (await auth.authenticate(key)).tenant_id == "acme"


async def test_a_jwt_scope_claim_narrows_the_token():
    auth = authenticator(AuthConfig(require_api_key=True, jwt_secret=SECRET))

    async def scopes(**claims: Any) -> tuple[str, ...]:
        token = jwt.encode({"tenant_id": "acme", **claims}, SECRET, algorithm="HS256")
        return (await auth.authenticate(token)).scopes

    assert await scopes() == ("read", "write")
    assert await scopes(scope="read") == ("read",)
    assert await scopes(scope="openid write") == ("read", "write")
    assert await scopes(scopes=["read"]) == ("read",)
    assert await scopes(scope="admin") == ()
