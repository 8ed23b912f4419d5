"""api/manifest.py against what it describes: the routers' real routes, the app, the Lambda
functions (`functions/*.py`, `functions/README.md`) and `serverless.yml`'s functions and events.

Adding a route: declare it in its router; if it changes state (POST/PATCH/DELETE), classify
it in the manifest as a write (Idempotency-Key) or unkeyed. These tests say what is missing.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from continuum.api import manifest
from continuum.api.app import create_app
from continuum.runtime import local_server
from continuum.runtime.assembly import assemble
from continuum.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def router_routes(group: manifest.RouteGroup) -> list[tuple[str, str]]:
    """The routes the group's router really declares, in declaration order."""
    table = importlib.import_module(group.module).router
    return [(method, path) for method, path, _endpoint, _options in table.operations]


def declared_routes(group: manifest.RouteGroup) -> set[tuple[str, str]]:
    return set(router_routes(group))


def function_routes(function: str) -> list[tuple[str, str]]:
    groups = [g for g in manifest.GROUPS if g.function == function]
    return [route for group in groups for route in router_routes(group)]


class _AnyTag(yaml.SafeLoader):
    """serverless.yml uses CloudFormation tags (!Ref, !Join, ...): read them as plain data."""


_AnyTag.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture(scope="module")
def serverless() -> dict:
    return yaml.load((REPO / "serverless.yml").read_text(), Loader=_AnyTag)


def test_every_group_has_a_router_module():
    assert list(manifest.ROUTERS) == [g.name for g in manifest.GROUPS]
    assert len(set(manifest.ROUTERS)) == len(manifest.GROUPS)
    for group in manifest.GROUPS:
        assert declared_routes(group), f"{group.module} declares no route"


@pytest.mark.parametrize("group", manifest.GROUPS, ids=lambda g: g.name)
def test_every_state_changing_route_is_classified_exactly_once(group):
    mutating = {route for route in declared_routes(group) if route[0] in MUTATING}
    writes, unkeyed = set(group.writes), set(group.unkeyed)
    assert not writes & unkeyed, f"{group.name}: both write and unkeyed: {sorted(writes & unkeyed)}"
    missing = mutating - writes - unkeyed
    assert not missing, f"{group.name}: classify {sorted(missing)} as writes or unkeyed in api/manifest.py"
    stale = (writes | unkeyed) - mutating
    assert not stale, f"{group.name}: the manifest names routes its router does not declare: {sorted(stale)}"


def test_write_routes_are_exact_paths_as_the_idempotency_middleware_matches_them():
    for method, path in manifest.WRITE_ROUTES:
        assert "{" not in path, f"{method} {path}: IdempotencyMiddleware matches exact paths only"
    from continuum.api.idempotency import WRITE_ROUTES

    assert WRITE_ROUTES is manifest.WRITE_ROUTES


def test_the_app_serves_exactly_the_manifest_routes(tmp_path):
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "m.db")}, read_files=False)
    app = create_app(assemble(local_server(), settings))
    served = {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", None) or ()
        if route.path not in {"/docs", "/docs/oauth2-redirect", "/openapi.json"} and method != "HEAD"
    }
    declared = {route for group in manifest.GROUPS for route in declared_routes(group)}
    assert served == declared


def test_lambda_handler_groups_come_from_the_manifest():
    from continuum.aws.handler import GROUPS

    assert GROUPS == manifest.LAMBDA_FUNCTIONS
    assert GROUPS["admin"] == ("admin", "portability", "billing")


def test_serverless_functions_and_events_match_the_manifest(serverless):
    functions = serverless["functions"]
    assert set(functions) == {*manifest.LAMBDA_FUNCTIONS, *manifest.LAMBDA_TASKS, *manifest.LAMBDA_CONSUMERS}
    for name, spec in functions.items():
        assert spec["handler"] == f"functions/{name}.handler"
    for name in manifest.LAMBDA_TASKS:
        assert not functions[name].get("events"), f"{name} is invoked, not routed"
    for name in manifest.LAMBDA_CONSUMERS:  # woken by a queue or a schedule, never routed
        assert functions[name]["events"] and not any("httpApi" in e for e in functions[name]["events"]), name
    for name in manifest.LAMBDA_FUNCTIONS:
        events = sorted(tuple(event["httpApi"].split(" ", 1)) for event in functions[name].get("events", []))
        assert events == sorted(function_routes(name)), f"serverless.yml functions.{name}.events"


def test_every_route_served_outside_lambda_is_deliberate(serverless):
    routed = {
        tuple(event["httpApi"].split(" ", 1))
        for spec in serverless["functions"].values()
        for event in spec.get("events", [])
        if "httpApi" in event
    }
    for group in manifest.GROUPS:
        for route in declared_routes(group):
            assert (route in routed) == (group.function is not None), f"{route} of {group.name}"


def test_function_modules_match_the_manifest():
    modules = {path.stem for path in (REPO / "functions").glob("*.py")} - {"__init__"}
    assert modules == {*manifest.LAMBDA_FUNCTIONS, *manifest.LAMBDA_TASKS, *manifest.LAMBDA_CONSUMERS}
    for name in manifest.LAMBDA_FUNCTIONS:
        source = (REPO / "functions" / f"{name}.py").read_text()
        assert f'handler = lambda_handler_for("{name}")' in source, f"functions/{name}.py"


def readme_table() -> str:
    rows = ["| module | routes |", "|---|---|"]
    for name in manifest.LAMBDA_FUNCTIONS:
        rows.append(f"| {name} | {', '.join(f'{m} {p}' for m, p in function_routes(name))} |")
    return "\n".join(rows)


def test_functions_readme_lists_every_function_with_its_routes():
    expected = readme_table()
    assert expected in (REPO / "functions" / "README.md").read_text(), f"functions/README.md table:\n{expected}"


def test_every_route_has_the_scope_its_kind_needs():
    for group in manifest.GROUPS:
        assert set(group.queries) <= set(group.unkeyed), f"{group.name}: a query is an unkeyed POST"
        for method, path in declared_routes(group):
            scope = manifest.required_scope(method, path)
            if (method, path) in group.admin:
                assert scope == "admin"
            elif (method, path) in group.signed:
                assert scope == "signed"
            elif method in MUTATING and (method, path) not in group.queries:
                assert scope == "write", f"{method} {path} changes state: a read key must not reach it"
            else:
                assert scope == "read", f"{method} {path}"
    assert manifest.required_scope("POST", "/v1/recall") == "read"
    assert manifest.required_scope("POST", "/v1/not-in-the-manifest") == "write"  # closed by default


def test_every_route_that_needs_a_scope_asks_who_the_caller_is(tmp_path):
    """Scopes are enforced in `get_principal`: a route needing more than `read` without
    that dependency would let any caller through."""
    from continuum.api.deps import get_principal

    def calls(dependant) -> set:  # type: ignore[no-untyped-def]
        found = {dependant.call}
        for sub in dependant.dependencies:
            found |= calls(sub)
        return found

    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "m.db")}, read_files=False)
    app = create_app(assemble(local_server(), settings))
    for route in app.routes:
        for method in getattr(route, "methods", None) or ():
            scope = manifest.required_scope(method, route.path)
            if scope == "signed":  # node-to-node: a signature, never an API key
                assert get_principal not in calls(route.dependant), f"{method} {route.path}"
            elif scope != "read":
                assert get_principal in calls(route.dependant), f"{method} {route.path}"
