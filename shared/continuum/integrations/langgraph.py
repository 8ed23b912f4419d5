"""LangGraph's `BaseStore` on CONTINUUM: `ContinuumStore` (sync) and `AsyncContinuumStore`.

    from continuum.integrations.langgraph import ContinuumStore

    store = ContinuumStore(base_url="http://127.0.0.1:8420", api_key="ck_...")
    store.put(("memories", "alice"), "food", {"content": "Alice is vegetarian"})
    store.search(("memories",), query="what does Alice eat?")

How items map onto memories (one memory per namespace + key):
- `instance_id`: the store's instance (default `langgraph`): its memories stay apart from
  other agents' in the tenant, and every listing and search is scoped to it.
- `session_id`: `lg-` and a digest of (namespace, key). An item is its own session, so a
  put of an existing key replaces that memory in place, and two keys with equal text are
  never merged as duplicates.
- `content`: the value's text (its strings, or the fields named by `index`), which
  CONTINUUM's search ranks for `search(query=...)`.
- `metadata`: `langgraph` holds namespace, key and the value as a JSON text (so it comes
  back exactly as put: key order, nesting at any depth), and `langgraph_ns_0`,
  `langgraph_ns_1`, ... the namespace's labels, which the server filters on for a prefix.
The value travels in metadata, so it is bounded like metadata (16 KB as JSON).
Search without a query lists newest first; with a query it ranks CONTINUUM's best 100 hits
of the prefix (hybrid search, `score` from CONTINUUM). `filter` takes exact values and the
operators $eq, $ne, $gt, $gte, $lt, $lte on the value's fields, as LangGraph's own stores.
No embedding model is needed; TTLs are not supported (`supports_ttl` is False).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Generator, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

try:
    from langgraph.store.base import (
        BaseStore,
        GetOp,
        InvalidNamespaceError,
        Item,
        ListNamespacesOp,
        MatchCondition,
        Op,
        PutOp,
        Result,
        SearchItem,
        SearchOp,
        get_text_at_path,
        tokenize_path,
        validate_op_namespace,
    )
except ImportError as missing:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "continuum.integrations.langgraph needs LangGraph: pip install 'continuum-memory[langgraph]'"
    ) from missing

from continuum.client import AsyncContinuum, Continuum, NotFoundError
from continuum.schemas import Memory

META = "langgraph"
LABEL = "langgraph_ns_"
MAX_QUERY_HITS = 100  # the most POST /v1/search returns
PAGE = 1000

# A step asks the client for one call: (method name, keyword arguments); it is sent its result.
Step = Generator[tuple[str, dict[str, Any]], Any, Any]


def session_of(namespace: tuple[str, ...], key: str) -> str:
    digest = hashlib.sha256(json.dumps([list(namespace), key], ensure_ascii=False).encode()).hexdigest()
    return f"lg-{digest[:40]}"


def labels(prefix: tuple[str, ...]) -> dict[str, str]:
    """The metadata filter of a namespace prefix (wildcards are matched by the store)."""
    return {f"{LABEL}{depth}": label for depth, label in enumerate(prefix) if label != "*"}


def text_of(value: Mapping[str, Any], fields: list[str] | None) -> str:
    """What CONTINUUM indexes and ranks: the value's strings, or those at `fields`."""
    if fields:
        texts = [text for path in fields for text in get_text_at_path(dict(value), tokenize_path(path))]
    else:
        texts = list(_strings(value))
    text = "\n".join(t for t in texts if t.strip())
    return text or json.dumps(value, ensure_ascii=False, sort_keys=True)


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for item in node.values():
            yield from _strings(item)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _strings(item)


def item_of(memory: Memory, score: float | None = None, *, ranked: bool = False) -> Item | SearchItem | None:
    meta = memory.metadata.get(META)
    if not isinstance(meta, dict) or "namespace" not in meta:
        return None  # not a store item (a memory written another way under the same instance)
    fields = {"namespace": tuple(meta["namespace"]), "key": meta["key"], "value": value_of(meta),
              "created_at": memory.created_at, "updated_at": memory.updated_at}  # fmt: skip
    return SearchItem(**fields, score=score) if ranked else Item(**fields)


def value_of(meta: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(meta["value"])


def matches(value: Mapping[str, Any], conditions: Mapping[str, Any] | None) -> bool:
    return all(_compare(value.get(name), wanted) for name, wanted in (conditions or {}).items())


def _compare(have: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        if any(str(k).startswith("$") for k in wanted):
            return all(_operator(have, op, operand) for op, operand in wanted.items())
        return isinstance(have, Mapping) and all(_compare(have.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list | tuple):
        return isinstance(have, list | tuple) and len(have) == len(wanted) and all(
            _compare(h, w) for h, w in zip(have, wanted, strict=True)
        )  # fmt: skip
    return have == wanted


def _operator(have: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return have == operand
    if op == "$ne":
        return have != operand
    if op in ("$gt", "$gte", "$lt", "$lte"):
        try:
            a, b = float(have), float(operand)
        except (TypeError, ValueError):
            return False
        return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]
    raise ValueError(f"unsupported filter operator {op!r}: use $eq, $ne, $gt, $gte, $lt or $lte")


def namespace_matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = condition.path
    if len(namespace) < len(path):
        return False
    pairs = zip(namespace, path, strict=False) if condition.match_type == "prefix" else zip(
        reversed(namespace), reversed(path), strict=False
    )  # fmt: skip
    return all(want == "*" or have == want for have, want in pairs)


class _Operations:
    """The store's operations as steps (no I/O): the sync and async stores drive them."""

    def __init__(self, instance_id: str, fields: list[str] | None, search_mode: str) -> None:
        self.instance_id = instance_id
        self.fields = fields
        self.search_mode = search_mode

    def run(self, op: Op) -> Step:
        validate_op_namespace(op)
        if isinstance(op, GetOp):
            return self.get(op)
        if isinstance(op, PutOp):
            return self.put(op)
        if isinstance(op, SearchOp):
            return self.search(op)
        if isinstance(op, ListNamespacesOp):
            return self.list_namespaces(op)
        raise ValueError(f"unknown store operation {type(op).__name__}")

    def _stored(self, namespace: tuple[str, ...], key: str) -> Step:
        page = yield "list_memories_page", {
            "instance_id": self.instance_id, "session_id": session_of(namespace, key), "limit": 10,
        }  # fmt: skip
        return [m for m in page.memories if item_of(m) is not None]

    def get(self, op: GetOp) -> Step:
        stored = yield from self._stored(op.namespace, op.key)
        return item_of(stored[0]) if stored else None

    def put(self, op: PutOp) -> Step:
        if op.value is not None and (not op.namespace or op.namespace[0] == "langgraph"):
            raise InvalidNamespaceError(f"namespace must be non-empty and not start with 'langgraph': {op.namespace}")
        stored = yield from self._stored(op.namespace, op.key)
        if op.value is None:
            for memory in stored:
                yield from self._delete(memory.id)
            return None
        value = dict(op.value)
        fields = op.index if isinstance(op.index, list) else self.fields
        content = text_of(value, fields)
        metadata = {
            META: {"namespace": list(op.namespace), "key": op.key, "value": json.dumps(value, ensure_ascii=False)},
            **labels(op.namespace),
        }
        expires_at = datetime.now(UTC) + timedelta(minutes=op.ttl) if op.ttl else None
        if stored:
            keep, *extra = stored  # newest first; more than one only after concurrent first puts
            yield "update_memory", {"memory_id": keep.id, "content": content, "metadata": metadata,
                                    "expires_at": expires_at}  # fmt: skip
            for memory in extra:
                yield from self._delete(memory.id)
            return None
        created = yield "create_memory", {
            "content": content, "instance_id": self.instance_id, "session_id": session_of(op.namespace, op.key),
            "metadata": metadata, "expires_at": expires_at,
        }  # fmt: skip
        if created.status == "duplicate":  # a concurrent put of the same key and text won
            yield "update_memory", {"memory_id": created.id, "metadata": metadata}
        return None

    def _delete(self, memory_id: str) -> Step:
        with contextlib.suppress(NotFoundError):  # gone already: a delete is idempotent
            yield "delete_memory", {"memory_id": memory_id}

    def search(self, op: SearchOp) -> Step:
        if op.query and op.query.strip():
            return (yield from self._ranked(op))
        wanted, skipped, found = op.offset + op.limit, 0, []
        cursor: str | None = None
        while len(found) < op.limit:
            page = yield "list_memories_page", {"instance_id": self.instance_id,
                                                "metadata": labels(op.namespace_prefix) or None,
                                                "limit": PAGE, "cursor": cursor}  # fmt: skip
            for memory in page.memories:
                item = item_of(memory, ranked=True)
                if item is None or item.namespace[: len(op.namespace_prefix)] != op.namespace_prefix:
                    continue
                if not matches(item.value, op.filter):
                    continue
                if skipped < op.offset:
                    skipped += 1
                    continue
                found.append(item)
                if len(found) + skipped >= wanted:
                    break
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return found[: op.limit]

    def _ranked(self, op: SearchOp) -> Step:
        filters: dict[str, Any] = {"instance_id": self.instance_id}
        if op.namespace_prefix:
            filters["metadata"] = labels(op.namespace_prefix)
        hits = yield "search", {"query": op.query, "limit": MAX_QUERY_HITS, "mode": self.search_mode,
                                "filters": filters}  # fmt: skip
        kept: list[tuple[str, float]] = []
        for hit in hits.results:
            meta = hit.metadata.get(META)
            if not isinstance(meta, dict) or tuple(meta.get("namespace", ()))[: len(op.namespace_prefix)] != tuple(
                op.namespace_prefix
            ):
                continue
            if matches(value_of(meta), op.filter):
                kept.append((hit.id, hit.score))
        found = []
        for memory_id, score in kept[op.offset : op.offset + op.limit]:
            try:  # a search hit carries no updated_at: read the memory for it
                memory = yield "get_memory", {"memory_id": memory_id}
            except NotFoundError:
                continue  # deleted since the search
            found.append(item_of(memory, score, ranked=True))
        return found

    def list_namespaces(self, op: ListNamespacesOp) -> Step:
        conditions = op.match_conditions or ()
        prefixes = [c.path for c in conditions if c.match_type == "prefix"]
        pushed = labels(prefixes[0]) if prefixes else {}
        namespaces: set[tuple[str, ...]] = set()
        cursor: str | None = None
        while True:
            page = yield "list_memories_page", {"instance_id": self.instance_id, "metadata": pushed or None,
                                                "limit": PAGE, "cursor": cursor}  # fmt: skip
            for memory in page.memories:
                item = item_of(memory)
                if item is not None and all(namespace_matches(c, item.namespace) for c in conditions):
                    namespaces.add(item.namespace if op.max_depth is None else item.namespace[: op.max_depth])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return sorted(namespaces)[op.offset : op.offset + op.limit]


def _index_fields(index: Mapping[str, Any] | None) -> list[str] | None:
    if not index:
        return None
    fields = index.get("fields")
    return list(fields) if fields and list(fields) != ["$"] else None


class ContinuumStore(BaseStore):
    """A LangGraph store on a CONTINUUM server. Give `base_url` / `api_key` (default:
    CONTINUUM_URL / CONTINUUM_API_KEY) or a `Continuum` client. `index`: only its `fields`
    are read (which parts of a value CONTINUUM indexes; default: all its text)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        client: Continuum | None = None,
        instance_id: str = "langgraph",
        index: Mapping[str, Any] | None = None,
        search_mode: str = "hybrid",
    ) -> None:
        self._owned = client is None
        self.client = client if client is not None else Continuum(base_url, api_key)
        self._ops = _Operations(instance_id, _index_fields(index), search_mode)

    def _drive(self, step: Step) -> Any:
        try:
            name, kwargs = next(step)
            while True:
                try:
                    result = getattr(self.client, name)(**kwargs)
                except NotFoundError as exc:
                    name, kwargs = step.throw(exc)
                else:
                    name, kwargs = step.send(result)
        except StopIteration as done:
            return done.value

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return [self._drive(self._ops.run(op)) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def close(self) -> None:
        if self._owned:
            self.client.close()

    def __enter__(self) -> ContinuumStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncContinuumStore(BaseStore):
    """`ContinuumStore` for async code, on an `AsyncContinuum` client; its sync methods
    (`batch`, `put`, `search`, ...) go through a sync client with the same settings."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        client: AsyncContinuum | None = None,
        instance_id: str = "langgraph",
        index: Mapping[str, Any] | None = None,
        search_mode: str = "hybrid",
    ) -> None:
        self._owned = client is None
        self.client = client if client is not None else AsyncContinuum(base_url, api_key)
        self._ops = _Operations(instance_id, _index_fields(index), search_mode)
        self._sync: ContinuumStore | None = None

    async def _drive(self, step: Step) -> Any:
        try:
            name, kwargs = next(step)
            while True:
                try:
                    result = await getattr(self.client, name)(**kwargs)
                except NotFoundError as exc:
                    name, kwargs = step.throw(exc)
                else:
                    name, kwargs = step.send(result)
        except StopIteration as done:
            return done.value

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return [await self._drive(self._ops.run(op)) for op in ops]

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        if self._sync is None:
            self._sync = ContinuumStore(client=self.client.sync_client())
            self._sync._owned = True
            self._sync._ops = self._ops
        return self._sync.batch(ops)

    async def aclose(self) -> None:
        if self._sync is not None:
            self._sync.close()
        if self._owned:
            await self.client.close()

    async def __aenter__(self) -> AsyncContinuumStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
