"""CONTINUUM as a Cloudflare Python Worker. Wiring only: the app lives in `continuum`."""

from typing import Any

import asgi
import pyodide_http

from continuum.workers.app import asgi_app, preload, run_scheduled
from workers import WorkerEntrypoint

# Synchronous HTTP clients (requests, urllib) cannot open sockets here; pyodide-http routes
# them through the platform where it can. CONTINUUM's own outbound HTTP is async httpx.
pyodide_http.patch_all()
preload()


class Default(WorkerEntrypoint):
    async def fetch(self, request: Any) -> Any:
        return await asgi.fetch(asgi_app(self.env), request, self.env, self.ctx)

    async def scheduled(self, controller: Any, env: Any = None, ctx: Any = None) -> None:
        await run_scheduled(self.env, getattr(controller, "cron", None))
