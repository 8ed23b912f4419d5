"""mem0's operations over CONTINUUM's engine: how mem0's entities map onto a tenant's
scopes, how memories look in mem0's shape, and the reads that apply mem0's filters.

Mapping (docs/integrations.md, "mem0"): `agent_id` is the memory's `instance_id`,
`run_id` its `session_id`; `user_id` and `app_id` live in reserved metadata keys
(`USER_KEY`, `APP_KEY`), which the mem0 view reports as fields and hides from `metadata`.
No LLM: every message of an `add` is stored as one memory, as written.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from continuum.api.routers.mem0_filters import ENTITY_FIELDS, FilterError, entity_scope, matches, validate
from continuum.clock import to_iso
from continuum.core.engine import MemoryEngine
from continuum.core.operations.memories import MemoryView
from continuum.models import MemoryFilters

USER_KEY = "mem0_user_id"
APP_KEY = "mem0_app_id"
RESERVED = (USER_KEY, APP_KEY)
SCAN_PAGE = 1000
SCAN_LIMIT = 20_000  # memories one filtered listing reads at most; beyond it: narrow the filter
SEARCH_POOL = 200  # candidates one search ranks at most before filters
ENTITY_TYPES = {"user": "user_id", "agent": "agent_id", "app": "app_id", "run": "run_id"}
MAX_ID_CHARS = 128


class Mem0Error(Exception):
    """An answer with `detail`, as mem0's client reads it."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def bad(detail: str) -> Mem0Error:
    return Mem0Error(400, detail)


def entity_value(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS or "\x00" in value:
        raise bad(f"{field}: must be a non-empty string of at most {MAX_ID_CHARS} characters")
    return value


def entities_of(values: dict[str, Any]) -> dict[str, str]:
    return {f: v for f in ENTITY_FIELDS if (v := entity_value(values.get(f), f)) is not None}


def stored_metadata(metadata: dict[str, Any], entities: dict[str, str]) -> dict[str, Any]:
    clean = {k: v for k, v in metadata.items() if k not in RESERVED}
    if "user_id" in entities:
        clean[USER_KEY] = entities["user_id"]
    if "app_id" in entities:
        clean[APP_KEY] = entities["app_id"]
    return clean


def scope_filters(entities: dict[str, str]) -> MemoryFilters:
    """The storage-side filter for memories of exactly these entities."""
    metadata = {key: entities[f] for f, key in (("user_id", USER_KEY), ("app_id", APP_KEY)) if f in entities}
    return MemoryFilters(instance_id=entities.get("agent_id"), session_id=entities.get("run_id"), metadata=metadata)


def _when(value: datetime | None) -> str | None:
    return to_iso(value) if value is not None else None


def view(memory: MemoryView) -> dict[str, Any]:
    """A memory in mem0's shape."""
    metadata = {k: v for k, v in memory.metadata.items() if k not in RESERVED}
    categories = metadata.get("categories")
    return {
        "id": memory.id,
        "memory": memory.content,
        "user_id": memory.metadata.get(USER_KEY),
        "agent_id": memory.instance_id,
        "app_id": memory.metadata.get(APP_KEY),
        "run_id": memory.session_id,
        "role": memory.role,
        "hash": hashlib.md5(memory.content.encode(), usedforsecurity=False).hexdigest(),
        "metadata": metadata,
        "categories": categories if isinstance(categories, list) else [],
        "created_at": _when(memory.created_at),
        "updated_at": _when(memory.updated_at),
        "expiration_date": memory.expires_at.date().isoformat() if memory.expires_at else None,
        "structured_attributes": None,
    }


def parse_time(value: Any, field: str) -> datetime:
    if isinstance(value, bool) or value is None:
        raise bad(f"{field}: must be a Unix timestamp or an ISO 8601 date-time")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise bad(f"{field}: {value!r} is out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise bad(f"{field}: {value!r} is not an ISO 8601 date-time") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise bad(f"{field}: must be a Unix timestamp or an ISO 8601 date-time")


def parse_expiration(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad("expiration_date: must be a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise bad(f"expiration_date: {value!r} is not a date as YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


def filters_of(body: dict[str, Any], *, top_level_entities: bool = True) -> dict[str, Any]:
    """The request's filter: `filters`, with any top-level entity ids (1.x clients, add) ANDed."""
    filters = body.get("filters")
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise bad("filters: must be an object")
    extra = entities_of(body) if top_level_entities else {}
    combined = {"AND": [filters, extra]} if extra and filters else (extra or filters)
    try:
        validate(combined)
    except FilterError as exc:
        raise bad(str(exc)) from None
    return combined


def _matches(memory: dict[str, Any], filters: dict[str, Any]) -> bool:
    try:
        return matches(memory, filters)
    except FilterError as exc:
        raise bad(str(exc)) from None


async def filtered(engine: MemoryEngine, tenant_id: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Every memory (mem0's shape, newest first) the filter holds for. Storage narrows by
    the entity ids every match must have; the whole filter then runs on each memory. A
    scan that would read more than SCAN_LIMIT memories is refused, never cut short."""
    narrowed = scope_filters(entity_scope(filters))
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    read = 0
    while True:
        page = await engine.list_memories(tenant_id, narrowed, cursor=cursor, limit=SCAN_PAGE)
        read += len(page.memories)
        if read > SCAN_LIMIT:
            raise bad(
                f"filters: more than {SCAN_LIMIT} memories to examine; narrow the filter with user_id, agent_id, "
                "app_id or run_id"
            )
        found += [m for m in map(view, page.memories) if _matches(m, filters)]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


async def search(
    engine: MemoryEngine, tenant_id: str, query: str, filters: dict[str, Any], top_k: int, threshold: float | None
) -> list[dict[str, Any]]:
    """CONTINUUM's retrieval (lexical, graph, recency; dense when embeddings are on) within the
    entities the filter requires, then the whole filter on each candidate. The candidate
    pool grows until `top_k` pass the filter or retrieval has no more to give."""
    narrowed = scope_filters(entity_scope(filters))
    retriever = engine.retriever
    pool = min(max(top_k * 4, 20), SEARCH_POOL)
    while True:
        plan = retriever.plan(query, limit=pool, mode="hybrid")
        retrieval = await retriever.retrieve(tenant_id, query, narrowed, plan, engine.clock.now())
        results = []
        for scored in retrieval.scored:
            score = round(scored.score, 6)
            if threshold is not None and score < threshold:
                continue
            item = view(engine.to_memory(scored.memory))
            item["memory"] = retrieval.contents.get(scored.memory.id, item["memory"])
            if not _matches(item, filters):
                continue
            item["score"] = score
            item["score_breakdown"] = {
                name: round(getattr(scored, name), 6)
                for name in ("lexical", "semantic", "graph", "recency", "context", "temporal")
            }
            results.append(item)
        if len(results) >= top_k or len(retrieval.scored) < pool or pool >= SEARCH_POOL:
            return results[:top_k]
        pool = min(pool * 4, SEARCH_POOL)


def event_id(memory_ids: list[str]) -> str:
    """An add's event: the memories it wrote, readable back by the same tenant only (the
    event route reads them within the caller's tenant)."""
    raw = json.dumps(memory_ids, separators=(",", ":")).encode()
    return "ev_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def event_memory_ids(event: str) -> list[str]:
    if not event.startswith("ev_") or len(event) > 20_000:
        raise Mem0Error(404, f"event {event} not found")
    text = event[3:]
    try:
        ids = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise Mem0Error(404, f"event {event} not found") from None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise Mem0Error(404, f"event {event} not found")
    return ids
