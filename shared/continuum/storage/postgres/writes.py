"""Memory writes on PostgreSQL: each one real transaction (the change history's entries
included), its statements to different tables joined into as few round trips as the
data allows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from psycopg import AsyncConnection

from continuum.errors import Conflict
from continuum.models import Event, InsertResult, LearnOutcome, LearnWrite, MemoryChanges, MemoryRecord
from continuum.ports import OutboxEventSource
from continuum.storage.postgres.dialect import POSTGRES, sorted_json, ts
from continuum.storage.postgres.postings import add_parts, change_parts, remove_parts
from continuum.storage.postgres.runner import Part, PostgresRunner, execute_parts, fetch
from continuum.storage.postgres.statements import (
    decision_parts,
    entity_parts,
    link_parts,
    link_rounds,
    message_part,
    term_parts,
)
from continuum.storage.sql.dialect import MEMORY_COLUMNS, to_json
from continuum.storage.sql.history import INSERT_HISTORY, PREVIOUS_CONTENT, change_columns, change_statement, entry_ids
from continuum.storage.sql.outbox import event_statements
from continuum.storage.sql.rows import Row
from continuum.storage.sql.writes import (
    added_terms,
    changed_terms,
    first_of_each_id,
    insert_results,
    lost_contents,
    removed_terms,
)

_LIVE = POSTGRES.live()
_memory = POSTGRES.rows.memory


async def apply_term_deltas(
    conn: AsyncConnection, tenant_id: str, deltas: Counter[str], docs: int, total: int, extra: Sequence[Part] = ()
) -> None:
    """Apply statistics changes (and any `extra` writes) in one round trip; terms
    whose count fell to zero are removed after."""
    await execute_parts(conn, [*extra, *term_parts(tenant_id, deltas, docs, total)])
    gone = sorted(t for t, d in deltas.items() if d < 0)
    if gone:
        await conn.execute(
            "DELETE FROM term_stats WHERE tenant_id = %s AND term = ANY(%s::text[]) AND df <= 0",
            (tenant_id, gone),
        )


async def forget_rows(conn: AsyncConnection, tenant_id: str, rows: Sequence[Row]) -> None:
    """Statistics for memory rows that were just deleted."""
    deltas, total = removed_terms(rows)
    await apply_term_deltas(conn, tenant_id, deltas, -len(rows), total, remove_parts(tenant_id, rows))


async def remove_expired(conn: AsyncConnection, tenant_id: str, now: datetime) -> None:
    """Expired rows are removed before writing, so they never shadow new content."""
    rows = await fetch(
        conn,
        "DELETE FROM memories WHERE tenant_id = %s AND expires_at IS NOT NULL AND expires_at <= %s "
        "RETURNING id, search_terms",
        (tenant_id, ts(now)),
    )
    if rows:
        await forget_rows(conn, tenant_id, rows)


async def insert_fresh(
    conn: AsyncConnection,
    tenant_id: str,
    memories: Sequence[MemoryRecord],
    existing: set[str],
    extra: Sequence[Part] = (),
) -> set[str]:
    """Insert the memories whose id is new (first of a repeated id only) unless their
    content is already held in their scope; count the terms of those that landed.
    `extra` writes go in the same round trip as the statistics."""
    fresh = list(first_of_each_id(memories, existing))
    if not fresh:
        await execute_parts(conn, extra)
        return set()
    rows = await fetch(
        conn,
        f"INSERT INTO memories (scope_key, {MEMORY_COLUMNS}) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
        "%s::text[], %s::text[], %s::text[], %s::jsonb[], %s::timestamptz[], %s::timestamptz[], "
        "%s::timestamptz[]) ON CONFLICT DO NOTHING RETURNING id",
        (
            [m.scope_key for m in fresh],
            [m.id for m in fresh],
            [tenant_id] * len(fresh),
            [m.instance_id for m in fresh],
            [m.session_id for m in fresh],
            [m.role for m in fresh],
            [m.content for m in fresh],
            [m.content_hash for m in fresh],
            [m.search_terms for m in fresh],
            [to_json(m.metadata) for m in fresh],
            [ts(m.created_at) for m in fresh],
            [ts(m.updated_at) for m in fresh],
            [POSTGRES.opt_moment(m.expires_at) for m in fresh],
        ),
    )
    landed = {r["id"] for r in rows}
    deltas, total = added_terms(m for m in fresh if m.id in landed)
    postings = add_parts(tenant_id, (m for m in fresh if m.id in landed))
    await apply_term_deltas(conn, tenant_id, deltas, len(landed), total, [*extra, *postings])
    return landed


async def note_added(conn: AsyncConnection, tenant_id: str, entries: dict[str, str], at: datetime) -> None:
    """The ADD entries (memory id -> entry id) of memories that just landed, copied from their rows."""
    if entries:
        await conn.execute(
            f"{INSERT_HISTORY} SELECT n.entry, m.tenant_id, m.id, m.instance_id, m.session_id, 'ADD', "
            f"{PREVIOUS_CONTENT}, m.content, m.metadata, %s FROM unnest(%s::text[], %s::text[]) "
            "WITH ORDINALITY AS n(entry, memory_id, ord) JOIN memories m ON m.tenant_id = %s AND m.id = n.memory_id "
            "ORDER BY n.ord",
            (ts(at), list(entries.values()), list(entries), tenant_id),
        )


async def results_of(
    conn: AsyncConnection, tenant_id: str, memories: Sequence[MemoryRecord], existing: set[str], landed: set[str]
) -> list[InsertResult]:
    lost = lost_contents(memories, existing, landed)
    owner: dict[tuple[str, str], str] = {}
    if lost:
        rows = await fetch(
            conn,
            "SELECT id, scope_key, content_hash FROM memories WHERE tenant_id = %s AND (scope_key, content_hash) "
            "IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            (tenant_id, [k for k, _ in lost], [h for _, h in lost]),
        )
        owner = {(r["scope_key"], r["content_hash"]): r["id"] for r in rows}
    return insert_results(memories, existing, landed, owner)


async def existing_ids(conn: AsyncConnection, tenant_id: str, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = await fetch(
        conn, "SELECT id FROM memories WHERE tenant_id = %s AND id = ANY(%s::text[])", (tenant_id, list(ids))
    )
    return {r["id"] for r in rows}


async def record_events(conn: AsyncConnection, made: Sequence[Event]) -> None:
    """Webhooks: the outbox's deliveries of `made`, in the write's transaction (sql/outbox.py),
    in one round trip."""
    await execute_parts(conn, [(sql, list(params)) for sql, params in event_statements(POSTGRES, made)])


class PostgresWrites:
    events: OutboxEventSource | None = None  # webhooks: writes record their events

    def __init__(self, runner: PostgresRunner) -> None:
        self.runner = runner

    def _created(
        self, tenant_id: str, memories: Sequence[MemoryRecord], added: dict[str, str], now: datetime
    ) -> list[Event]:
        if self.events is None or not added:
            return []
        return self.events.created(tenant_id, [m for m in first_of_each_id(memories, set()) if m.id in added], now)

    async def insert_memories(
        self, tenant_id: str, memories: Sequence[MemoryRecord], now: datetime, *, history_ids: Sequence[str] = ()
    ) -> list[InsertResult]:
        entries = entry_ids(memories, history_ids)

        async def work(conn: AsyncConnection) -> list[InsertResult]:
            existing = await existing_ids(conn, tenant_id, [m.id for m in memories])
            await remove_expired(conn, tenant_id, now)
            landed = await insert_fresh(conn, tenant_id, memories, existing)
            added = {m: e for m, e in entries.items() if m in landed}
            await note_added(conn, tenant_id, added, now)
            await record_events(conn, self._created(tenant_id, memories, added, now))
            return await results_of(conn, tenant_id, memories, existing, landed)

        return await self.runner.run(work, write=True)

    async def learn(self, tenant_id: str, write: LearnWrite) -> LearnOutcome:
        now = ts(write.now)
        keys = [c.key for c in write.concepts]
        pairs = [tuple(p) for p in write.links]
        ids = [m.id for m in write.memories]

        async def work(conn: AsyncConnection) -> LearnOutcome:
            # what exists already, in one round trip
            rows = await fetch(
                conn,
                "SELECT 'entity' AS kind, name_key AS a, NULL AS b FROM entities "
                "WHERE tenant_id = %s AND name_key = ANY(%s::text[]) "
                "UNION ALL SELECT 'link', concept_a, concept_b FROM attention_links WHERE tenant_id = %s "
                "AND (concept_a, concept_b) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                "UNION ALL SELECT 'memory', id, NULL FROM memories WHERE tenant_id = %s AND id = ANY(%s::text[])",
                (tenant_id, keys, tenant_id, [p[0] for p in pairs], [p[1] for p in pairs], tenant_id, ids),
            )
            known = {r["a"] for r in rows if r["kind"] == "entity"}
            linked = {(r["a"], r["b"]) for r in rows if r["kind"] == "link"}
            existing = {r["a"] for r in rows if r["kind"] == "memory"}
            await remove_expired(conn, tenant_id, write.now)
            rounds = link_rounds(pairs)
            parts = [
                message_part(tenant_id, write.message),
                *entity_parts(tenant_id, write, now),
                *link_parts(tenant_id, rounds[:1], write.link_increment, now),
                *decision_parts(tenant_id, write.decisions),
            ]
            landed = await insert_fresh(conn, tenant_id, write.memories, existing, parts)
            added = {m: e for m, e in entry_ids(write.memories, write.history_ids).items() if m in landed}
            await note_added(conn, tenant_id, added, write.now)
            if self.events is not None:
                new = [c for c in write.concepts if c.key not in known]
                made = self._created(tenant_id, write.memories, added, write.now)
                await record_events(conn, [*made, *self.events.discovered(tenant_id, new, write.now)])
            await execute_parts(conn, link_parts(tenant_id, rounds[1:], write.link_increment, now))
            results = await results_of(conn, tenant_id, write.memories, existing, landed)
            return LearnOutcome(
                results=results,
                new_concepts=[k for k in keys if k not in known],
                links_created=sum(1 for p in pairs if p not in linked),
            )

        return await self.runner.run(work, write=True)

    async def update_memory(
        self, tenant_id: str, memory_id: str, changes: MemoryChanges, now: datetime, *, history_id: str | None = None
    ) -> MemoryRecord | None:
        async def work(conn: AsyncConnection) -> MemoryRecord | None:
            rows = await fetch(
                conn,
                f"SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = %s AND id = %s AND {_LIVE} FOR UPDATE",
                (tenant_id, memory_id, ts(now)),
            )
            if not rows:
                return None
            current = _memory(rows[0])
            if changes.content is not None and changes.content_hash != current.content_hash:
                clash = await fetch(
                    conn,
                    "SELECT id FROM memories WHERE tenant_id = %s AND scope_key = %s AND content_hash = %s "
                    f"AND id <> %s AND {_LIVE}",
                    (tenant_id, current.scope_key, changes.content_hash, memory_id, ts(now)),
                )
                if clash:
                    raise Conflict(f"memory {clash[0]['id']} already holds this content in the same scope")
                await remove_expired(conn, tenant_id, now)
                old_terms, new_terms = current.terms, (changes.search_terms or "").split()
                deltas = changed_terms(old_terms, new_terms)
                postings = change_parts(tenant_id, memory_id, current.search_terms, changes.search_terms or "")
                current.content, current.content_hash = changes.content, changes.content_hash or ""
                current.search_terms = changes.search_terms or ""
                await apply_term_deltas(conn, tenant_id, deltas, 0, len(new_terms) - len(old_terms), postings)
            if changes.role is not None:
                current.role = changes.role
            if changes.metadata is not None:
                current.metadata = sorted_json(changes.metadata)
            if changes.clear_expiry:
                current.expires_at = None
            elif changes.expires_at is not None:
                current.expires_at = changes.expires_at
            current.updated_at = now
            await conn.execute(
                "UPDATE memories SET content = %s, content_hash = %s, search_terms = %s, role = %s, "
                "metadata = %s::jsonb, expires_at = %s, updated_at = %s WHERE tenant_id = %s AND id = %s",
                (
                    current.content,
                    current.content_hash,
                    current.search_terms,
                    current.role,
                    to_json(current.metadata),
                    POSTGRES.opt_moment(current.expires_at),
                    ts(now),
                    tenant_id,
                    memory_id,
                ),
            )
            if history_id is not None:
                await conn.execute(*change_statement(POSTGRES, tenant_id, memory_id, "UPDATE", now, history_id))
                if self.events is not None:
                    await record_events(conn, [self.events.updated(tenant_id, current, now)])
            return current

        return await self.runner.run(work, write=True)

    async def delete_memory(
        self, tenant_id: str, memory_id: str, now: datetime, *, history_id: str | None = None
    ) -> bool:
        async def work(conn: AsyncConnection) -> bool:
            # the DELETE entry from the row this statement removes (none if another did)
            noted = f", noted AS ({INSERT_HISTORY} SELECT {change_columns('%s', 'DELETE')} FROM m)"
            rows = await fetch(
                conn,
                "WITH m AS (DELETE FROM memories WHERE tenant_id = %s AND id = %s "
                "RETURNING tenant_id, id, instance_id, session_id, content, metadata, search_terms)"
                f"{noted if history_id is not None else ''} SELECT id, search_terms FROM m",
                (tenant_id, memory_id, *((history_id, ts(now)) if history_id is not None else ())),
            )
            if rows:
                await forget_rows(conn, tenant_id, rows)
                if self.events is not None and history_id is not None:
                    await record_events(conn, self.events.deleted(tenant_id, [memory_id], now))
            return bool(rows)

        return await self.runner.run(work, write=True)

    async def purge_expired(self, now: datetime) -> int:
        async def work(conn: AsyncConnection) -> int:
            rows = await fetch(
                conn,
                "DELETE FROM memories WHERE expires_at IS NOT NULL AND expires_at <= %s "
                "RETURNING tenant_id, id, search_terms",
                (ts(now),),
            )
            by_tenant: dict[str, list[Row]] = {}
            for row in rows:
                by_tenant.setdefault(row["tenant_id"], []).append(row)
            for tenant_id in sorted(by_tenant):
                await forget_rows(conn, tenant_id, by_tenant[tenant_id])
            return len(rows)

        return await self.runner.run(work, write=True)
