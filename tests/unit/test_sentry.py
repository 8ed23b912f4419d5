"""Sentry: unexpected errors reach it as JSON 500s, with every secret scrubbed."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from continuum.api.app import create_app
from continuum.runtime import CLI
from continuum.runtime.assembly import assemble
from continuum.settings import load_settings


@pytest.fixture
def sentry_endpoint():
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()


def test_unexpected_errors_are_json_500_and_reach_sentry(tmp_path, sentry_endpoint):
    import sentry_sdk

    from continuum.observability.sentry import init_sentry

    port, received = sentry_endpoint
    settings = load_settings(
        {
            "CONTINUUM_DB_PATH": str(tmp_path / "s.db"),
            "SENTRY_DSN": f"http://publickey@127.0.0.1:{port}/42",
            "CONTINUUM_API_KEY": "admin-key-0123456789",
        },
        read_files=False,
    )
    assert init_sentry(settings)
    app = create_app(assemble(CLI, settings))

    async def explode() -> None:
        raise RuntimeError("kaboom in a handler")

    app.add_api_route("/boom", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-API-Key": "admin-key-0123456789"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "kaboom" not in response.text  # internals are not leaked to the caller
    sentry_sdk.flush(timeout=5)
    sentry_sdk.get_client().close()
    payloads = b"".join(body for path, body in received if path.startswith("/api/42/"))
    assert b"kaboom in a handler" in payloads
    assert b"admin-key-0123456789" not in payloads


def test_scrubber_removes_secrets_everywhere():
    from continuum.observability.sentry import make_scrubber

    settings = load_settings(
        {"CONTINUUM_API_KEY": "admin-key-0123456789", "POSTGRES_URL": "postgresql://u:hunter2pw@db/x"},
        read_files=False,
    )
    event = {
        "message": "failed with admin-key-0123456789 and ck_" + "a" * 43,
        "request": {"headers": {"Authorization": "Bearer x", "X-Api-Key": "k", "Accept": "json"}},
        "extra": {"scope": {"headers": [[b"x-api-key", b"secret"], [b"accept", b"*/*"]]}},
        "breadcrumbs": ["connect postgresql://u:hunter2pw@db/x"],
    }
    clean = make_scrubber(settings)(event, {})
    text = json.dumps(clean, default=str)
    for secret in ("admin-key-0123456789", "ck_aaaa", "hunter2pw", "Bearer x", "secret"):
        assert secret not in text, secret
    assert clean["request"]["headers"]["Accept"] == "json"
