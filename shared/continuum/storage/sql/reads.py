"""Reads whose SQL has one shape in every dialect: memories, term statistics, vectors
(including the exact scan), entities, counts, tenants, export pages (keys: `keys.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from continuum.models import (
    EntityRecord,
    ExportPage,
    LexicalStats,
    MemoryFilters,
    MemoryRecord,
    TenantCounts,
    TenantRecord,
)
from continuum.storage.sql.dialect import MEMORY_COLUMNS, Dialect, Fetch, Runner
from continuum.storage.sql.filters import filter_clause
from continuum.vectors import top_k


class SqlReads:
    """The shared reads of one database: `db` runs the statements, `dialect` spells them."""

    def __init__(self, db: Runner, dialect: Dialect) -> None:
        self.db = db
        self.d = dialect
        self.memory = dialect.rows.memory
        self.entity = dialect.rows.entity

    # ---- memories and term statistics -----------------------------------------------

    async def get_memory(self, tenant_id: str, memory_id: str, now: datetime) -> MemoryRecord | None:
        p = self.d.p
        rows = await self.db.fetch(
            f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = {p} AND id = {p} AND {self.d.live()}",
            (tenant_id, memory_id, self.d.moment(now)),
        )
        return self.memory(rows[0]) if rows else None

    async def list_memories(
        self, tenant_id: str, filters: MemoryFilters, *, before_id: str | None, limit: int, now: datetime
    ) -> list[MemoryRecord]:
        p = self.d.p
        where, params = filter_clause(self.d, filters)
        if before_id is not None:
            where += f" AND id < {p}"
            params.append(before_id)
        rows = await self.db.fetch(
            f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = {p} AND {self.d.live()}{where} "
            f"ORDER BY id DESC LIMIT {p}",
            (tenant_id, self.d.moment(now), *params, limit),
        )
        return [self.memory(r) for r in rows]

    async def lexical_stats(self, tenant_id: str, terms: Sequence[str]) -> LexicalStats:
        p, null = self.d.p, self.d.null_bigint
        rows = await self.db.fetch(
            f"SELECT term, df, {null} AS docs, {null} AS total FROM term_stats "
            f"WHERE tenant_id = {p} AND {self.d.in_list('term')} "
            f"UNION ALL SELECT NULL, NULL, doc_count, term_total FROM corpus_stats WHERE tenant_id = {p}",
            (tenant_id, self.d.list_param(list(terms)), tenant_id),
        )
        df = {r["term"]: int(r["df"]) for r in rows if r["term"] is not None}
        totals = next((r for r in rows if r["term"] is None), {"docs": 0, "total": 0})
        return LexicalStats(doc_count=int(totals["docs"]), term_total=int(totals["total"]), document_frequency=df)

    async def neighbours(
        self, tenant_id: str, memory: MemoryRecord, *, window: int, now: datetime
    ) -> list[MemoryRecord]:
        scope_column, scope_value = (
            ("session_id", memory.session_id) if memory.session_id else ("instance_id", memory.instance_id)
        )
        if scope_value is None:
            return []
        p, live, moment = self.d.p, self.d.live(), self.d.moment(now)
        side = (
            f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = {p} AND {scope_column} = {p} "
            f"AND id {{op}} {p} AND {live} ORDER BY id {{order}} LIMIT {p}"
        )
        rows = await self.db.fetch(
            self.d.union_limited.format(a=side.format(op="<", order="DESC"), b=side.format(op=">", order="ASC")),
            (tenant_id, scope_value, memory.id, moment, window, tenant_id, scope_value, memory.id, moment, window),
        )
        return sorted((self.memory(r) for r in rows), key=lambda m: m.id)

    # ---- vectors ----------------------------------------------------------------------

    async def get_embeddings(self, tenant_id: str, memory_ids: Sequence[str], *, model: str) -> dict[str, bytes]:
        if not memory_ids:
            return {}
        p = self.d.p
        rows = await self.db.fetch(
            f"SELECT memory_id, vector FROM memory_embeddings WHERE tenant_id = {p} AND model = {p} "
            f"AND {self.d.in_list('memory_id')}",
            (tenant_id, model, self.d.list_param(list(memory_ids))),
        )
        return {r["memory_id"]: bytes(r["vector"]) for r in rows}

    async def missing_embeddings(
        self, tenant_id: str, *, model: str, limit: int, now: datetime
    ) -> list[MemoryRecord]:
        p = self.d.p
        rows = await self.db.fetch(
            f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.tenant_id = {p} AND {self.d.live('m.')} AND NOT EXISTS ("
            "SELECT 1 FROM memory_embeddings e WHERE e.tenant_id = m.tenant_id AND e.memory_id = m.id "
            f"AND e.model = {p} AND e.content_hash = m.content_hash) ORDER BY m.id LIMIT {p}",
            (tenant_id, self.d.moment(now), model, limit),
        )
        return [self.memory(r) for r in rows]

    # ---- entities and counts ------------------------------------------------------------

    async def find_entities(self, tenant_id: str, keys: Sequence[str]) -> list[EntityRecord]:
        if not keys:
            return []
        rows = await self.db.fetch(
            f"SELECT * FROM entities WHERE tenant_id = {self.d.p} AND {self.d.in_list('name_key')} ORDER BY name_key",
            (tenant_id, self.d.list_param(list(keys))),
        )
        return [self.entity(r) for r in rows]

    async def list_entities(
        self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int
    ) -> list[EntityRecord]:
        p = self.d.p
        where, params = ("", []) if entity_type is None else (f" AND entity_type = {p}", [entity_type])
        rows = await self.db.fetch(
            f"SELECT * FROM entities WHERE tenant_id = {p}{where} "
            f"ORDER BY mention_count DESC, name_key LIMIT {p} OFFSET {p}",
            (tenant_id, *params, limit, offset),
        )
        return [self.entity(r) for r in rows]

    async def counts(self, tenant_id: str) -> TenantCounts:
        return await tenant_counts(self.db.fetch, self.d, tenant_id)

    # ---- tenants and keys ---------------------------------------------------------------

    async def list_tenants(self) -> list[TenantRecord]:
        rows = await self.db.fetch("SELECT tenant_id, name, created_at FROM tenants ORDER BY tenant_id")
        return [TenantRecord(r["tenant_id"], r["name"], self.d.rows.moment(r["created_at"])) for r in rows]

    # ---- export ---------------------------------------------------------------------------

    async def export_page(self, tenant_id: str, kind: str, *, after: str | None, limit: int) -> ExportPage:
        p, rows_of = self.d.p, self.d.rows
        table, order_key, columns, convert = {
            "memory": ("memories", "id", MEMORY_COLUMNS, rows_of.memory),
            "message": ("auto_messages", "id", "*", rows_of.message),
            "decision": ("decisions", "id", "*", rows_of.decision),
            "entity": ("entities", "name_key", "*", rows_of.entity),
            "link": ("attention_links", self.d.link_cursor, "*", rows_of.link),
            "history": ("memory_history", "id", "*", rows_of.history),
        }[kind]
        where, params = ("", []) if after is None else (f" AND {order_key} > {p}", [after])
        rows = await self.db.fetch(
            f"SELECT {columns}, {order_key} AS _cursor FROM {table} WHERE tenant_id = {p}{where} "
            f"ORDER BY {order_key} LIMIT {p}",
            (tenant_id, *params, limit),
        )
        next_after = rows[-1]["_cursor"] if len(rows) == limit else None
        return ExportPage(kind=kind, rows=[convert(r) for r in rows], next_after=next_after)


async def tenant_counts(fetch: Fetch, dialect: Dialect, tenant_id: str) -> TenantCounts:
    p = dialect.p
    rows = await fetch(
        "SELECT "
        f"(SELECT count(*) FROM entities WHERE tenant_id = {p}) AS entities, "
        f"(SELECT count(*) FROM auto_messages WHERE tenant_id = {p}) AS messages, "
        f"(SELECT count(*) FROM decisions WHERE tenant_id = {p}) AS decisions, "
        f"(SELECT count(*) FROM attention_links WHERE tenant_id = {p}) AS attention_links, "
        f"(SELECT count(*) FROM memories WHERE tenant_id = {p}) AS memories",
        (tenant_id,) * 5,
    )
    return TenantCounts(**{k: int(v) for k, v in rows[0].items()})


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and several times
# cheaper to define, which every Lambda cold start pays for.
class VectorQuery(NamedTuple):
    """One nearest-neighbour request: the arguments of `Storage.vector_candidates`."""

    tenant_id: str
    vector: bytes
    filters: MemoryFilters
    model: str
    limit: int
    scan_limit: int
    now: datetime


async def exact_candidates(fetch: Fetch, dialect: Dialect, q: VectorQuery) -> list[tuple[MemoryRecord, float]]:
    """Exact cosine over at most `scan_limit` of the newest live vectors; then the rows of the best."""
    p = dialect.p
    where, params = filter_clause(dialect, q.filters, prefix="m.")
    rows = await fetch(
        "SELECT e.memory_id, e.vector FROM memory_embeddings e JOIN memories m "
        "ON m.tenant_id = e.tenant_id AND m.id = e.memory_id "
        f"WHERE e.tenant_id = {p} AND e.model = {p} AND {dialect.live('m.')}{where} "
        f"ORDER BY e.memory_id DESC LIMIT {p}",
        (q.tenant_id, q.model, dialect.moment(q.now), *params, q.scan_limit),
    )
    best = top_k(q.vector, [(r["memory_id"], bytes(r["vector"])) for r in rows], q.limit)
    if not best:
        return []
    records = await fetch(
        f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = {p} AND {dialect.in_list('id')}",
        (q.tenant_id, dialect.list_param([key for key, _ in best])),
    )
    by_id = {r["id"]: dialect.rows.memory(r) for r in records}
    return [(by_id[key], score) for key, score in best if key in by_id]

