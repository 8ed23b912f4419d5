"""Embedding storage for the PostgreSQL adapter.

Vectors are kept as float32 bytes (`memory_embeddings.vector`), exactly as in SQLite
and D1, so scores are computed the same way everywhere. Where pgvector is installed
(migration 0004, detected at migrate time) each vector also gets an indexed
`embedding vector` copy, and nearest-neighbour candidates come from the HNSW index;
the scores themselves are still the exact cosine of the stored bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from functools import partial
from typing import Any

from psycopg import AsyncConnection

from continuum.models import EmbeddingRecord, MemoryRecord
from continuum.storage.postgres.dialect import POSTGRES, ts
from continuum.storage.postgres.runner import PostgresRunner, fetch
from continuum.storage.postgres.schema import PostgresSchema
from continuum.storage.sql.dialect import prefixed_columns
from continuum.storage.sql.filters import filter_clause
from continuum.storage.sql.reads import VectorQuery, exact_candidates
from continuum.vectors import cosine_scores, unpack

INDEXED_DIMENSIONS = (384,)  # sizes with an HNSW index (see migration 0004)
_memory = POSTGRES.rows.memory


def _vector_literal(blob: bytes) -> str:
    return "[" + ",".join(repr(x) for x in unpack(blob)) + "]"


class PostgresVectors:
    def __init__(self, runner: PostgresRunner, schema: PostgresSchema) -> None:
        self.runner = runner
        self.schema = schema

    async def put_embeddings(self, tenant_id: str, records: Sequence[EmbeddingRecord]) -> None:
        latest: dict[str, EmbeddingRecord] = {}
        for record in records:
            latest[record.memory_id] = record  # the last one wins, as statement by statement
        if not latest:
            return
        rows = [latest[k] for k in sorted(latest)]
        indexed = "vector" in await self.schema.features()
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
        await self.runner.run_batch(
            [
                (
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
            ]
        )

    async def vector_candidates(self, query: VectorQuery) -> list[tuple[MemoryRecord, float]]:
        """Nearest memories by cosine: the HNSW index where pgvector has one for this
        size, else (or when filters leave the index short) an exact scan of at most
        `scan_limit` of the newest vectors, as on SQLite."""
        if query.limit <= 0:
            return []
        if len(query.vector) // 4 in INDEXED_DIMENSIONS and "vector" in await self.schema.features():
            found = await self._indexed(query)
            if len(found) >= query.limit:
                return found

        async def scan(conn: AsyncConnection) -> list[tuple[MemoryRecord, float]]:
            return await exact_candidates(partial(fetch, conn), POSTGRES, query)

        return await self.runner.run(scan)

    async def _indexed(self, q: VectorQuery) -> list[tuple[MemoryRecord, float]]:
        where, params = filter_clause(POSTGRES, q.filters, prefix="m.")
        dims = len(q.vector) // 4

        async def work(conn: AsyncConnection) -> list[tuple[MemoryRecord, float]]:
            await conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(1000, q.limit * 2))}")
            rows = await fetch(
                conn,
                f"SELECT {prefixed_columns('m.')}, e.vector AS _vector FROM memory_embeddings e JOIN memories m "
                "ON m.tenant_id = e.tenant_id AND m.id = e.memory_id "
                f"WHERE e.tenant_id = %s AND e.model = %s AND vector_dims(e.embedding) = {dims} "
                f"AND (m.expires_at IS NULL OR m.expires_at > %s){where} "
                f"ORDER BY e.embedding::vector({dims}) <=> %s::vector({dims}) LIMIT %s",
                (q.tenant_id, q.model, ts(q.now), *params, _vector_literal(q.vector), q.limit),
            )
            scores = cosine_scores(q.vector, [bytes(r["_vector"]) for r in rows])
            return sorted(zip((_memory(r) for r in rows), scores, strict=True), key=lambda p: (-p[1], p[0].id))

        return await self.runner.run(work, write=True)
