"""core/auth.py: credentials from headers, and who a credential makes the caller under an
`AuthConfig` (admin key, tenant API keys stored hashed, JWTs, open mode)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import jwt
import pytest

from continuum.cache.memory import InProcessCache
from continuum.core.auth import (
    DEFAULT_TENANT,
    AuthConfig,
    Authenticator,
    credential_from_headers,
    generate_api_key,
    hash_api_key,
    require_admin,
)
from continuum.core.caching import ResultCache
from continuum.errors import Forbidden, Unauthorized
from continuum.models import ApiKeyRecord

ADMIN = "admin-" + "a" * 24
SECRET = "s" * 32
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class KeyStore:
    """The one storage call the authenticator makes, counted."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.lookups = 0

    async def find_api_key(self, digest: str) -> ApiKeyRecord | None:
        self.lookups += 1
        tenant = self.keys.get(digest)
        return None if tenant is None else ApiKeyRecord(digest, tenant, None, "ck_", NOW)


def authenticator(config: AuthConfig, store: KeyStore | None = None) -> Authenticator:
    return Authenticator(config, store or KeyStore(), ResultCache(InProcessCache(), None, ttl=60))  # type: ignore[arg-type]


def test_credential_from_headers():
    assert credential_from_headers(" k ", "Bearer other") == "k"
    assert credential_from_headers(None, "Bearer  tok ") == "tok"
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
    key = generate_api_key()
    store.keys[hash_api_key(key)] = "acme"
    auth = authenticator(AuthConfig(require_api_key=True, admin_key=ADMIN), store)
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
