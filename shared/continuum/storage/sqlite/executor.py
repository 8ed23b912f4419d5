"""Runs SQL on one SQLite connection, synchronously inside the async methods: queries
take microseconds to a millisecond, less than a hop to a worker thread would cost, and
SQLite serialises writers anyway. Each batch holds no await between BEGIN and COMMIT,
so coroutines sharing the connection cannot interleave inside a transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from continuum.errors import DependencyUnavailable
from continuum.storage.sql.dialect import Statement
from continuum.storage.sql.rows import Row

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
