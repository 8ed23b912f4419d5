"""Tenants, imports and the concept graph's links on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from psycopg import AsyncConnection, sql

from continuum.models import LinkRecord, TenantCounts
from continuum.ports import OutboxEventSource
from continuum.storage.postgres.dialect import POSTGRES
from continuum.storage.postgres.runner import PostgresRunner, fetch
from continuum.storage.sql import statements
from continuum.storage.sql.outbox import erase_statements
from continuum.storage.sql.reads import tenant_counts

_TABLES = (
    "memory_embeddings", "memories", "lexical_postings", "term_stats", "corpus_stats", "auto_messages",
    "decisions", "entities", "attention_links", "memory_history", "api_keys", "tenants",
    "tenant_usage", "tenant_billing", "billing_events",  # billing (0010): after memories, whose triggers count
    "federation_optin",
)  # fmt: skip


async def _table_exists(conn: AsyncConnection, table: str) -> bool:
    rows = await fetch(conn, "SELECT to_regclass(%s) IS NOT NULL AS present", (table,))
    return bool(rows[0]["present"])


class PostgresTenants:
    events: OutboxEventSource | None = None  # webhooks: tenant.erased (sql/outbox.py)

    def __init__(self, runner: PostgresRunner) -> None:
        self.runner = runner

    async def ensure_tenant(self, tenant_id: str, name: str | None, now: datetime) -> None:
        await self.runner.run_batch([statements.ensure_tenant(POSTGRES, tenant_id, name, now)])

    async def erase_tenant(self, tenant_id: str) -> TenantCounts:
        async def work(conn: AsyncConnection) -> TenantCounts:
            counts = await tenant_counts(partial(fetch, conn), POSTGRES, tenant_id)
            for statement in erase_statements(POSTGRES, self.events, tenant_id):  # webhooks
                await conn.execute(*statement)
            for table in _TABLES:
                if table == "memory_embeddings" and not await _table_exists(conn, table):
                    continue
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)), (tenant_id,)
                )
            return counts

        return await self.runner.run(work, write=True)

    async def import_rows(self, tenant_id: str, kind: str, rows: Sequence[Any]) -> None:
        statement = statements.import_statement(POSTGRES, kind)
        params = [statements.import_values(POSTGRES, tenant_id, kind, row) for row in rows]
        if not params:
            return

        async def work(conn: AsyncConnection) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(statement, params)

        await self.runner.run(work, write=True)


class PostgresGraph:
    def __init__(self, runner: PostgresRunner) -> None:
        self.runner = runner

    async def entity_links(self, tenant_id: str, keys: Sequence[str], *, limit: int) -> list[LinkRecord]:
        if not keys:
            return []
        rows = await self.runner.fetch(
            "SELECT * FROM attention_links WHERE tenant_id = %s "
            "AND (concept_a = ANY(%s::text[]) OR concept_b = ANY(%s::text[])) "
            "ORDER BY strength DESC, concept_a, concept_b LIMIT %s",
            (tenant_id, list(keys), list(keys), limit),
        )
        return [POSTGRES.rows.link(r) for r in rows]
