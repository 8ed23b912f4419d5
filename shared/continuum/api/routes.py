"""A router per resource that FastAPI analyses once, when it is mounted on the app.

`APIRouter` analyses every path operation when it is declared and, since FastAPI 0.16x
includes routers lazily, analyses each again on the first request the app serves. On a
Lambda or Worker cold start that doubles the cost of every route. `RouteTable` keeps the
declaration style of `APIRouter` (`@router.post(path, **options)`) but only records the
operations; `mount` adds them to the app with `add_api_route`, analysed once, with the
error answers each route can give (api/openapi.py) under its own declared `responses`.

Every route is a `Route`: HEAD is answered like GET without the body, and a method the
path does not serve is a 405 whose `Allow` lists every method of the path (`allow_methods`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from continuum.api.manifest import WRITE_ROUTES
from continuum.api.openapi import error_responses

Endpoint = Callable[..., Any]


class Route(APIRoute):
    allow: str = ""  # every method the path serves; set by `allow_methods`

    def matches(self, scope: Scope) -> Any:
        if scope.get("method") == "HEAD" and "GET" in self.methods:
            return super().matches({**scope, "method": "GET"})
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "HEAD" and "GET" in self.methods:
            await self.app(scope, receive, _headers_only(send))
        elif method not in self.methods:
            raise HTTPException(status_code=405, headers={"Allow": self.allow or ", ".join(sorted(self.methods))})
        else:
            await self.app(scope, receive, send)


def _headers_only(send: Send) -> Send:
    async def send_headers(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)

    return send_headers


@dataclass
class RouteTable:
    """Routes declared by a router module, applied to a FastAPI router when the app is built."""

    tags: list[str] = field(default_factory=list)
    operations: list[tuple[str, str, Endpoint, dict[str, Any]]] = field(default_factory=list)

    def _declare(self, method: str, path: str, options: dict[str, Any]) -> Callable[[Endpoint], Endpoint]:
        def record(endpoint: Endpoint) -> Endpoint:
            self.operations.append((method, path, endpoint, options))
            return endpoint

        return record

    def get(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("GET", path, options)

    def post(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("POST", path, options)

    def patch(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("PATCH", path, options)

    def put(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("PUT", path, options)

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("DELETE", path, options)

    def mount(self, app: FastAPI) -> None:
        for method, path, endpoint, options in self.operations:
            declared = options.get("responses") or {}
            rest = {name: value for name, value in options.items() if name != "responses"}
            app.router.add_api_route(
                path, endpoint, methods=[method], tags=list(self.tags), route_class_override=Route, **rest
            )
            route = app.router.routes[-1]
            assert isinstance(route, APIRoute)
            # The route's analysis tells what it takes; its own declarations win.
            route.responses = {**error_responses(route, write=(method, path) in WRITE_ROUTES), **declared}


def allow_methods(app: FastAPI) -> None:
    """Give every route the full list of its path's methods, for its 405 answers."""
    by_path: dict[str, set[str]] = {}
    for route in app.router.routes:
        if isinstance(route, Route):
            by_path.setdefault(route.path, set()).update(route.methods)
    for route in app.router.routes:
        if isinstance(route, Route):
            methods = by_path[route.path]
            route.allow = ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
