"""The lexical postings index of an existing database (storage/sql/lexical_index.py), on
SQLite and a real PostgreSQL: a database from before migration 0008 keeps answering
through its old full-text index; the build fills the postings in resumable steps (a
stop half-way resumes from its cursor), and only then is the old index dropped, with
the same candidates. Also the impacts (storage/sql/lexical.py) and `continuum migrate`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio

from continuum.models import MemoryFilters
from continuum.settings import Settings
from continuum.storage.postgres import PostgresStorage
from continuum.storage.sql import migrate as migrate_module
from continuum.storage.sql.lexical import candidates_statement, chosen_terms, impacts
from continuum.storage.sqlite import SqliteStorage
from continuum.storage.sqlite_dialect.dialect import SQLITE
from tests.contract.test_storage_contract import memory
from tests.support.pg import create_database, drop_database
from tests.support.servers import REPO, clean_env

NOW = datetime(2030, 1, 1, tzinfo=UTC)
WORDS = ["kestrel", "meadow", "harbour", "lantern", "orchard", "glacier"]


def test_impacts_follow_bm25_within_a_term() -> None:
    short, long = dict(impacts("kestrel dawn")), dict(impacts("kestrel dawn over the long grey ridge today"))
    assert short["kestrel"] > long["kestrel"] > 0  # shorter memory first, as BM25 orders one term
    assert dict(impacts("kestrel kestrel ridge"))["kestrel"] > short["kestrel"]  # more occurrences first
    assert impacts("") == [] and impacts("b a a") == sorted(impacts("a b a"))


def test_terms_fit_the_d1_parameter_limits() -> None:
    weights = {f"t{n}": float(n + 1) for n in range(40)}
    chosen = chosen_terms(weights, 11)
    assert len(chosen) * 11 + 1 <= 100 and chosen[0] == "t39"
    assert len(chosen_terms(weights, 4)) == 16
    statement = candidates_statement(SQLITE, 16, None)
    assert statement.count("?") == 16 * 4 + 1
    # D1: at most 5 terms per compound SELECT, so 4 groups of at most 5
    assert statement.count("UNION ALL") == 15 and statement.count(") g") == 4


def _pre_0008(monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrations as they were before the postings index."""
    before = [m for m in migrate_module.load_migrations("sqlite") if m.version < "0008"]
    before_pg = [m for m in migrate_module.load_migrations("postgres") if m.version < "0008"]
    pick = {"sqlite": before, "postgres": before_pg}
    for module in ("continuum.storage.sqlite_dialect.parts", "continuum.storage.postgres.schema"):
        monkeypatch.setattr(f"{module}.load_migrations", lambda dialect: pick[dialect])


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "old.db")
    else:
        url = create_database("continuum_lexical")
        yield "postgres", url
        drop_database(url)


def _open(kind: str, where: str) -> Any:
    if kind == "sqlite":
        return SqliteStorage(where)
    return PostgresStorage(Settings(postgres_url=where, postgres_pool_size=1, postgres_max_overflow=1).postgres)


def _old_index_present(kind: str, where: str) -> bool:
    if kind == "sqlite":
        with sqlite3.connect(where) as conn:
            return bool(conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'memories_fts'").fetchone()[0])
    with psycopg.connect(where) as conn:
        sql = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'memories' AND column_name = %s"
        return bool(conn.execute(sql, ("search_vector",)).fetchone()[0])


def _postings(kind: str, where: str) -> int:
    if kind == "sqlite":
        with sqlite3.connect(where) as conn:
            return int(conn.execute("SELECT count(*) FROM lexical_postings").fetchone()[0])
    with psycopg.connect(where) as conn:
        return int(conn.execute("SELECT count(*) FROM lexical_postings").fetchone()[0])


@pytest_asyncio.fixture
async def old_database(
    backend: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, str, int]]:
    """A database migrated to 0007 holding 25 memories in two tenants (written by raw
    SQL, as the code of that time left them: no postings table)."""
    kind, where = backend
    with monkeypatch.context() as patch:
        _pre_0008(patch)
        storage = _open(kind, where)
        await storage.connect()
        await storage.migrate()
        await storage.close()
    rows = [
        memory(t, f"{WORDS[n % 6]} {WORDS[(n * 5) % 6]} note {n}", session=f"s{n % 3}", memory_id=f"{t}{n:03d}")
        for t, count in (("a", 20), ("b", 5))
        for n in range(count)
    ]
    columns = "id, tenant_id, scope_key, role, content, content_hash, search_terms, session_id, created_at, updated_at"
    values = [
        (m.id, m.tenant_id, m.id, m.role, m.content, m.content_hash, m.search_terms, m.session_id, NOW.isoformat(),
         NOW.isoformat()) for m in rows
    ]  # fmt: skip
    if kind == "sqlite":
        with sqlite3.connect(where) as conn:
            conn.executemany(f"INSERT INTO memories ({columns}) VALUES ({', '.join('?' * 10)})", values)
    else:
        with psycopg.connect(where) as conn:
            conn.cursor().executemany(f"INSERT INTO memories ({columns}) VALUES ({', '.join(['%s'] * 10)})", values)
    yield kind, where, len(rows)


async def _ids(storage: Any, tenant: str, terms: list[str], **filters: str) -> list[str]:
    found = await storage.lexical_candidates(tenant, terms, MemoryFilters(**filters), limit=50, now=NOW)
    return sorted(m.id for m in found)


async def test_the_build_resumes_after_a_stop_and_drops_the_old_index_only_after(
    old_database: tuple[str, str, int],
) -> None:
    kind, where, count = old_database
    storage = _open(kind, where)
    await storage.connect()
    try:
        assert "0008_lexical_postings" in await storage.migrate()
        assert (await storage.lexical_index_state())["built"] in (0, False)
        queries = [("a", ["kestrel"], {}), ("a", ["meadow", "glacier"], {"session_id": "s1"}), ("b", ["kestrel"], {})]
        before = [await _ids(storage, t, terms, **f) for t, terms, f in queries]  # the old index answers
        assert all(before) and _old_index_present(kind, where)

        seen: list[tuple[int, int]] = []

        def stop_after_two(done: int, total: int) -> None:
            seen.append((done, total))
            if len(seen) == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            await storage.build_lexical_index(stop_after_two, batch=4)
        state = await storage.lexical_index_state()
        assert not state["built"] and (state["after_tenant"], state["after_id"]) == ("a", "a007")
        assert _old_index_present(kind, where)
        assert [await _ids(storage, t, terms, **f) for t, terms, f in queries] == before  # still the old index

        resumed: list[tuple[int, int]] = []
        read = await storage.build_lexical_index(lambda d, t: resumed.append((d, t)), batch=4)
        assert read == count - 8 and resumed[0] == (12, count) and resumed[-1] == (count, count)
        assert not _old_index_present(kind, where)
        expected = sum(len(impacts(m)) for m in _search_terms(kind, where))
        assert _postings(kind, where) == expected
    finally:
        await storage.close()
    fresh = _open(kind, where)  # a new process: reads the state, answers from the postings
    await fresh.connect()
    try:
        assert [await _ids(fresh, t, terms, **f) for t, terms, f in queries] == before
        assert await fresh.build_lexical_index() == 0  # nothing left to do
    finally:
        await fresh.close()


def _search_terms(kind: str, where: str) -> list[str]:
    if kind == "sqlite":
        with sqlite3.connect(where) as conn:
            return [r[0] for r in conn.execute("SELECT search_terms FROM memories")]
    with psycopg.connect(where) as conn:
        return [r[0] for r in conn.execute("SELECT search_terms FROM memories")]


async def test_a_new_database_has_its_index_built_and_no_old_one(tmp_path: Path) -> None:
    storage = SqliteStorage(str(tmp_path / "new.db"))
    await storage.connect()
    try:
        await storage.migrate()
        state = await storage.lexical_index_state()
        assert state["built"] and state["old_dropped"]
    finally:
        await storage.close()
    assert not _old_index_present("sqlite", str(tmp_path / "new.db"))


def test_cli_migrate_builds_the_index_with_a_progress_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    env = clean_env({"CONTINUUM_DB_PATH": str(path), "PYTHONPATH": str(REPO / "shared")})
    conn = sqlite3.connect(path)  # an old database: migrated to 0007 by the code of that time
    for m in migrate_module.load_migrations("sqlite"):
        if m.version < "0008":
            conn.executescript(m.sql)
    conn.execute("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.executemany(
        "INSERT INTO schema_migrations VALUES (?, '2026-01-01T00:00:00.000000Z')",
        [(m.version,) for m in migrate_module.load_migrations("sqlite") if m.version < "0008"],
    )
    conn.executemany(
        "INSERT INTO memories (id, tenant_id, scope_key, role, content, content_hash, search_terms, created_at, "
        "updated_at) VALUES (?, 't', ?, 'user', 'x', ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        [(f"m{n:04d}", f"m{n}", f"h{n}", f"kestrel note{n}") for n in range(250)],
    )
    conn.commit()
    conn.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "continuum.cli.main", *args], env=env, cwd=str(tmp_path),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    assert "migration 0008 pending" in cli("migrate", "--status").stdout
    done = cli("migrate", "--batch", "100")
    assert "applied: 0008_lexical_postings" in done.stdout and "built (250 memories" in done.stdout
    assert "building the lexical index" in done.stderr and "100%" in done.stderr
    assert _postings("sqlite", str(path)) == 500 and not _old_index_present("sqlite", str(path))
    assert "lexical index: built" in cli("migrate").stdout
    assert os.path.exists(path)


async def test_the_build_goes_in_steps_where_a_cron_runs_it(old_database: tuple[str, str, int]) -> None:
    kind, where, count = old_database
    storage = _open(kind, where)
    await storage.connect()
    try:
        await storage.migrate()
        assert await storage.build_lexical_index(batch=5, max_batches=2) == 10
        assert not (await storage.lexical_index_state())["built"] and _old_index_present(kind, where)
        assert await storage.build_lexical_index(batch=5, max_batches=2) == 10
        assert await storage.build_lexical_index(batch=5, max_batches=2) == count - 20
        state = await storage.lexical_index_state()
        assert state["built"] and state["old_dropped"] and not _old_index_present(kind, where)
        assert await storage.build_lexical_index(batch=5, max_batches=2) == 0
    finally:
        await storage.close()
