"""Cloudflare D1: the SQLite-dialect storage over a D1 binding.

All storage logic lives in `sqlite_dialect`; this module only runs its statements
through D1's JavaScript API (`prepare(sql).bind(...).all()`, `batch([...])`):

- D1 has no BEGIN: every write of the core is one `batch`, which D1 runs atomically.
- D1 accepts at most 100 bound parameters per statement; the dialect passes lists as
  one JSON parameter, and this executor refuses anything over the limit by name
  before it reaches D1.
- Crossing into JavaScript, Python `None` becomes `undefined`, which D1 rejects: SQL
  NULL is bound as `pyodide.ffi.jsnull`. Coming back, JS `null` (jsnull) and
  `undefined` become `None`, and BLOBs (arrays of byte values) become `bytes`.
  Numbers come back as JavaScript numbers: integral values are ints, so a REAL
  column holding 2.0 reads as 2 (the core converts where it needs floats).

Migrations: the schema is the SQLite migration files, applied in production by
`wrangler d1 migrations apply` (wrangler.toml points `migrations_dir` at them).
`migrate()` applies the same files through `batch` and records them in wrangler's own
`d1_migrations` table under wrangler's names (`0001_init.sql`), so either path sees
what the other applied and nothing is applied twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from continuum.errors import DependencyUnavailable
from continuum.storage.migrations import load_migrations
from continuum.storage.sqlite_dialect import Row, SqliteDialectStorage, Statement

MAX_BOUND_PARAMETERS = 100
MAX_SAFE_INTEGER = 2**53 - 1
MIGRATIONS_TABLE = "d1_migrations"
# The table wrangler creates for its own bookkeeping (same definition, so either may create it).
CREATE_MIGRATIONS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE}(id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)"
)

# Messages of D1 failures that are worth a retry rather than a 500.
_TRANSIENT_HINTS = (
    "network connection lost",
    "storage caused object to be reset",
    "transient",
    "overloaded",
    "timed out",
    "timeout",
    "reset because its code was updated",
    "internal error",
)


class _JsNull:
    """CPython's stand-in for `pyodide.ffi.jsnull` (JavaScript `null`).

    Outside Pyodide there is no JavaScript; D1 stand-ins and bridges (tests) treat this
    object as `null` and Python `None` as `undefined`, exactly as the real boundary does.
    """

    _instance: _JsNull | None = None

    def __new__(cls) -> _JsNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "jsnull"

    def __bool__(self) -> bool:
        return False


JS_NULL = _JsNull()


class TooManyParameters(ValueError):
    """A statement would bind more parameters than D1 allows."""


class D1QueryError(RuntimeError):
    """D1 refused a statement (a bug in the SQL, not a bad request)."""


class JsBoundary:
    """How values cross between Python and D1's JavaScript API.

    In Pyodide it uses `pyodide.ffi` (jsnull, to_js); under CPython (D1 stand-in, bridge
    to the real local D1) the same rules apply with `JS_NULL` in place of jsnull.
    """

    def __init__(self) -> None:
        try:
            from pyodide.ffi import jsnull, to_js  # type: ignore[import-not-found]
        except ImportError:
            self.null: Any = JS_NULL
            self._to_js: Any = None
        else:
            self.null = jsnull
            self._to_js = to_js

    def param(self, value: Any) -> Any:
        if value is None:
            return self.null
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                raise ValueError(f"integer {value} cannot cross to JavaScript without losing precision")
            return value
        if isinstance(value, str | float):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return self._to_js(bytes(value)) if self._to_js is not None else bytes(value)
        raise TypeError(f"cannot bind a {type(value).__name__} to a D1 statement")

    def array(self, items: list[Any]) -> Any:
        """A JavaScript array (D1's batch takes one, not a Python list proxy)."""
        return self._to_js(items, depth=1) if self._to_js is not None else items

    def value(self, value: Any) -> Any:
        if value is None or value is self.null or type(value).__name__ in ("JsNull", "_JsNull"):
            return None
        if isinstance(value, list):  # a BLOB: D1 returns its bytes as numbers
            return bytes(value)
        if isinstance(value, memoryview | bytearray):
            return bytes(value)
        return value

    def rows(self, result: Any) -> list[Row]:
        if hasattr(result, "to_py"):
            result = result.to_py()
        rows = result["results"] if isinstance(result, dict) else result.results
        if rows is None or rows is self.null:
            return []
        return [{key: self.value(v) for key, v in dict(row).items()} for row in rows]


def check_parameters(sql: str, params: Sequence[Any]) -> None:
    if len(params) > MAX_BOUND_PARAMETERS:
        head = " ".join(sql.split())[:120]
        raise TooManyParameters(
            f"D1 binds at most {MAX_BOUND_PARAMETERS} parameters per statement; "
            f"{len(params)} given for: {head}"
        )


def _translate(exc: Exception) -> Exception:
    text = str(exc)
    lowered = text.lower()
    if "no such table" in lowered:
        return DependencyUnavailable(
            f"D1 schema is missing ({text}): apply the migrations with "
            "`wrangler d1 migrations apply`",
            retry_after=5,
        )
    if any(hint in lowered for hint in _TRANSIENT_HINTS):
        return DependencyUnavailable(f"D1 unavailable: {text}", retry_after=1)
    return D1QueryError(text)


class D1Executor:
    """The two operations the dialect needs, over a D1 binding (real or stand-in)."""

    def __init__(self, binding: Any, boundary: JsBoundary | None = None) -> None:
        # The workers SDK wraps bindings (`_BindingWrapper`) and converts arguments its
        # own way; this executor does the crossing itself, on the raw JS object.
        self.binding = getattr(binding, "_binding", binding)
        self.js = boundary or JsBoundary()

    def _statement(self, sql: str, params: Sequence[Any]) -> Any:
        check_parameters(sql, params)
        values = [self.js.param(p) for p in params]  # our refusals (TypeError, ValueError) stay ours
        try:
            statement = self.binding.prepare(sql)
            return statement.bind(*values) if values else statement
        except Exception as exc:  # D1 validates at bind() (D1_TYPE_ERROR)
            raise _translate(exc) from exc

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        statement = self._statement(sql, params)
        try:
            result = await statement.all()
        except Exception as exc:
            raise _translate(exc) from exc
        return self.js.rows(result)

    async def run_batch(self, statements: Sequence[Statement]) -> None:
        if not statements:
            return
        prepared = [self._statement(sql, params) for sql, params in statements]
        try:
            await self.binding.batch(self.js.array(prepared))
        except Exception as exc:
            raise _translate(exc) from exc


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _is_trigger(words: list[str]) -> bool:
    head = [w.upper() for w in words[:3]]
    return head[:2] == ["CREATE", "TRIGGER"] or (
        head[:1] == ["CREATE"] and head[1:3] in (["TEMP", "TRIGGER"], ["TEMPORARY", "TRIGGER"])
    )


def _quoted_end(script: str, start: int) -> int:
    """Index just past the quoted token opening at `start` ('', "", `` double to escape)."""
    close = "]" if script[start] == "[" else script[start]
    j = start + 1
    while j < len(script):
        if script[j] == close:
            if close != "]" and script.startswith(close * 2, j):
                j += 2
                continue
            return j + 1
        j += 1
    return len(script)


def split_statements(script: str) -> list[str]:
    """Split an SQL script into statements, keeping trigger bodies (BEGIN ... END) whole.

    Understands quotes ('', "", ``, []), line and block comments; comments are dropped.
    """
    statements: list[str] = []
    current: list[str] = []
    words: list[str] = []
    depth = 0  # BEGIN/CASE ... END nesting inside a CREATE TRIGGER
    i = 0
    while i < len(script):
        ch = script[i]
        if script.startswith("--", i):
            end = script.find("\n", i)
            i = len(script) if end < 0 else end
        elif script.startswith("/*", i):
            end = script.find("*/", i + 2)
            i = len(script) if end < 0 else end + 2
            current.append(" ")
        elif ch in "'\"`[":
            end = _quoted_end(script, i)
            current.append(script[i:end])
            i = end
        elif ch.isalpha() or ch == "_":
            match = _WORD.match(script, i)
            assert match is not None
            token = match.group(0)
            current.append(token)
            words.append(token)
            i = match.end()
            if _is_trigger(words):
                if token.upper() in ("BEGIN", "CASE"):
                    depth += 1
                elif token.upper() == "END":
                    depth -= 1
        elif ch == ";" and depth <= 0:
            text = "".join(current).strip()
            if text:
                statements.append(text)
            current, words, depth = [], [], 0
            i += 1
        else:
            current.append(ch)
            i += 1
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def migration_name(version: str) -> str:
    """The name wrangler records for a migration file."""
    return f"{version}.sql"


class D1Storage(SqliteDialectStorage):
    name = "d1"

    def __init__(self, binding: Any) -> None:
        self.executor = D1Executor(binding)
        super().__init__(self.executor)

    async def _applied(self) -> set[str] | None:
        """Names in wrangler's migrations table, or None when the table does not exist."""
        exists = await self.db.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
        )
        if not exists:
            return None
        return {r["name"] for r in await self.db.fetch(f"SELECT name FROM {MIGRATIONS_TABLE}")}

    async def pending_migrations(self) -> list[str]:
        applied = await self._applied() or set()
        return [m.version for m in load_migrations("sqlite") if migration_name(m.version) not in applied]

    async def migrate(self) -> list[str]:
        applied = await self._applied()
        if applied is None:
            await self.db.run_batch([(CREATE_MIGRATIONS_TABLE, ())])
            applied = set()
        done = []
        for migration in load_migrations("sqlite"):
            name = migration_name(migration.version)
            if name in applied:
                continue
            statements: list[Statement] = [(sql, ()) for sql in split_statements(migration.sql)]
            statements.append((f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (?)", (name,)))
            try:
                await self.db.run_batch(statements)
            except (D1QueryError, DependencyUnavailable) as exc:
                raise RuntimeError(f"migration {migration.version} failed: {exc}") from exc
            done.append(migration.version)
        return done
