"""Lifecycle and migrations of the PostgreSQL adapter.

Pending migrations are applied in one transaction, serialised by an advisory lock. A
migration marked `-- continuum: optional extension X` runs only where X is available
and may be created; otherwise it is skipped (and tried again next time). The optional
capabilities present ("trigram", "vector", "btree_gin") are those of the applied ones.
"""

from __future__ import annotations

import logging
import re

import psycopg
from psycopg import AsyncConnection

from continuum.storage.postgres.connect import describe
from continuum.storage.postgres.runner import PostgresRunner, fetch
from continuum.storage.sql.migrate import Migration, apply_pending, load_migrations, pending

log = logging.getLogger("continuum.storage.postgres")

MIGRATION_LOCK = 0x636F6E74  # "cont": serialises concurrent migrators (transaction-scoped)
_OPTIONAL = re.compile(r"^--\s*continuum:\s*optional extension\s+([A-Za-z0-9_]+)\s*$", re.MULTILINE)
_SKIPPABLE = (
    psycopg.errors.InsufficientPrivilege,
    psycopg.errors.FeatureNotSupported,
    psycopg.errors.UndefinedFile,
    psycopg.errors.UndefinedObject,
)
_FEATURE_NAMES = {"pg_trgm": "trigram"}


def required_extension(migration: Migration) -> str | None:
    match = _OPTIONAL.search(migration.sql)
    return match.group(1) if match else None


async def applied_versions(conn: AsyncConnection) -> set[str]:
    rows = await fetch(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
    if not rows[0]["present"]:
        return set()
    return {r["version"] for r in await fetch(conn, "SELECT version FROM schema_migrations")}


class PostgresBook:
    """The migration book of one connection inside the migrating transaction."""

    def __init__(self, conn: AsyncConnection, available: set[str]) -> None:
        self.conn = conn
        self.available = available

    @classmethod
    async def open(cls, conn: AsyncConnection) -> PostgresBook:
        available = {r["name"] for r in await fetch(conn, "SELECT name FROM pg_available_extensions")}
        return cls(conn, available)

    async def prepare(self) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )

    async def applied(self) -> set[str]:
        return await applied_versions(self.conn)

    def applicable(self, migration: Migration) -> bool:
        extension = required_extension(migration)
        return extension is None or extension in self.available

    async def apply(self, migration: Migration) -> bool:
        conn = self.conn
        extension = required_extension(migration)
        if extension is not None:
            if extension not in self.available:
                log.info(
                    "optional migration skipped",
                    extra={"version": migration.version, "reason": f"extension {extension} not available"},
                )
                return False
            try:
                async with conn.transaction():  # a savepoint
                    await conn.execute(migration.sql.encode())
            except _SKIPPABLE as exc:
                log.warning("optional migration skipped", extra={"version": migration.version, "reason": describe(exc)})
                return False
        else:
            try:
                await conn.execute(migration.sql.encode())
            except psycopg.errors.Error as exc:
                if isinstance(exc, psycopg.OperationalError):
                    raise
                raise RuntimeError(f"migration {migration.version} failed: {describe(exc)}") from None
        await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (migration.version,))
        return True


class PostgresSchema:
    def __init__(self, runner: PostgresRunner) -> None:
        self.runner = runner
        self._features: set[str] | None = None

    async def connect(self) -> None:
        await self.runner.connect()

    async def close(self) -> None:
        await self.runner.close()

    async def ping(self) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute("SELECT 1")

        await self.runner.run(work)

    async def pending_migrations(self) -> list[str]:
        async def work(conn: AsyncConnection) -> list[str]:
            return await pending(await PostgresBook.open(conn), load_migrations("postgres"))

        return await self.runner.run(work)

    async def migrate(self) -> list[str]:
        async def work(conn: AsyncConnection) -> list[str]:
            return await apply_pending(await PostgresBook.open(conn), load_migrations("postgres"))

        done = await self.runner.run(work, write=True)
        self._features = None
        return done

    async def features(self) -> set[str]:
        """Optional capabilities present in this database: "trigram", "vector", "btree_gin"."""
        if self._features is None:

            async def work(conn: AsyncConnection) -> set[str]:
                applied = await applied_versions(conn)
                found = set()
                for migration in load_migrations("postgres"):
                    extension = required_extension(migration)
                    if extension and migration.version in applied:
                        found.add(_FEATURE_NAMES.get(extension, extension))
                return found

            self._features = await self.runner.run(work)
        return self._features
