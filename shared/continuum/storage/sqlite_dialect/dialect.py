"""The SQLite dialect: `?` placeholders, ISO-8601 text moments, JSON text documents,
lists as one JSON parameter read with json_each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from continuum.clock import from_iso, to_iso
from continuum.storage.sql.dialect import Dialect, to_json
from continuum.storage.sql.rows import RowReader


def metadata_clause(metadata: dict[str, Any], column: str) -> tuple[list[str], list[Any]]:
    """Exact top-level matches, with JSON types respected (1 is not true, "1" is not 1).

    The whole filter is ONE JSON parameter, read with json_each: D1 binds at most 100
    parameters per statement, and a JSON number keeps integers beyond 2**53 exact where a
    number bound through JavaScript would not. A key missing from a memory never matches.
    """
    path = "'$.' || json_quote(f.key)"
    kind, value = f"json_type({column}, {path})", f"json_extract({column}, {path})"
    match = (
        f"CASE f.type WHEN 'null' THEN {kind} = 'null' WHEN 'true' THEN {kind} = 'true' "
        f"WHEN 'false' THEN {kind} = 'false' WHEN 'text' THEN {kind} = 'text' AND {value} = f.value "
        f"WHEN 'integer' THEN {kind} IN ('integer', 'real') AND {value} = f.value "
        f"WHEN 'real' THEN {kind} IN ('integer', 'real') AND {value} = f.value "
        f"ELSE {value} = json(f.value) END"
    )
    return [f"NOT EXISTS (SELECT 1 FROM json_each(?) AS f WHERE NOT coalesce({match}, 0))"], [to_json(metadata)]


def _json_list(values: Sequence[Any]) -> str:
    return to_json(list(values))


SQLITE = Dialect(
    name="sqlite",
    p="?",
    moment=to_iso,
    rows=RowReader(moment=from_iso, document=json.loads),
    json_param="?",
    list_param=_json_list,
    in_list_sql="{column} IN (SELECT value FROM json_each(?))",
    metadata_clause=metadata_clause,
    null_bigint="NULL",
    link_cursor="concept_a || char(31) || concept_b",
    union_limited="SELECT * FROM ({a}) UNION ALL SELECT * FROM ({b})",
)
