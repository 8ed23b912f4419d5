"""Settings grouped by concern: each adapter or core service receives only its own group.

`Settings` (fields.py) keeps one flat field per environment variable, which is what the
loaders and `with_overrides` work on; these frozen groups are views of it, built on access.
Groups for later features (webhooks, federation, billing, analytics) are accepted and
validated now so that deployments can set them ahead of the features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DatabaseSettings:
    backend: str  # sqlite | postgres | d1 (auto resolved)
    db_path: str


@dataclass(frozen=True)
class PostgresSettings:
    url: str | None = field(repr=False)
    pool_size: int
    max_overflow: int


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool
    ttl: int
    prefix: str
    backend: str | None  # redis | upstash | None (no shared cache)
    redis_url: str | None = field(repr=False)
    upstash_url: str | None
    upstash_token: str | None = field(repr=False)


@dataclass(frozen=True)
class AuthSettings:
    require_api_key: bool
    api_key: str | None = field(repr=False)
    jwt_secret: str | None = field(repr=False)


@dataclass(frozen=True)
class HttpSettings:
    port: int
    cors_origins: tuple[str, ...]
    max_body_bytes: int
    rate_limit_per_minute: int
    idempotency_ttl: int


@dataclass(frozen=True)
class EncryptionSettings:
    key: str | None = field(repr=False)


@dataclass(frozen=True)
class EmbeddingSettings:
    enabled: bool
    provider: str
    model: str | None
    url: str | None
    api_key: str | None = field(repr=False)
    write: str  # auto | background | inline


@dataclass(frozen=True)
class RankingSettings:
    lexical: bool
    graph: bool
    context: bool
    time: bool
    vector_scan_limit: int


@dataclass(frozen=True)
class ObservabilitySettings:
    env: str
    log_level: str
    sentry_dsn: str | None = field(repr=False)
    sentry_traces_sample_rate: float
    tracing: bool


@dataclass(frozen=True)
class LambdaSettings:
    secrets_source: str
    secrets_path: str | None
    secrets_max_age: int
    idempotency_table: str | None


@dataclass(frozen=True)
class IntegrationSettings:
    """Reserved for the integrations still to come; accepted and validated today."""

    enable_webhooks: bool
    enable_federation: bool
    stripe_secret_key: str | None = field(repr=False)
    stripe_webhook_secret: str | None = field(repr=False)
    posthog_api_key: str | None = field(repr=False)
    posthog_host: str | None


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
            url=s.postgres_url, pool_size=s.postgres_pool_size, max_overflow=s.postgres_max_overflow
        )

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
    def integrations(self) -> IntegrationSettings:
        s: Any = self
        return IntegrationSettings(
            enable_webhooks=s.enable_webhooks, enable_federation=s.enable_federation,
            stripe_secret_key=s.stripe_secret_key, stripe_webhook_secret=s.stripe_webhook_secret,
            posthog_api_key=s.posthog_api_key, posthog_host=s.posthog_host,
        )  # fmt: skip
