"""PostgreSQL adapter specifics, on real servers: migrations (atomic, concurrent,
optional extensions detected both ways), the deployment guide's SQL, pooler safety,
connection settings, pgvector, pg_trgm and the command line."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from continuum.errors import DependencyUnavailable
from continuum.models import ApiKeyRecord, EmbeddingRecord, MemoryFilters
from continuum.settings import Settings
from continuum.storage.postgres import PostgresStorage
from continuum.storage.postgres.connect import PoolSource, SingleSource, connection_settings
from continuum.storage.sql.migrate import load_migrations
from continuum.storage.sqlite import SqliteStorage
from continuum.vectors import normalise, pack
from tests.contract.test_storage_contract import memory
from tests.support.pg import (
    ADMIN_URL,
    PrivateCluster,
    create_database,
    database_url,
    drop_database,
    free_port,
    pgvector_cluster,
)
from tests.support.servers import REPO, clean_env

NOW = datetime(2030, 1, 1, tzinfo=UTC)
DEPLOYMENT_GUIDE_SQL = (
    "CREATE INDEX idx_links_strength ON attention_links(strength DESC) WHERE strength > 0.5",
    "CREATE INDEX idx_entities_description_fts ON entities USING gin(to_tsvector('english', description))",
)
ALL_VERSIONS = [m.version for m in load_migrations("postgres")]


@pytest.fixture
def database() -> Iterator[str]:
    url = create_database("continuum_unit")
    yield url
    drop_database(url)


async def _storage(url: str, **kwargs: object) -> PostgresStorage:
    settings = Settings(postgres_url=url, postgres_pool_size=1, postgres_max_overflow=2)
    storage = PostgresStorage(settings.postgres, **kwargs)
    await storage.connect()
    return storage


def _versions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


# ---- migrations -------------------------------------------------------------------------


async def test_the_deployment_guides_sql_runs_unchanged_on_the_schema(database: str) -> None:
    storage = await _storage(database)
    try:
        await storage.migrate()
    finally:
        await storage.close()
    with psycopg.connect(database, autocommit=True) as conn:
        for statement in DEPLOYMENT_GUIDE_SQL:
            conn.execute(statement)
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        assert {"idx_links_strength", "idx_entities_description_fts"} <= names
        columns = {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
        }
    for table, column in [
        ("entities", "tenant_id"),
        ("entities", "name"),
        ("entities", "description"),
        ("entities", "created_at"),
        ("auto_messages", "tenant_id"),
        ("auto_messages", "instance_id"),
        ("attention_links", "tenant_id"),
        ("attention_links", "concept_a"),
        ("attention_links", "concept_b"),
        ("attention_links", "strength"),
    ]:
        assert (table, column) in columns


async def test_migrations_apply_once_even_when_servers_start_together(database: str) -> None:
    storages = [
        PostgresStorage(Settings(postgres_url=database, postgres_pool_size=1).postgres, serverless=True)
        for _ in range(4)
    ]
    try:
        applied = await asyncio.gather(*(s.migrate() for s in storages))
        winners = [a for a in applied if a]
        assert len(winners) == 1  # one migrator did everything, under the advisory lock
        assert winners[0] == [v for v in ALL_VERSIONS if v != "0004_pgvector"]  # no pgvector on this server
        assert [await s.pending_migrations() for s in storages] == [[]] * 4
        assert _versions(database) == winners[0]
    finally:
        for s in storages:
            await s.close()


async def test_a_failing_migration_leaves_nothing_behind(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import continuum.storage.postgres.schema as module

    real = module.load_migrations("postgres")
    broken = [real[0], module.Migration("0002_broken", "CREATE TABLE half_done (x int); SELECT no_such_function();")]
    monkeypatch.setattr(module, "load_migrations", lambda dialect: broken)
    storage = await _storage(database, serverless=True)
    try:
        with pytest.raises(RuntimeError, match="0002_broken"):
            await storage.migrate()
    finally:
        await storage.close()
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regclass('memories'), to_regclass('half_done')").fetchone() == (None, None)


def _index_names(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'memories'")}


async def _candidate_ids(storage: PostgresStorage, tenant: str, terms: list[str], **filters: str) -> list[str]:
    found = await storage.lexical_candidates(tenant, terms, MemoryFilters(**filters), limit=10, now=NOW)
    return [m.id for m in found]


async def test_optional_extensions_are_skipped_cleanly_where_they_may_not_be_created_and_applied_later(
    database: str,
) -> None:
    """pg_trgm (0003) and btree_gin (0005) both need CREATE on the database: a role without
    it gets the schema and the same candidates (from the lexical postings, 0008, which
    need no extension: the old full-text index is dropped); the owner's next migrate
    applies both (0005 then creates its extension only), and the candidates stay the same."""
    role = f"continuum_limited_{secrets.token_hex(4)}"
    name = database.rpartition("/")[2]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')  # tables yes, extensions no
        limited_url = database.replace("postgres@", f"{role}@", 1)
        storage = await _storage(limited_url, serverless=True)
        try:
            applied = await storage.migrate()
            assert "0003_trigram" not in applied and "0005_tenant_search" not in applied and "0001_init" in applied
            assert await storage.schema.features() == set()
            assert {"0003_trigram", "0005_tenant_search"} <= set(await storage.pending_migrations())
            assert not {"idx_memories_search", "idx_memories_tenant_search"} & _index_names(database)
            for tenant in ("t", "u"):
                await storage.insert_memories(
                    tenant,
                    [memory(tenant, f"kestrel sighting {n} over the {tenant} meadow", session=f"s{n % 2}")
                     for n in range(6)],
                    NOW,
                )  # fmt: skip
            before = [
                await _candidate_ids(storage, "t", ["kestrel"]),
                await _candidate_ids(storage, "t", ["kestrel"], session_id="s1"),
                await _candidate_ids(storage, "u", ["meadow", "sight"]),
            ]
        finally:
            await storage.close()
        owner = await _storage(database, serverless=True)  # a role that may: applied now
        try:
            assert await owner.migrate() == ["0003_trigram", "0005_tenant_search"]
            assert await owner.schema.features() == {"trigram", "btree_gin"}
            assert not {"idx_memories_search", "idx_memories_tenant_search"} & _index_names(database)
            after = [
                await _candidate_ids(owner, "t", ["kestrel"]),
                await _candidate_ids(owner, "t", ["kestrel"], session_id="s1"),
                await _candidate_ids(owner, "u", ["meadow", "sight"]),
            ]
            assert after == before and [len(ids) for ids in after] == [6, 3, 6]
        finally:
            await owner.close()
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


async def test_candidates_best_impact_first_newest_among_equals_from_the_postings(database: str) -> None:
    storage = await _storage(database)
    try:
        await storage.migrate()
        rows = [
            memory("t", "kestrel kestrel kestrel over the ridge", memory_id="m1"),  # oldest, highest rank
            memory("t", "a kestrel at dawn", memory_id="m2"),
            memory("t", "a kestrel at noon", memory_id="m3", session="s"),
            memory("t", "a kestrel at dusk", memory_id="m4"),
            memory("t", "a kestrel long gone", memory_id="m5", expires=datetime(2029, 1, 1, tzinfo=UTC)),
            memory("t", "no bird here", memory_id="m6"),
        ]
        await storage.insert_memories("t", rows, datetime(2028, 1, 1, tzinfo=UTC))
        await storage.insert_memories("u", [memory("u", "kestrel kestrel kestrel kestrel", memory_id="m9")], NOW)
        found = await storage.lexical_candidates("t", ["kestrel"], MemoryFilters(), limit=3, now=NOW)
        assert [m.id for m in found] == ["m1", "m4", "m3"]  # impact, then newest; expired and other tenants out
        assert found[0].content == rows[0].content and found[2].session_id == "s"  # whole rows
        assert await _candidate_ids(storage, "t", ["kestrel", "bird"]) == ["m1", "m6", "m4", "m3", "m2"]
        assert await _candidate_ids(storage, "t", ["kestrel"], session_id="s") == ["m3"]
    finally:
        await storage.close()


async def test_each_term_reads_its_best_postings_backward_never_the_tenants_rows(database: str) -> None:
    """EXPLAIN of the candidate statement on a tenant of 30,000 memories beside another of
    10,000: each term is a backward range scan of the postings' key (index only, without
    filters), stopped by its LIMIT; nothing scans the tenant's memories."""
    from continuum.storage.postgres.dialect import POSTGRES
    from continuum.storage.sql.lexical import candidates_statement

    storage = await _storage(database)
    try:
        await storage.migrate()
    finally:
        await storage.close()
    with psycopg.connect(database) as conn:
        conn.execute(
            "INSERT INTO memories (id, tenant_id, scope_key, role, content, content_hash, search_terms, "
            "created_at, updated_at) SELECT lpad(n::text, 8, '0'), t, '', 'user', 'x', md5(n::text), "
            "'note ' || (n % 97)::text, now(), now() "
            "FROM generate_series(1, 40000) n, LATERAL (SELECT CASE WHEN n <= 30000 THEN 'big' ELSE 'small' END) s(t)"
        )
        conn.execute(
            "INSERT INTO lexical_postings SELECT tenant_id, 'note', 100 + (length(search_terms) % 7), id FROM memories"
        )
        conn.execute("ANALYZE")
        for filtered in (None, ""):
            statement = candidates_statement(POSTGRES, 2, filtered)
            one = (1.5, "big", "note", *(() if filtered is None else (NOW,)), 150)
            values = (*one, 0.5, "big", "5", *(() if filtered is None else (NOW,)), 150, 150)
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + statement, values))
            assert plan.count("Index Only Scan Backward using lexical_postings_pkey") == 2, plan
            assert "Seq Scan" not in plan, plan
            rows = conn.execute(statement, values).fetchall()
            assert len(rows) == 150


# ---- pgvector, both ways --------------------------------------------------------------------


@pytest.fixture(scope="module")
def vector_server() -> Iterator[PrivateCluster]:
    cluster = pgvector_cluster().init()
    cluster.start()
    cluster.wait_ready()
    yield cluster
    cluster.destroy()


def _vectors() -> dict[str, bytes]:
    rng = __import__("random").Random(7)
    return {f"{i:026d}": pack(normalise([rng.uniform(-1, 1) for _ in range(384)])) for i in range(1, 41)}


async def _fill_vectors(storage: object, tenant: str) -> dict[str, bytes]:
    vectors = _vectors()
    records = [memory(tenant, f"memory number {k}", memory_id=k, session="s") for k in vectors]
    await storage.insert_memories(tenant, records, NOW)  # type: ignore[attr-defined]
    by_id = {r.id: r for r in records}
    await storage.put_embeddings(  # type: ignore[attr-defined]
        tenant,
        [EmbeddingRecord(k, "minilm", by_id[k].content_hash, v, NOW) for k, v in vectors.items()],
    )
    return vectors


async def test_without_pgvector_vectors_are_bytes_and_scanned_exactly(database: str) -> None:
    storage = await _storage(database)
    try:
        await storage.migrate()
        assert "vector" not in await storage.schema.features()
        assert "0004_pgvector" not in await storage.pending_migrations()  # not pending: unavailable here
        vectors = await _fill_vectors(storage, "t")
        query = next(iter(vectors.values()))
        found = await storage.vector_candidates(
            "t", query, MemoryFilters(), model="minilm", limit=5, scan_limit=1000, now=NOW
        )
        assert found[0][0].id == next(iter(vectors)) and found[0][1] == pytest.approx(1.0, abs=1e-5)
        assert len(found) == 5
    finally:
        await storage.close()


async def test_with_pgvector_the_hnsw_index_serves_candidates_with_exact_scores(vector_server: PrivateCluster) -> None:
    url = create_database("continuum_vector", admin_url=vector_server.admin_url)
    storage = await _storage(url)
    reference = SqliteStorage(":memory:")
    try:
        applied = await storage.migrate()
        assert "0004_pgvector" in applied and "0003_trigram" not in applied  # this server has vector, not pg_trgm
        assert await storage.schema.features() == {"vector"}
        with psycopg.connect(url) as conn:
            index = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_memory_embeddings_hnsw_384'"
            ).fetchone()
            assert index is not None and "hnsw" in index[0]
        vectors = await _fill_vectors(storage, "t")
        await reference.migrate()
        await _fill_vectors(reference, "t")
        for query in list(vectors.values())[:5]:
            got = await storage.vector_candidates(
                "t", query, MemoryFilters(), model="minilm", limit=5, scan_limit=1000, now=NOW
            )
            want = await reference.vector_candidates(
                "t", query, MemoryFilters(), model="minilm", limit=5, scan_limit=1000, now=NOW
            )
            assert [m.id for m, _ in got] == [m.id for m, _ in want]
            # the same cosine of the same float32 bytes (BLAS may sum a batch in another order)
            assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-6)
        # the planner does use the index for the nearest-neighbour order
        with psycopg.connect(url) as conn:
            conn.execute("SET enable_seqscan = off")
            plan = "\n".join(
                r[0]
                for r in conn.execute(
                    "EXPLAIN SELECT memory_id FROM memory_embeddings WHERE vector_dims(embedding) = 384 "
                    "ORDER BY embedding::vector(384) <=> "
                    "(SELECT embedding FROM memory_embeddings LIMIT 1)::vector(384) LIMIT 5"
                )
            )
            assert "idx_memory_embeddings_hnsw_384" in plan
        assert await storage.get_embeddings("t", list(vectors)[:2], model="minilm") == {
            k: vectors[k] for k in list(vectors)[:2]
        }
        # a changed memory loses its vector; a deleted one too (cascade)
        first, second = list(vectors)[:2]
        from tests.contract.test_storage_contract import changes_for

        await storage.update_memory("t", first, changes_for("rewritten"), NOW)
        await storage.delete_memory("t", second, NOW)
        assert await storage.get_embeddings("t", [first, second], model="minilm") == {}
        assert [m.id for m in await storage.missing_embeddings("t", model="minilm", limit=5, now=NOW)] == [first]
        await storage.erase_tenant("t")
        assert await storage.get_embeddings("t", list(vectors), model="minilm") == {}
    finally:
        await storage.close()
        await reference.close()
        drop_database(url, admin_url=vector_server.admin_url)


# ---- connections ----------------------------------------------------------------------------


async def test_no_statement_is_ever_prepared_on_the_server(database: str) -> None:
    """Safe behind transaction-mode poolers (PgBouncer, RDS Proxy, Neon, Supabase)."""
    storage = await _storage(database, serverless=True)
    try:
        await storage.migrate()
        for _ in range(10):  # well past psycopg's default prepare threshold of 5
            await storage.insert_memories("t", [memory("t", f"same statement {secrets.token_hex(3)}")], NOW)
            await storage.list_memories("t", MemoryFilters(), before_id=None, limit=5, now=NOW)

        async def prepared(conn: psycopg.AsyncConnection) -> int:
            row = await (await conn.execute("SELECT count(*) FROM pg_prepared_statements")).fetchone()
            return row[0]

        assert await storage.runner.run(prepared) == 0
    finally:
        await storage.close()


def test_pool_and_serverless_sources_follow_the_settings() -> None:
    settings = Settings(
        postgres_url="postgresql://u:p@db.example:6543/app", postgres_pool_size=3, postgres_max_overflow=7
    )
    pooled = PostgresStorage(settings.postgres)
    assert isinstance(pooled.runner.source, PoolSource)
    assert (pooled.runner.source.min_size, pooled.runner.source.max_size) == (3, 10)
    assert isinstance(PostgresStorage(settings.postgres, serverless=True).runner.source, SingleSource)
    conninfo, kwargs = connection_settings("postgresql://u:p@db.example:6543/app?connect_timeout=9&sslmode=require")
    assert "connect_timeout=9" in conninfo and "sslmode=require" in conninfo
    assert "connect_timeout=5" in connection_settings("postgresql://u@h/app")[0]
    assert kwargs == {"autocommit": True, "prepare_threshold": None}


async def test_a_sql_ascii_database_reads_back_text_and_key_scopes() -> None:
    """initdb without a UTF-8 locale makes SQL_ASCII databases; psycopg would return bytes."""
    name = f"continuum_ascii_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    url = database_url(name)
    storage = await _storage(url)
    try:
        await storage.migrate()
        await storage.create_api_key(ApiKeyRecord(key_hash="h" * 64, tenant_id="t", name="café", key_prefix="ctm_x",
                                                  created_at=NOW, key_id="k1", scopes=("read", "write")))  # fmt: skip
        found = await storage.find_api_key("h" * 64)
        assert found is not None and found.scopes == ("read", "write") and found.name == "café"
        [stored] = await storage.insert_memories("t", [memory("t", "Zoë drinks café au lait ☕")], NOW)
        got = await storage.get_memory("t", stored.id, NOW)
        assert got is not None and got.content == "Zoë drinks café au lait ☕"
    finally:
        await storage.close()
        drop_database(url)


@pytest.mark.parametrize("serverless", [False, True])
async def test_an_unreachable_server_is_a_quick_503_without_the_password(serverless: bool) -> None:
    url = f"postgresql://postgres:s3cret-pw@127.0.0.1:{free_port()}/nothing"
    storage = PostgresStorage(Settings(postgres_url=url).postgres, serverless=serverless)
    try:
        with pytest.raises(DependencyUnavailable) as failure:
            await storage.connect()
        assert failure.value.retry_after and "s3cret-pw" not in failure.value.message
        with pytest.raises(DependencyUnavailable):  # refused at once while known down
            await storage.list_memories("t", MemoryFilters(), before_id=None, limit=1, now=NOW)
    finally:
        await storage.close()


# ---- command line -----------------------------------------------------------------------------


def test_cli_init_use_postgres_then_migrate_then_use(database: str, tmp_path: object) -> None:
    env = clean_env({"POSTGRES_URL": database, "PYTHONPATH": str(REPO / "shared")})

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "continuum.cli.main", *args],
            env=env,
            cwd=str(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = cli("init", "--use-postgres")
    assert out.startswith("initialised PostgreSQL: applied 0001_init")
    assert "up to date" in cli("init", "--use-postgres")
    assert cli("migrate", "--status").strip() == "pending: none\nlexical index: built"
    assert "nothing (up to date)" in cli("migrate")
    cli("learn", "--user", "The Orion launch is on Tuesday", "--ai", "Orion on Tuesday", "--tenant", "cli")
    assert "Tuesday" in cli("recall", "When is the Orion launch?", "--tenant", "cli")
    assert '"memories": 2' in cli("stats", "--tenant", "cli", "--json")
    assert not os.path.exists(os.path.join(str(tmp_path), "data")), "no SQLite file may appear"
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM memories WHERE tenant_id = 'cli'").fetchone()[0] == 2
        digest = hashlib.sha256(b"x").hexdigest()
        assert conn.execute("SELECT count(*) FROM api_keys WHERE key_hash = %s", (digest,)).fetchone()[0] == 0


async def test_concurrent_work_through_a_transaction_mode_pooler(database: str) -> None:
    """Many client connections over one server connection (PgBouncer, transaction mode):
    the adapter works; a client that prepares statements on the server does not."""
    from tests.support.pg import PgBouncer

    bouncer = PgBouncer(pool_size=1).start()
    url = bouncer.url(database.rpartition("/")[2])
    storage = PostgresStorage(Settings(postgres_url=url, postgres_pool_size=4, postgres_max_overflow=4).postgres)
    try:
        await storage.connect()
        await storage.migrate()

        async def one(n: int) -> None:
            await storage.insert_memories("t", [memory("t", f"pooled note {n} about tides")], NOW)
            await storage.lexical_candidates("t", ["tide"], MemoryFilters(), limit=5, now=NOW)
            await storage.counts("t")

        await asyncio.gather(*(one(n) for n in range(40)))
        assert (await storage.counts("t")).memories == 40

        # the control: server-side prepared statements break behind this pooler
        clients = [await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=0) for _ in range(2)]
        try:
            with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
                for _ in range(3):
                    for client in clients:
                        await client.execute("SELECT count(*) FROM memories WHERE tenant_id = %s", ("t",))
        finally:
            for client in clients:
                await client.close()
    finally:
        await storage.close()
        bouncer.stop()
