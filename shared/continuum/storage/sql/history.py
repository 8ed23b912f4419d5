"""The change history of memories with one SQL shape in every dialect. Each entry's old
content is copied from the memory's previous entry by the statement that writes it, so an
update or a delete needs no read of the memory first; entries of one call go in one batch,
in order, so each sees the one before it."""

from __future__ import annotations

from collections.abc import Sequence

from continuum.models import HistoryRecord
from continuum.storage.sql.dialect import Dialect, Runner, Statement, to_json

HISTORY_COLUMNS = "id, memory_id, instance_id, session_id, event, old_content, new_content, metadata, created_at"


class SqlHistory:
    """The `Storage` port's history methods over a runner and its dialect."""

    def __init__(self, db: Runner, dialect: Dialect) -> None:
        self.db = db
        self.d = dialect

    def _statement(self, tenant_id: str, entry: HistoryRecord) -> Statement:
        p, j = self.d.p, self.d.json_param
        previous = (
            f"(SELECT h.new_content FROM memory_history h WHERE h.tenant_id = {p} AND h.memory_id = {p} "
            "ORDER BY h.id DESC LIMIT 1)"
        )
        return (
            "INSERT INTO memory_history (id, tenant_id, memory_id, instance_id, session_id, event, old_content, "
            f"new_content, metadata, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {previous}, {p}, {j}, {p})",
            (
                entry.id, tenant_id, entry.memory_id, entry.instance_id, entry.session_id, entry.event,
                tenant_id, entry.memory_id,
                entry.new_content, to_json(entry.metadata), self.d.moment(entry.created_at),
            ),
        )  # fmt: skip

    async def append_history(self, tenant_id: str, entries: Sequence[HistoryRecord]) -> None:
        if entries:
            await self.db.run_batch([self._statement(tenant_id, entry) for entry in entries])

    async def memory_history(self, tenant_id: str, memory_id: str, *, limit: int) -> list[HistoryRecord]:
        p = self.d.p
        rows = await self.db.fetch(
            f"SELECT {HISTORY_COLUMNS} FROM memory_history WHERE tenant_id = {p} AND memory_id = {p} "
            f"ORDER BY id LIMIT {p}",
            (tenant_id, memory_id, limit),
        )
        return [self.d.rows.history(r) for r in rows]

