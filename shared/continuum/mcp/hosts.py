"""DNS-rebinding protection for `/mcp`: which Host (and Origin) headers it answers.

A page in a browser can make its own host name resolve to 127.0.0.1 (DNS rebinding) and
then talk to a server on the user's machine as if same-origin; the Host header still names
the page's host, so a server that answers only its own names is safe. Localhost's names
are always allowed; a deployment adds its real names with CONTINUUM_MCP_ALLOWED_HOSTS
(`memory.example.com`, `host:8443`, `host:*`; `*` turns the check off).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _split(host: str) -> tuple[str, str | None]:
    """ "Name:port" -> (name, port); IPv6 literals keep their brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return name + "]", rest[1:] if rest.startswith(":") else None
    name, colon, port = host.partition(":")
    return name, port if colon else None


def host_allowed(host: str | None, allowed: Iterable[str]) -> bool:
    if not host:
        return False
    name, port = _split(host)
    for pattern in (*LOCAL_HOSTS, *allowed):
        if pattern == "*":
            return True
        wanted, wanted_port = _split(pattern)
        if wanted == name and (wanted_port in (None, "*") or wanted_port == port):
            return True
    return False


def origin_allowed(origin: str | None, allowed: Iterable[str], cors_origins: Iterable[str] = ()) -> bool:
    """No Origin (not a browser) is fine; a browser's must be an allowed host or CORS origin."""
    if not origin:
        return True
    origins = tuple(cors_origins)
    if origin in origins or "*" in origins:
        return True
    netloc = urlsplit(origin).netloc
    return bool(netloc) and host_allowed(netloc, allowed)
