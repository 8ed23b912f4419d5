"""A router per resource that FastAPI analyses once, when it is mounted on the app.

`APIRouter` analyses every path operation when it is declared and, since FastAPI 0.16x
includes routers lazily, analyses each again on the first request the app serves. On a
Lambda or Worker cold start that doubles the cost of every route. `RouteTable` keeps the
declaration style of `APIRouter` (`@router.post(path, **options)`) but only records the
operations; `mount` adds them to the app with `add_api_route`, analysed once.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

Endpoint = Callable[..., Any]


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

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("DELETE", path, options)

    def mount(self, app: FastAPI) -> None:
        for method, path, endpoint, options in self.operations:
            app.add_api_route(path, endpoint, methods=[method], tags=list(self.tags), **options)
