"""Building the services every runtime serves with (`continuum.services.Services`) from settings and a profile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from continuum.cache.memory import InProcessCache
from continuum.clock import Clock, SystemClock
from continuum.core.admin import AdminService
from continuum.core.auth import AuthConfig, Authenticator
from continuum.core.caching import ResultCache
from continuum.core.engine import MemoryEngine
from continuum.core.ratelimit import RateLimiter
from continuum.ports import Cache, EventPublisher, Metrics, NullMetrics, Storage
from continuum.runtime.adapters import (
    build_cipher,
    build_live_sync,
    build_shared_cache,
    build_storage,
    ranking_config,
)
from continuum.runtime.profiles import CLI, RuntimeProfile
from continuum.services import Services
from continuum.settings import Settings

if TYPE_CHECKING:
    from continuum.core.billing import Billing
    from continuum.core.crypto import ContentCipher
    from continuum.core.webhook_service import Webhooks

RATE_FALLBACK_ENTRIES = 50_000
CACHE_REPAIR_INTERVAL = 1.0  # seconds between retries of an unpublished invalidation


def build_engine(
    settings: Settings,
    storage: Storage,
    cache: ResultCache,
    *,
    clock: Clock,
    cipher: ContentCipher,
    metrics: Metrics,
    single_process: bool,
    bindings: dict[str, Any] | None = None,
    events: EventPublisher | None = None,
) -> MemoryEngine:
    """The engine with its ranking settings and, when enabled, the embedding provider
    and indexer (background where one process lives on, inline on serverless).
    `bindings` are runtime handles a provider needs (a Worker's Workers AI binding: `ai`)."""
    from continuum.embeddings.factory import build_embedder

    embedder = build_embedder(settings, **(bindings or {}))
    indexer = None
    if embedder is not None:
        from continuum.core.indexer import EmbeddingIndexer

        mode = settings.embeddings.write
        background = single_process if mode == "auto" else mode == "background"
        indexer = EmbeddingIndexer(storage, embedder, cipher, clock, background=background, on_indexed=cache.invalidate)
    return MemoryEngine(
        storage, cache, clock=clock, cipher=cipher, metrics=metrics,
        ranking=ranking_config(settings.ranking), embedder=embedder, indexer=indexer, events=events,
    )  # fmt: skip


def build_services(
    settings: Settings,
    *,
    profile: RuntimeProfile = CLI,
    storage: Storage | None = None,
    shared_cache: Cache | None = None,
    metrics: Metrics | None = None,
    clock: Clock | None = None,
    d1_binding: Any = None,
    bindings: dict[str, Any] | None = None,
) -> Services:
    """Assemble the services for `profile` (default: one process, as the CLI and tests).

    Under `ProcessModel.SINGLE` an in-process cache alone may hold results; under SHARED
    (several workers, Lambda, Workers) many instances serve one tenant and only a shared
    cache (Redis, Upstash) can be invalidated for all of them, so results are cached
    in-process only in front of one.
    """
    single = profile.single_process
    clock = clock or SystemClock()
    metrics = metrics or NullMetrics()
    storage = storage or build_storage(settings, connection=profile.storage, d1_binding=d1_binding)
    cache_settings = settings.cache
    if shared_cache is None:
        shared_cache = build_shared_cache(cache_settings)
    local: Cache | None = None
    if cache_settings.enabled and (single or shared_cache is not None):
        local = InProcessCache()
    cache = ResultCache(
        local, shared_cache, ttl=cache_settings.ttl, metrics=metrics, prefix=cache_settings.prefix,
        # a process that lives on between requests (it purges periodically) also retries
        # unpublished invalidations in the background; Lambda and Workers replay them at
        # the start of their next request that uses the cache (docs/caching.md)
        repair_interval=CACHE_REPAIR_INTERVAL if profile.lifecycle.purge_loop else None,
    )  # fmt: skip
    sync = build_live_sync(settings.sync, serves=profile.live_sync, single_process=single)
    engine = build_engine(
        settings, storage, cache, clock=clock, cipher=build_cipher(settings.encryption), metrics=metrics,
        single_process=single, bindings=bindings, events=getattr(sync, "publisher", None),
    )  # fmt: skip
    auth = settings.auth
    services = Services(
        settings=settings,
        storage=storage,
        cache=cache,
        engine=engine,
        admin=AdminService(storage, cache, engine, clock),
        auth=Authenticator(AuthConfig(auth.require_api_key, auth.api_key, auth.jwt_secret), storage, cache, clock),
        metrics=metrics,
        clock=clock,
        rate_limiter=RateLimiter(
            shared_cache or local or InProcessCache(),
            settings.http.rate_limit_per_minute,
            clock=clock,
            prefix=cache_settings.prefix,
            fallback=InProcessCache(max_entries=RATE_FALLBACK_ENTRIES),
        ),
        sync=sync,
        billing=build_billing(settings, storage, clock) if settings.enable_billing else None,
    )
    if settings.enable_federation:
        from continuum.runtime.federation import build_federation

        services.federation = build_federation(settings.federation, storage, clock)
    if settings.webhooks.enabled:
        services.webhooks = build_webhooks(settings, storage, engine, clock, resolve_dns=profile.name != "worker")
    return services


def build_webhooks(
    settings: Settings, storage: Storage, engine: MemoryEngine, clock: Clock, *, resolve_dns: bool = True
) -> Webhooks:
    """Webhooks on: writes record their events in the outbox (docs/webhooks.md), and the
    dispatcher sends with httpx."""
    from continuum.core.webhook_service import WebhookConfig, Webhooks
    from continuum.core.webhooks import OutboxEvents
    from continuum.webhooks.sender import HttpxSender

    config = settings.webhooks
    storage.record_events(OutboxEvents(engine.ids, clock))
    return Webhooks(
        storage, HttpxSender(config.timeout, resolve_dns=resolve_dns), engine.cipher, engine.ids, clock,
        WebhookConfig(config.allow_private, config.max_attempts, config.retry_base, config.timeout),
    )  # fmt: skip


def build_billing(settings: Settings, storage: Storage, clock: Clock) -> Billing:
    """Tiers and quotas from the billing settings; Stripe's signature check (payments/,
    imported on the first delivery) when STRIPE_WEBHOOK_SECRET is set."""
    from continuum.core.billing import Billing, BillingConfig, Tier

    group = settings.billing
    tiers = {name: Tier(name, **limits) for name, limits in group.tiers.items()}
    config = BillingConfig(tiers, group.default_tier, group.stripe_prices, group.cache_seconds)
    secret = group.stripe_webhook_secret
    verifier = None
    if secret:

        def verifier(payload: bytes, signature: str | None) -> dict[str, Any]:
            from continuum.payments.stripe_webhook import verify_stripe_event

            return verify_stripe_event(payload, signature, secret)

    return Billing(config, storage, clock, verifier=verifier)
