"""The PostgreSQL dialect: `%s` placeholders, timestamptz moments, jsonb documents
(read back with sorted keys, as SQLite's text has them), lists as text[] parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from continuum.storage.sql.dialect import Dialect, to_json
from continuum.storage.sql.rows import RowReader


def sorted_json(value: Any) -> Any:
    """jsonb keeps keys in its own order; give them back sorted, as the SQLite text has them."""
    if isinstance(value, dict):
        return {k: sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_json(v) for v in value]
    return value


def ts(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def metadata_clause(metadata: dict[str, Any], column: str) -> tuple[list[str], list[Any]]:
    """Exact top-level matches, with JSON types respected (1 is not true, "1" is not 1)."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in metadata.items():
        if value is None:
            clauses.append(f"jsonb_typeof({column} -> %s) = 'null'")
            params.append(key)
        elif isinstance(value, bool):
            clauses.append(f"{column} -> %s = %s::jsonb")
            params += [key, "true" if value else "false"]
        elif isinstance(value, int | float):
            # CASE fixes the evaluation order: the cast only ever sees numbers. jsonb holds
            # numbers as numeric, so compare as numeric: a cast to float8 overflows on a
            # stored number beyond 1.8e308. A float travels as its shortest repr, which
            # is exactly the text json.dumps stored for the same double.
            clauses.append(
                f"CASE WHEN jsonb_typeof({column} -> %s) = 'number' THEN ({column} ->> %s)::numeric END = %s::numeric"
            )
            params += [key, key, value if isinstance(value, int) else repr(value)]
        elif isinstance(value, str):
            clauses.append(f"{column} -> %s = to_jsonb(%s::text)")
            params += [key, value]
        else:
            clauses.append(f"{column} -> %s = %s::jsonb")
            params += [key, to_json(value)]
    return clauses, params


POSTGRES = Dialect(
    name="postgres",
    p="%s",
    moment=ts,
    rows=RowReader(moment=_utc, document=sorted_json),
    json_param="%s::jsonb",
    list_param=list,
    in_list_sql="{column} = ANY(%s::text[])",
    metadata_clause=metadata_clause,
    null_bigint="NULL::bigint",
    link_cursor='(concept_a || chr(31) || concept_b) COLLATE "C"',
    union_limited="({a}) UNION ALL ({b})",
)
