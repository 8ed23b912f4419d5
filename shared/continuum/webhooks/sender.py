"""The `WebhookSender` over httpx: one client, no redirects (a redirect could lead a
delivery to a target the SSRF check never saw), one timeout for the whole attempt."""

from __future__ import annotations

import asyncio
import socket

import httpx

from continuum.ports import SendResult


class HttpxSender:
    """`resolve_dns=False` where the runtime has no resolver (a Worker: IP literals are still
    checked by the core; names are resolved by the platform's fetch, which reaches only the internet)."""

    def __init__(self, timeout: float, *, resolve_dns: bool = True) -> None:
        self.timeout = timeout
        self.resolve_dns = resolve_dns
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(self.timeout))
        return self._client

    async def resolve(self, host: str) -> list[str] | None:
        if not self.resolve_dns:
            return None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return []
        return sorted({str(info[4][0]) for info in infos})

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http().post(url, content=body, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            return SendResult(None, f"timed out after {self.timeout:g}s")
        except httpx.HTTPError as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if 200 <= response.status_code < 300:
            return SendResult(response.status_code)
        return SendResult(response.status_code, f"HTTP {response.status_code}")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
