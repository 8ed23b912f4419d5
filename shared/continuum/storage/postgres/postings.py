"""Lexical postings on PostgreSQL: the statements that keep `lexical_postings` in step
with `memories`, sent in the same transaction (and round trip) as the statistics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from continuum.models import MemoryRecord
from continuum.storage.postgres.runner import Part
from continuum.storage.sql.lexical import posting_rows
from continuum.storage.sql.rows import Row

Key = tuple[str, int, str]  # term, impact, memory id
_KEYS = "unnest(%s::text[], %s::smallint[], %s::text[])"


def _insert(tenant_id: str, keys: Sequence[Key]) -> list[Part]:
    if not keys:
        return []
    sql = f"INSERT INTO lexical_postings SELECT %s, t, i, m FROM {_KEYS} AS u(t, i, m) ON CONFLICT DO NOTHING"
    return [(sql, [tenant_id, *(list(c) for c in zip(*keys, strict=True))])]


def _delete(tenant_id: str, keys: Sequence[Key]) -> list[Part]:
    if not keys:
        return []
    sql = f"DELETE FROM lexical_postings WHERE tenant_id = %s AND (term, impact, memory_id) IN (SELECT * FROM {_KEYS})"
    return [(sql, [tenant_id, *(list(c) for c in zip(*keys, strict=True))])]


def add_parts(tenant_id: str, memories: Iterable[MemoryRecord]) -> list[Part]:
    return _insert(tenant_id, [p for m in memories for p in posting_rows(m.id, m.search_terms)])


def change_parts(tenant_id: str, memory_id: str, old_terms: str, new_terms: str) -> list[Part]:
    """A rewritten memory's postings: only the keys that change (the parts of one
    statement share a snapshot, so one key must not be both deleted and inserted)."""
    old, new = set(posting_rows(memory_id, old_terms)), set(posting_rows(memory_id, new_terms))
    return [*_delete(tenant_id, sorted(old - new)), *_insert(tenant_id, sorted(new - old))]


def remove_parts(tenant_id: str, rows: Sequence[Row]) -> list[Part]:
    """The postings of removed rows, each by its whole key."""
    return _delete(tenant_id, [p for r in rows for p in posting_rows(r["id"], r["search_terms"])])
