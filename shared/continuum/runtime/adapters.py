"""Adapters from settings: each builder reads only its own settings group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from continuum.extras import require
from continuum.runtime.profiles import StorageConnection
from continuum.settings import SettingsError

if TYPE_CHECKING:
    from continuum.core.crypto import ContentCipher
    from continuum.core.ranking_config import RankingConfig
    from continuum.core.sync import LiveSync, NoLiveSync
    from continuum.ports import Cache, EventBus, Storage
    from continuum.settings import Settings
    from continuum.settings.groups import CacheSettings, EncryptionSettings, RankingSettings, SyncSettings


def build_storage(
    settings: Settings, *, connection: StorageConnection = StorageConnection.POOLED, d1_binding: Any = None
) -> Storage:
    """The storage adapter `settings.database.backend` names (drivers imported only here)."""
    backend = settings.database.backend
    if backend == "sqlite":
        from continuum.storage.sqlite import SqliteStorage

        return SqliteStorage(settings.database.db_path)
    if backend == "postgres":
        require("postgres", "POSTGRES_URL")
        from continuum.storage.postgres import PostgresStorage

        return PostgresStorage(settings.postgres, serverless=connection is StorageConnection.PER_INSTANCE)
    if backend == "d1":
        if d1_binding is None:
            raise SettingsError("CONTINUUM_STORAGE=d1 needs a D1 binding (only inside a Cloudflare Worker)")
        from continuum.storage.d1 import D1Storage

        return D1Storage(d1_binding)
    raise SettingsError(f"CONTINUUM_STORAGE={backend} is not a known storage backend")


def build_shared_cache(config: CacheSettings) -> Cache | None:
    if config.backend == "redis":
        require("redis", "REDIS_URL")
        from continuum.cache.redis import RedisCache

        return RedisCache(config.redis_url or "")
    if config.backend == "upstash":
        require("upstash", "UPSTASH_REDIS_REST_URL")
        from continuum.cache.upstash import UpstashCache

        return UpstashCache(config.upstash_url or "", config.upstash_token or "")
    return None


def build_cipher(config: EncryptionSettings) -> ContentCipher:
    from continuum.core.crypto import ContentCipher
    from continuum.keys import parse_encryption_key

    if config.key:
        require("encryption", "CONTINUUM_ENCRYPTION_KEY")
    return ContentCipher(parse_encryption_key(config.key) if config.key else None)


def ranking_config(config: RankingSettings) -> RankingConfig:
    from continuum.core.ranking_config import RankingConfig

    return RankingConfig(
        lexical=config.lexical, graph=config.graph, context=config.context, time=config.time,
        vector_scan_limit=config.vector_scan_limit,
    )  # fmt: skip


def build_live_sync(config: SyncSettings, *, serves: bool, single_process: bool) -> LiveSync | NoLiveSync:
    """Real-time sync where the runtime serves WebSocket subscribers: over Redis pub/sub when
    REDIS_URL is set (every instance hears every write), else in-process for one process."""
    from continuum.core.sync import LiveSync, NoLiveSync
    from continuum.services import NOT_SERVED

    if not serves:
        return NoLiveSync(NOT_SERVED)
    if config.redis_url:
        require("redis", "REDIS_URL")
        from continuum.bus.redis import RedisBus

        bus: EventBus = RedisBus(config.redis_url, config.prefix)
    elif single_process:
        from continuum.bus.memory import InProcessBus

        bus = InProcessBus()
    else:
        return NoLiveSync("real-time sync with several workers needs REDIS_URL: the workers share events over Redis")
    return LiveSync(bus, ping_interval=config.ping_interval, idle_timeout=config.idle_timeout)
