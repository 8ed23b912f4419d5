"""A durable cache in a SQLite file, for what one local server must keep across a crash.

The local server on SQLite with no Redis keeps its Idempotency-Key records here (beside its
database, `<db_path>.idempotency`), so a retry after `kill -9` is replayed, not run again.
Every call is one short statement in autocommit mode (WAL, synchronous=FULL): a record
written before the response is on disk before the response is sent. Expired entries are
dropped when read and swept on each write.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from continuum.ports import CacheUnavailable

SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)"


class SqliteFileCache:
    name = "sqlite-file"

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute(SCHEMA)
            except sqlite3.Error as exc:
                raise CacheUnavailable(f"cannot open {self.path}: {exc}") from None
            self._conn = conn
        return self._conn

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db().execute(sql, params)
        except sqlite3.Error as exc:
            raise CacheUnavailable(f"{self.path}: {exc}") from None

    async def get(self, key: str) -> str | None:
        row = self._run("SELECT value FROM entries WHERE key = ? AND expires > ?", (key, self._clock())).fetchone()
        return row[0] if row else None

    async def set(self, key: str, value: str, ttl: int) -> None:
        now = self._clock()
        self._run("DELETE FROM entries WHERE expires <= ?", (now,))
        self._run("INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)", (key, value, now + ttl))

    async def set_if_absent(self, key: str, value: str, ttl: int) -> bool:
        now = self._clock()
        self._run("DELETE FROM entries WHERE expires <= ?", (now,))
        cursor = self._run(
            "INSERT INTO entries (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING",
            (key, value, now + ttl),
        )
        return cursor.rowcount == 1

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._run("DELETE FROM entries WHERE key = ?", (key,))

    async def incr(self, key: str, ttl: int) -> int:
        now = self._clock()
        self._run("DELETE FROM entries WHERE key = ? AND expires <= ?", (key, now))
        row = self._run(
            "INSERT INTO entries (key, value, expires) VALUES (?, '1', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) RETURNING value",
            (key, now + ttl),
        ).fetchone()
        return int(row[0])

    async def ping(self) -> None:
        self._run("SELECT 1")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
