"""`D1Storage`: the SQLite-dialect store over a Cloudflare D1 binding.

Migrations: the schema is the SQLite migration files, applied in production by
`wrangler d1 migrations apply` (wrangler.toml points `migrations_dir` at them).
`migrate()` applies the same files through `batch` and records them in wrangler's own
`d1_migrations` table under wrangler's names (`0001_init.sql`), so either path sees
what the other applied and nothing is applied twice.
"""

from __future__ import annotations

from typing import Any

from continuum.errors import DependencyUnavailable
from continuum.storage.d1.executor import D1Executor, D1QueryError
from continuum.storage.d1.scripts import split_statements
from continuum.storage.sql.dialect import Statement
from continuum.storage.sql.facade import SqlStorage
from continuum.storage.sql.migrate import Migration
from continuum.storage.sqlite_dialect.parts import sqlite_dialect_parts

MIGRATIONS_TABLE = "d1_migrations"
# The table wrangler creates for its own bookkeeping (same definition, so either may create it).
CREATE_MIGRATIONS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE}(id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)"
)
_SUFFIX = ".sql"


def migration_name(version: str) -> str:
    """The name wrangler records for a migration file."""
    return f"{version}{_SUFFIX}"


class D1Book:
    """Migrations of a D1 database, booked in wrangler's table."""

    def __init__(self, executor: D1Executor) -> None:
        self.db = executor
        self._table_known = False

    async def _table_exists(self) -> bool:
        if not self._table_known:
            found = await self.db.fetch(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
            )
            self._table_known = bool(found)
        return self._table_known

    async def prepare(self) -> None:
        if not await self._table_exists():
            await self.db.run_batch([(CREATE_MIGRATIONS_TABLE, ())])
            self._table_known = True

    async def applied(self) -> set[str]:
        """Versions in wrangler's migrations table (none when the table does not exist)."""
        if not await self._table_exists():
            return set()
        names = {r["name"] for r in await self.db.fetch(f"SELECT name FROM {MIGRATIONS_TABLE}")}
        return {n.removesuffix(_SUFFIX) for n in names if n.endswith(_SUFFIX)}

    def applicable(self, migration: Migration) -> bool:
        return True

    async def apply(self, migration: Migration) -> bool:
        statements: list[Statement] = [(sql, ()) for sql in split_statements(migration.sql)]
        statements.append(
            (f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (?)", (migration_name(migration.version),))
        )
        try:
            await self.db.run_batch(statements)
        except (D1QueryError, DependencyUnavailable) as exc:
            raise RuntimeError(f"migration {migration.version} failed: {exc}") from exc
        return True


def _nothing() -> None:
    pass  # a binding has no connection to close


class D1Storage(SqlStorage):
    name = "d1"

    def __init__(self, binding: Any) -> None:
        self.executor = D1Executor(binding)
        super().__init__(**sqlite_dialect_parts(self.executor, D1Book(self.executor), on_close=_nothing))
