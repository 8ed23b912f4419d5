"""A stand-in for a Cloudflare D1 binding, over sqlite3, with D1's semantics.

It offers the binding's API (`prepare(sql).bind(...).all()/first()/run()/raw()`,
`batch([...])`, `exec(sql)`) and enforces what D1 enforces, with D1's messages:

- no transactions in SQL (BEGIN, COMMIT, ROLLBACK, SAVEPOINT are refused);
- `batch` is atomic: any failure rolls back every statement of the batch;
- at most 100 bound parameters per statement;
- `undefined` cannot be bound: Python `None` plays `undefined` (that is what `None`
  becomes in JavaScript), and `continuum.storage.d1.boundary.JS_NULL` plays `null`;
- results come back as JavaScript would give them: `{results, success, meta}`, SQL
  NULL as `JS_NULL`, BLOBs as lists of byte values, integral REALs as ints.

`tests/workers/d1_cases.py` runs one list of cases through this stand-in and through
the real local D1 of wrangler (miniflare) and requires identical outputs, so the two
cannot drift apart.
"""

from __future__ import annotations

import contextlib
import sqlite3 as _stdlib_sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from continuum.storage.d1.boundary import JS_NULL
from continuum.storage.d1.executor import MAX_BOUND_PARAMETERS

try:  # a current SQLite, like D1's (3.51 here; the system's 3.40 counts FTS5 writes differently)
    from pysqlite3 import dbapi2 as sqlite3
except ImportError:  # pragma: no cover - the stand-in still works, with the system SQLite
    sqlite3 = _stdlib_sqlite3  # type: ignore[misc]

TRANSACTION_MESSAGE = (
    "To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic "
    "write coalescing."
)


class D1Error(Exception):
    """What a rejected D1 promise carries: a message such as `D1_ERROR: ...`."""


def _js_type(value: Any) -> str | None:
    """D1's name for a value it cannot bind, or None when the value is fine."""
    if value is None:
        return "undefined"
    if value is JS_NULL or isinstance(value, bool | int | float | str | bytes | bytearray | memoryview):
        return None
    return "object"


def _to_sqlite(value: Any) -> Any:
    if value is JS_NULL:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


def _to_js(value: Any) -> Any:
    if value is None:
        return JS_NULL
    if isinstance(value, bytes):
        return list(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


_CONSTRAINTS = {
    "NOT NULL": "NOTNULL",
    "CHECK": "CHECK",
    "FOREIGN KEY": "FOREIGNKEY",
    "UNIQUE": "UNIQUE",
}


class D1PreparedStatement:
    def __init__(self, db: D1Database, sql: str, params: tuple[Any, ...] = ()) -> None:
        self._db = db
        self._sql = sql
        self._params = params

    def bind(self, *values: Any) -> D1PreparedStatement:
        for value in values:
            kind = _js_type(value)
            if kind is not None:
                shown = "undefined" if kind == "undefined" else "[object Object]"
                raise D1Error(f"D1_TYPE_ERROR: Type '{kind}' not supported for value '{shown}'")
        return D1PreparedStatement(self._db, self._sql, values)

    async def all(self) -> dict[str, Any]:
        return self._db._run_one(self._sql, self._params)

    async def run(self) -> dict[str, Any]:
        return self._db._run_one(self._sql, self._params)

    async def first(self, column: str | None = None) -> Any:
        rows = self._db._run_one(self._sql, self._params)["results"]
        if not rows:
            return JS_NULL
        if column is None:
            return rows[0]
        if column not in rows[0]:
            raise D1Error(f"D1_COLUMN_NOTFOUND: Column not found ({column})")
        return rows[0][column]

    async def raw(self, columnNames: bool = False) -> list[list[Any]]:
        rows = self._db._run_one(self._sql, self._params, raw=True)
        return rows["results"] if columnNames else rows["results"][1:]


class D1Database:
    """One D1 database in a local SQLite file (or in memory)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        # No statement cache: the authorizer must see every statement as it is prepared.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=0)
        self._conn.execute("PRAGMA foreign_keys = ON")
        # Like D1's storage: a dropped table gives its pages back (the size shrinks).
        self._conn.execute("PRAGMA auto_vacuum = FULL")
        self._internal = False
        self._page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        self._conn.set_authorizer(self._authorize)

    def close(self) -> None:
        self._conn.close()

    # The authorizer refuses transaction control from user SQL, as D1 does.
    def _authorize(self, action: int, *_: Any) -> int:
        if action in (sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT) and not self._internal:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def _control(self, sql: str) -> None:
        self._internal = True
        try:
            self._conn.execute(sql)
        finally:
            self._internal = False

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """D1 runs each request in a transaction of its own (a Durable Object's)."""
        self._control("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._control("ROLLBACK")
            raise
        self._control("COMMIT")

    def _error(self, exc: sqlite3.Error, sql: str) -> D1Error:
        message = str(exc)
        if message == "not authorized" and self._is_transaction(sql):
            return D1Error(f"D1_ERROR: {TRANSACTION_MESSAGE}")
        primary, extended = self._codes(exc)
        detail = f"{message}: {primary}" + (f" (extended: {extended})" if extended != primary else "")
        return D1Error(f"D1_ERROR: {detail}")

    def _codes(self, exc: sqlite3.Error) -> tuple[str, str]:
        """SQLite's primary result code name and the extended one D1 also reports.

        pysqlite3 gives the primary code only; constraint failures are told apart by
        their message, as SQLite words them (a UNIQUE failure on the primary key
        columns is SQLITE_CONSTRAINT_PRIMARYKEY).
        """
        primary = getattr(exc, "sqlite_errorname", None) or "SQLITE_ERROR"
        if primary != "SQLITE_CONSTRAINT":
            return primary, primary
        message = str(exc)
        for phrase, code in _CONSTRAINTS.items():
            if message.startswith(f"{phrase} constraint failed"):
                if code == "UNIQUE" and self._is_primary_key(message.split(": ", 1)[-1]):
                    code = "PRIMARYKEY"
                return primary, f"{primary}_{code}"
        return primary, primary

    def _is_primary_key(self, columns: str) -> bool:
        names = [c.strip() for c in columns.split(",")]
        tables = {n.split(".", 1)[0] for n in names}
        if len(tables) != 1:
            return False
        table = tables.pop()
        info = self._conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        keys = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5] > 0]
        return keys == [n.split(".", 1)[1] for n in names]

    @staticmethod
    def _is_transaction(sql: str) -> bool:
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        return head in ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE")

    def _last_row_id(self) -> int:
        return self._conn.execute("SELECT last_insert_rowid()").fetchone()[0]

    def _size(self) -> int:
        return self._conn.execute("PRAGMA page_count").fetchone()[0] * self._page_size

    def _execute(self, sql: str, params: Sequence[Any], raw: bool = False) -> dict[str, Any]:
        if len(params) > MAX_BOUND_PARAMETERS:
            raise D1Error("D1_ERROR: too many SQL variables: SQLITE_ERROR")
        # Counted before COMMIT, as D1 counts: FTS index writes deferred to the commit
        # are not in `changes`, trigger writes are.
        before = self._conn.total_changes
        last_before = self._last_row_id()
        size = self._size()
        started = time.perf_counter()
        try:
            cursor = self._conn.execute(sql, tuple(_to_sqlite(p) for p in params))
            rows = cursor.fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from None
        columns = [c[0] for c in cursor.description or ()]
        if raw:
            results: list[Any] = [columns] + [[_to_js(v) for v in row] for row in rows]
        else:
            results = [{c: _to_js(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        changes = self._conn.total_changes - before
        last_row_id = self._last_row_id()
        return {
            "success": True,
            "meta": {
                "served_by": "d1-standin",
                "duration": round((time.perf_counter() - started) * 1000, 3),
                "changes": changes,
                "last_row_id": last_row_id,
                "changed_db": changes != 0 or last_row_id != last_before or self._size() != size,
                "size_after": self._size(),
                "rows_read": len(rows),
                "rows_written": changes,
            },
            "results": results,
        }

    def _run_one(self, sql: str, params: Sequence[Any], raw: bool = False) -> dict[str, Any]:
        with self._transaction():
            return self._execute(sql, params, raw)

    # ---- the binding's API ------------------------------------------------------------

    def prepare(self, sql: str) -> D1PreparedStatement:
        return D1PreparedStatement(self, sql)

    async def batch(self, statements: Sequence[D1PreparedStatement]) -> list[dict[str, Any]]:
        if not statements:
            raise D1Error("D1_ERROR: No SQL statements detected.")
        with self._transaction():
            return [self._execute(s._sql, s._params) for s in statements]

    async def exec(self, sql: str) -> dict[str, Any]:
        """Line by line, in one transaction; D1 reports any failure as line 1."""
        lines = sql.strip().split("\n")
        started = time.perf_counter()
        try:
            with self._transaction():
                for line in lines:
                    self._execute(line, ())
        except D1Error as exc:
            detail = str(exc).removeprefix("D1_ERROR: ")
            raise D1Error(f"D1_EXEC_ERROR: Error in line 1: {lines[0]}: {detail}") from None
        return {"count": len(lines), "duration": round((time.perf_counter() - started) * 1000, 3)}
