"""The SQLite-dialect parts that are neither search nor memory writes: lifecycle and
migrations (over a database's own migration book), vectors, tenants and imports;
and `sqlite_dialect_parts`, everything a SQLite-dialect store is made of."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from continuum.clock import to_iso
from continuum.models import EmbeddingRecord, MemoryRecord, TenantCounts
from continuum.ports import OutboxEventSource
from continuum.storage.sql import statements
from continuum.storage.sql.dialect import Runner
from continuum.storage.sql.migrate import MigrationBook, apply_pending, load_migrations, pending
from continuum.storage.sql.outbox import erase_statements
from continuum.storage.sql.reads import SqlReads, VectorQuery, exact_candidates
from continuum.storage.sqlite_dialect.dialect import SQLITE
from continuum.storage.sqlite_dialect.search import SqliteGraph, SqliteSearch
from continuum.storage.sqlite_dialect.writes import SqliteWrites

_TENANT_TABLES = (
    "memories", "lexical_postings", "term_stats", "corpus_stats", "auto_messages", "decisions",
    "entities", "attention_links", "memory_history", "api_keys", "tenants",
    "tenant_usage", "tenant_billing", "billing_events",  # billing (0010): after memories, whose triggers count
    "federation_optin",
)  # fmt: skip


class SqliteDialectSchema:
    """Lifecycle and migrations of a SQLite-dialect database; `book` keeps its records."""

    def __init__(self, db: Runner, book: MigrationBook, on_close: Callable[[], None]) -> None:
        self.db = db
        self.book = book
        self._on_close = on_close

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        self._on_close()

    async def ping(self) -> None:
        await self.db.fetch("SELECT 1 AS ok")

    async def pending_migrations(self) -> list[str]:
        return await pending(self.book, load_migrations(SQLITE.name))

    async def migrate(self) -> list[str]:
        return await apply_pending(self.book, load_migrations(SQLITE.name))


class SqliteVectors:
    def __init__(self, db: Runner) -> None:
        self.db = db

    async def put_embeddings(self, tenant_id: str, records: Sequence[EmbeddingRecord]) -> None:
        await self.db.run_batch(
            [
                (
                    "INSERT INTO memory_embeddings (tenant_id, memory_id, model, content_hash, vector, created_at) "
                    "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM memories WHERE tenant_id = ? AND id = ? "
                    "AND content_hash = ?) ON CONFLICT (tenant_id, memory_id) DO UPDATE SET model = excluded.model, "
                    "content_hash = excluded.content_hash, vector = excluded.vector, created_at = excluded.created_at",
                    (
                        tenant_id, r.memory_id, r.model, r.content_hash, r.vector, to_iso(r.created_at),
                        tenant_id, r.memory_id, r.content_hash,
                    ),
                )
                for r in records
            ]
        )

    async def vector_candidates(self, query: VectorQuery) -> list[tuple[MemoryRecord, float]]:
        """No vector index in SQLite: always the exact scan."""
        return await exact_candidates(self.db.fetch, SQLITE, query)


class SqliteTenants:
    events: OutboxEventSource | None = None  # webhooks: tenant.erased (sql/outbox.py)

    def __init__(self, db: Runner, reads: SqlReads) -> None:
        self.db = db
        self.reads = reads

    async def ensure_tenant(self, tenant_id: str, name: str | None, now: datetime) -> None:
        await self.db.run_batch([statements.ensure_tenant(SQLITE, tenant_id, name, now)])

    async def erase_tenant(self, tenant_id: str) -> TenantCounts:
        counts = await self.reads.counts(tenant_id)
        await self.db.run_batch(
            [
                *erase_statements(SQLITE, self.events, tenant_id),  # webhooks
                *[(f"DELETE FROM {t} WHERE tenant_id = ?", (tenant_id,)) for t in _TENANT_TABLES],
            ]
        )
        return counts

    async def import_rows(self, tenant_id: str, kind: str, rows: Sequence[Any]) -> None:
        if not rows:
            return
        sql = statements.import_statement(SQLITE, kind)
        await self.db.run_batch([(sql, statements.import_values(SQLITE, tenant_id, kind, row)) for row in rows])


def sqlite_dialect_parts(db: Runner, book: MigrationBook, *, on_close: Callable[[], None]) -> dict[str, Any]:
    """The components of a SQLite-dialect store over `db`, for `SqlStorage(**parts)`."""
    reads = SqlReads(db, SQLITE)
    return {
        "schema": SqliteDialectSchema(db, book, on_close),
        "reads": reads,
        "tenants": SqliteTenants(db, reads),
        "writes": SqliteWrites(db, reads),
        "search": SqliteSearch(db),
        "vectors": SqliteVectors(db),
        "graph": SqliteGraph(db),
    }
