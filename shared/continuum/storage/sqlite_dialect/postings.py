"""Lexical postings in the SQLite dialect (SQLite, D1): the statements that keep
`lexical_postings` in step with `memories`, inside each write's one atomic batch."""

from __future__ import annotations

from collections.abc import Sequence

from continuum.models import MemoryRecord
from continuum.storage.sql.dialect import Statement, to_json
from continuum.storage.sql.lexical import impacts, posting_rows
from continuum.storage.sql.rows import Row


def add_postings(memory: MemoryRecord, *, if_landed: bool = True) -> list[Statement]:
    """The postings of one memory; by default only if its row is there (it landed)."""
    found = impacts(memory.search_terms)
    if not found:
        return []
    guard = " AND EXISTS (SELECT 1 FROM memories WHERE tenant_id = ? AND id = ?)" if if_landed else ""
    return [
        (
            "INSERT INTO lexical_postings (tenant_id, term, impact, memory_id) "
            "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?) "
            f"WHERE true{guard} ON CONFLICT DO NOTHING",
            (memory.tenant_id, memory.id, to_json(found), *((memory.tenant_id, memory.id) if if_landed else ())),
        )
    ]


def remove_postings(tenant_id: str, rows: Sequence[Row]) -> list[Statement]:
    """The postings of removed (or rewritten) rows: each one by its whole key."""
    keys = [list(p) for r in rows for p in posting_rows(r["id"], r["search_terms"])]
    if not keys:
        return []
    return [
        (
            "DELETE FROM lexical_postings WHERE tenant_id = ? AND (term, impact, memory_id) IN ("
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') "
            "FROM json_each(?))",
            (tenant_id, to_json(keys)),
        )
    ]
