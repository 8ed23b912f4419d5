"""The change history of memories with one SQL shape in every dialect.

Each entry is written by the memory write it records, in the same atomic batch or
transaction, so a change is never acknowledged without its entry (nor the reverse). The
entry is copied from the memory's row (content as stored: ciphertext when encryption is
on) and its old content from the memory's previous entry, so no read comes first: an ADD
or UPDATE entry is written after the row is, a DELETE entry before the row goes (and none
when there is no row, e.g. an insert that lost to a duplicate)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from continuum.models import HistoryRecord, MemoryRecord
from continuum.storage.sql.dialect import Dialect, Runner, Statement

HISTORY_COLUMNS = "id, memory_id, instance_id, session_id, event, old_content, new_content, metadata, created_at"
INSERT_HISTORY = (
    "INSERT INTO memory_history (id, tenant_id, memory_id, instance_id, session_id, event, old_content, "
    "new_content, metadata, created_at)"
)
# the memory's previous entry's new content, for a row of `memories` named m
PREVIOUS_CONTENT = (
    "(SELECT h.new_content FROM memory_history h WHERE h.tenant_id = m.tenant_id AND h.memory_id = m.id "
    "ORDER BY h.id DESC LIMIT 1)"
)


def change_columns(p: str, event: str) -> str:
    """The SELECT list of an entry from the row m: its id and moment are parameters."""
    content = "NULL" if event == "DELETE" else "m.content"
    return (
        f"CAST({p} AS TEXT), m.tenant_id, m.id, m.instance_id, m.session_id, '{event}', {PREVIOUS_CONTENT}, "
        f"{content}, m.metadata, {p}"
    )


def entry_ids(memories: Sequence[MemoryRecord], ids: Sequence[str]) -> dict[str, str]:
    """The id of each memory's ADD entry (`ids` in the memories' order; none: no history)."""
    if not ids:
        return {}
    entries: dict[str, str] = {}
    for memory, entry_id in zip(memories, ids, strict=True):
        entries.setdefault(memory.id, entry_id)  # a repeated id: only its first row is inserted
    return entries


def change_statement(d: Dialect, tenant_id: str, memory_id: str, event: str, at: datetime, entry_id: str) -> Statement:
    """Record `event` ("ADD", "UPDATE" or "DELETE") of one memory from its row."""
    assert event in ("ADD", "UPDATE", "DELETE")
    p = d.p
    return (
        f"{INSERT_HISTORY} SELECT {change_columns(p, event)} FROM memories m WHERE m.tenant_id = {p} AND m.id = {p}",
        (entry_id, d.moment(at), tenant_id, memory_id),
    )


class SqlHistory:
    """The `Storage` port's history read over a runner and its dialect."""

    def __init__(self, db: Runner, dialect: Dialect) -> None:
        self.db = db
        self.d = dialect

    async def memory_history(self, tenant_id: str, memory_id: str, *, limit: int) -> list[HistoryRecord]:
        p = self.d.p
        rows = await self.db.fetch(
            f"SELECT {HISTORY_COLUMNS} FROM memory_history WHERE tenant_id = {p} AND memory_id = {p} "
            f"ORDER BY id LIMIT {p}",
            (tenant_id, memory_id, limit),
        )
        return [self.d.rows.history(r) for r in rows]
