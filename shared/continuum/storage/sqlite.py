"""The embedded default: a local SQLite file in WAL mode.

Queries run on one connection, synchronously inside the async methods: they take
microseconds to a millisecond, less than a hop to a worker thread would cost, and
SQLite serialises writers anyway. Each batch holds no await between BEGIN and COMMIT,
so coroutines sharing the connection cannot interleave inside a transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from continuum.clock import SystemClock, to_iso
from continuum.errors import DependencyUnavailable
from continuum.storage.migrations import load_migrations
from continuum.storage.sqlite_dialect import Row, SqliteDialectStorage, Statement

_UNAVAILABLE_HINTS = ("locked", "busy", "unable to open", "disk i/o", "readonly", "no such table")


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class SqliteExecutor:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = _dict_row
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise DependencyUnavailable(f"cannot open SQLite database {self.path}: {exc}") from None
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @staticmethod
    def _translate(exc: sqlite3.Error) -> Exception:
        text = str(exc).lower()
        if isinstance(exc, sqlite3.OperationalError) and any(h in text for h in _UNAVAILABLE_HINTS):
            return DependencyUnavailable(f"database unavailable: {exc}", retry_after=1)
        return exc

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return self.conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    async def run_batch(self, statements: Sequence[Statement]) -> None:
        if not statements:
            return
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    conn.execute(sql, tuple(params))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc


class SqliteStorage(SqliteDialectStorage):
    name = "sqlite"

    def __init__(self, path: str) -> None:
        self.executor = SqliteExecutor(path)
        super().__init__(self.executor)
        self.path = path

    async def close(self) -> None:
        self.executor.close()

    def _applied(self) -> set[str]:
        conn = self.executor.conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        return {r["version"] for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}

    async def pending_migrations(self) -> list[str]:
        applied = self._applied()
        return [m.version for m in load_migrations("sqlite") if m.version not in applied]

    async def migrate(self) -> list[str]:
        applied = self._applied()
        done = []
        for migration in load_migrations("sqlite"):
            if migration.version in applied:
                continue
            stamp = to_iso(SystemClock().now())
            script = (
                "BEGIN IMMEDIATE;\n"
                f"{migration.sql}\n"
                f"INSERT INTO schema_migrations (version, applied_at) VALUES ('{migration.version}', '{stamp}');\n"
                "COMMIT;"
            )
            try:
                self.executor.conn.executescript(script)
            except sqlite3.Error as exc:
                if self.executor.conn.in_transaction:
                    self.executor.conn.execute("ROLLBACK")
                raise RuntimeError(f"migration {migration.version} failed: {exc}") from exc
            done.append(migration.version)
        return done

    async def backup(self, destination: str) -> None:
        """Consistent online copy (the SQLite backup API), safe while serving."""
        Path(destination).expanduser().parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(destination)
        try:
            self.executor.conn.backup(target)
        finally:
            target.close()

    async def restore(self, source: str) -> None:
        """Replace the live database with a backup file, in one step, while open."""
        if not Path(source).is_file():
            raise FileNotFoundError(source)
        origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            origin.execute("SELECT count(*) FROM schema_migrations").fetchone()
            origin.backup(self.executor.conn)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{source} is not a CONTINUUM SQLite backup: {exc}") from None
        finally:
            origin.close()
