"""The routes a `read` key must never reach, and a request each would accept from a
`write` or admin caller: shared by the HTTP proof (tests/e2e/test_keys.py) and the Lambda
handlers' (tests/lambda/test_handlers.py)."""

from __future__ import annotations

from typing import Any

from continuum.api import manifest


def state_changing_routes(*, on_lambda: bool = False) -> list[tuple[str, str]]:
    """Every POST/PATCH/DELETE route the manifest knows that is not a query: the `read`
    scope must open none of them (a route added later is covered by this test at once).
    Routes other nodes call (scope `signed`) take no API key at all: tests/e2e/test_federation.py.
    `on_lambda`: only the routes a Lambda function serves."""
    return [
        route
        for group in manifest.GROUPS
        for route in (*group.writes, *group.unkeyed)
        if manifest.required_scope(*route) not in ("read", "signed") and (group.function or not on_lambda)
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
        ("POST", "/v1/federation/peers"): {"json": {"url": "http://peer.example"}},
        ("DELETE", "/v1/federation/peers/{peer_id}"): {},
        ("POST", "/v1/federation/peers/{peer_id}/sync"): {},
        ("PUT", "/v1/federation/optin"): {},
        ("DELETE", "/v1/federation/optin"): {},
        ("PUT", "/v1/tenants/{tenant_id}/tier"): {"json": {"tier": "free"}},
        **mem0_bodies(memory_id),
        **webhook_bodies(),
    }
    method, template = route
    assert route in bodies, f"{method} {template}: give it a body in tests/e2e/test_keys.py"
    path = template.format(
        memory_id=memory_id, key_id=key_id, tenant_id=tenant_id, entity_type="user", entity_name="alice",
        org_id=tenant_id, project_id="default", webhook_id="1", delivery_id="dlv_1", peer_id="0123456789abcdef",
    )
    return {"method": method, "url": path, **bodies[route]}


def mem0_bodies(memory_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The mem0-compatible routes (api/routers/mem0.py), as mem0's client sends them."""
    add = {"json": {"messages": [{"role": "user", "content": "a read key wrote this"}], "user_id": "alice"}}
    org = "/api/v1/orgs/organizations/{org_id}/projects"
    return {
        ("POST", "/v3/memories/add/"): add,
        ("POST", "/v1/memories/"): add,
        ("PUT", "/v1/memories/{memory_id}/"): {"json": {"text": "changed by a read key"}},
        ("PUT", "/v1/batch/"): {"json": {"memories": [{"memory_id": memory_id, "text": "changed by a read key"}]}},
        ("DELETE", "/v1/memories/{memory_id}/"): {},
        ("DELETE", "/v1/memories/"): {"params": {"user_id": "alice"}},
        ("DELETE", "/v2/entities/{entity_type}/{entity_name}/"): {},
        ("DELETE", "/v1/batch/"): {"json": {"memories": [{"memory_id": memory_id}]}},
        **{
            route: {"json": {}}
            for route in (
                ("POST", "/v1/summary/"), ("POST", "/v1/exports/"), ("POST", "/v1/exports/get/"),
                ("POST", "/v1/feedback/"), ("POST", "/v2/profiles/settings/"), ("POST", "/v2/profiles/jobs/"),
                ("POST", f"{org}/"), ("PATCH", f"{org}/{{project_id}}/"), ("DELETE", f"{org}/{{project_id}}/"),
                ("POST", f"{org}/{{project_id}}/members/"), ("PUT", f"{org}/{{project_id}}/members/"),
                ("DELETE", f"{org}/{{project_id}}/members/"), ("POST", "/api/v1/webhooks/projects/{project_id}/"),
                ("PUT", "/api/v1/webhooks/{webhook_id}/"), ("DELETE", "/api/v1/webhooks/{webhook_id}/"),
            )
        },
    }


def webhook_bodies() -> dict[tuple[str, str], dict[str, Any]]:
    """/v1/webhooks (api/routers/webhooks.py): refused to a read key whether or not webhooks are on."""
    hook = "/v1/webhooks/{webhook_id}"
    return {
        ("POST", "/v1/webhooks"): {"json": {"url": "https://example.com/hook"}},
        ("PATCH", hook): {"json": {"description": "changed by a read key"}},
        ("DELETE", hook): {},
        ("POST", f"{hook}/rotate-secret"): {},
        ("POST", f"{hook}/test"): {},
        ("POST", f"{hook}/deliveries/{{delivery_id}}/replay"): {},
    }


def serving_function(route: tuple[str, str]) -> str:
    """The Lambda function whose handler serves `route`."""
    for group in manifest.GROUPS:
        if route in (*group.writes, *group.unkeyed, *group.admin):
            assert group.function is not None
            return group.function
    raise KeyError(route)
