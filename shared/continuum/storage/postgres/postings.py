"""Lexical postings on PostgreSQL: the statements that keep `lexical_postings` in step
with `memories`, sent in the same transaction (and round trip) as the statistics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from continuum.models import MemoryRecord
from continuum.storage.postgres.runner import Part
from continuum.storage.sql.lexical import posting_rows
from continuum.storage.sql.rows import Row

_KEYS = "unnest(%s::text[], %s::smallint[], %s::text[])"


def _columns(keys: Sequence[tuple[str, int, str]]) -> list[list[object]]:
    return [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]]


def add_parts(tenant_id: str, memories: Iterable[MemoryRecord]) -> list[Part]:
    keys = [p for m in memories for p in posting_rows(m.id, m.search_terms)]
    if not keys:
        return []
    return [
        (
            "INSERT INTO lexical_postings (tenant_id, term, impact, memory_id) "
            f"SELECT %s, t, i, m FROM {_KEYS} AS u(t, i, m) ON CONFLICT DO NOTHING",
            [tenant_id, *_columns(keys)],
        )
    ]


def change_parts(tenant_id: str, memory_id: str, old_terms: str, new_terms: str) -> list[Part]:
    """A rewritten memory's postings: only the keys that change (the parts of one
    statement share a snapshot, so one key must not be both deleted and inserted)."""
    old, new = set(posting_rows(memory_id, old_terms)), set(posting_rows(memory_id, new_terms))
    gone, added = sorted(old - new), sorted(new - old)
    parts: list[Part] = []
    if gone:
        parts.append(
            (
                f"DELETE FROM lexical_postings WHERE tenant_id = %s AND (term, impact, memory_id) IN "
                f"(SELECT * FROM {_KEYS})",
                [tenant_id, *_columns(gone)],
            )
        )
    if added:
        parts.append(
            (
                "INSERT INTO lexical_postings (tenant_id, term, impact, memory_id) "
                f"SELECT %s, t, i, m FROM {_KEYS} AS u(t, i, m) ON CONFLICT DO NOTHING",
                [tenant_id, *_columns(added)],
            )
        )
    return parts


def remove_parts(tenant_id: str, rows: Sequence[Row]) -> list[Part]:
    """The postings of removed (or rewritten) rows, each by its whole key."""
    keys = [p for r in rows for p in posting_rows(r["id"], r["search_terms"])]
    if not keys:
        return []
    return [
        (
            f"DELETE FROM lexical_postings WHERE tenant_id = %s AND (term, impact, memory_id) IN (SELECT * FROM {_KEYS})",
            [tenant_id, *_columns(keys)],
        )
    ]
