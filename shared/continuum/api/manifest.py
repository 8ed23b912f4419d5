"""The route manifest: one line per route group says where its routes live, which of its
routes change state (and how Idempotency-Key treats them), which scope each route needs, and
which Lambda function serves it.

Derived from this table: the app's router groups (`ROUTERS`), the routes under
Idempotency-Key (`WRITE_ROUTES`), the scope every route needs (`required_scope`, enforced
for every runtime by `api/deps.py`) and the Lambda functions' groups (`LAMBDA_FUNCTIONS`).
`serverless.yml`, `functions/*.py` and `functions/README.md` cannot be generated at deploy
time; tests/unit/test_manifest.py checks them, and the routers' real routes, against it.
Adding a route is its router declaration plus, when it is a new group or changes state,
one line here.

Imports nothing: a Lambda function reads it at INIT, before choosing what to import.
"""

# No `from __future__ import annotations` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef), which doubles what defining it costs on every cold start.

from typing import NamedTuple

Route = tuple[str, str]  # (method, path template)


def _routes(*specs: str) -> tuple[Route, ...]:
    """("POST /v1/learn", ...) -> (("POST", "/v1/learn"), ...)."""
    return tuple((method, path) for method, _, path in (spec.partition(" ") for spec in specs))


class RouteGroup(NamedTuple):  # a NamedTuple: cheaper to define than a dataclass (cold start)
    """`writes`: state-changing routes a retry could repeat, so Idempotency-Key guards them.
    `unkeyed`: the group's other POST/PATCH/DELETE routes, deliberately left unguarded (reads
    sent as POST, or changes that are idempotent by nature). Every POST/PATCH/DELETE route of
    the group is in exactly one of the two. `function`: the Lambda function serving the group
    (None: not deployed on Lambda). `queries`: the unkeyed routes that only read (POST for
    a body), which the `read` scope allows. `admin`: routes for the admin key alone.
    `signed`: routes other nodes call, proven by an Ed25519 signature instead of an API key
    (scope `signed`: no key is asked for; docs/federation.md)."""

    name: str
    function: str | None
    writes: tuple[Route, ...] = ()
    unkeyed: tuple[Route, ...] = ()
    queries: tuple[Route, ...] = ()
    admin: tuple[Route, ...] = ()
    signed: tuple[Route, ...] = ()

    @property
    def module(self) -> str:
        return f"continuum.api.routers.{self.name}"


GROUPS: tuple[RouteGroup, ...] = (
    RouteGroup("health", function="health"),
    RouteGroup("learn", function="learn", writes=_routes("POST /v1/learn")),
    RouteGroup("recall", function="recall", unkeyed=_routes("POST /v1/recall"), queries=_routes("POST /v1/recall")),
    RouteGroup("turn", function="turn", writes=_routes("POST /v1/turn")),
    RouteGroup(
        "memories",
        function="memories",
        writes=_routes("POST /v1/memories", "POST /v1/memories/batch"),
        unkeyed=_routes("PATCH /v1/memories/{memory_id}", "DELETE /v1/memories/{memory_id}"),
    ),
    RouteGroup("search", function="search", unkeyed=_routes("POST /v1/search"), queries=_routes("POST /v1/search")),
    RouteGroup("entities", function="entities"),  # also serves /v1/stats
    RouteGroup(
        "admin",
        function="admin",
        unkeyed=_routes("POST /v1/keys", "DELETE /v1/keys/{key_id}", "DELETE /v1/tenants/{tenant_id}"),
        admin=_routes("POST /v1/keys", "DELETE /v1/keys/{key_id}", "GET /v1/tenants", "DELETE /v1/tenants/{tenant_id}"),
    ),  # GET /v1/keys: any key lists its own tenant's keys (`read`); the admin key any tenant's
    RouteGroup("portability", function="admin", unkeyed=_routes("POST /v1/import")),
    # tiers and quotas (docs/billing.md); the Stripe webhook is authenticated by its signature
    RouteGroup(
        "billing", function="admin",
        unkeyed=_routes("PUT /v1/tenants/{tenant_id}/tier", "POST /v1/billing/stripe"),
        admin=_routes("PUT /v1/tenants/{tenant_id}/tier"), signed=_routes("POST /v1/billing/stripe"),
    ),
    # MCP over streamable HTTP: one POST per JSON-RPC message; the tools check `write` themselves
    RouteGroup("mcp", function="mcp", unkeyed=_routes("POST /mcp"), queries=_routes("POST /mcp")),
    RouteGroup("metrics", function=None),  # Prometheus scrape: long-running servers only
    RouteGroup("console", function=None),  # the web console's static files: the local server (docs/console.md)
    RouteGroup(
        "federation",
        function=None,  # long-running servers (docs/federation.md); peers sign, no API key
        unkeyed=_routes(
            "POST /v1/federation/peers",
            "DELETE /v1/federation/peers/{peer_id}",
            "POST /v1/federation/peers/{peer_id}/sync",
            "PUT /v1/federation/optin",
            "DELETE /v1/federation/optin",
            "POST /v1/federation/exchange/push",
            "POST /v1/federation/exchange/pull",
        ),
        admin=_routes(
            "GET /v1/federation/peers",
            "POST /v1/federation/peers",
            "DELETE /v1/federation/peers/{peer_id}",
            "POST /v1/federation/peers/{peer_id}/sync",
        ),
        signed=_routes("POST /v1/federation/exchange/push", "POST /v1/federation/exchange/pull"),
    ),
    # real-time sync: a WebSocket on the server runtimes; on Lambda the health function answers 501
    RouteGroup("sync", function="health"),
    RouteGroup(
        "mem0",
        function="mem0",  # mem0's client (PyPI mem0ai): api/routers/mem0.py
        writes=_routes("POST /v3/memories/add/", "POST /v1/memories/"),
        unkeyed=_routes(
            "POST /v3/memories/",
            "POST /v2/memories/",
            "POST /v3/memories/search/",
            "POST /v2/memories/search/",
            "PUT /v1/memories/{memory_id}/",
            "PUT /v1/batch/",
            "DELETE /v1/memories/{memory_id}/",
            "DELETE /v1/memories/",
            "DELETE /v2/entities/{entity_type}/{entity_name}/",
            "DELETE /v1/batch/",
            "POST /v1/summary/",
            "POST /v1/exports/",
            "POST /v1/exports/get/",
            "POST /v1/feedback/",
            "POST /v2/profiles/settings/",
            "POST /v2/profiles/jobs/",
            "POST /api/v1/orgs/organizations/{org_id}/projects/",
            "PATCH /api/v1/orgs/organizations/{org_id}/projects/{project_id}/",
            "DELETE /api/v1/orgs/organizations/{org_id}/projects/{project_id}/",
            "POST /api/v1/orgs/organizations/{org_id}/projects/{project_id}/members/",
            "PUT /api/v1/orgs/organizations/{org_id}/projects/{project_id}/members/",
            "DELETE /api/v1/orgs/organizations/{org_id}/projects/{project_id}/members/",
            "POST /api/v1/webhooks/projects/{project_id}/",
            "PUT /api/v1/webhooks/{webhook_id}/",
            "DELETE /api/v1/webhooks/{webhook_id}/",
        ),  # the hosted platform's routes (api/routers/mem0.py HOSTED_ROUTES) answer 501
        queries=_routes(
            "POST /v3/memories/", "POST /v2/memories/", "POST /v3/memories/search/", "POST /v2/memories/search/"
        ),
    ),
)

# webhooks (docs/webhooks.md): the secret is in create's and rotate's answers, so no
# Idempotency-Key record may keep them; the test event and replay are safe to repeat
GROUPS += (
    RouteGroup(
        "webhooks", function="webhooks",
        unkeyed=_routes(
            "POST /v1/webhooks", "PATCH /v1/webhooks/{webhook_id}", "DELETE /v1/webhooks/{webhook_id}",
            "POST /v1/webhooks/{webhook_id}/rotate-secret", "POST /v1/webhooks/{webhook_id}/test",
            "POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
        ),
    ),
)  # fmt: skip

# Lambda functions without HTTP events: invoked by the operator after each deploy.
LAMBDA_TASKS: tuple[str, ...] = ("migrate",)
# Lambda functions woken by a queue or a schedule, not by HTTP: the webhook dispatcher.
LAMBDA_CONSUMERS: tuple[str, ...] = ("webhook_dispatch",)

ROUTERS: dict[str, str] = {group.name: group.module for group in GROUPS}
WRITE_ROUTES: frozenset[Route] = frozenset(route for group in GROUPS for route in group.writes)

# Scopes: `read` < `write` < `admin` (the admin key). Every route not named here needs
# `read` when its method only reads (GET, HEAD, OPTIONS) and `write` otherwise, so a
# state-changing route nobody classified is closed to `read` keys by default.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _scopes() -> dict[Route, str]:
    scopes: dict[Route, str] = {}
    for group in GROUPS:
        for route in (*group.writes, *group.unkeyed):
            scopes[route] = "read" if route in group.queries else "write"
        for route in group.admin:
            scopes[route] = "admin"
        for route in group.signed:
            scopes[route] = "signed"
    return scopes


ROUTE_SCOPES: dict[Route, str] = _scopes()


def required_scope(method: str, path: str) -> str:
    """The scope a caller needs for `method path` (`path` as the route declares it)."""
    scope = ROUTE_SCOPES.get((method, path))
    if scope is not None:
        return scope
    return "read" if method in READ_METHODS else "write"


def _lambda_functions() -> dict[str, tuple[str, ...]]:
    functions: dict[str, tuple[str, ...]] = {}
    for group in GROUPS:
        if group.function is not None:
            functions[group.function] = (*functions.get(group.function, ()), group.name)
    return functions


# Lambda function -> the route groups it mounts (in manifest order).
LAMBDA_FUNCTIONS: dict[str, tuple[str, ...]] = _lambda_functions()
