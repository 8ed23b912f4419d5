"""Who is calling: the admin key, a tenant API key (stored hashed), or a JWT; and what the
caller may do (scopes: `read`, `write`; `admin` is the admin key's alone).

A key lookup is cached under the `_keys` generation, which every key change (create,
revoke, tenant erasure) bumps, so a revoked key is refused by every instance that shares
the cache on its next request; expiry is checked against the clock on every request, so
an expired key is refused at once, cached or not.
"""

# No `from __future__ import annotations` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef), which doubles what defining it costs on every cold start.

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from continuum.clock import Clock, SystemClock, from_iso, to_iso
from continuum.core.caching import ResultCache
from continuum.errors import Forbidden, Unauthorized
from continuum.ids import is_valid_tenant_id
from continuum.models import KEY_SCOPES, ApiKeyRecord
from continuum.ports import Storage

log = logging.getLogger("continuum.auth")

KEY_PREFIX = "ck_"
DEFAULT_TENANT = "default"
KEYS_SCOPE = "_keys"  # cache generation shared by every key lookup
READ, WRITE, ADMIN = "read", "write", "admin"
TOUCH_EVERY = timedelta(minutes=1)  # a key's last-used time is written at most this often
_TOUCHED_MAX = 10_000  # keys whose last touch this instance remembers


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough; a slow KDF would only cost latency.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def normalize_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Known scopes in canonical order, `write` bringing `read` along."""
    wanted = set(scopes)
    if WRITE in wanted:
        wanted.add(READ)
    return tuple(scope for scope in KEY_SCOPES if scope in wanted)


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and several times
# cheaper to define, which every Lambda cold start pays for.
class Principal(NamedTuple):
    tenant_id: str
    is_admin: bool
    method: str  # "admin-key" | "api-key" | "jwt" | "anonymous"
    scopes: tuple[str, ...] = KEY_SCOPES
    key_id: str | None = None  # the API key's public id

    def allows(self, scope: str) -> bool:
        if self.is_admin:
            return True
        return scope != ADMIN and scope in self.scopes


def credential_from_headers(x_api_key: str | None, authorization: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        # "Token <key>" is how mem0's client sends a key (the mem0-compatible routes)
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            raise Unauthorized("Authorization header must be 'Bearer <key or token>' or 'Token <key>'")
        return token.strip()
    return None


class AuthConfig(NamedTuple):
    """Who may call: whether a credential is required, the admin key, the JWT secret."""

    require_api_key: bool
    admin_key: str | None = None
    jwt_secret: str | None = None

    def __repr__(self) -> str:  # never the secrets
        return f"AuthConfig(require_api_key={self.require_api_key!r})"


class Authenticator:
    def __init__(self, config: AuthConfig, storage: Storage, cache: ResultCache, clock: Clock | None = None) -> None:
        self.config = config
        self.storage = storage
        self.cache = cache
        self.clock = clock or SystemClock()
        self._touched: dict[str, datetime] = {}  # key hash -> when this instance last stamped it

    def _is_admin_key(self, credential: str) -> bool:
        admin = self.config.admin_key
        if not admin:
            return False
        return hmac.compare_digest(credential.encode(), admin.encode())

    async def authenticate(self, credential: str | None, *, acting_tenant: str | None = None) -> Principal:
        if credential is None:
            if self.config.require_api_key:
                raise Unauthorized("missing credentials: send X-API-Key or Authorization: Bearer")
            # Open mode: the default tenant; admin routes stay open only if no admin key exists.
            return Principal(DEFAULT_TENANT, is_admin=self.config.admin_key is None, method="anonymous")
        if self._is_admin_key(credential):
            tenant = acting_tenant or DEFAULT_TENANT
            if not is_valid_tenant_id(tenant):
                raise Unauthorized("X-Continuum-Tenant is not a valid tenant id")
            return Principal(tenant, is_admin=True, method="admin-key")
        if credential.count(".") == 2 and self.config.jwt_secret:
            return self._principal_from_jwt(credential)
        return await self._principal_for_key(credential)

    async def _principal_for_key(self, key: str) -> Principal:
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            raise Unauthorized("invalid API key")
        digest = hash_api_key(key)
        found = await self._key_facts(digest)
        if found is None:
            raise Unauthorized("invalid API key")
        now = self.clock.now()
        if found["revoked"]:
            raise Unauthorized("API key revoked")
        if found["expires_at"] is not None and now >= from_iso(found["expires_at"]):
            raise Unauthorized("API key expired")
        await self._touch(found["tenant_id"], digest, now)
        return Principal(
            found["tenant_id"], is_admin=False, method="api-key",
            scopes=normalize_scopes(found["scopes"]), key_id=found["key_id"],
        )  # fmt: skip

    async def _key_facts(self, digest: str) -> dict[str, Any] | None:
        """What authentication needs to know of a key, from the cache or the database."""
        cached = await self.cache.lookup(KEYS_SCOPE, "apikey", digest)
        if isinstance(cached.value, dict):
            return cached.value.get("key")
        record = await self.storage.find_api_key(digest)
        facts = None if record is None else _facts(record)
        await self.cache.store(cached, {"key": facts})  # under the generation read before the database
        return facts

    async def _touch(self, tenant_id: str, digest: str, now: datetime) -> None:
        """Record the key's use at most once per TOUCH_EVERY per instance (and the statement
        writes the row only when its stamp is older than that): one small write per key per
        minute, never one per request. A failure never fails the request."""
        last = self._touched.get(digest)
        if last is not None and now - last < TOUCH_EVERY:
            return
        if len(self._touched) >= _TOUCHED_MAX:
            self._touched.clear()
        self._touched[digest] = now
        try:
            await self.storage.touch_api_key(tenant_id, digest, now, every=TOUCH_EVERY)
        except Exception as exc:  # last-used is advisory: the request goes on
            log.warning("could not record an API key's last use", extra={"error": exc.__class__.__name__})

    def _principal_from_jwt(self, token: str) -> Principal:
        import jwt  # PyJWT; imported here so key-only deployments never load it

        try:
            claims = jwt.decode(
                token,
                self.config.jwt_secret,
                algorithms=["HS256"],
                options={"require": [], "verify_aud": False},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None
        tenant = claims.get("tenant_id") or claims.get("tenant")
        if not isinstance(tenant, str) or not is_valid_tenant_id(tenant):
            raise Unauthorized("token has no valid tenant_id claim")
        return Principal(tenant, is_admin=False, method="jwt", scopes=_jwt_scopes(claims))


def _facts(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "tenant_id": record.tenant_id,
        "key_id": record.key_id,
        "scopes": list(record.scopes),
        "expires_at": None if record.expires_at is None else to_iso(record.expires_at),
        "revoked": record.revoked_at is not None,
    }


def _jwt_scopes(claims: dict[str, Any]) -> tuple[str, ...]:
    """A `scope` claim (space-separated, as OAuth 2 spells it) or a `scopes` list narrows a
    token; without either a token may read and write, as before scopes existed."""
    claim = claims.get("scope", claims.get("scopes"))
    if claim is None:
        return KEY_SCOPES
    values = claim.split() if isinstance(claim, str) else claim if isinstance(claim, list) else []
    return normalize_scopes(v for v in values if isinstance(v, str))


def require_scope(principal: Principal, scope: str) -> None:
    if principal.allows(scope):
        return
    if scope == ADMIN:
        require_admin(principal)
    held = ", ".join(principal.scopes) or "none"
    raise Forbidden(f"this route needs a key with the '{scope}' scope; this key has: {held}")


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this route needs the admin key (CONTINUUM_API_KEY)")
