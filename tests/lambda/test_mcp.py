"""The `mcp` Lambda function through the `mcp` SDK's own client: real HTTP in front of the
handler (each request becomes an API Gateway HTTP API event, as the service sends it),
secrets from SSM, PostgreSQL, the Host the API's execute-api name (allowed through
CONTINUUM_MCP_ALLOWED_HOSTS, as serverless.yml sets it)."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from tests.support.mcp_client import every_tool, failure, isolation, over_http, run

from .support import V2, LambdaContext, answer, event

GATEWAY_HOST = V2["headers"]["host"]  # the execute-api name in the recorded event


class LambdaBridge:
    """An HTTP server whose every request is one invocation of `handler` (one at a time, as
    one Lambda instance serves them). The bridge's own address stands for the API's name."""

    def __init__(self, handler: Any) -> None:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def _invoke(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                if headers.get("host") == f"127.0.0.1:{bridge.port}":
                    headers["host"] = GATEWAY_HOST
                ev = event("v2", self.command, self.path.split("?")[0], raw_body=body, headers=headers)
                response = handler(ev, LambdaContext("continuum-test-mcp"))
                raw = response.get("body") or ""
                data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
                self.send_response(response["statusCode"])
                for name, value in (response.get("headers") or {}).items():
                    if name.lower() not in ("content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _invoke

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LambdaBridge:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def bridge(deployment) -> Iterator[LambdaBridge]:
    from continuum.aws.handler import LambdaHandler

    handler = LambdaHandler("mcp", environ={**deployment.env, "CONTINUUM_MCP_ALLOWED_HOSTS": GATEWAY_HOST})
    with LambdaBridge(handler) as running:
        yield running


def tenant_key(deployment, tenant_id: str) -> str:
    from functions import admin

    ev = event("v2", "POST", "/v1/keys", body={"tenant_id": tenant_id}, headers={"x-api-key": deployment.admin_key})
    status, _, created = answer(admin.handler(ev, LambdaContext("continuum-test-admin")))
    assert status == 201, created
    return str(created["api_key"])


def test_every_tool_through_the_lambda_function(deployment, bridge: LambdaBridge) -> None:
    tenant_id = f"t-{secrets.token_hex(5)}"
    key = tenant_key(deployment, tenant_id)

    async def scenario() -> None:
        async with over_http(bridge.url + "/mcp", key) as client:
            await every_tool(client, tenant_id=tenant_id)

    run(scenario())


def test_tenant_isolation_and_refusals_through_the_lambda_function(deployment, bridge: LambdaBridge) -> None:
    owner_key = tenant_key(deployment, f"t-{secrets.token_hex(5)}")
    other_tenant = f"t-{secrets.token_hex(5)}"
    other_key = tenant_key(deployment, other_tenant)

    async def scenario() -> None:
        async with (
            over_http(bridge.url + "/mcp", owner_key) as owner,
            over_http(bridge.url + "/mcp", other_key) as other,
        ):
            await isolation(owner, other, other_tenant=other_tenant)
            assert "invalid_request" in await failure(owner, "recall", message="")

    run(scenario())
    init = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with httpx.Client(base_url=bridge.url, timeout=60) as http:
        assert http.post("/mcp", json=init).status_code == 401
        auth = {"Authorization": f"Bearer {owner_key}"}
        assert http.post("/mcp", json=init, headers=auth).json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
        rebound = http.post("/mcp", json=init, headers={**auth, "Host": "attacker.example"})
        assert rebound.status_code == 421 and rebound.json()["error"]["code"] == "invalid_host"
