"""`Settings`: every setting of the specification, one field per variable, and its groups.

The flat fields are the registry of variables (name, parser, secrecy); adapters and the
core never take the whole object: the composition root hands each the group it needs
(`settings.postgres`, `settings.cache`, ...; see `groups.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from continuum.settings.groups import GroupsMixin
from continuum.settings.parsing import (
    EMBEDDING_PROVIDERS,
    ENVIRONMENTS,
    LOG_LEVELS,
    SECRETS_SOURCES,
    STORAGE_BACKENDS,
    SettingsError,
    _meta,
    _parse_bool,
    _parse_choice,
    _parse_float,
    _parse_int,
    _parse_list,
    _parse_optional,
    _parse_text,
    _parse_url,
)


@dataclass(frozen=True)
class Settings(GroupsMixin):
    """Every setting of the specification; field metadata names its variable."""

    env: str = field(default="development", metadata=_meta("CONTINUUM_ENV", _parse_choice(ENVIRONMENTS)))
    db_path: str = field(default="./data/memory.db", metadata=_meta("CONTINUUM_DB_PATH", _parse_text))
    storage: str = field(default="auto", metadata=_meta("CONTINUUM_STORAGE", _parse_choice(STORAGE_BACKENDS)))
    postgres_url: str | None = field(
        default=None,
        metadata=_meta("POSTGRES_URL", _parse_url(("postgres", "postgresql")), secret=True),
    )
    postgres_pool_size: int = field(default=5, metadata=_meta("POSTGRES_POOL_SIZE", _parse_int(1, 1000)))
    postgres_max_overflow: int = field(default=10, metadata=_meta("POSTGRES_MAX_OVERFLOW", _parse_int(0, 1000)))
    # Streaming replicas for reads (comma-separated URLs); see docs/storage.md "Read replicas".
    postgres_read_urls: tuple[str, ...] = field(
        default=(), metadata=_meta("POSTGRES_READ_URLS", _parse_list, secret=True)
    )
    postgres_read_max_lag: float = field(
        default=10.0, metadata=_meta("POSTGRES_READ_MAX_LAG", _parse_float(0.1, 3600.0))
    )
    postgres_read_check_interval: float = field(
        default=0.1, metadata=_meta("POSTGRES_READ_CHECK_INTERVAL", _parse_float(0.01, 60.0))
    )
    redis_url: str | None = field(
        default=None, metadata=_meta("REDIS_URL", _parse_url(("redis", "rediss", "unix")), secret=True)
    )
    upstash_redis_rest_url: str | None = field(
        default=None, metadata=_meta("UPSTASH_REDIS_REST_URL", _parse_url(("http", "https")))
    )
    upstash_redis_rest_token: str | None = field(
        default=None, metadata=_meta("UPSTASH_REDIS_REST_TOKEN", _parse_optional, secret=True)
    )
    cache_enabled: bool = field(default=True, metadata=_meta("CONTINUUM_CACHE_ENABLED", _parse_bool))
    cache_ttl: int = field(default=300, metadata=_meta("CONTINUUM_CACHE_TTL", _parse_int(1, 86_400 * 30)))
    # Key prefix in the shared cache, so deployments (or test servers) can share one Redis.
    cache_prefix: str = field(default="continuum:", metadata=_meta("CONTINUUM_CACHE_PREFIX", _parse_text))
    api_port: int = field(default=8420, metadata=_meta("CONTINUUM_API_PORT", _parse_int(1, 65_535)))
    cors_origins: tuple[str, ...] = field(default=(), metadata=_meta("CONTINUUM_CORS_ORIGINS", _parse_list))
    # Host header values /mcp answers besides localhost's (DNS-rebinding protection):
    # "host", "host:port" or "host:*"; "*" turns the check off.
    mcp_allowed_hosts: tuple[str, ...] = field(default=(), metadata=_meta("CONTINUUM_MCP_ALLOWED_HOSTS", _parse_list))
    max_body_bytes: int = field(
        default=1_048_576, metadata=_meta("CONTINUUM_MAX_BODY_BYTES", _parse_int(1024, 1 << 30))
    )
    require_api_key: bool = field(default=False, metadata=_meta("CONTINUUM_REQUIRE_API_KEY", _parse_bool))
    api_key: str | None = field(default=None, metadata=_meta("CONTINUUM_API_KEY", _parse_optional, secret=True))
    encryption_key: str | None = field(
        default=None, metadata=_meta("CONTINUUM_ENCRYPTION_KEY", _parse_optional, secret=True)
    )
    jwt_secret: str | None = field(default=None, metadata=_meta("CONTINUUM_JWT_SECRET", _parse_optional, secret=True))
    rate_limit_per_minute: int = field(
        default=0, metadata=_meta("CONTINUUM_RATE_LIMIT_PER_MINUTE", _parse_int(0, 10_000_000))
    )
    enable_embeddings: bool = field(default=False, metadata=_meta("CONTINUUM_ENABLE_EMBEDDINGS", _parse_bool))
    embedding_provider: str = field(
        default="none", metadata=_meta("CONTINUUM_EMBEDDING_PROVIDER", _parse_choice(EMBEDDING_PROVIDERS))
    )
    embedding_model: str | None = field(default=None, metadata=_meta("CONTINUUM_EMBEDDING_MODEL", _parse_optional))
    embedding_url: str | None = field(
        default=None, metadata=_meta("CONTINUUM_EMBEDDING_URL", _parse_url(("http", "https")))
    )
    embedding_api_key: str | None = field(
        default=None, metadata=_meta("CONTINUUM_EMBEDDING_API_KEY", _parse_optional, secret=True)
    )
    embedding_write: str = field(
        default="auto",
        metadata=_meta("CONTINUUM_EMBEDDING_WRITE", _parse_choice(("auto", "background", "inline"))),
    )
    vector_scan_limit: int = field(
        default=20_000, metadata=_meta("CONTINUUM_VECTOR_SCAN_LIMIT", _parse_int(100, 10_000_000))
    )
    rank_lexical: bool = field(default=True, metadata=_meta("CONTINUUM_RANK_LEXICAL", _parse_bool))
    rank_graph: bool = field(default=True, metadata=_meta("CONTINUUM_RANK_GRAPH", _parse_bool))
    rank_context: bool = field(default=True, metadata=_meta("CONTINUUM_RANK_CONTEXT", _parse_bool))
    rank_time: bool = field(default=True, metadata=_meta("CONTINUUM_RANK_TIME", _parse_bool))
    enable_federation: bool = field(default=False, metadata=_meta("CONTINUUM_ENABLE_FEDERATION", _parse_bool))
    enable_webhooks: bool = field(default=False, metadata=_meta("CONTINUUM_ENABLE_WEBHOOKS", _parse_bool))
    # ---- webhooks (docs/webhooks.md) ----
    webhook_allow_private: bool = field(default=False, metadata=_meta("CONTINUUM_WEBHOOK_ALLOW_PRIVATE", _parse_bool))
    webhook_timeout: float = field(
        default=10.0, metadata=_meta("CONTINUUM_WEBHOOK_TIMEOUT_SECONDS", _parse_float(0.1, 60.0))
    )
    webhook_max_attempts: int = field(default=8, metadata=_meta("CONTINUUM_WEBHOOK_MAX_ATTEMPTS", _parse_int(1, 30)))
    webhook_retry_base: float = field(
        default=10.0, metadata=_meta("CONTINUUM_WEBHOOK_RETRY_BASE_SECONDS", _parse_float(0.05, 3600.0))
    )
    webhook_poll_interval: float = field(
        default=1.0, metadata=_meta("CONTINUUM_WEBHOOK_POLL_SECONDS", _parse_float(0.05, 300.0))
    )
    # Lambda: the SQS queue that wakes the webhook_dispatch function after a write (serverless.yml)
    webhook_queue_url: str | None = field(default=None, metadata=_meta("CONTINUUM_WEBHOOK_QUEUE_URL", _parse_optional))
    # ---- end webhooks ----
    # Federation (docs/federation.md): the node's Ed25519 key (a 32-byte seed, hex or base64;
    # else a key file, made on first use), k-anonymity, the contribute-to-access ratio, the
    # signatures' allowed clock skew.
    federation_key: str | None = field(
        default=None, metadata=_meta("CONTINUUM_FEDERATION_KEY", _parse_optional, secret=True)
    )
    federation_key_file: str | None = field(
        default=None, metadata=_meta("CONTINUUM_FEDERATION_KEY_FILE", _parse_optional)
    )
    federation_min_tenants: int = field(
        default=3, metadata=_meta("CONTINUUM_FEDERATION_MIN_TENANTS", _parse_int(1, 1_000_000))
    )
    federation_ratio: float = field(
        default=1.0, metadata=_meta("CONTINUUM_FEDERATION_RATIO", _parse_float(0.0, 1000.0))
    )
    federation_max_skew: int = field(default=300, metadata=_meta("CONTINUUM_FEDERATION_MAX_SKEW", _parse_int(5, 3600)))
    # Product analytics (docs/analytics.md): the key of the tenant hash sent as distinct_id.
    analytics_secret: str | None = field(
        default=None, metadata=_meta("CONTINUUM_ANALYTICS_SECRET", _parse_optional, secret=True)
    )
    log_level: str = field(default="INFO", metadata=_meta("CONTINUUM_LOG_LEVEL", _parse_choice(LOG_LEVELS, upper=True)))
    sentry_dsn: str | None = field(
        default=None, metadata=_meta("SENTRY_DSN", _parse_url(("http", "https")), secret=True)
    )
    sentry_traces_sample_rate: float = field(
        default=0.0, metadata=_meta("SENTRY_TRACES_SAMPLE_RATE", _parse_float(0.0, 1.0))
    )
    posthog_api_key: str | None = field(default=None, metadata=_meta("POSTHOG_API_KEY", _parse_optional, secret=True))
    posthog_host: str | None = field(default=None, metadata=_meta("POSTHOG_HOST", _parse_url(("http", "https"))))
    stripe_secret_key: str | None = field(
        default=None, metadata=_meta("STRIPE_SECRET_KEY", _parse_optional, secret=True)
    )
    stripe_webhook_secret: str | None = field(
        default=None, metadata=_meta("STRIPE_WEBHOOK_SECRET", _parse_optional, secret=True)
    )
    # Billing and quotas (docs/billing.md): tiers as JSON, the tier of a tenant nobody set,
    # Stripe price/product ids -> tiers as JSON, how long an instance may keep a tier cached.
    enable_billing: bool = field(default=False, metadata=_meta("CONTINUUM_ENABLE_BILLING", _parse_bool))
    billing_tiers: str | None = field(default=None, metadata=_meta("CONTINUUM_TIERS", _parse_optional))
    default_tier: str = field(default="free", metadata=_meta("CONTINUUM_DEFAULT_TIER", _parse_text))
    stripe_prices: str | None = field(default=None, metadata=_meta("CONTINUUM_STRIPE_PRICES", _parse_optional))
    billing_cache_seconds: int = field(
        default=30, metadata=_meta("CONTINUUM_BILLING_CACHE_SECONDS", _parse_int(0, 3600))
    )
    # AWS Lambda: where secrets come from (SSM path prefix or one Secrets Manager JSON secret),
    # the DynamoDB table behind Idempotency-Key, and X-Ray tracing (off unless enabled).
    secrets_source: str = field(
        default="env", metadata=_meta("CONTINUUM_SECRETS_SOURCE", _parse_choice(SECRETS_SOURCES))
    )
    secrets_path: str | None = field(default=None, metadata=_meta("CONTINUUM_SECRETS_PATH", _parse_optional))
    secrets_max_age: int = field(default=300, metadata=_meta("CONTINUUM_SECRETS_MAX_AGE", _parse_int(0, 86_400)))
    idempotency_table: str | None = field(default=None, metadata=_meta("CONTINUUM_IDEMPOTENCY_TABLE", _parse_optional))
    idempotency_ttl: int = field(
        default=86_400, metadata=_meta("CONTINUUM_IDEMPOTENCY_TTL", _parse_int(60, 86_400 * 30))
    )
    tracing: bool = field(default=False, metadata=_meta("CONTINUUM_TRACING", _parse_bool))
    # Real-time sync (GET /v1/sync, docs/sync.md): the server pings every subscriber this
    # often and closes a connection silent (no pong, no message) for the idle timeout.
    sync_ping_interval: float = field(
        default=30.0, metadata=_meta("CONTINUUM_SYNC_PING_INTERVAL", _parse_float(0.05, 3600.0))
    )
    sync_idle_timeout: float = field(
        default=90.0, metadata=_meta("CONTINUUM_SYNC_IDLE_TIMEOUT", _parse_float(0.1, 86_400.0))
    )

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["secret"] and value:
                value = "***"
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def storage_backend(self) -> str:
        """The storage adapter this configuration selects."""
        if self.storage != "auto":
            return self.storage
        return "postgres" if self.postgres_url else "sqlite"

    @property
    def shared_cache_backend(self) -> str | None:
        """The L2 cache adapter this configuration selects, if any."""
        if not self.cache_enabled:
            return None
        if self.redis_url:
            return "redis"
        if self.upstash_redis_rest_url:
            return "upstash"
        return None

    def with_overrides(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        settings = Settings(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Cross-field checks; raise SettingsError naming the variable at fault."""
        if self.storage == "postgres" and not self.postgres_url:
            raise SettingsError("CONTINUUM_STORAGE=postgres needs POSTGRES_URL")
        for url in self.postgres_read_urls:
            if url.split("://", 1)[0].lower() not in ("postgres", "postgresql"):
                raise SettingsError("POSTGRES_READ_URLS must hold postgresql:// URLs, comma-separated")
        if self.postgres_read_urls and self.storage_backend != "postgres":
            raise SettingsError("POSTGRES_READ_URLS needs PostgreSQL storage (POSTGRES_URL)")
        if self.sync_idle_timeout <= self.sync_ping_interval:
            raise SettingsError("CONTINUUM_SYNC_IDLE_TIMEOUT must be longer than CONTINUUM_SYNC_PING_INTERVAL")
        if self.redis_url and self.upstash_redis_rest_url:
            raise SettingsError("REDIS_URL and UPSTASH_REDIS_REST_URL are both set: choose one shared cache")
        if self.upstash_redis_rest_url and not self.upstash_redis_rest_token:
            raise SettingsError("UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is missing")
        if self.api_key is not None and len(self.api_key) < 16:
            raise SettingsError("CONTINUUM_API_KEY must be at least 16 characters")
        if self.jwt_secret is not None and len(self.jwt_secret) < 32:
            raise SettingsError("CONTINUUM_JWT_SECRET must be at least 32 characters")
        if self.require_api_key and not self.api_key and not self.jwt_secret and self.env == "production":
            raise SettingsError(
                "CONTINUUM_REQUIRE_API_KEY=true in production needs CONTINUUM_API_KEY "
                "or CONTINUUM_JWT_SECRET (no admin could create keys otherwise)"
            )
        if self.enable_embeddings and self.embedding_provider == "none":
            raise SettingsError(
                "CONTINUUM_ENABLE_EMBEDDINGS=true needs CONTINUUM_EMBEDDING_PROVIDER "
                f"({', '.join(p for p in EMBEDDING_PROVIDERS if p != 'none')})"
            )
        if self.secrets_source != "env" and not self.secrets_path:
            raise SettingsError(
                f"CONTINUUM_SECRETS_SOURCE={self.secrets_source} needs CONTINUUM_SECRETS_PATH "
                "(an SSM path like /continuum/prod, or a Secrets Manager secret name)"
            )
        if self.embedding_provider == "openai" and not self.embedding_url:
            raise SettingsError("CONTINUUM_EMBEDDING_PROVIDER=openai needs CONTINUUM_EMBEDDING_URL")
        if self.encryption_key is not None:
            from continuum.keys import parse_encryption_key

            try:
                parse_encryption_key(self.encryption_key)
            except ValueError as exc:
                raise SettingsError(f"CONTINUUM_ENCRYPTION_KEY {exc}") from None
        if self.enable_billing or self.billing_tiers or self.stripe_prices:
            from continuum.settings.billing import billing_settings

            billing_settings(self)  # raises SettingsError naming the variable at fault
        for origin in self.cors_origins:
            if origin != "*" and "://" not in origin:
                raise SettingsError(
                    f"CONTINUUM_CORS_ORIGINS entry {origin!r} must be '*' or a full origin like https://app.example.com"
                )
        if self.federation_key is not None:  # an Ed25519 seed: 32 bytes, as the encryption key is written
            from continuum.keys import parse_encryption_key

            try:
                parse_encryption_key(self.federation_key)
            except ValueError as exc:
                raise SettingsError(f"CONTINUUM_FEDERATION_KEY {exc}") from None


ENV_NAMES = {f.metadata["env"]: f for f in fields(Settings)}
FIELD_NAMES = {f.name: f for f in fields(Settings)}
