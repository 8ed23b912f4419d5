"""Settings grouped by concern: each adapter or core service receives only its own group.

`Settings` (fields.py) keeps one flat field per environment variable, which is what the
loaders and `with_overrides` work on; these immutable groups are views of it, built on
access. They are NamedTuples, not dataclasses: a dataclass costs several times more to
define, and every Lambda cold start defines all of them. A group's repr masks its secrets.
Groups for later features (webhooks, federation, billing, analytics) are accepted and
validated now so that deployments can set them ahead of the features.
"""

# No `from __future__ import annotations` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef), which doubles what defining it costs on every cold start.

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from continuum.settings.billing import BillingSettings


def _masked_repr(group: Any) -> str:
    hidden = set(getattr(group, "secret_fields", ()))
    pairs = zip(group._fields, group, strict=True)
    shown = ", ".join(f"{name}={'***' if name in hidden and value else repr(value)}" for name, value in pairs)
    return f"{type(group).__name__}({shown})"


class DatabaseSettings(NamedTuple):
    backend: str  # sqlite | postgres | d1 (auto resolved)
    db_path: str


class PostgresSettings(NamedTuple):
    url: str | None
    pool_size: int
    max_overflow: int
    read_urls: tuple = ()  # streaming replicas for reads
    read_max_lag: float = 10.0  # seconds; a replica further behind is skipped
    read_check_interval: float = 0.1  # seconds between checks of each replica's replay position
    lsn_redis_url: str | None = None  # where tenants' last write positions are shared (REDIS_URL)
    lsn_prefix: str = "continuum:"

    secret_fields = ("url", "read_urls", "lsn_redis_url")
    __repr__ = _masked_repr


class CacheSettings(NamedTuple):
    enabled: bool
    ttl: int
    prefix: str
    backend: str | None  # redis | upstash | None (no shared cache)
    redis_url: str | None
    upstash_url: str | None
    upstash_token: str | None

    secret_fields = ("redis_url", "upstash_token")
    __repr__ = _masked_repr


class AuthSettings(NamedTuple):
    require_api_key: bool
    api_key: str | None
    jwt_secret: str | None

    secret_fields = ("api_key", "jwt_secret")
    __repr__ = _masked_repr


class HttpSettings(NamedTuple):
    port: int
    cors_origins: tuple[str, ...]
    max_body_bytes: int
    rate_limit_per_minute: int
    idempotency_ttl: int


class EncryptionSettings(NamedTuple):
    key: str | None

    secret_fields = ("key",)
    __repr__ = _masked_repr


class EmbeddingSettings(NamedTuple):
    enabled: bool
    provider: str
    model: str | None
    url: str | None
    api_key: str | None
    write: str  # auto | background | inline

    secret_fields = ("api_key",)
    __repr__ = _masked_repr


class RankingSettings(NamedTuple):
    lexical: bool
    graph: bool
    context: bool
    time: bool
    vector_scan_limit: int


class ObservabilitySettings(NamedTuple):
    env: str
    log_level: str
    sentry_dsn: str | None
    sentry_traces_sample_rate: float
    tracing: bool

    secret_fields = ("sentry_dsn",)
    __repr__ = _masked_repr


class LambdaSettings(NamedTuple):
    secrets_source: str
    secrets_path: str | None
    secrets_max_age: int
    idempotency_table: str | None


class IntegrationSettings(NamedTuple):
    """Reserved for the integrations still to come; accepted and validated today."""

    enable_webhooks: bool
    enable_federation: bool
    stripe_secret_key: str | None
    stripe_webhook_secret: str | None
    posthog_api_key: str | None
    posthog_host: str | None

    secret_fields = ("stripe_secret_key", "stripe_webhook_secret", "posthog_api_key")
    __repr__ = _masked_repr


class WebhookSettings(NamedTuple):
    """Webhooks (docs/webhooks.md): on or off, private targets, the sender's timeout and the retry schedule."""

    enabled: bool
    allow_private: bool
    timeout: float
    max_attempts: int
    retry_base: float
    poll_interval: float
    queue_url: str | None


class FederationSettings(NamedTuple):
    enabled: bool
    key: str | None
    key_file: str | None
    min_tenants: int
    ratio: float
    max_skew: int
    db_path: str  # the default key file lives beside a SQLite database

    secret_fields = ("key",)
    __repr__ = _masked_repr


class AnalyticsSettings(NamedTuple):
    api_key: str | None
    host: str | None
    secret: str | None  # else derived from the admin key or JWT secret, else per process
    fallback_secret: str | None

    secret_fields = ("api_key", "secret", "fallback_secret")
    __repr__ = _masked_repr


class SyncSettings(NamedTuple):
    """Real-time sync: the heartbeat, and the Redis its bus uses across instances (REDIS_URL)."""

    ping_interval: float
    idle_timeout: float
    redis_url: str | None
    prefix: str

    secret_fields = ("redis_url",)
    __repr__ = _masked_repr


class GroupsMixin:
    """The group views of a flat `Settings`."""

    @property
    def database(self) -> DatabaseSettings:
        s: Any = self
        return DatabaseSettings(backend=s.storage_backend, db_path=s.db_path)

    @property
    def postgres(self) -> PostgresSettings:
        s: Any = self
        return PostgresSettings(
            url=s.postgres_url, pool_size=s.postgres_pool_size, max_overflow=s.postgres_max_overflow,
            read_urls=s.postgres_read_urls, read_max_lag=s.postgres_read_max_lag,
            read_check_interval=s.postgres_read_check_interval,
            lsn_redis_url=s.redis_url if s.postgres_read_urls else None, lsn_prefix=s.cache_prefix,
        )  # fmt: skip

    @property
    def cache(self) -> CacheSettings:
        s: Any = self
        return CacheSettings(
            enabled=s.cache_enabled, ttl=s.cache_ttl, prefix=s.cache_prefix, backend=s.shared_cache_backend,
            redis_url=s.redis_url, upstash_url=s.upstash_redis_rest_url, upstash_token=s.upstash_redis_rest_token,
        )  # fmt: skip

    @property
    def auth(self) -> AuthSettings:
        s: Any = self
        return AuthSettings(require_api_key=s.require_api_key, api_key=s.api_key, jwt_secret=s.jwt_secret)

    @property
    def http(self) -> HttpSettings:
        s: Any = self
        return HttpSettings(
            port=s.api_port, cors_origins=s.cors_origins, max_body_bytes=s.max_body_bytes,
            rate_limit_per_minute=s.rate_limit_per_minute, idempotency_ttl=s.idempotency_ttl,
        )  # fmt: skip

    @property
    def encryption(self) -> EncryptionSettings:
        s: Any = self
        return EncryptionSettings(key=s.encryption_key)

    @property
    def embeddings(self) -> EmbeddingSettings:
        s: Any = self
        return EmbeddingSettings(
            enabled=s.enable_embeddings, provider=s.embedding_provider, model=s.embedding_model,
            url=s.embedding_url, api_key=s.embedding_api_key, write=s.embedding_write,
        )  # fmt: skip

    @property
    def ranking(self) -> RankingSettings:
        s: Any = self
        return RankingSettings(
            lexical=s.rank_lexical, graph=s.rank_graph, context=s.rank_context, time=s.rank_time,
            vector_scan_limit=s.vector_scan_limit,
        )  # fmt: skip

    @property
    def observability(self) -> ObservabilitySettings:
        s: Any = self
        return ObservabilitySettings(
            env=s.env, log_level=s.log_level, sentry_dsn=s.sentry_dsn,
            sentry_traces_sample_rate=s.sentry_traces_sample_rate, tracing=s.tracing,
        )  # fmt: skip

    @property
    def aws(self) -> LambdaSettings:
        s: Any = self
        return LambdaSettings(
            secrets_source=s.secrets_source, secrets_path=s.secrets_path, secrets_max_age=s.secrets_max_age,
            idempotency_table=s.idempotency_table,
        )  # fmt: skip

    @property
    def webhooks(self) -> WebhookSettings:
        s: Any = self
        return WebhookSettings(
            enabled=s.enable_webhooks, allow_private=s.webhook_allow_private, timeout=s.webhook_timeout,
            max_attempts=s.webhook_max_attempts, retry_base=s.webhook_retry_base,
            poll_interval=s.webhook_poll_interval, queue_url=s.webhook_queue_url,
        )  # fmt: skip

    @property
    def billing(self) -> "BillingSettings":
        from continuum.settings.billing import billing_settings

        return billing_settings(self)

    @property
    def integrations(self) -> IntegrationSettings:
        s: Any = self
        return IntegrationSettings(
            enable_webhooks=s.enable_webhooks, enable_federation=s.enable_federation,
            stripe_secret_key=s.stripe_secret_key, stripe_webhook_secret=s.stripe_webhook_secret,
            posthog_api_key=s.posthog_api_key, posthog_host=s.posthog_host,
        )  # fmt: skip

    @property
    def federation(self) -> FederationSettings:
        s: Any = self
        return FederationSettings(
            enabled=s.enable_federation, key=s.federation_key, key_file=s.federation_key_file,
            min_tenants=s.federation_min_tenants, ratio=s.federation_ratio, max_skew=s.federation_max_skew,
            db_path=s.db_path,
        )  # fmt: skip

    @property
    def analytics(self) -> AnalyticsSettings:
        s: Any = self
        return AnalyticsSettings(
            api_key=s.posthog_api_key, host=s.posthog_host, secret=s.analytics_secret,
            fallback_secret=s.api_key or s.jwt_secret,
        )  # fmt: skip

    @property
    def sync(self) -> SyncSettings:
        s: Any = self
        return SyncSettings(
            ping_interval=s.sync_ping_interval, idle_timeout=s.sync_idle_timeout, redis_url=s.redis_url,
            prefix=s.cache_prefix,
        )  # fmt: skip
