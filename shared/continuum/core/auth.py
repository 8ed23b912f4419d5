"""Who is calling: the admin key, a tenant API key (stored hashed), or a JWT."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from continuum.core.caching import ResultCache
from continuum.errors import Forbidden, Unauthorized
from continuum.ids import is_valid_tenant_id
from continuum.ports import Storage

KEY_PREFIX = "ck_"
DEFAULT_TENANT = "default"
KEYS_SCOPE = "_keys"  # cache generation shared by every key lookup


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough; a slow KDF would only cost latency.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    is_admin: bool
    method: str  # "admin-key" | "api-key" | "jwt" | "anonymous"


def credential_from_headers(x_api_key: str | None, authorization: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization header must be 'Bearer <key or token>'")
        return token.strip()
    return None


@dataclass(frozen=True)
class AuthConfig:
    """Who may call: whether a credential is required, the admin key, the JWT secret."""

    require_api_key: bool
    admin_key: str | None = field(default=None, repr=False)
    jwt_secret: str | None = field(default=None, repr=False)


class Authenticator:
    def __init__(self, config: AuthConfig, storage: Storage, cache: ResultCache) -> None:
        self.config = config
        self.storage = storage
        self.cache = cache

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
            return Principal(self._tenant_from_jwt(credential), is_admin=False, method="jwt")
        tenant = await self._tenant_for_key(credential)
        if tenant is None:
            raise Unauthorized("invalid API key")
        return Principal(tenant, is_admin=False, method="api-key")

    async def _tenant_for_key(self, key: str) -> str | None:
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        digest = hash_api_key(key)
        cached = await self.cache.lookup(KEYS_SCOPE, "key", digest)
        if cached.value is not None:
            return cached.value or None
        record = await self.storage.find_api_key(digest)
        tenant = record.tenant_id if record is not None else None
        await self.cache.store(cached, tenant or "")
        return tenant

    def _tenant_from_jwt(self, token: str) -> str:
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
        return tenant


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this route needs the admin key (CONTINUUM_API_KEY)")
