"""What the Cloudflare Python Workers runtime does before it runs a Worker, done in Pyodide
on Node by `harness.mjs` (this module runs inside Pyodide, never under CPython).

- anyio cannot start threads: `anyio.to_thread.run_sync` runs the function inline (the
  runtime patches it the same way; Starlette uses it for sync dependencies and files).
- httpx cannot open sockets: `httpx.AsyncHTTPTransport` sends through JavaScript `fetch`
  (the runtime patches httpx's async client to use fetch too).
- a WorkerEntrypoint is built per request, `fetch` gets the SDK's `Request`, and its
  result is a JavaScript `Response` (or the SDK's `Response`, unwrapped).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


def patch_anyio() -> None:
    import anyio.to_thread

    async def run_sync(func: Any, *args: Any, **_options: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


def patch_httpx() -> None:
    import httpx
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import to_js  # type: ignore[import-not-found]

    async def handle_async_request(self: Any, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        init: dict[str, Any] = {
            "method": request.method,
            "headers": js.Headers.new(to_js([list(pair) for pair in request.headers.multi_items()])),
        }
        if body:
            init["body"] = to_js(body)
        try:
            response = await js.fetch(str(request.url), to_js(init, dict_converter=js.Object.fromEntries))
        except Exception as exc:  # a JS TypeError: the connection failed
            raise httpx.ConnectError(str(exc), request=request) from exc
        content = (await response.arrayBuffer()).to_bytes()
        headers = [(k, v) for k, v in response.headers.entries()]
        # fetch already decoded the body: a content-encoding header would make httpx decode it twice.
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-encoding", "content-length")]
        return httpx.Response(response.status, headers=headers, content=content, request=request)

    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def install(worker_dir: str) -> Any:
    """Apply the runtime's patches, import the Worker entry module, return its class."""
    patch_anyio()
    patch_httpx()
    if worker_dir not in sys.path:
        sys.path.insert(0, worker_dir)
    module = importlib.import_module("worker")
    return module.Default


async def fetch(entry_class: Any, request: Any, env: Any, ctx: Any) -> Any:
    from workers import Request  # type: ignore[import-not-found]

    entry = entry_class(ctx, env)
    response = await entry.fetch(Request(request))
    return getattr(response, "js_object", response)


async def scheduled(entry_class: Any, controller: Any, env: Any, ctx: Any) -> None:
    entry = entry_class(ctx, env)
    await entry.scheduled(controller, env, ctx)
