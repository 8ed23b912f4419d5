"""The MCP server through the `mcp` SDK's own client: streamable HTTP at /mcp on every
target (local server on SQLite and PostgreSQL, Worker harness; the Lambda function is in
tests/lambda/test_mcp.py), and stdio through `continuum mcp` (local database and --url)."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.support.mcp_client import call, every_tool, failure, isolation, over_http, over_stdio, run
from tests.support.servers import RunningServer

CLIENT = {"name": "t", "version": "1"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": CLIENT}}  # fmt: skip


def new_key(server: RunningServer, tenant_id: str, scopes: list[str] | None = None) -> str:
    body: dict[str, object] = {"tenant_id": tenant_id}
    if scopes is not None:
        body["scopes"] = scopes
    with server.admin() as admin:
        response = admin.post("/v1/keys", json=body)
        response.raise_for_status()
        return str(response.json()["api_key"])


def fresh_tenant(server: RunningServer) -> tuple[str, str]:
    tenant_id = f"t-{secrets.token_hex(6)}"
    return tenant_id, new_key(server, tenant_id)


def test_every_tool_over_streamable_http(server: RunningServer) -> None:
    tenant_id, key = fresh_tenant(server)

    async def scenario() -> None:
        async with over_http(server.url + "/mcp", key) as client:
            await every_tool(client, tenant_id=tenant_id)
            templates = await client.list_resource_templates()
            assert [t.uri_template for t in templates.resource_templates] == ["continuum://recall/{message}"]
            await call(client, "remember", content="Orion ships on Fridays")
            read = await client.read_resource("continuum://recall/When%20does%20Orion%20ship%3F")
            assert "Orion ships on Fridays" in read.contents[0].text  # type: ignore[union-attr]

    run(scenario())


def test_one_tenant_cannot_reach_another_through_mcp(server: RunningServer) -> None:
    _, owner_key = fresh_tenant(server)
    other_tenant, other_key = fresh_tenant(server)

    async def scenario() -> None:
        async with (
            over_http(server.url + "/mcp", owner_key) as owner,
            over_http(server.url + "/mcp", other_key) as other,
        ):
            await isolation(owner, other, other_tenant=other_tenant)

    run(scenario())


def test_x_api_key_works_and_a_read_key_only_reads(server: RunningServer) -> None:
    tenant_id, key = fresh_tenant(server)
    reader = new_key(server, tenant_id, scopes=["read"])

    async def scenario() -> None:
        async with over_http(server.url + "/mcp", None, **{"X-API-Key": key}) as writer:
            stored = await call(writer, "remember", content="Release notes live in the docs folder")
        async with over_http(server.url + "/mcp", reader) as client:
            assert (await call(client, "get_memory", memory_id=stored["id"]))["id"] == stored["id"]
            assert (await call(client, "stats"))["memories"] == 1
            for tool, arguments in (("remember", {"content": "x"}), ("forget", {"memory_id": stored["id"]}),
                                    ("learn_turn", {"user_message": "a", "assistant_answer": "b"}),
                                    ("update_memory", {"memory_id": stored["id"], "content": "y"})):  # fmt: skip
                assert "forbidden" in await failure(client, tool, **arguments)
            assert (await call(client, "get_memory", memory_id=stored["id"]))["content"].startswith("Release")

    run(scenario())


def test_http_answers_without_key_wrong_host_and_other_methods(server: RunningServer) -> None:
    _, key = fresh_tenant(server)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        missing = http.post("/mcp", json=INIT)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
        auth = {"Authorization": f"Bearer {key}"}
        ok = http.post("/mcp", json=INIT, headers=auth)
        assert ok.status_code == 200 and ok.json()["result"]["serverInfo"]["name"] == "continuum"
        assert "mcp-session-id" not in ok.headers  # stateless: any instance answers any request
        note = http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=auth)
        assert note.status_code == 202
        rebound = http.post("/mcp", json=INIT, headers={**auth, "Host": "attacker.example"})
        assert rebound.status_code == 421 and rebound.json()["error"]["code"] == "invalid_host"
        foreign = http.post("/mcp", json=INIT, headers={**auth, "Origin": "https://attacker.example"})
        assert foreign.status_code == 403
        assert http.get("/mcp", headers=auth).status_code == 405
        garbage = http.post("/mcp", content=b"{nope", headers={**auth, "Content-Type": "application/json"})
        assert garbage.status_code == 400 and garbage.json()["error"]["code"] == -32700
        unknown = http.post("/mcp", json={"jsonrpc": "2.0", "id": 7, "method": "no/such"}, headers=auth)
        assert unknown.json() == {
            "jsonrpc": "2.0",
            "id": 7,
            "error": {"code": -32601, "message": "method not found: no/such"},
        }


def test_the_sdk_client_without_a_key_is_refused(server: RunningServer) -> None:
    async def scenario() -> None:
        async with over_http(server.url + "/mcp") as client:
            await client.list_tools()

    # The SDK reports the 401 as an MCP error (its transport maps HTTP failures onto one).
    with pytest.raises(BaseException) as raised:
        run(scenario())
    assert (
        raised.group_contains(MCPError)
        if isinstance(raised.value, BaseExceptionGroup)
        else (isinstance(raised.value, MCPError))
    ), repr(raised.value)


@pytest.mark.targets("sqlite")
def test_stdio_on_the_local_database(tmp_path: Path, target_name: str) -> None:
    env = {"CONTINUUM_DB_PATH": str(tmp_path / "memory.db"), "CONTINUUM_LOG_LEVEL": "WARNING"}

    async def scenario() -> None:
        async with over_stdio("--tenant", "desk", env=env) as client:
            await every_tool(client, tenant_id="desk")
        async with over_stdio(env=env) as client:  # the default tenant sees nothing of "desk"
            assert (await call(client, "stats"))["memories"] == 0
            assert not (await call(client, "list_memories"))["memories"]

    run(scenario())


@pytest.mark.targets("sqlite", "postgres")
def test_stdio_against_a_remote_server(server: RunningServer) -> None:
    tenant_id, key = fresh_tenant(server)
    other_tenant, other_key = fresh_tenant(server)
    env = {"CONTINUUM_LOG_LEVEL": "WARNING"}

    async def scenario() -> None:
        async with over_stdio("--url", server.url, "--api-key", key, env=env) as client:
            await every_tool(client, tenant_id=tenant_id)
            async with over_stdio("--url", server.url, env={**env, "CONTINUUM_API_KEY": other_key}) as other:
                await isolation(client, other, other_tenant=other_tenant)
        async with over_stdio("--url", server.url, "--api-key", "ck_wrong", env=env) as client:
            assert "unauthorized" in await failure(client, "stats")

    run(scenario())
