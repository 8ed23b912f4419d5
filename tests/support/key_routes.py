"""The routes a `read` key must never reach, and a request each would accept from a
`write` or admin caller: shared by the HTTP proof (tests/e2e/test_keys.py) and the Lambda
handlers' (tests/lambda/test_handlers.py)."""

from __future__ import annotations

from typing import Any

from continuum.api import manifest


def state_changing_routes() -> list[tuple[str, str]]:
    """Every POST/PATCH/DELETE route the manifest knows that is not a query: the `read`
    scope must open none of them (a route added later is covered by this test at once)."""
    return [
        route
        for group in manifest.GROUPS
        for route in (*group.writes, *group.unkeyed)
        if manifest.required_scope(*route) != "read"
    ]


def request_for(route: tuple[str, str], tenant_id: str, memory_id: str, key_id: str, export: bytes) -> dict[str, Any]:
    """A request each route would accept from a `write` (or admin) caller."""
    turn = {"user_message": "Ship Orion on Friday", "ai_response": "Orion ships Friday."}
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/v1/learn"): {"json": turn},
        ("POST", "/v1/turn"): {"json": {**turn, "message": "Orion"}},
        ("POST", "/v1/memories"): {"json": {"content": "a read key wrote this"}},
        ("POST", "/v1/memories/batch"): {"json": {"memories": [{"content": "a read key wrote this"}]}},
        ("PATCH", "/v1/memories/{memory_id}"): {"json": {"content": "changed by a read key"}},
        ("DELETE", "/v1/memories/{memory_id}"): {},
        ("POST", "/v1/keys"): {"json": {"tenant_id": tenant_id}},
        ("DELETE", "/v1/keys/{key_id}"): {},
        ("DELETE", "/v1/tenants/{tenant_id}"): {},
        ("POST", "/v1/import"): {"content": export, "headers": {"Content-Type": "application/x-ndjson"}},
    }
    method, template = route
    assert route in bodies, f"{method} {template}: give it a body in tests/e2e/test_keys.py"
    path = template.format(memory_id=memory_id, key_id=key_id, tenant_id=tenant_id)
    return {"method": method, "url": path, **bodies[route]}


def serving_function(route: tuple[str, str]) -> str:
    """The Lambda function whose handler serves `route`."""
    for group in manifest.GROUPS:
        if route in (*group.writes, *group.unkeyed, *group.admin):
            assert group.function is not None
            return group.function
    raise KeyError(route)
