"""Candidates on PostgreSQL: full-text (tsvector), and the neighbours of many memories.

The full-text index only proposes candidates; the core scores them (BM25 on the
tenant's own statistics), identically on every database. Candidates are the `limit`
live memories of the tenant that match any of the core's terms, best `ts_rank` first
(newest first among equals).

Where btree_gin is installed (migration 0005) one GIN index carries the tenant and the
terms, so `tenant_id = $1 AND search_vector @@ $2` is answered by that index alone;
without it 0001's plain GIN index is ANDed with the tenant's primary-key range (same
answers, slower in a very large tenant). Either way the statement is the same: it ranks
the matching rows' ids first and reads whole rows only for the `limit` it returns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from continuum.models import MemoryFilters, MemoryRecord
from continuum.storage.postgres.dialect import POSTGRES, ts
from continuum.storage.postgres.runner import PostgresRunner, fetch
from continuum.storage.sql.dialect import MEMORY_COLUMN_NAMES, prefixed_columns
from continuum.storage.sql.filters import filter_clause
from continuum.storage.sql.lexical import top_candidates
from continuum.storage.sql.lexical_index import LexicalIndex

_memory = POSTGRES.rows.memory
_TERM = re.compile(r"[^\W_]+")


def tsquery_text(terms: Sequence[str]) -> str:
    """An OR query over index terms. Terms are letters and digits only (the core's
    analyser); anything else is dropped rather than interpreted as query syntax."""
    safe = [t for t in dict.fromkeys(terms) if _TERM.fullmatch(t)]
    return " | ".join(f"'{t}'" for t in safe)


def candidates_statement(columns: Sequence[str], where: str) -> str:
    """Rank (id, ts_rank) of the matching rows, keep `limit`, then read those rows whole.
    Parameters: query text, tenant, now, *filter parameters, limit, tenant."""
    selected = ", ".join(f"m.{c}" for c in columns)
    return (
        f"SELECT {selected} FROM ("
        "SELECT h.id, ts_rank(h.search_vector, q) AS rank FROM memories h, to_tsquery('simple', %s) q "
        "WHERE h.tenant_id = %s AND h.search_vector @@ q "
        f"AND (h.expires_at IS NULL OR h.expires_at > %s){where} "
        "ORDER BY rank DESC, h.id DESC LIMIT %s"
        ") top JOIN memories m ON m.tenant_id = %s AND m.id = top.id "
        "ORDER BY top.rank DESC, top.id DESC"
    )


class PostgresSearch:
    def __init__(self, runner: PostgresRunner) -> None:
        self.runner = runner
        self.index = LexicalIndex(runner, POSTGRES)

    async def lexical_candidates(
        self, tenant_id: str, terms: Sequence[str], filters: MemoryFilters, *, limit: int, now: datetime,
        weights: Mapping[str, float] | None = None,
    ) -> list[MemoryRecord]:  # fmt: skip
        if not terms:
            return []
        if await self.index.ready():
            chosen = weights if weights else dict.fromkeys(terms, 1.0)
            return await top_candidates(self.runner.fetch, POSTGRES, tenant_id, chosen, filters, limit=limit, now=now)
        # until `continuum migrate` has built the postings: the GIN index over tsvector
        query = tsquery_text(terms)
        if not query:
            return []
        where, params = filter_clause(POSTGRES, filters, prefix="h.")
        statement = candidates_statement(MEMORY_COLUMN_NAMES, where)
        values: list[Any] = [query, tenant_id, ts(now), *params, limit, tenant_id]
        return [_memory(r) for r in await self.runner.fetch(statement, values)]

    async def neighbours_many(
        self, tenant_id: str, memories: Sequence[MemoryRecord], filters: MemoryFilters, *, window: int, now: datetime
    ) -> dict[str, list[MemoryRecord]]:
        if window <= 0:
            return {}
        where, params = filter_clause(POSTGRES, filters, prefix="q.")
        columns = prefixed_columns("q.")
        groups = {
            "session_id": [(m.id, m.session_id) for m in memories if m.session_id],
            "instance_id": [(m.id, m.instance_id) for m in memories if m.session_id is None and m.instance_id],
        }

        async def work(conn: AsyncConnection) -> dict[str, list[MemoryRecord]]:
            found: dict[str, list[MemoryRecord]] = {}
            for column, anchors in groups.items():
                if not anchors:
                    continue
                side = (
                    f"(SELECT {columns} FROM memories q WHERE q.tenant_id = %s AND q.{column} = a.scope "
                    f"AND q.id {{op}} a.anchor AND (q.expires_at IS NULL OR q.expires_at > %s){where} "
                    "ORDER BY q.id {order} LIMIT %s)"
                )
                one = (tenant_id, ts(now), *params, window)
                rows = await fetch(
                    conn,
                    "SELECT a.anchor AS _anchor, n.* FROM unnest(%s::text[], %s::text[]) AS a(anchor, scope) "
                    f"CROSS JOIN LATERAL ({side.format(op='<', order='DESC')} UNION ALL "
                    f"{side.format(op='>', order='ASC')}) n",
                    ([a for a, _ in anchors], [v for _, v in anchors], *one, *one),
                )
                for row in rows:
                    found.setdefault(row["_anchor"], []).append(_memory(row))
            for records in found.values():
                records.sort(key=lambda m: m.id)
            return found

        return await self.runner.run(work)
