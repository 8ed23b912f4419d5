"""Lexical search for the PostgreSQL adapter: term statistics and full-text candidates.

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
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from continuum.models import LexicalStats, MemoryFilters, MemoryRecord

if TYPE_CHECKING:
    from psycopg import AsyncConnection

T = TypeVar("T")

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


class SearchMixin:
    """Mixed into PostgresStorage, which provides `_run`."""

    if TYPE_CHECKING:

        async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]], *, write: bool = False) -> T: ...

    async def lexical_stats(self, tenant_id: str, terms: Sequence[str]) -> LexicalStats:
        from continuum.storage.postgres import fetch

        async def work(conn: AsyncConnection) -> LexicalStats:
            rows = await fetch(
                conn,
                "SELECT term, df, NULL::bigint AS docs, NULL::bigint AS total FROM term_stats "
                "WHERE tenant_id = %s AND term = ANY(%s::text[]) "
                "UNION ALL SELECT NULL, NULL, doc_count, term_total FROM corpus_stats WHERE tenant_id = %s",
                (tenant_id, list(terms), tenant_id),
            )
            df = {r["term"]: int(r["df"]) for r in rows if r["term"] is not None}
            totals = next((r for r in rows if r["term"] is None), {"docs": 0, "total": 0})
            return LexicalStats(doc_count=int(totals["docs"]), term_total=int(totals["total"]), document_frequency=df)

        return await self._run(work)

    async def lexical_candidates(
        self,
        tenant_id: str,
        terms: Sequence[str],
        filters: MemoryFilters,
        *,
        limit: int,
        now: datetime,
    ) -> list[MemoryRecord]:
        from continuum.storage.postgres import MEMORY_COLUMNS, _ts, fetch, filter_clause, memory_from_row

        query = tsquery_text(terms)
        if not query:
            return []
        where, params = filter_clause(filters, prefix="h.")
        statement = candidates_statement([c.strip() for c in MEMORY_COLUMNS.split(",")], where)
        values: list[Any] = [query, tenant_id, _ts(now), *params, limit, tenant_id]

        async def work(conn: AsyncConnection) -> list[MemoryRecord]:
            return [memory_from_row(r) for r in await fetch(conn, statement, values)]

        return await self._run(work)
