"""storage/sql/keys.py and migration 0006: keys created before key controls existed keep
working with the rights they had (read and write) and get a public id, on SQLite (and so D1,
which runs the same migration files) and on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from continuum.ports import Storage
from continuum.settings import Settings
from continuum.storage.sql import migrate as migrations
from tests.support.pg import temporary_database

NOW = datetime(2030, 1, 1, tzinfo=UTC)
LEGACY_HASH = hashlib.sha256(b"ck_a key from before 0006").hexdigest()


def before_0006(dialect: str) -> list[migrations.Migration]:
    return [m for m in migrations.load_migrations(dialect) if m.version < "0006"]


async def sqlite_storage(tmp_path: Path) -> AsyncIterator[tuple[Storage, Callable[..., Any]]]:
    from continuum.storage.sqlite import SqliteStorage

    storage = SqliteStorage(str(tmp_path / "legacy.db"))
    await storage.connect()
    try:
        yield storage, storage._reads.db.run_batch  # type: ignore[attr-defined]
    finally:
        await storage.close()


async def postgres_storage(tmp_path: Path) -> AsyncIterator[tuple[Storage, Callable[..., Any]]]:
    from continuum.storage.postgres import PostgresStorage

    with temporary_database("continuum_keys_legacy") as url:
        storage = PostgresStorage(Settings(postgres_url=url, postgres_pool_size=1).postgres)
        await storage.connect()
        try:
            yield storage, storage._reads.db.run_batch  # type: ignore[attr-defined]
        finally:
            await storage.close()


@pytest.mark.parametrize(
    ("backend", "module", "dialect", "mark"),
    [
        (sqlite_storage, "continuum.storage.sqlite_dialect.parts", "sqlite", "?"),
        (postgres_storage, "continuum.storage.postgres.schema", "postgres", "%s"),
    ],
    ids=["sqlite", "postgres"],
)
async def test_keys_made_before_migration_0006_keep_read_and_write_and_get_an_id(
    tmp_path, monkeypatch, backend, module, dialect, mark
):
    async for storage, run_batch in backend(tmp_path):
        with monkeypatch.context() as patched:
            patched.setattr(f"{module}.load_migrations", lambda _: before_0006(dialect))
            await storage.migrate()
        marks = ", ".join([mark] * 5)
        await run_batch([(
            f"INSERT INTO api_keys (key_hash, tenant_id, name, key_prefix, created_at) VALUES ({marks})",
            (LEGACY_HASH, "acme", "old", "ck_legacy", NOW if dialect == "postgres" else "2030-01-01T00:00:00.000000Z"),
        )])  # fmt: skip
        assert (await storage.migrate())[:1] == ["0006_key_controls"]  # later migrations follow
        found = await storage.find_api_key(LEGACY_HASH)
        assert found is not None
        assert (found.tenant_id, found.key_id, found.scopes) == ("acme", LEGACY_HASH[:16], ("read", "write"))
        assert (found.expires_at, found.revoked_at, found.last_used_at) == (None, None, None)
        assert [k.key_id for k in await storage.list_api_keys("acme")] == [LEGACY_HASH[:16]]
        revoked = await storage.revoke_api_key("acme", LEGACY_HASH[:16], NOW)
        assert revoked is not None and revoked.revoked_at == NOW
