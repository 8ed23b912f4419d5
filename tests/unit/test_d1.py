"""The D1 adapter under CPython: JS-boundary conversions, parameter limit, statement
splitting, migrations bookkeeping shared with wrangler, atomic batches, error mapping.

The storage semantics themselves are the contract suite's (tests/contract); the stand-in
used here is checked against wrangler's real local D1 in tests/workers.
"""

from __future__ import annotations

import sqlite3
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from continuum.errors import DependencyUnavailable
from continuum.models import MemoryRecord
from continuum.storage.d1 import D1Storage
from continuum.storage.d1.boundary import JS_NULL, JsBoundary
from continuum.storage.d1.executor import MAX_BOUND_PARAMETERS, D1Executor, D1QueryError, TooManyParameters
from continuum.storage.d1.scripts import split_statements
from continuum.storage.d1.store import migration_name
from continuum.storage.sql.migrate import load_migrations
from tests.support.d1_standin import D1Database, D1Error

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "shared" / "continuum" / "storage" / "migrations" / "sqlite"


class RecordingBinding:
    """A D1 stand-in that also records what crossed into it."""

    def __init__(self) -> None:
        self.db = D1Database()
        self.bound: list[tuple] = []
        self.batches = 0

    def prepare(self, sql):
        outer = self

        class Statement:
            def __init__(self, inner):
                self.inner = inner

            def bind(self, *values):
                outer.bound.append(values)
                return Statement(self.inner.bind(*values))

            async def all(self):
                return await self.inner.all()

        return Statement(self.db.prepare(sql))

    async def batch(self, statements):
        self.batches += 1
        return await self.db.batch([s.inner for s in statements])


# ---- the JavaScript boundary ------------------------------------------------------------


def test_python_values_cross_as_d1_accepts_them():
    js = JsBoundary()
    assert js.param(None) is JS_NULL  # SQL NULL, never `undefined`
    assert js.param(True) == 1 and js.param(False) == 0
    assert js.param(2**53 - 1) == 2**53 - 1
    assert js.param(1.5) == 1.5 and js.param("x") == "x"
    assert js.param(b"\x00\x01") == b"\x00\x01"
    with pytest.raises(ValueError, match="precision"):
        js.param(2**53)
    with pytest.raises(TypeError, match="dict"):
        js.param({"a": 1})


def test_results_come_back_as_python_values():
    js = JsBoundary()
    rows = js.rows({"results": [{"a": JS_NULL, "b": None, "c": [0, 255], "d": 2, "e": "t"}], "success": True})
    assert rows == [{"a": None, "b": None, "c": b"\x00\xff", "d": 2, "e": "t"}]
    assert js.rows({"results": JS_NULL}) == []


async def test_none_reaches_d1_as_null_not_undefined():
    binding = RecordingBinding()
    executor = D1Executor(binding)
    rows = await executor.fetch("SELECT ? IS NULL AS is_null, ? AS v", (None, "x"))
    assert rows == [{"is_null": 1, "v": "x"}]
    assert binding.bound == [(JS_NULL, "x")]
    with pytest.raises(D1Error, match="undefined"):  # what D1 does with a raw None
        binding.db.prepare("SELECT ?").bind(None)


async def test_statements_over_the_parameter_limit_are_refused_by_name():
    binding = RecordingBinding()
    executor = D1Executor(binding)
    ok = ", ".join("?" for _ in range(MAX_BOUND_PARAMETERS))
    assert len((await executor.fetch(f"SELECT {ok}", list(range(MAX_BOUND_PARAMETERS))))[0]) >= 1
    too_many = ", ".join("?" for _ in range(MAX_BOUND_PARAMETERS + 1))
    with pytest.raises(TooManyParameters, match="101 given"):
        await executor.fetch(f"SELECT {too_many}", list(range(MAX_BOUND_PARAMETERS + 1)))
    with pytest.raises(TooManyParameters):
        await executor.run_batch([("SELECT 1", ()), (f"SELECT {too_many}", list(range(101)))])
    assert binding.batches == 0  # refused before anything reached D1


async def test_errors_are_mapped():
    executor = D1Executor(D1Database())
    with pytest.raises(DependencyUnavailable, match="wrangler d1 migrations apply"):
        await executor.fetch("SELECT * FROM memories")
    with pytest.raises(D1QueryError, match="syntax error"):
        await executor.fetch("SELEC 1")


async def test_a_batch_is_all_or_nothing():
    executor = D1Executor(D1Database())
    await executor.run_batch([("CREATE TABLE t (k TEXT PRIMARY KEY)", ())])
    with pytest.raises(D1QueryError, match="UNIQUE"):
        await executor.run_batch([("INSERT INTO t VALUES (?)", ("a",)), ("INSERT INTO t VALUES (?)", ("a",))])
    assert await executor.fetch("SELECT count(*) AS n FROM t") == [{"n": 0}]


# ---- statement splitting --------------------------------------------------------------


@pytest.mark.parametrize("migration", load_migrations("sqlite"), ids=lambda m: m.version)
def test_migrations_split_into_complete_statements(migration):
    statements = split_statements(migration.sql)
    assert statements
    conn = sqlite3.connect(":memory:")
    for earlier in load_migrations("sqlite"):
        if earlier.version == migration.version:
            break
        conn.executescript(earlier.sql)
    for statement in statements:
        assert sqlite3.complete_statement(statement + ";"), statement
        conn.execute(statement)


def test_splitting_respects_quotes_comments_and_trigger_bodies():
    script = """
    -- a comment; with a semicolon
    CREATE TABLE "a;b" (x TEXT DEFAULT 'it''s; fine', [y;z] INTEGER); /* block; comment */
    CREATE TRIGGER tr AFTER INSERT ON "a;b" BEGIN
        UPDATE "a;b" SET x = CASE WHEN new.x = 'END' THEN 'e' ELSE 'f' END;
        INSERT INTO "a;b" (x) SELECT 'BEGIN;';
    END;
    SELECT 1
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        assert sqlite3.complete_statement(statement + ";")
        conn.execute(statement)


# ---- migrations: one set of files, one bookkeeping table shared with wrangler -----------


def test_wrangler_applies_the_same_migration_files():
    config = tomllib.loads((REPO / "wrangler" / "wrangler.toml").read_text())
    (database,) = config["d1_databases"]
    assert database["binding"] == "DB"
    assert (REPO / "wrangler" / database["migrations_dir"]).resolve() == MIGRATIONS.resolve()


async def test_migrate_records_what_wrangler_records():
    db = D1Database()
    storage = D1Storage(db)
    versions = [m.version for m in load_migrations("sqlite")]
    assert await storage.pending_migrations() == versions
    assert await storage.migrate() == versions
    assert await storage.pending_migrations() == []
    assert await storage.migrate() == []
    names = (await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all())["results"]
    assert [r["name"] for r in names] == [migration_name(v) for v in versions]


async def test_migrate_continues_after_wrangler():
    """A database wrangler migrated (its table, its names) has nothing pending."""
    db = D1Database()
    first = load_migrations("sqlite")[0]
    await db.exec(
        "CREATE TABLE d1_migrations(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, "
        "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)"
    )
    await db.batch(
        [db.prepare(s) for s in split_statements(first.sql)]
        + [db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(f"{first.version}.sql")]
    )
    storage = D1Storage(db)
    rest = [m.version for m in load_migrations("sqlite")[1:]]
    assert await storage.pending_migrations() == rest
    assert await storage.migrate() == rest


async def test_storage_round_trip_with_nulls_and_expiry():
    storage = D1Storage(D1Database())
    await storage.migrate()
    now = datetime.now(UTC)
    record = MemoryRecord(
        id="01M0000000000000000000000A", tenant_id="t1", content="hello world", content_hash="h1",
        search_terms="hello world", role="user", instance_id=None, session_id=None, metadata={"k": None},
        created_at=now, updated_at=now, expires_at=now + timedelta(seconds=1),
    )  # fmt: skip
    results = await storage.insert_memories("t1", [record], now)
    assert [r.status for r in results] == ["stored"]
    got = await storage.get_memory("t1", record.id, now)
    assert got is not None and got.instance_id is None and got.metadata == {"k": None}
    assert await storage.get_memory("t2", record.id, now) is None  # another tenant sees nothing
    assert await storage.purge_expired(now + timedelta(seconds=2)) == 1
    assert (await storage.counts("t1")).memories == 0


async def test_large_metadata_filters_stay_under_the_parameter_limit():
    """Filters of any size are one JSON parameter (they were 2-3 per key)."""
    from continuum.models import MemoryFilters

    storage = D1Storage(D1Database())
    await storage.migrate()
    now = datetime.now(UTC)
    metadata = {f"k{i}": i for i in range(80)} | {"big": 2**53 + 1}
    record = MemoryRecord(
        id="01M0000000000000000000000C", tenant_id="t1", content="tagged", content_hash="h2", search_terms="tagged",
        role="user", instance_id="i", session_id="s", metadata=metadata, created_at=now, updated_at=now,
    )  # fmt: skip
    await storage.insert_memories("t1", [record], now)
    found = await storage.list_memories("t1", MemoryFilters(metadata=metadata), before_id=None, limit=10, now=now)
    assert [m.id for m in found] == [record.id]
    other = metadata | {"big": 2**53}
    assert await storage.list_memories("t1", MemoryFilters(metadata=other), before_id=None, limit=10, now=now) == []
