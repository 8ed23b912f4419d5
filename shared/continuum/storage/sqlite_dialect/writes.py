"""Memory writes in the SQLite dialect: each write is ONE atomic batch of statements
(D1 has no BEGIN), prepared from the reads that come before it, the change history's
entries included."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from continuum.clock import to_iso
from continuum.errors import Conflict
from continuum.models import InsertResult, LearnOutcome, LearnWrite, MemoryChanges, MemoryRecord
from continuum.ports import OutboxEventSource
from continuum.storage.sql.dialect import MEMORY_COLUMNS, Runner, Statement, to_json
from continuum.storage.sql.history import change_statement, entry_ids
from continuum.storage.sql.outbox import created_statements, event_statements
from continuum.storage.sql.reads import SqlReads
from continuum.storage.sql.rows import Row
from continuum.storage.sql.writes import (
    changed_terms,
    first_of_each_id,
    insert_results,
    lost_contents,
    removed_terms,
)
from continuum.storage.sqlite_dialect.dialect import SQLITE
from continuum.storage.sqlite_dialect.postings import add_postings, remove_postings

_LIVE = SQLITE.live()


def term_delta_statements(tenant_id: str, deltas: Counter[str], docs: int, total: int) -> list[Statement]:
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
                (tenant_id, delta, to_json(terms)),
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


def insert_memory_statements(memory: MemoryRecord) -> list[Statement]:
    """Insert unless a duplicate exists; count its terms only if this row landed."""
    terms = memory.terms
    # Ids are fresh (checked by the caller), so "a row with this id exists" means
    # "this INSERT landed" rather than losing to a duplicate.
    exists = "EXISTS (SELECT 1 FROM memories WHERE tenant_id = ? AND id = ?)"
    marker = (memory.tenant_id, memory.id)
    return [
        (
            f"INSERT INTO memories (scope_key, {MEMORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (
                memory.scope_key, memory.id, memory.tenant_id, memory.instance_id, memory.session_id,
                memory.role, memory.content, memory.content_hash, memory.search_terms, to_json(memory.metadata),
                to_iso(memory.created_at), to_iso(memory.updated_at), SQLITE.opt_moment(memory.expires_at),
            ),
        ),
        (
            "INSERT INTO term_stats (tenant_id, term, df) SELECT ?, value, 1 FROM json_each(?) "
            f"WHERE {exists} ON CONFLICT (tenant_id, term) DO UPDATE SET df = df + 1",
            (memory.tenant_id, to_json(sorted(set(terms))), *marker),
        ),
        (
            "INSERT INTO corpus_stats (tenant_id, doc_count, term_total) "
            f"SELECT ?, 1, ? WHERE {exists} ON CONFLICT (tenant_id) DO UPDATE SET "
            "doc_count = doc_count + 1, term_total = term_total + excluded.term_total",
            (memory.tenant_id, len(terms), *marker),
        ),
        *add_postings(memory),
    ]


def removal_statements(tenant_id: str, rows: Sequence[Row]) -> list[Statement]:
    deltas, total = removed_terms(rows)
    statements = term_delta_statements(tenant_id, deltas, -len(rows), total)
    statements += remove_postings(tenant_id, rows)
    statements.append(
        (
            "DELETE FROM memories WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))",
            (tenant_id, to_json([r["id"] for r in rows])),
        )
    )
    return statements


def _learn_statements(tenant_id: str, write: LearnWrite, pairs: list[list[str]]) -> list[Statement]:
    """The message, concepts, links and decisions of one exchange (memories apart)."""
    now = to_iso(write.now)
    msg = write.message
    statements: list[Statement] = [
        (
            "INSERT INTO auto_messages (id, tenant_id, instance_id, session_id, user_message, ai_response, "
            "thinking, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                msg.id, tenant_id, msg.instance_id, msg.session_id, msg.user_message,
                msg.ai_response, msg.thinking, to_json(msg.metadata), to_iso(msg.created_at),
            ),
        )
    ]
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
                (tenant_id, write.link_increment, now, now, to_json(pairs)),
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
    return statements


class SqliteWrites:
    events: OutboxEventSource | None = None  # webhooks: writes record their events (sql/outbox.py)

    def __init__(self, db: Runner, reads: SqlReads) -> None:
        self.db = db
        self.reads = reads

    async def _expired_cleanup_statements(self, tenant_id: str, now: datetime) -> list[Statement]:
        """Expired rows are removed before writing, so they never shadow new content."""
        rows = await self.db.fetch(
            "SELECT id, search_terms FROM memories WHERE tenant_id = ? AND expires_at IS NOT NULL "
            "AND expires_at <= ?",
            (tenant_id, to_iso(now)),
        )
        return removal_statements(tenant_id, rows) if rows else []

    async def _existing_ids(self, tenant_id: str, memories: Sequence[MemoryRecord]) -> set[str]:
        if not memories:
            return set()
        rows = await self.db.fetch(
            "SELECT id FROM memories WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))",
            (tenant_id, to_json([m.id for m in memories])),
        )
        return {r["id"] for r in rows}

    async def _insert_results(
        self, tenant_id: str, memories: Sequence[MemoryRecord], existing: set[str]
    ) -> list[InsertResult]:
        if not memories:
            return []
        fresh = [m for m in memories if m.id not in existing]
        landed = await self._existing_ids(tenant_id, fresh)
        lost = lost_contents(fresh, existing, landed)
        owner: dict[tuple[str, str], str] = {}
        if lost:
            rows = await self.db.fetch(
                "SELECT id, scope_key, content_hash FROM memories WHERE tenant_id = ? AND "
                "(scope_key, content_hash) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
                "FROM json_each(?))",
                (tenant_id, to_json(lost)),
            )
            owner = {(r["scope_key"], r["content_hash"]): r["id"] for r in rows}
        return insert_results(memories, existing, landed, owner)

    async def insert_memories(
        self, tenant_id: str, memories: Sequence[MemoryRecord], now: datetime, *, history_ids: Sequence[str] = ()
    ) -> list[InsertResult]:
        existing = await self._existing_ids(tenant_id, memories)
        statements = await self._expired_cleanup_statements(tenant_id, now)
        entries = entry_ids(memories, history_ids)
        for memory in first_of_each_id(memories, existing):
            statements += insert_memory_statements(memory)
            if memory.id in entries:  # written only if the row landed: it is copied from the row
                statements.append(change_statement(SQLITE, tenant_id, memory.id, "ADD", now, entries[memory.id]))
        if entries:  # webhooks
            fresh = [m for m in first_of_each_id(memories, existing) if m.id in entries]
            statements += created_statements(SQLITE, self.events, tenant_id, fresh, now)
        await self.db.run_batch(statements)
        return await self._insert_results(tenant_id, memories, existing)

    async def learn(self, tenant_id: str, write: LearnWrite) -> LearnOutcome:
        keys = [c.key for c in write.concepts]
        known = {
            r["name_key"]
            for r in await self.db.fetch(
                "SELECT name_key FROM entities WHERE tenant_id = ? AND name_key IN (SELECT value FROM json_each(?))",
                (tenant_id, to_json(keys)),
            )
        } if keys else set()
        pairs = [list(p) for p in write.links]
        linked = {
            (r["concept_a"], r["concept_b"])
            for r in await self.db.fetch(
                "SELECT concept_a, concept_b FROM attention_links l JOIN json_each(?) p "
                "ON l.concept_a = json_extract(p.value, '$[0]') AND l.concept_b = json_extract(p.value, '$[1]') "
                "WHERE l.tenant_id = ?",
                (to_json(pairs), tenant_id),
            )
        } if pairs else set()

        existing = await self._existing_ids(tenant_id, write.memories)
        statements = await self._expired_cleanup_statements(tenant_id, write.now)
        learned = _learn_statements(tenant_id, write, pairs)
        statements.append(learned[0])  # the message first, then the memories
        entries = entry_ids(write.memories, write.history_ids)
        for memory in first_of_each_id(write.memories, existing):
            statements += insert_memory_statements(memory)
            if memory.id in entries:
                statements.append(change_statement(SQLITE, tenant_id, memory.id, "ADD", write.now, entries[memory.id]))
        statements += learned[1:]
        if self.events is not None:  # webhooks
            fresh = [m for m in first_of_each_id(write.memories, existing) if m.id in entries]
            statements += created_statements(SQLITE, self.events, tenant_id, fresh, write.now)
            new = [c for c in write.concepts if c.key not in known]
            statements += event_statements(SQLITE, self.events.discovered(tenant_id, new, write.now))
        await self.db.run_batch(statements)
        results = await self._insert_results(tenant_id, write.memories, existing)
        return LearnOutcome(
            results=results,
            new_concepts=[k for k in keys if k not in known],
            links_created=sum(1 for p in write.links if tuple(p) not in linked),
        )

    async def update_memory(
        self, tenant_id: str, memory_id: str, changes: MemoryChanges, now: datetime, *, history_id: str | None = None
    ) -> MemoryRecord | None:
        current = await self.reads.get_memory(tenant_id, memory_id, now)
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
            deltas = changed_terms(old_terms, new_terms)
            statements += term_delta_statements(tenant_id, deltas, 0, len(new_terms) - len(old_terms))
            statements += remove_postings(tenant_id, [{"id": memory_id, "search_terms": current.search_terms}])
            current.content, current.content_hash = changes.content, changes.content_hash or ""
            current.search_terms = changes.search_terms or ""
            statements += add_postings(current, if_landed=False)
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
                    to_json(current.metadata), SQLITE.opt_moment(current.expires_at), to_iso(now),
                    tenant_id, memory_id,
                ),
            )
        )
        if history_id is not None:
            statements.append(change_statement(SQLITE, tenant_id, memory_id, "UPDATE", now, history_id))
            if self.events is not None:  # webhooks
                statements += event_statements(SQLITE, [self.events.updated(tenant_id, current, now)])
        await self.db.run_batch(statements)
        return current

    async def delete_memory(
        self, tenant_id: str, memory_id: str, now: datetime, *, history_id: str | None = None
    ) -> bool:
        rows = await self.db.fetch(
            "SELECT id, search_terms FROM memories WHERE tenant_id = ? AND id = ?", (tenant_id, memory_id)
        )
        if not rows:
            return False
        statements = removal_statements(tenant_id, rows)
        if history_id is not None:  # before the row goes
            statements.insert(0, change_statement(SQLITE, tenant_id, memory_id, "DELETE", now, history_id))
            if self.events is not None:  # webhooks
                statements += event_statements(SQLITE, self.events.deleted(tenant_id, [memory_id], now))
        await self.db.run_batch(statements)
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
            await self.db.run_batch(removal_statements(tenant_id, tenant_rows))
        return len(rows)
