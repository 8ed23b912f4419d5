"""`SqliteStorage`: the SQLite-dialect store on a local file, its migrations recorded in
`schema_migrations`, and an online backup and restore."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from continuum.clock import SystemClock, to_iso
from continuum.storage.sql.facade import SqlStorage
from continuum.storage.sql.migrate import Migration
from continuum.storage.sqlite.executor import SqliteExecutor
from continuum.storage.sqlite_dialect.parts import sqlite_dialect_parts


class SqliteFileBook:
    """Migrations of the file, recorded in its `schema_migrations` table."""

    def __init__(self, executor: SqliteExecutor) -> None:
        self.executor = executor

    async def prepare(self) -> None:
        pass  # applied() creates the table: status and migrate both need it

    async def applied(self) -> set[str]:
        conn = self.executor.conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        return {r["version"] for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}

    def applicable(self, migration: Migration) -> bool:
        return True

    async def apply(self, migration: Migration) -> bool:
        stamp = to_iso(SystemClock().now())
        script = (
            "BEGIN IMMEDIATE;\n"
            f"{migration.sql}\n"
            f"INSERT INTO schema_migrations (version, applied_at) VALUES ('{migration.version}', '{stamp}');\n"
            "COMMIT;"
        )
        conn = self.executor.conn
        try:
            conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise RuntimeError(f"migration {migration.version} failed: {exc}") from exc
        return True


class SqliteStorage(SqlStorage):
    name = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.executor = SqliteExecutor(path)
        book = SqliteFileBook(self.executor)
        super().__init__(**sqlite_dialect_parts(self.executor, book, on_close=self.executor.close))

    async def backup(self, destination: str) -> None:
        """Consistent online copy (the SQLite backup API), safe while serving."""
        # Synchronous on purpose, as every statement of this adapter (see its executor).
        Path(destination).expanduser().parent.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
        target = sqlite3.connect(destination)
        try:
            self.executor.conn.backup(target)
        finally:
            target.close()

    async def restore(self, source: str) -> None:
        """Replace the live database with a backup file, in one step, while open."""
        if not Path(source).is_file():  # noqa: ASYNC240
            raise FileNotFoundError(source)
        origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            origin.execute("SELECT count(*) FROM schema_migrations").fetchone()
            origin.backup(self.executor.conn)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{source} is not a CONTINUUM SQLite backup: {exc}") from None
        finally:
            origin.close()
