"""A real webhook receiver for the tests: an HTTP server on a free local port that checks
each delivery's signature with the SDK's helper (as a customer's receiver would), records
it, and answers as told: a status, after a delay; it can go down and come back on its port."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from continuum.client.webhooks import InvalidSignature, verify_signature
from tests.support.servers import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    status: int = 200
    delay: float = 0.0
    secrets: dict[str, str] = field(default_factory=dict)  # path -> the secret its webhook signs with
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                secret = receiver.secrets.get(self.path, "")
                try:
                    verify_signature(
                        secret, headers.get("x-continuum-timestamp", ""), body,
                        headers.get("x-continuum-signature", ""),
                    )  # fmt: skip
                    verified = True
                except InvalidSignature:
                    verified = False
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, verified))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.received if path is None or r.path == path]

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(check: Any, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll `check()` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s (last: {value!r})")
