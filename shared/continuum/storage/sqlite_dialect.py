"""Storage in the SQLite dialect, shared by the local SQLite file and Cloudflare D1.

All logic lives here; an executor only runs SQL. Writes are expressed as one atomic
batch of statements with no reads in between (D1 has no BEGIN), lists travel as a
single JSON parameter read with json_each (D1 allows 100 bound parameters), and
statistics updates are conditioned on the row they belong to having been written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from continuum.clock import from_iso, to_iso
from continuum.errors import Conflict
from continuum.models import (
    ApiKeyRecord,
    EmbeddingRecord,
    EntityRecord,
    ExportPage,
    InsertResult,
    LearnOutcome,
    LearnWrite,
    LexicalStats,
    LinkRecord,
    MemoryChanges,
    MemoryFilters,
    MemoryRecord,
    TenantCounts,
    TenantRecord,
)
from continuum.storage.rows import RowReader
from continuum.vectors import top_k

Row = dict[str, Any]
Statement = tuple[str, Sequence[Any]]


class SqlExecutor(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    async def run_batch(self, statements: Sequence[Statement]) -> None: ...


_MEMORY_COLUMNS = (
    "id, tenant_id, instance_id, session_id, role, content, content_hash, search_terms, "
    "metadata, created_at, updated_at, expires_at"
)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _opt_time(value: datetime | None) -> str | None:
    return to_iso(value) if value is not None else None


_rows = RowReader(moment=from_iso, document=json.loads)
memory_from_row = _rows.memory
_entity_from_row = _rows.entity
_link_from_row = _rows.link
_message_from_row = _rows.message
_decision_from_row = _rows.decision


def _metadata_clause(metadata: dict[str, Any]) -> tuple[str, list[Any]]:
    """Exact top-level matches, with JSON types respected (1 is not true, "1" is not 1).

    The whole filter is ONE JSON parameter, read with json_each: D1 binds at most 100
    parameters per statement, and a JSON number keeps integers beyond 2**53 exact where a
    number bound through JavaScript would not. A key missing from a memory never matches.
    """
    path = "'$.' || json_quote(f.key)"
    kind, value = f"json_type(metadata, {path})", f"json_extract(metadata, {path})"
    match = (
        f"CASE f.type WHEN 'null' THEN {kind} = 'null' WHEN 'true' THEN {kind} = 'true' "
        f"WHEN 'false' THEN {kind} = 'false' WHEN 'text' THEN {kind} = 'text' AND {value} = f.value "
        f"WHEN 'integer' THEN {kind} IN ('integer', 'real') AND {value} = f.value "
        f"WHEN 'real' THEN {kind} IN ('integer', 'real') AND {value} = f.value "
        f"ELSE {value} = json(f.value) END"
    )
    return f"NOT EXISTS (SELECT 1 FROM json_each(?) AS f WHERE NOT coalesce({match}, 0))", [_json(metadata)]


def _filter_clause(filters: MemoryFilters, prefix: str = "") -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("instance_id", "session_id", "role"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"{prefix}{column} = ?")
            params.append(value)
    if filters.since is not None:
        clauses.append(f"{prefix}created_at >= ?")
        params.append(to_iso(filters.since))
    if filters.until is not None:
        clauses.append(f"{prefix}created_at < ?")
        params.append(to_iso(filters.until))
    if filters.metadata:
        sql, more = _metadata_clause(filters.metadata)
        clauses.append(sql.replace("metadata", f"{prefix}metadata"))
        params += more
    return ("".join(f" AND {c}" for c in clauses), params)


def _first_of_each_id(memories: Sequence[MemoryRecord], existing: set[str]) -> Iterator[MemoryRecord]:
    """New memories, each id once (an import file may repeat a line)."""
    seen = set(existing)
    for memory in memories:
        if memory.id not in seen:
            seen.add(memory.id)
            yield memory


def fts_match_expression(tenant_id: str, terms: Sequence[str]) -> str:
    """Tenant postings intersected with any of the terms; terms are [^\\W_]+ already."""
    quoted_tenant = '"' + tenant_id.replace('"', '""') + '"'
    alternatives = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    return f"tenant_id : {quoted_tenant} AND search_terms : ({alternatives})"


class SqliteDialectStorage:
    """The Storage port over any executor that speaks SQLite's SQL."""

    name = "sqlite"

    def __init__(self, executor: SqlExecutor) -> None:
        self.db = executor

    # ---- statement builders -------------------------------------------------------

    @staticmethod
    def _term_delta_statements(tenant_id: str, deltas: Counter[str], docs: int, total: int) -> list[Statement]:
        """Apply document-frequency changes (positive or negative) and corpus totals."""
        statements: list[Statement] = []
        grouped: dict[int, list[str]] = {}
        for term, delta in deltas.items():
            if delta:
                grouped.setdefault(delta, []).append(term)
        for delta, terms in grouped.items():
            statements.append(
                (
                    "INSERT INTO term_stats (tenant_id, term, df) SELECT ?, value, ? FROM json_each(?) WHERE true "
                    "ON CONFLICT (tenant_id, term) DO UPDATE SET df = df + excluded.df",
                    (tenant_id, delta, _json(terms)),
                )
            )
        if any(d < 0 for d in deltas.values()):
            statements.append(("DELETE FROM term_stats WHERE tenant_id = ? AND df <= 0", (tenant_id,)))
        if docs or total:
            statements.append(
                (
                    "INSERT INTO corpus_stats (tenant_id, doc_count, term_total) VALUES (?, ?, ?) "
                    "ON CONFLICT (tenant_id) DO UPDATE SET doc_count = doc_count + excluded.doc_count, "
                    "term_total = term_total + excluded.term_total",
                    (tenant_id, docs, total),
                )
            )
        return statements

    @staticmethod
    def _insert_memory_statements(memory: MemoryRecord) -> list[Statement]:
        """Insert unless a duplicate exists; count its terms only if this row landed."""
        terms = memory.terms
        # Ids are fresh (checked by the caller), so "a row with this id exists" means
        # "this INSERT landed" rather than losing to a duplicate.
        exists = "EXISTS (SELECT 1 FROM memories WHERE tenant_id = ? AND id = ?)"
        marker = (memory.tenant_id, memory.id)
        return [
            (
                f"INSERT INTO memories (scope_key, {_MEMORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (
                    memory.scope_key,
                    memory.id,
                    memory.tenant_id,
                    memory.instance_id,
                    memory.session_id,
                    memory.role,
                    memory.content,
                    memory.content_hash,
                    memory.search_terms,
                    _json(memory.metadata),
                    to_iso(memory.created_at),
                    to_iso(memory.updated_at),
                    _opt_time(memory.expires_at),
                ),
            ),
            (
                "INSERT INTO term_stats (tenant_id, term, df) SELECT ?, value, 1 FROM json_each(?) "
                f"WHERE {exists} ON CONFLICT (tenant_id, term) DO UPDATE SET df = df + 1",
                (memory.tenant_id, _json(sorted(set(terms))), *marker),
            ),
            (
                "INSERT INTO corpus_stats (tenant_id, doc_count, term_total) "
                f"SELECT ?, 1, ? WHERE {exists} ON CONFLICT (tenant_id) DO UPDATE SET "
                "doc_count = doc_count + 1, term_total = term_total + excluded.term_total",
                (memory.tenant_id, len(terms), *marker),
            ),
        ]

    async def _expired_cleanup_statements(self, tenant_id: str, now: datetime) -> list[Statement]:
        """Expired rows are removed before writing, so they never shadow new content."""
        rows = await self.db.fetch(
            "SELECT id, search_terms FROM memories WHERE tenant_id = ? AND expires_at IS NOT NULL "
            "AND expires_at <= ?",
            (tenant_id, to_iso(now)),
        )
        if not rows:
            return []
        return self._removal_statements(tenant_id, rows)

    def _removal_statements(self, tenant_id: str, rows: Sequence[Row]) -> list[Statement]:
        deltas: Counter[str] = Counter()
        total = 0
        for row in rows:
            terms = row["search_terms"].split()
            total += len(terms)
            for term in set(terms):
                deltas[term] -= 1
        statements = self._term_delta_statements(tenant_id, deltas, -len(rows), -total)
        statements.append(
            (
                "DELETE FROM memories WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))",
                (tenant_id, _json([r["id"] for r in rows])),
            )
        )
        return statements

    async def _insert_results(
        self, tenant_id: str, memories: Sequence[MemoryRecord], existing: set[str]
    ) -> list[InsertResult]:
        """Which rows landed, and for the others the id of the memory that holds the content."""
        if not memories:
            return []
        fresh = [m for m in memories if m.id not in existing]
        landed = await self._existing_ids(tenant_id, fresh)
        lost = sorted({(m.scope_key, m.content_hash) for m in fresh if m.id not in landed})
        owner: dict[tuple[str, str], str] = {}
        if lost:
            rows = await self.db.fetch(
                "SELECT id, scope_key, content_hash FROM memories WHERE tenant_id = ? AND "
                "(scope_key, content_hash) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
                "FROM json_each(?))",
                (tenant_id, _json(lost)),
            )
            owner = {(r["scope_key"], r["content_hash"]): r["id"] for r in rows}
        results = []
        reported: set[str] = set()
        for memory in memories:
            if memory.id in existing or memory.id in reported:
                reported.add(memory.id)
                results.append(InsertResult(id=memory.id, status="duplicate"))
            elif memory.id in landed:
                results.append(InsertResult(id=memory.id, status="stored"))
            else:
                holder = owner.get((memory.scope_key, memory.content_hash), memory.id)
                results.append(InsertResult(id=holder, status="duplicate"))
            reported.add(memory.id)
        return results

    # ---- lifecycle ------------------------------------------------------------------

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def ping(self) -> None:
        await self.db.fetch("SELECT 1 AS ok")

    async def migrate(self) -> list[str]:
        raise NotImplementedError

    async def pending_migrations(self) -> list[str]:
        raise NotImplementedError

    # ---- tenants and keys -------------------------------------------------------------

    async def ensure_tenant(self, tenant_id: str, name: str | None, now: datetime) -> None:
        await self.db.run_batch(
            [
                (
                    "INSERT INTO tenants (tenant_id, name, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (tenant_id) DO UPDATE SET name = COALESCE(excluded.name, tenants.name)",
                    (tenant_id, name, to_iso(now)),
                )
            ]
        )

    async def list_tenants(self) -> list[TenantRecord]:
        rows = await self.db.fetch("SELECT tenant_id, name, created_at FROM tenants ORDER BY tenant_id")
        return [TenantRecord(r["tenant_id"], r["name"], from_iso(r["created_at"])) for r in rows]

    async def erase_tenant(self, tenant_id: str) -> TenantCounts:
        counts = await self.counts(tenant_id)
        tables = (
            "memories", "term_stats", "corpus_stats", "auto_messages", "decisions",
            "entities", "attention_links", "api_keys", "tenants",
        )  # fmt: skip
        await self.db.run_batch([(f"DELETE FROM {t} WHERE tenant_id = ?", (tenant_id,)) for t in tables])
        return counts

    async def create_api_key(self, record: ApiKeyRecord) -> None:
        await self.db.run_batch(
            [
                (
                    "INSERT INTO api_keys (key_hash, tenant_id, name, key_prefix, created_at) VALUES (?, ?, ?, ?, ?)",
                    (record.key_hash, record.tenant_id, record.name, record.key_prefix, to_iso(record.created_at)),
                )
            ]
        )

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        rows = await self.db.fetch(
            "SELECT key_hash, tenant_id, name, key_prefix, created_at FROM api_keys WHERE key_hash = ?",
            (key_hash,),
        )
        if not rows:
            return None
        r = rows[0]
        return ApiKeyRecord(r["key_hash"], r["tenant_id"], r["name"], r["key_prefix"], from_iso(r["created_at"]))

    # ---- writes -----------------------------------------------------------------------

    async def _existing_ids(self, tenant_id: str, memories: Sequence[MemoryRecord]) -> set[str]:
        if not memories:
            return set()
        rows = await self.db.fetch(
            "SELECT id FROM memories WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))",
            (tenant_id, _json([m.id for m in memories])),
        )
        return {r["id"] for r in rows}

    async def insert_memories(
        self, tenant_id: str, memories: Sequence[MemoryRecord], now: datetime
    ) -> list[InsertResult]:
        existing = await self._existing_ids(tenant_id, memories)
        statements = await self._expired_cleanup_statements(tenant_id, now)
        for memory in _first_of_each_id(memories, existing):
            statements += self._insert_memory_statements(memory)
        await self.db.run_batch(statements)
        return await self._insert_results(tenant_id, memories, existing)

    async def learn(self, tenant_id: str, write: LearnWrite) -> LearnOutcome:
        now = to_iso(write.now)
        keys = [c.key for c in write.concepts]
        known = {
            r["name_key"]
            for r in await self.db.fetch(
                "SELECT name_key FROM entities WHERE tenant_id = ? AND name_key IN (SELECT value FROM json_each(?))",
                (tenant_id, _json(keys)),
            )
        } if keys else set()
        pairs = [list(p) for p in write.links]
        linked = {
            (r["concept_a"], r["concept_b"])
            for r in await self.db.fetch(
                "SELECT concept_a, concept_b FROM attention_links l JOIN json_each(?) p "
                "ON l.concept_a = json_extract(p.value, '$[0]') AND l.concept_b = json_extract(p.value, '$[1]') "
                "WHERE l.tenant_id = ?",
                (_json(pairs), tenant_id),
            )
        } if pairs else set()

        msg = write.message
        existing = await self._existing_ids(tenant_id, write.memories)
        statements = await self._expired_cleanup_statements(tenant_id, write.now)
        statements.append(
            (
                "INSERT INTO auto_messages (id, tenant_id, instance_id, session_id, user_message, ai_response, "
                "thinking, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    msg.id, tenant_id, msg.instance_id, msg.session_id, msg.user_message,
                    msg.ai_response, msg.thinking, _json(msg.metadata), to_iso(msg.created_at),
                ),
            )
        )
        for memory in _first_of_each_id(write.memories, existing):
            statements += self._insert_memory_statements(memory)
        for concept in write.concepts:
            statements.append(
                (
                    "INSERT INTO entities (tenant_id, name_key, name, entity_type, description, mention_count, "
                    "created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (tenant_id, name_key) "
                    "DO UPDATE SET mention_count = mention_count + 1, last_seen_at = excluded.last_seen_at",
                    (tenant_id, concept.key, concept.name, concept.kind, concept.description, now, now),
                )
            )
        if pairs:
            statements.append(
                (
                    "INSERT INTO attention_links (tenant_id, concept_a, concept_b, strength, occurrences, "
                    "created_at, updated_at) SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
                    "?, 1, ?, ? FROM json_each(?) WHERE true "
                    "ON CONFLICT (tenant_id, concept_a, concept_b) DO UPDATE SET "
                    "strength = strength + excluded.strength * (1.0 - strength), "
                    "occurrences = occurrences + 1, updated_at = excluded.updated_at",
                    (tenant_id, write.link_increment, now, now, _json(pairs)),
                )
            )
        for decision in write.decisions:
            statements.append(
                (
                    "INSERT INTO decisions (id, tenant_id, instance_id, session_id, message_id, decision, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        decision.id, tenant_id, decision.instance_id, decision.session_id,
                        decision.message_id, decision.decision, to_iso(decision.created_at),
                    ),
                )
            )
        await self.db.run_batch(statements)
        results = await self._insert_results(tenant_id, write.memories, existing)
        return LearnOutcome(
            results=results,
            new_concepts=[k for k in keys if k not in known],
            links_created=sum(1 for p in write.links if tuple(p) not in linked),
        )

    async def update_memory(
        self, tenant_id: str, memory_id: str, changes: MemoryChanges, now: datetime
    ) -> MemoryRecord | None:
        current = await self.get_memory(tenant_id, memory_id, now)
        if current is None:
            return None

        statements: list[Statement] = []
        if changes.content is not None and changes.content_hash != current.content_hash:
            clash = await self.db.fetch(
                "SELECT id FROM memories WHERE tenant_id = ? AND scope_key = ? AND content_hash = ? AND id <> ? "
                f"AND {_LIVE}",
                (tenant_id, current.scope_key, changes.content_hash, memory_id, to_iso(now)),
            )
            if clash:
                raise Conflict(f"memory {clash[0]['id']} already holds this content in the same scope")
            # an expired row may still hold that content: clear expired rows first, as inserts do
            statements += await self._expired_cleanup_statements(tenant_id, now)
            old_terms, new_terms = current.terms, (changes.search_terms or "").split()
            deltas: Counter[str] = Counter()
            for term in set(old_terms):
                deltas[term] -= 1
            for term in set(new_terms):
                deltas[term] += 1
            statements += self._term_delta_statements(tenant_id, deltas, 0, len(new_terms) - len(old_terms))
            current.content, current.content_hash = changes.content, changes.content_hash or ""
            current.search_terms = changes.search_terms or ""
        if changes.role is not None:
            current.role = changes.role
        if changes.metadata is not None:
            current.metadata = changes.metadata
        if changes.clear_expiry:
            current.expires_at = None
        elif changes.expires_at is not None:
            current.expires_at = changes.expires_at
        current.updated_at = now
        statements.append(
            (
                "UPDATE memories SET content = ?, content_hash = ?, search_terms = ?, role = ?, metadata = ?, "
                "expires_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                (
                    current.content, current.content_hash, current.search_terms, current.role,
                    _json(current.metadata), _opt_time(current.expires_at), to_iso(now), tenant_id, memory_id,
                ),
            )
        )
        await self.db.run_batch(statements)
        return current

    async def delete_memory(self, tenant_id: str, memory_id: str) -> bool:
        rows = await self.db.fetch(
            "SELECT id, search_terms FROM memories WHERE tenant_id = ? AND id = ?", (tenant_id, memory_id)
        )
        if not rows:
            return False
        await self.db.run_batch(self._removal_statements(tenant_id, rows))
        return True

    async def purge_expired(self, now: datetime) -> int:
        rows = await self.db.fetch(
            "SELECT tenant_id, id, search_terms FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (to_iso(now),),
        )
        by_tenant: dict[str, list[Row]] = {}
        for row in rows:
            by_tenant.setdefault(row["tenant_id"], []).append(row)
        for tenant_id, tenant_rows in by_tenant.items():
            await self.db.run_batch(self._removal_statements(tenant_id, tenant_rows))
        return len(rows)

    # ---- reads ------------------------------------------------------------------------

    async def get_memory(self, tenant_id: str, memory_id: str, now: datetime) -> MemoryRecord | None:
        rows = await self.db.fetch(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE tenant_id = ? AND id = ? AND {_LIVE}",
            (tenant_id, memory_id, to_iso(now)),
        )
        return memory_from_row(rows[0]) if rows else None

    async def list_memories(
        self,
        tenant_id: str,
        filters: MemoryFilters,
        *,
        before_id: str | None,
        limit: int,
        now: datetime,
    ) -> list[MemoryRecord]:
        where, params = _filter_clause(filters)
        if before_id is not None:
            where += " AND id < ?"
            params.append(before_id)
        rows = await self.db.fetch(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE tenant_id = ? AND {_LIVE}{where} "
            "ORDER BY id DESC LIMIT ?",
            (tenant_id, to_iso(now), *params, limit),
        )
        return [memory_from_row(r) for r in rows]

    async def lexical_stats(self, tenant_id: str, terms: Sequence[str]) -> LexicalStats:
        rows = await self.db.fetch(
            "SELECT term, df, NULL AS docs, NULL AS total FROM term_stats "
            "WHERE tenant_id = ? AND term IN (SELECT value FROM json_each(?)) "
            "UNION ALL SELECT NULL, NULL, doc_count, term_total FROM corpus_stats WHERE tenant_id = ?",
            (tenant_id, _json(list(terms)), tenant_id),
        )
        df = {r["term"]: int(r["df"]) for r in rows if r["term"] is not None}
        totals = next((r for r in rows if r["term"] is None), {"docs": 0, "total": 0})
        return LexicalStats(
            doc_count=int(totals["docs"]), term_total=int(totals["total"]), document_frequency=df
        )

    async def lexical_candidates(
        self,
        tenant_id: str,
        terms: Sequence[str],
        filters: MemoryFilters,
        *,
        limit: int,
        now: datetime,
    ) -> list[MemoryRecord]:
        if not terms:
            return []
        where, params = _filter_clause(filters, prefix="m.")
        columns = ", ".join(f"m.{c.strip()}" for c in _MEMORY_COLUMNS.split(","))
        rows = await self.db.fetch(
            f"SELECT {columns} FROM memories_fts f JOIN memories m ON m.seq = f.rowid "
            f"WHERE memories_fts MATCH ? AND m.tenant_id = ? "
            f"AND (m.expires_at IS NULL OR m.expires_at > ?){where} "
            "ORDER BY bm25(memories_fts, 0.0, 1.0) LIMIT ?",
            (fts_match_expression(tenant_id, terms), tenant_id, to_iso(now), *params, limit),
        )
        return [memory_from_row(r) for r in rows]

    async def neighbours(
        self, tenant_id: str, memory: MemoryRecord, *, window: int, now: datetime
    ) -> list[MemoryRecord]:
        scope_column, scope_value = (
            ("session_id", memory.session_id) if memory.session_id else ("instance_id", memory.instance_id)
        )
        if scope_value is None:
            return []
        rows = await self.db.fetch(
            f"SELECT * FROM (SELECT {_MEMORY_COLUMNS} FROM memories WHERE tenant_id = ? AND {scope_column} = ? "
            f"AND id < ? AND {_LIVE} ORDER BY id DESC LIMIT ?) "
            f"UNION ALL SELECT * FROM (SELECT {_MEMORY_COLUMNS} FROM memories WHERE tenant_id = ? "
            f"AND {scope_column} = ? AND id > ? AND {_LIVE} ORDER BY id LIMIT ?)",
            (
                tenant_id, scope_value, memory.id, to_iso(now), window,
                tenant_id, scope_value, memory.id, to_iso(now), window,
            ),
        )
        return sorted((memory_from_row(r) for r in rows), key=lambda m: m.id)

    async def neighbours_many(
        self,
        tenant_id: str,
        memories: Sequence[MemoryRecord],
        filters: MemoryFilters,
        *,
        window: int,
        now: datetime,
    ) -> dict[str, list[MemoryRecord]]:
        if window <= 0:
            return {}
        where, params = _filter_clause(filters, prefix="q.")
        columns = ", ".join(f"m.{c.strip()}" for c in _MEMORY_COLUMNS.split(","))
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
            one = (_json(anchors), tenant_id, tenant_id, to_iso(now), *params, window)
            rows = await self.db.fetch(
                side.format(op="<", order="DESC") + " UNION ALL " + side.format(op=">", order="ASC"), one + one
            )
            for row in rows:
                found.setdefault(row["anchor"], []).append(memory_from_row(row))
        for records in found.values():
            records.sort(key=lambda m: m.id)
        return found

    # ---- vectors -----------------------------------------------------------------------

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

    async def get_embeddings(
        self, tenant_id: str, memory_ids: Sequence[str], *, model: str
    ) -> dict[str, bytes]:
        if not memory_ids:
            return {}
        rows = await self.db.fetch(
            "SELECT memory_id, vector FROM memory_embeddings WHERE tenant_id = ? AND model = ? "
            "AND memory_id IN (SELECT value FROM json_each(?))",
            (tenant_id, model, _json(list(memory_ids))),
        )
        return {r["memory_id"]: bytes(r["vector"]) for r in rows}

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
        where, params = _filter_clause(filters, prefix="m.")
        rows = await self.db.fetch(
            "SELECT e.memory_id, e.vector FROM memory_embeddings e JOIN memories m "
            "ON m.tenant_id = e.tenant_id AND m.id = e.memory_id "
            f"WHERE e.tenant_id = ? AND e.model = ? AND (m.expires_at IS NULL OR m.expires_at > ?){where} "
            "ORDER BY e.memory_id DESC LIMIT ?",
            (tenant_id, model, to_iso(now), *params, scan_limit),
        )
        best = top_k(vector, [(r["memory_id"], bytes(r["vector"])) for r in rows], limit)
        if not best:
            return []
        records = await self.db.fetch(
            f"SELECT {_MEMORY_COLUMNS} FROM memories WHERE tenant_id = ? "
            "AND id IN (SELECT value FROM json_each(?))",
            (tenant_id, _json([key for key, _ in best])),
        )
        by_id = {r["id"]: memory_from_row(r) for r in records}
        return [(by_id[key], score) for key, score in best if key in by_id]

    async def missing_embeddings(
        self, tenant_id: str, *, model: str, limit: int, now: datetime
    ) -> list[MemoryRecord]:
        rows = await self.db.fetch(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE m.tenant_id = ? AND {_LIVE} AND NOT EXISTS ("
            "SELECT 1 FROM memory_embeddings e WHERE e.tenant_id = m.tenant_id AND e.memory_id = m.id "
            "AND e.model = ? AND e.content_hash = m.content_hash) ORDER BY m.id LIMIT ?",
            (tenant_id, to_iso(now), model, limit),
        )
        return [memory_from_row(r) for r in rows]

    # ---- concept graph -----------------------------------------------------------------

    async def find_entities(self, tenant_id: str, keys: Sequence[str]) -> list[EntityRecord]:
        if not keys:
            return []
        rows = await self.db.fetch(
            "SELECT * FROM entities WHERE tenant_id = ? AND name_key IN (SELECT value FROM json_each(?))",
            (tenant_id, _json(list(keys))),
        )
        return [_entity_from_row(r) for r in rows]

    async def list_entities(
        self, tenant_id: str, *, entity_type: str | None, limit: int, offset: int
    ) -> list[EntityRecord]:
        where, params = ("", []) if entity_type is None else (" AND entity_type = ?", [entity_type])
        rows = await self.db.fetch(
            f"SELECT * FROM entities WHERE tenant_id = ?{where} "
            "ORDER BY mention_count DESC, name_key LIMIT ? OFFSET ?",
            (tenant_id, *params, limit, offset),
        )
        return [_entity_from_row(r) for r in rows]

    async def entity_links(self, tenant_id: str, keys: Sequence[str], *, limit: int) -> list[LinkRecord]:
        if not keys:
            return []
        rows = await self.db.fetch(
            "SELECT * FROM ("
            "SELECT * FROM attention_links WHERE tenant_id = ? AND concept_a IN (SELECT value FROM json_each(?)) "
            "UNION SELECT * FROM attention_links WHERE tenant_id = ? AND concept_b IN (SELECT value FROM json_each(?))"
            ") ORDER BY strength DESC, concept_a, concept_b LIMIT ?",
            (tenant_id, _json(list(keys)), tenant_id, _json(list(keys)), limit),
        )
        return [_link_from_row(r) for r in rows]

    async def counts(self, tenant_id: str) -> TenantCounts:
        rows = await self.db.fetch(
            "SELECT "
            "(SELECT count(*) FROM entities WHERE tenant_id = ?) AS entities, "
            "(SELECT count(*) FROM auto_messages WHERE tenant_id = ?) AS messages, "
            "(SELECT count(*) FROM decisions WHERE tenant_id = ?) AS decisions, "
            "(SELECT count(*) FROM attention_links WHERE tenant_id = ?) AS attention_links, "
            "(SELECT count(*) FROM memories WHERE tenant_id = ?) AS memories",
            (tenant_id,) * 5,
        )
        return TenantCounts(**{k: int(v) for k, v in rows[0].items()})

    # ---- export / import --------------------------------------------------------------

    _EXPORT_QUERIES = {
        "memory": ("memories", "id", f"{_MEMORY_COLUMNS}"),
        "message": ("auto_messages", "id", "*"),
        "decision": ("decisions", "id", "*"),
        "entity": ("entities", "name_key", "*"),
        "link": ("attention_links", "concept_a || char(31) || concept_b", "*"),
    }

    async def export_page(self, tenant_id: str, kind: str, *, after: str | None, limit: int) -> ExportPage:
        table, order_key, columns = self._EXPORT_QUERIES[kind]
        where, params = ("", []) if after is None else (f" AND {order_key} > ?", [after])
        rows = await self.db.fetch(
            f"SELECT {columns}, {order_key} AS _cursor FROM {table} WHERE tenant_id = ?{where} "
            f"ORDER BY {order_key} LIMIT ?",
            (tenant_id, *params, limit),
        )
        next_after = rows[-1]["_cursor"] if len(rows) == limit else None
        converters = {
            "memory": memory_from_row,
            "message": _message_from_row,
            "decision": _decision_from_row,
            "entity": _entity_from_row,
            "link": _link_from_row,
        }
        return ExportPage(kind=kind, rows=[converters[kind](r) for r in rows], next_after=next_after)

    async def import_rows(self, tenant_id: str, kind: str, rows: Sequence[Any]) -> None:
        """Write exported messages, decisions, entities or links (memories go through
        insert_memories); existing rows with the same identity are kept or replaced."""
        await self.db.run_batch([_import_statement(tenant_id, kind, row) for row in rows])


def _import_statement(tenant_id: str, kind: str, row: Any) -> Statement:
    if kind == "message":
        return (
            "INSERT INTO auto_messages (id, tenant_id, instance_id, session_id, user_message, ai_response, "
            "thinking, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                row.id, tenant_id, row.instance_id, row.session_id, row.user_message, row.ai_response,
                row.thinking, _json(row.metadata), to_iso(row.created_at),
            ),
        )
    if kind == "decision":
        return (
            "INSERT INTO decisions (id, tenant_id, instance_id, session_id, message_id, decision, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                row.id, tenant_id, row.instance_id, row.session_id, row.message_id, row.decision,
                to_iso(row.created_at),
            ),
        )
    if kind == "entity":
        return (
            "INSERT INTO entities (tenant_id, name_key, name, entity_type, description, mention_count, "
            "created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, name_key) DO UPDATE "
            "SET name = excluded.name, entity_type = excluded.entity_type, description = excluded.description, "
            "mention_count = excluded.mention_count, created_at = excluded.created_at, "
            "last_seen_at = excluded.last_seen_at",
            (
                tenant_id, row.key, row.name, row.entity_type, row.description, row.mention_count,
                to_iso(row.created_at), to_iso(row.last_seen_at),
            ),
        )
    if kind == "link":
        return (
            "INSERT INTO attention_links (tenant_id, concept_a, concept_b, strength, occurrences, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, concept_a, concept_b) DO UPDATE SET "
            "strength = excluded.strength, occurrences = excluded.occurrences, created_at = excluded.created_at, "
            "updated_at = excluded.updated_at",
            (
                tenant_id, row.concept_a, row.concept_b, row.strength, row.occurrences,
                to_iso(row.created_at), to_iso(row.updated_at),
            ),
        )
    raise ValueError(f"unknown export kind {kind!r}")
