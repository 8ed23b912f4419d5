"""The WHERE clause of MemoryFilters (instance, session, role, metadata, since, until)."""

from __future__ import annotations

from typing import Any

from continuum.models import MemoryFilters
from continuum.storage.sql.dialect import Dialect


def filter_clause(dialect: Dialect, filters: MemoryFilters, prefix: str = "") -> tuple[str, list[Any]]:
    """(" AND ..." clauses, their parameters) for the columns of `prefix` (a table alias + ".")."""
    p = dialect.p
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("instance_id", "session_id", "role"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(f"{prefix}{column} = {p}")
            params.append(value)
    if filters.since is not None:
        clauses.append(f"{prefix}created_at >= {p}")
        params.append(dialect.moment(filters.since))
    if filters.until is not None:
        clauses.append(f"{prefix}created_at < {p}")
        params.append(dialect.moment(filters.until))
    if filters.metadata:
        more_clauses, more = dialect.metadata_clause(filters.metadata, f"{prefix}metadata")
        clauses += more_clauses
        params += more
    return "".join(f" AND {c}" for c in clauses), params
