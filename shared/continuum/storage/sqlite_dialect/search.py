"""Candidates in the SQLite dialect: full-text (FTS5, tenant postings), the neighbours of
many memories at once, and the links of the concept graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from continuum.clock import to_iso
from continuum.models import LinkRecord, MemoryFilters, MemoryRecord
from continuum.storage.sql.dialect import Runner, prefixed_columns, to_json
from continuum.storage.sql.filters import filter_clause
from continuum.storage.sql.lexical import top_candidates
from continuum.storage.sql.lexical_index import LexicalIndex
from continuum.storage.sqlite_dialect.dialect import SQLITE

_memory = SQLITE.rows.memory


def fts_match_expression(tenant_id: str, terms: Sequence[str]) -> str:
    """Tenant postings intersected with any of the terms; terms are [^\\W_]+ already."""
    quoted_tenant = '"' + tenant_id.replace('"', '""') + '"'
    alternatives = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    return f"tenant_id : {quoted_tenant} AND search_terms : ({alternatives})"


class SqliteSearch:
    def __init__(self, db: Runner) -> None:
        self.db = db
        self.index = LexicalIndex(db, SQLITE)

    async def lexical_candidates(
        self, tenant_id: str, terms: Sequence[str], filters: MemoryFilters, *, limit: int, now: datetime,
        weights: Mapping[str, float] | None = None,
    ) -> list[MemoryRecord]:  # fmt: skip
        if not terms:
            return []
        if await self.index.ready():
            chosen = weights if weights else dict.fromkeys(terms, 1.0)
            return await top_candidates(self.db.fetch, SQLITE, tenant_id, chosen, filters, limit=limit, now=now)
        # until `continuum migrate` has built the postings: the FTS5 index
        where, params = filter_clause(SQLITE, filters, prefix="m.")
        rows = await self.db.fetch(
            f"SELECT {prefixed_columns('m.')} FROM memories_fts f JOIN memories m ON m.seq = f.rowid "
            f"WHERE memories_fts MATCH ? AND m.tenant_id = ? "
            f"AND (m.expires_at IS NULL OR m.expires_at > ?){where} "
            "ORDER BY bm25(memories_fts, 0.0, 1.0) LIMIT ?",
            (fts_match_expression(tenant_id, terms), tenant_id, to_iso(now), *params, limit),
        )
        return [_memory(r) for r in rows]

    async def neighbours_many(
        self, tenant_id: str, memories: Sequence[MemoryRecord], filters: MemoryFilters, *, window: int, now: datetime
    ) -> dict[str, list[MemoryRecord]]:
        if window <= 0:
            return {}
        where, params = filter_clause(SQLITE, filters, prefix="q.")
        columns = prefixed_columns("m.")
        found: dict[str, list[MemoryRecord]] = {}
        # A memory's neighbours are in its session, or in its instance when it has no session.
        for column in ("session_id", "instance_id"):
            anchors = [
                [m.id, m.session_id if column == "session_id" else m.instance_id]
                for m in memories
                if (m.session_id if column == "session_id" else m.session_id is None and m.instance_id)
            ]
            if not anchors:
                continue
            side = (
                f"SELECT {columns}, json_extract(j.value, '$[0]') AS anchor FROM json_each(?) j "
                "CROSS JOIN memories m ON m.tenant_id = ? AND m.id IN ("
                f"SELECT q.id FROM memories q WHERE q.tenant_id = ? AND q.{column} = json_extract(j.value, '$[1]') "
                "AND q.id {op} json_extract(j.value, '$[0]') AND (q.expires_at IS NULL OR q.expires_at > ?)"
                + where + " ORDER BY q.id {order} LIMIT ?)"
            )
            one = (to_json(anchors), tenant_id, tenant_id, to_iso(now), *params, window)
            rows = await self.db.fetch(
                side.format(op="<", order="DESC") + " UNION ALL " + side.format(op=">", order="ASC"), one + one
            )
            for row in rows:
                found.setdefault(row["anchor"], []).append(_memory(row))
        for records in found.values():
            records.sort(key=lambda m: m.id)
        return found


class SqliteGraph:
    def __init__(self, db: Runner) -> None:
        self.db = db

    async def entity_links(self, tenant_id: str, keys: Sequence[str], *, limit: int) -> list[LinkRecord]:
        if not keys:
            return []
        rows = await self.db.fetch(
            "SELECT * FROM ("
            "SELECT * FROM attention_links WHERE tenant_id = ? AND concept_a IN (SELECT value FROM json_each(?)) "
            "UNION SELECT * FROM attention_links WHERE tenant_id = ? AND concept_b IN (SELECT value FROM json_each(?))"
            ") ORDER BY strength DESC, concept_a, concept_b LIMIT ?",
            (tenant_id, to_json(list(keys)), tenant_id, to_json(list(keys)), limit),
        )
        return [SQLITE.rows.link(r) for r in rows]
