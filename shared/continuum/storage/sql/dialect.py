"""What differs between SQL dialects in the statements the backends share: the
placeholder, how a moment and a JSON document are stored and read, how a list travels
as one parameter, and the metadata filter."""

# No `from __future__ import annotations` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef), which doubles what defining it costs on every cold start.

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from continuum.storage.sql.rows import Row, RowReader

Statement = tuple[str, Sequence[Any]]

MEMORY_COLUMN_NAMES = (
    "id", "tenant_id", "instance_id", "session_id", "role", "content", "content_hash", "search_terms",
    "metadata", "created_at", "updated_at", "expires_at",
)  # fmt: skip
MEMORY_COLUMNS = ", ".join(MEMORY_COLUMN_NAMES)


def to_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, unicode kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def prefixed_columns(prefix: str) -> str:
    return ", ".join(f"{prefix}{c}" for c in MEMORY_COLUMN_NAMES)


Fetch = Callable[[str, Sequence[Any]], Awaitable[list[Row]]]


class Runner(Protocol):
    """Runs SQL: one read, or statements as one atomic batch."""

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    async def run_batch(self, statements: Sequence[Statement]) -> None: ...


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and several times
# cheaper to define, which every Lambda cold start pays for.
class Dialect(NamedTuple):
    name: str  # also the folder of its migration files
    p: str  # the placeholder
    moment: Callable[[datetime], Any]  # a datetime as the database stores it
    rows: RowReader
    json_param: str  # the placeholder of a JSON document parameter
    list_param: Callable[[Sequence[Any]], Any]  # a list of strings as ONE parameter
    in_list_sql: str  # "{column}" is in the list parameter
    metadata_clause: Callable[[dict[str, Any], str], tuple[list[str], list[Any]]]
    null_bigint: str  # a NULL typed for a UNION with counts
    link_cursor: str  # the export order of links: concept_a, a separator, concept_b
    union_limited: str  # "{a}" UNION ALL "{b}", two SELECTs with their own ORDER BY and LIMIT

    def opt_moment(self, value: datetime | None) -> Any:
        return self.moment(value) if value is not None else None

    def in_list(self, column: str) -> str:
        return self.in_list_sql.format(column=column)

    def live(self, prefix: str = "") -> str:
        return f"({prefix}expires_at IS NULL OR {prefix}expires_at > {self.p})"
