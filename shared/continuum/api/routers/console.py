"""`/console`: the web console, static files built from `console/` and shipped inside the
package (continuum/console/static), so `continuum serve` serves it with no Node at run time.

The files hold no data: the page signs in with a key kept in the browser's session storage
and calls the API like any client. The hashed assets are cached for a year, the page itself
is revalidated every time; a Content-Security-Policy keeps scripts, styles and requests to
this origin. Where the files are absent (the Worker bundle and the Lambda zip leave them out
to stay within their size limits, docs/console.md) the route answers 501 saying where the
console is served.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Response
from fastapi.responses import FileResponse, JSONResponse

from continuum.api.envelope import error_body
from continuum.api.routes import RouteTable

router = RouteTable(tags=["console"])

STATIC = Path(__file__).resolve().parents[2] / "console" / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".json": "application/json",
}
NOT_HERE = (
    "the console is not in this build: `continuum serve` (the local server and its containers) serves it at "
    "/console; the Worker bundle and the Lambda zip leave its files out to stay within their size limits "
    "(docs/console.md)"
)


def _assets(root: Path) -> dict[str, Path]:
    """Every file the build wrote, by its path under /console/: nothing else is ever served."""
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() and p.suffix in TYPES}


ASSETS = _assets(STATIC)


def _file(name: str) -> Response:
    path = ASSETS.get(name)
    if path is not None and not path.is_file():
        path = None  # the console was rebuilt since the server started: its page names new files
    if path is None:
        if not ASSETS:
            return JSONResponse(error_body("not_available", NOT_HERE), status_code=501, headers=SECURITY)
        return JSONResponse(error_body("not_found", f"/console/{name} is not a file of the console"), status_code=404)
    immutable = name.startswith("assets/")  # named by content hash: a new build has new names
    cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
    return FileResponse(path, media_type=TYPES[path.suffix], headers={**SECURITY, "Cache-Control": cache})


@router.get("/console", include_in_schema=False)
async def console() -> Response:
    """The console's page (it routes between its views itself, in the URL's fragment)."""
    return _file("index.html")


@router.get("/console/{name:path}", include_in_schema=False)
async def console_file(name: str) -> Response:
    return _file(name or "index.html")
