"""Embedding storage for the PostgreSQL adapter.

Vectors are kept as float32 bytes (`memory_embeddings.vector`), exactly as in SQLite
and D1, so scores are computed the same way everywhere. Where pgvector is installed
(migration 0004, detected at migrate time) each vector also gets an indexed
`embedding vector` copy, and nearest-neighbour candidates come from the HNSW index;
the scores themselves are still the exact cosine of the stored bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from continuum.models import MemoryFilters, MemoryRecord

if TYPE_CHECKING:
    from psycopg import AsyncConnection

    from continuum.models import EmbeddingRecord

T = TypeVar("T")

INDEXED_DIMENSIONS = (384,)  # sizes with an HNSW index (see migration 0004)


def _vector_literal(blob: bytes) -> str:
    from continuum.vectors import unpack

    return "[" + ",".join(repr(x) for x in unpack(blob)) + "]"


class VectorMixin:
    """Mixed into PostgresStorage, which provides `_run` and `features`."""

    if TYPE_CHECKING:

        async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]], *, write: bool = False) -> T: ...
        async def features(self) -> set[str]: ...

    async def put_embeddings(self, tenant_id: str, records: Sequence[EmbeddingRecord]) -> None:
        """Store vectors; one whose memory is gone or whose content changed is skipped."""
        latest: dict[str, EmbeddingRecord] = {}
        for record in records:
            latest[record.memory_id] = record  # the last one wins, as statement by statement
        if not latest:
            return
        rows = [latest[k] for k in sorted(latest)]
        indexed = "vector" in await self.features()
        extra_col = ", embedding" if indexed else ""
        extra_val = ", r.embedding::vector" if indexed else ""
        extra_arr = ", %s::text[]" if indexed else ""
        extra_set = ", embedding = EXCLUDED.embedding" if indexed else ""
        params: list[Any] = [
            tenant_id,
            [r.memory_id for r in rows],
            [r.model for r in rows],
            [r.content_hash for r in rows],
            [bytes(r.vector) for r in rows],
            [r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC) for r in rows],
        ]
        if indexed:
            params.append([_vector_literal(r.vector) for r in rows])
        params.append(tenant_id)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                "INSERT INTO memory_embeddings (tenant_id, memory_id, model, content_hash, vector, "
                f"created_at{extra_col}) "
                f"SELECT %s, r.memory_id, r.model, r.content_hash, r.vector, r.created_at{extra_val} "
                f"FROM unnest(%s::text[], %s::text[], %s::text[], %s::bytea[], %s::timestamptz[]{extra_arr}) "
                f"AS r(memory_id, model, content_hash, vector, created_at{extra_col}) "
                "JOIN memories m ON m.tenant_id = %s AND m.id = r.memory_id AND m.content_hash = r.content_hash "
                "ON CONFLICT (tenant_id, memory_id) DO UPDATE SET model = EXCLUDED.model, "
                "content_hash = EXCLUDED.content_hash, vector = EXCLUDED.vector, "
                f"created_at = EXCLUDED.created_at{extra_set}",
                params,
            )

        await self._run(work, write=True)

    async def get_embeddings(self, tenant_id: str, memory_ids: Sequence[str], *, model: str) -> dict[str, bytes]:
        if not memory_ids:
            return {}
        from continuum.storage.postgres import fetch

        async def work(conn: AsyncConnection) -> dict[str, bytes]:
            rows = await fetch(
                conn,
                "SELECT memory_id, vector FROM memory_embeddings WHERE tenant_id = %s AND model = %s "
                "AND memory_id = ANY(%s::text[])",
                (tenant_id, model, list(memory_ids)),
            )
            return {r["memory_id"]: bytes(r["vector"]) for r in rows}

        return await self._run(work)

    async def vector_candidates(
        self,
        tenant_id: str,
        vector: bytes,
        filters: MemoryFilters,
        *,
        model: str,
        limit: int,
        scan_limit: int,
        now: datetime,
    ) -> list[tuple[MemoryRecord, float]]:
        """Nearest memories by cosine: the HNSW index where pgvector has one for this
        size, else (or when filters leave the index short) an exact scan of at most
        `scan_limit` of the newest vectors, as on SQLite."""
        from continuum.storage.postgres import MEMORY_COLUMNS, _ts, fetch, filter_clause, memory_from_row
        from continuum.vectors import cosine_scores, top_k

        if limit <= 0:
            return []
        where, params = filter_clause(filters, prefix="m.")
        columns = ", ".join(f"m.{c.strip()}" for c in MEMORY_COLUMNS.split(","))
        dims = len(vector) // 4
        use_index = dims in INDEXED_DIMENSIONS and "vector" in await self.features()

        async def indexed(conn: AsyncConnection) -> list[tuple[MemoryRecord, float]]:
            await conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(1000, limit * 2))}")
            literal = _vector_literal(vector)
            rows = await fetch(
                conn,
                f"SELECT {columns}, e.vector AS _vector FROM memory_embeddings e JOIN memories m "
                "ON m.tenant_id = e.tenant_id AND m.id = e.memory_id "
                f"WHERE e.tenant_id = %s AND e.model = %s AND vector_dims(e.embedding) = {dims} "
                f"AND (m.expires_at IS NULL OR m.expires_at > %s){where} "
                f"ORDER BY e.embedding::vector({dims}) <=> %s::vector({dims}) LIMIT %s",
                (tenant_id, model, _ts(now), *params, literal, limit),
            )
            scores = cosine_scores(vector, [bytes(r["_vector"]) for r in rows])
            ranked = sorted(
                zip((memory_from_row(r) for r in rows), scores, strict=True), key=lambda p: (-p[1], p[0].id)
            )
            return ranked

        if use_index:
            found = await self._run(indexed, write=True)
            if len(found) >= limit:
                return found

        async def scan(conn: AsyncConnection) -> list[tuple[MemoryRecord, float]]:
            rows = await fetch(
                conn,
                "SELECT e.memory_id, e.vector FROM memory_embeddings e JOIN memories m "
                "ON m.tenant_id = e.tenant_id AND m.id = e.memory_id "
                f"WHERE e.tenant_id = %s AND e.model = %s AND (m.expires_at IS NULL OR m.expires_at > %s){where} "
                "ORDER BY e.memory_id DESC LIMIT %s",
                (tenant_id, model, _ts(now), *params, scan_limit),
            )
            best = top_k(vector, [(r["memory_id"], bytes(r["vector"])) for r in rows], limit)
            if not best:
                return []
            records = await fetch(
                conn,
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = %s AND id = ANY(%s::text[])",
                (tenant_id, [key for key, _ in best]),
            )
            by_id = {r["id"]: memory_from_row(r) for r in records}
            return [(by_id[key], score) for key, score in best if key in by_id]

        return await self._run(scan)

    async def missing_embeddings(self, tenant_id: str, *, model: str, limit: int, now: datetime) -> list[MemoryRecord]:
        """Live memories with no vector for `model` (oldest first), for back-filling."""
        from continuum.storage.postgres import MEMORY_COLUMNS, _ts, fetch, memory_from_row

        async def work(conn: AsyncConnection) -> list[MemoryRecord]:
            rows = await fetch(
                conn,
                f"SELECT {MEMORY_COLUMNS} FROM memories m WHERE m.tenant_id = %s "
                "AND (m.expires_at IS NULL OR m.expires_at > %s) AND NOT EXISTS ("
                "SELECT 1 FROM memory_embeddings e WHERE e.tenant_id = m.tenant_id AND e.memory_id = m.id "
                "AND e.model = %s AND e.content_hash = m.content_hash) ORDER BY m.id LIMIT %s",
                (tenant_id, _ts(now), model, limit),
            )
            return [memory_from_row(r) for r in rows]

        return await self._run(work)
