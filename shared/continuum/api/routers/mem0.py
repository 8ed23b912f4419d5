"""The mem0-compatible API: the routes mem0's own `MemoryClient` / `AsyncMemoryClient`
(PyPI `mem0ai`, 2.x, and the 1.x routes) call, paths with their trailing slashes as the
client sends them (httpx follows no redirect).

Each endpoint reads its own body and authenticates inside `_answer`, so every error of
these routes (bad JSON, bad input, auth, not found, rate limit) carries `detail`, which is
what the client reads; the native routes keep their envelope. Entities and filters: see
`mem0_service` and `mem0_filters`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from continuum.api.deps import PrincipalDep, ServicesDep
from continuum.api.routers import mem0_service as m
from continuum.api.routers.mem0_input import checked_int, checked_metadata, checked_text, message_list
from continuum.api.routes import RouteTable
from continuum.clock import to_iso
from continuum.core.auth import Principal
from continuum.core.operations.memories import MemoryPatch, NewMemory
from continuum.errors import ContinuumError, NotFound
from continuum.services import Services

router = RouteTable(tags=["mem0"])

MAX_BATCH = 1000
MAX_TOP_K = 100
MAX_PAGE_SIZE = 1000
HOSTED = "is a feature of mem0's hosted platform; CONTINUUM's mem0-compatible API does not serve it"

Handler = Callable[[Request, Services, Principal, dict[str, Any]], Awaitable[Any]]


def _detail(status: int, code: str, message: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = {"detail": message, "error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise m.bad(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise m.bad("request body must be a JSON object")
    return data


def _answer(status: int = 200) -> Callable[[Handler], Callable[..., Awaitable[JSONResponse]]]:
    """The endpoint of a handler: the caller authenticated like on every route (errors there
    get `detail` from api/errors.py, as these routes are tagged "mem0"), the body read here."""

    def wrap(handler: Handler) -> Callable[..., Awaitable[JSONResponse]]:
        async def endpoint(request: Request, services: ServicesDep, principal: PrincipalDep) -> JSONResponse:
            try:
                body = await _body(request) if request.method in {"POST", "PUT", "DELETE"} else {}
                return JSONResponse(await handler(request, services, principal, body), status_code=status)
            except m.Mem0Error as exc:
                code = {400: "invalid_input", 404: "not_found", 501: "not_implemented"}.get(exc.status, "error")
                return _detail(exc.status, code, exc.detail)
            except ContinuumError as exc:
                return _detail(exc.status, exc.code, exc.message, exc.retry_after)

        endpoint.__name__ = endpoint.__qualname__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


# ---- helpers ----------------------------------------------------------------------------


async def _memory(services: Services, principal: Principal, memory_id: str) -> dict[str, Any]:
    try:
        return m.view(await services.engine.get_memory(principal.tenant_id, memory_id))
    except NotFound:
        raise m.Mem0Error(404, f"memory {memory_id} not found") from None


# ---- add and its event ----------------------------------------------------------------


async def _add(services: Services, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    messages = message_list(body.get("messages"))
    filters = body.get("filters")
    entities = m.entities_of(filters) if isinstance(filters, dict) else {}
    entities.update(m.entities_of(body))
    metadata = checked_metadata(body.get("metadata"))
    when = m.parse_time(body["timestamp"], "timestamp") if body.get("timestamp") is not None else None
    expires = m.parse_expiration(body.get("expiration_date"))
    if expires is not None and expires <= datetime.now(UTC):
        raise m.bad("expiration_date: must be in the future")
    stored_metadata = m.stored_metadata(metadata, entities)
    new = [
        NewMemory(
            content=content,
            role=role,
            instance_id=entities.get("agent_id"),
            session_id=entities.get("run_id"),
            metadata=stored_metadata,
            expires_at=expires,
            created_at=when,
        )
        for role, content in messages
    ]
    batch = await services.engine.store_batch(principal.tenant_id, new) if new else None
    results = []
    for item, (_role, content) in zip(batch.results if batch else [], messages, strict=True):
        results.append(
            {
                "id": item.id,
                "memory": content,
                "event": "ADD" if item.status == "stored" else "NOOP",
                **{f: entities.get(f) for f in m.ENTITY_FIELDS},
            }
        )
    event = m.event_id([r["id"] for r in results])
    return {"results": results, "status": "SUCCEEDED", "event_id": event, "message": "Memories added."}


@router.post("/v3/memories/add/", include_in_schema=False)
@_answer()
async def add(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    return await _add(services, principal, body)


@router.post("/v1/memories/", include_in_schema=False)
@_answer()
async def add_v1(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    """mem0ai 1.x's add."""
    return await _add(services, principal, body)


@router.get("/v1/event/{event_id}/", include_in_schema=False)
@_answer()
async def event(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    event = request.path_params["event_id"]
    ids = m.event_memory_ids(event)
    results = []
    for memory_id in ids:
        try:
            memory = m.view(await services.engine.get_memory(principal.tenant_id, memory_id))
        except NotFound:
            continue  # deleted since, or another tenant's
        results.append(
            {"id": memory_id, "memory": memory["memory"], "event": "ADD", **{f: memory[f] for f in m.ENTITY_FIELDS}}
        )
    if ids and not results:
        raise m.Mem0Error(404, f"event {event} not found")
    return {"id": event, "event_type": "ADD", "status": "SUCCEEDED", "results": results}


@router.get("/v1/ping/", include_in_schema=False)
@_answer()
async def ping(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    # the client wants both ids (its `project` helper refuses to exist without them); the
    # organisation is the caller's tenant, the project always "default"
    return {
        "status": "ok",
        "message": "pong",
        "org_id": principal.tenant_id,
        "project_id": "default",
        "user_email": None,
    }


# ---- listing and search ---------------------------------------------------------------


async def _list(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    filters = m.filters_of(body)
    page = checked_int(request.query_params.get("page", body.get("page")), "page", 1, 10**6, 1)
    size = checked_int(request.query_params.get("page_size", body.get("page_size")), "page_size", 1, MAX_PAGE_SIZE, 100)
    found = await m.filtered(services.engine, principal.tenant_id, filters)
    start = (page - 1) * size
    url = request.url.remove_query_params(["page", "page_size"])

    def link(number: int) -> str:
        return str(url.include_query_params(page=number, page_size=size))

    return {
        "count": len(found),
        "next": link(page + 1) if start + size < len(found) else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": found[start : start + size],
    }


@router.post("/v3/memories/", include_in_schema=False)
@_answer()
async def get_all(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    return await _list(request, services, principal, body)


@router.post("/v2/memories/", include_in_schema=False)
@_answer()
async def get_all_v2(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    """mem0ai 1.x: a bare array, or a page when `page` and `page_size` are given."""
    listed = await _list(request, services, principal, body)
    paged = "page" in request.query_params or "page" in body
    return listed if paged else listed["results"]


async def _search(services: Services, principal: Principal, body: dict[str, Any]) -> list[dict[str, Any]]:
    query = checked_text(body.get("query"), "query")
    filters = m.filters_of(body)
    top_k = checked_int(body.get("top_k", body.get("limit")), "top_k", 1, MAX_TOP_K, 10)
    threshold = body.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold)
    ):
        raise m.bad("threshold: must be a number")
    return await m.search(services.engine, principal.tenant_id, query, filters, top_k, threshold)


@router.post("/v3/memories/search/", include_in_schema=False)
@_answer()
async def search(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    return {"results": await _search(services, principal, body)}


@router.post("/v2/memories/search/", include_in_schema=False)
@_answer()
async def search_v2(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    """mem0ai 1.x: a bare array."""
    return await _search(services, principal, body)


# ---- one memory -----------------------------------------------------------------------


@router.get("/v1/memories/{memory_id}/", include_in_schema=False)
@_answer()
async def get(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    return await _memory(services, principal, request.path_params["memory_id"])


async def _update(services: Services, principal: Principal, memory_id: str, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("timestamp") is not None:
        raise m.bad("timestamp: a memory's time is set when it is added, not by an update")
    provided: set[str] = set()
    text = body.get("text")
    metadata = None
    if text is not None:
        checked_text(text, "text")
        provided.add("content")
    if body.get("metadata") is not None:
        current = await _memory(services, principal, memory_id)
        entities = {f: current[f] for f in ("user_id", "app_id") if current[f] is not None}
        metadata = m.stored_metadata(checked_metadata(body["metadata"]), entities)
        provided.add("metadata")
    expires = None
    if "expiration_date" in body:
        expires = m.parse_expiration(body["expiration_date"])
        provided.add("expires_at")
    if not provided:
        raise m.bad("give at least one of text, metadata or expiration_date")
    patch = MemoryPatch(content=text, metadata=metadata, expires_at=expires, provided=frozenset(provided))
    try:
        return m.view(await services.engine.update_memory(principal.tenant_id, memory_id, patch))
    except NotFound:
        raise m.Mem0Error(404, f"memory {memory_id} not found") from None


@router.put("/v1/memories/{memory_id}/", include_in_schema=False)
@_answer()
async def update(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    return await _update(services, principal, request.path_params["memory_id"], body)


@router.delete("/v1/memories/{memory_id}/", include_in_schema=False)
@_answer()
async def delete(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    memory_id = request.path_params["memory_id"]
    try:
        await services.engine.delete_memory(principal.tenant_id, memory_id)
    except NotFound:
        raise m.Mem0Error(404, f"memory {memory_id} not found") from None
    return {"message": "Memory deleted successfully!"}


@router.get("/v1/memories/{memory_id}/history/", include_in_schema=False)
@_answer()
async def history(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    memory_id = request.path_params["memory_id"]
    entries = await services.engine.memory_history(principal.tenant_id, memory_id)
    if not entries:
        raise m.Mem0Error(404, f"memory {memory_id} not found")
    return [
        {
            "id": e.id,
            "memory_id": e.memory_id,
            "event": e.event,
            "old_memory": e.old_content,
            "new_memory": e.new_content,
            "input": [],
            "user_id": e.metadata.get(m.USER_KEY),
            "agent_id": e.instance_id,
            "app_id": e.metadata.get(m.APP_KEY),
            "run_id": e.session_id,
            "metadata": {k: v for k, v in e.metadata.items() if k not in m.RESERVED},
            "categories": [],
            "created_at": to_iso(e.created_at),
            "updated_at": to_iso(e.created_at),
        }
        for e in entries
    ]


# ---- many memories: by entity, in batches ---------------------------------------------


async def _delete_where(services: Services, principal: Principal, entities: dict[str, str]) -> int:
    found = await m.filtered(services.engine, principal.tenant_id, dict(entities))
    deleted = await services.engine.delete_memories(principal.tenant_id, [f["id"] for f in found])
    return len(deleted)


@router.delete("/v1/memories/", include_in_schema=False)
@_answer()
async def delete_all(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    params = dict(request.query_params)
    unknown = sorted(set(params) - set(m.ENTITY_FIELDS) - {"org_id", "project_id"})
    if unknown:
        raise m.bad(f"{unknown[0]}: delete_all takes only user_id, agent_id, app_id and run_id")
    entities = m.entities_of(params)
    if not entities:
        raise m.bad("delete_all needs at least one of user_id, agent_id, app_id, run_id; it never deletes everything")
    count = await _delete_where(services, principal, entities)
    return {"message": "Memories deleted successfully!", "deleted": count}


@router.get("/v1/entities/", include_in_schema=False)
@_answer()
async def users(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    counts: dict[tuple[str, str], list[Any]] = {}
    for memory in await m.filtered(services.engine, principal.tenant_id, {}):
        for kind, field in m.ENTITY_TYPES.items():
            name = memory[field]
            if name is not None:
                entry = counts.setdefault((kind, name), [0, memory["created_at"], memory["updated_at"]])
                entry[0] += 1
                entry[1] = min(entry[1], memory["created_at"])
                entry[2] = max(entry[2], memory["updated_at"])
    results = [
        {
            "id": name,
            "name": name,
            "type": kind,
            "total_memories": n,
            "owner": principal.tenant_id,
            "organization": None,
            "metadata": {},
            "created_at": first,
            "updated_at": last,
        }
        for (kind, name), (n, first, last) in sorted(counts.items())
    ]
    return {"count": len(results), "next": None, "previous": None, "results": results}


@router.delete("/v2/entities/{entity_type}/{entity_name}/", include_in_schema=False)
@_answer()
async def delete_entity(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    kind, name = request.path_params["entity_type"], request.path_params["entity_name"]
    field = m.ENTITY_TYPES.get(kind)
    if field is None:
        raise m.bad(f"entity type {kind!r}: one of user, agent, app, run")
    if not await _delete_where(services, principal, {field: m.entity_value(name, field) or name}):
        raise m.Mem0Error(404, f"no {kind} named {name!r}")
    return {"message": "Entity deleted successfully!"}


def _batch(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("memories")
    if not isinstance(items, list) or not items:
        raise m.bad("memories: must be a non-empty list of {memory_id, ...} objects")
    if len(items) > MAX_BATCH:
        raise m.bad(f"memories: at most {MAX_BATCH} per batch")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("memory_id"), str) or not item["memory_id"]:
            raise m.bad(f"memories[{i}].memory_id: required, a string")
    return items


async def _all_exist(services: Services, principal: Principal, items: list[dict[str, Any]]) -> None:
    """A batch changes nothing unless every memory it names is there (the caller's tenant's)."""
    for item in items:
        await _memory(services, principal, item["memory_id"])


@router.put("/v1/batch/", include_in_schema=False)
@_answer()
async def batch_update(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    items = _batch(body)
    for i, item in enumerate(items):
        if item.get("text") is None and item.get("metadata") is None:
            raise m.bad(f"memories[{i}]: give text or metadata")
        if item.get("text") is not None:
            checked_text(item["text"], f"memories[{i}].text")
        if item.get("metadata") is not None:
            checked_metadata(item["metadata"], f"memories[{i}].metadata")
    await _all_exist(services, principal, items)
    for item in items:
        fields = {k: item[k] for k in ("text", "metadata") if item.get(k) is not None}
        await _update(services, principal, item["memory_id"], fields)
    return {"message": f"Successfully updated {len(items)} memories"}


@router.delete("/v1/batch/", include_in_schema=False)
@_answer()
async def batch_delete(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
    items = _batch(body)
    await _all_exist(services, principal, items)
    deleted = await services.engine.delete_memories(principal.tenant_id, [i["memory_id"] for i in items])
    return {"message": f"Successfully deleted {len(deleted)} memories"}


# ---- what needs mem0's hosted platform ------------------------------------------------


def _hosted(name: str) -> Handler:
    async def refuse(request: Request, services: Services, principal: Principal, body: dict[str, Any]) -> Any:
        raise m.Mem0Error(501, f"{name} {HOSTED}")

    return refuse


_ORG = "/api/v1/orgs/organizations/{org_id}/projects"
HOSTED_ROUTES = (
    ("POST", "/v1/summary/", "get_summary"),
    ("POST", "/v1/exports/", "create_memory_export"),
    ("POST", "/v1/exports/get/", "get_memory_export"),
    ("POST", "/v1/feedback/", "feedback"),
    ("GET", "/v2/entities/user/{entity_id}/profile/", "get_profile"),
    ("GET", "/v2/profiles/settings/", "get_profile_settings"),
    ("POST", "/v2/profiles/settings/", "update_profile_settings"),
    ("POST", "/v2/profiles/jobs/", "generate_profile"),
    ("POST", f"{_ORG}/", "project.create"),
    ("GET", f"{_ORG}/{{project_id}}/", "project.get"),
    ("PATCH", f"{_ORG}/{{project_id}}/", "project.update"),
    ("DELETE", f"{_ORG}/{{project_id}}/", "project.delete"),
    ("GET", f"{_ORG}/{{project_id}}/members/", "project.get_members"),
    ("POST", f"{_ORG}/{{project_id}}/members/", "project.add_member"),
    ("PUT", f"{_ORG}/{{project_id}}/members/", "project.update_member"),
    ("DELETE", f"{_ORG}/{{project_id}}/members/", "project.remove_member"),
    ("GET", "/api/v1/webhooks/projects/{project_id}/", "get_webhooks"),
    ("POST", "/api/v1/webhooks/projects/{project_id}/", "create_webhook"),
    ("PUT", "/api/v1/webhooks/{webhook_id}/", "update_webhook"),
    ("DELETE", "/api/v1/webhooks/{webhook_id}/", "delete_webhook"),
)
for _method, _path, _name in HOSTED_ROUTES:
    router._declare(_method, _path, {"include_in_schema": False})(_answer()(_hosted(_name)))
