"""The state of the lexical postings index, and how an existing database gets it.

Migration 0008 creates `lexical_postings` (every write keeps it from then on) and marks
it built when the database holds no memory yet. An existing database is filled by
`continuum migrate` (`LexicalIndex.build`): memories in (tenant, id) order, a batch at a
time, each batch's postings and the cursor written in one atomic batch, so a stopped
build resumes where it was. A posting is written only if its memory still holds the
terms it was computed from (a concurrent update or delete wins). Until the index is
built the old full-text index answers; it is dropped only after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from continuum.storage.sql.dialect import Dialect, Runner, Statement, to_json
from continuum.storage.sql.lexical import impacts

Progress = Callable[[int, int], None]  # (done, total)

BACKFILL = {
    "sqlite": (
        "INSERT INTO lexical_postings (tenant_id, term, impact, memory_id) "
        "SELECT m.tenant_id, json_extract(p.value, '$[0]'), json_extract(p.value, '$[1]'), m.id "
        "FROM json_each(?) d JOIN memories m ON m.tenant_id = json_extract(d.value, '$[0]') "
        "AND m.id = json_extract(d.value, '$[1]') AND m.search_terms = json_extract(d.value, '$[2]') "
        "JOIN json_each(d.value, '$[3]') p WHERE true ON CONFLICT DO NOTHING"
    ),
    # Each memory is checked once (2,000 lookups, not one per posting); the postings go in
    # key order, so the index pages they land on are visited in order.
    "postgres": (
        "INSERT INTO lexical_postings (tenant_id, term, impact, memory_id) "
        "SELECT p.tenant, p.t, p.i, p.mid FROM unnest(%s::text[], %s::text[], %s::smallint[], %s::text[]) "
        "WITH ORDINALITY AS p(tenant, t, i, mid, n) WHERE (p.tenant, p.mid) IN (SELECT m.tenant_id, m.id "
        "FROM unnest(%s::text[], %s::text[], %s::text[]) AS d(tenant, mid, h) JOIN memories m "
        "ON m.tenant_id = d.tenant AND m.id = d.mid AND md5(m.search_terms) = d.h) ORDER BY p.n "
        "ON CONFLICT DO NOTHING"
    ),
}
DROP_OLD = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS memories_fts_insert",
        "DROP TRIGGER IF EXISTS memories_fts_delete",
        "DROP TRIGGER IF EXISTS memories_fts_update",
        "DROP TABLE IF EXISTS memories_fts",
        "UPDATE lexical_index_state SET old_dropped = 1",
    ],
    "postgres": [
        "DROP INDEX IF EXISTS idx_memories_tenant_search",
        "DROP INDEX IF EXISTS idx_memories_search",
        "ALTER TABLE memories DROP COLUMN IF EXISTS search_vector",  # 0005 checks it is there
        "ANALYZE lexical_postings",  # plans from real statistics at once; VACUUM is autovacuum's
        "UPDATE lexical_index_state SET old_dropped = true",
    ],
}


def _backfill_statement(d: Dialect, rows: list[Any]) -> Statement:
    if d.name == "postgres":
        keys = sorted((r["tenant_id"], t, i, r["id"]) for r in rows for t, i in impacts(r["search_terms"]))
        checks = [
            [r["tenant_id"] for r in rows],
            [r["id"] for r in rows],
            [hashlib.md5(r["search_terms"].encode(), usedforsecurity=False).hexdigest() for r in rows],
        ]
        columns = [list(c) for c in zip(*keys, strict=True)] or [[], [], [], []]
        return BACKFILL["postgres"], [*columns, *checks]
    docs = [[r["tenant_id"], r["id"], r["search_terms"], impacts(r["search_terms"])] for r in rows]
    return BACKFILL["sqlite"], (to_json(docs),)


class LexicalIndex:
    """Whether candidates come from the postings yet, and the build that makes it so."""

    def __init__(self, db: Runner, d: Dialect) -> None:
        self.db = db
        self.d = d
        self._built = False  # once built, always built: asked of the database until then

    async def state(self) -> dict[str, Any] | None:
        try:
            rows = await self.db.fetch("SELECT built, after_tenant, after_id, old_dropped FROM lexical_index_state")
        except Exception:  # before migration 0008: the old index answers
            return None
        return dict(rows[0]) if rows else None

    async def ready(self) -> bool:
        if not self._built:
            state = await self.state()
            self._built = bool(state and state["built"])
        return self._built

    async def finish(self) -> None:
        """After migrations: a built index with the old one still there drops the old one."""
        state = await self.state()
        if state and state["built"] and not state["old_dropped"]:
            await self.db.run_batch([(sql, ()) for sql in DROP_OLD[self.d.name]])

    async def build(
        self, progress: Progress | None = None, *, batch: int = 2000, max_batches: int | None = None
    ) -> int:
        """Fill the postings from the memories after the cursor; returns how many were read.
        `max_batches` stops early (the cursor is kept): a Worker's cron builds a D1 in steps."""
        state = await self.state()
        if state is None:
            raise RuntimeError("migration 0008_lexical_postings is not applied: run the migrations first")
        if state["built"] and state["old_dropped"]:
            return 0
        p = self.d.p
        cursor = (state["after_tenant"], state["after_id"]) if state["after_tenant"] is not None else None
        total = done = 0
        if progress is not None:  # counting reads every memory: only for a progress bar
            total = (await self.db.fetch("SELECT count(*) AS n FROM memories"))[0]["n"]
            if cursor is not None:
                sql = f"SELECT count(*) AS n FROM memories WHERE (tenant_id, id) <= ({p}, {p})"
                done = (await self.db.fetch(sql, cursor))[0]["n"]
        read = steps = 0
        while not state["built"] and (max_batches is None or steps < max_batches):
            steps += 1
            after = f"WHERE (tenant_id, id) > ({p}, {p}) " if cursor else ""
            rows = await self.db.fetch(
                f"SELECT tenant_id, id, search_terms FROM memories {after}ORDER BY tenant_id, id LIMIT {p}",
                (*(cursor or ()), batch),
            )
            statements = [_backfill_statement(self.d, rows)] if rows else []
            if len(rows) < batch:
                statements.append((f"UPDATE lexical_index_state SET built = {_true(self.d)}", ()))
                state["built"] = True
            if rows:
                cursor = (rows[-1]["tenant_id"], rows[-1]["id"])
                statements.append((f"UPDATE lexical_index_state SET after_tenant = {p}, after_id = {p}", cursor))
            await self.db.run_batch(statements)
            read += len(rows)
            done += len(rows)
            if progress is not None:
                progress(min(done, total), total)
        if state["built"]:
            await self.finish()
            self._built = True
        return read


def _true(d: Dialect) -> str:
    return "true" if d.name == "postgres" else "1"
