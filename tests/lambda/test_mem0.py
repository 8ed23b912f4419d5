"""mem0's own client (PyPI `mem0ai`, sync and async, and 1.x) against the `mem0` Lambda
function: its real handler behind a local HTTP front that turns each request into an API
Gateway HTTP API event (tests/lambda/gateway.py), on PostgreSQL with secrets from SSM
(moto_server), as deployed. The scenarios are tests/e2e/mem0_scenarios.py."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e import mem0_scenarios as scenario
from tests.e2e.mem0_scenarios import MemoryClient
from tests.support.servers import free_port

from .test_handlers import call

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gateway(deployment) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)])}
    proc = subprocess.Popen([sys.executable, "-m", "tests.lambda.gateway", "mem0", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/v1/ping/", timeout=30)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def new_key(deployment) -> str:
    tenant_id = f"t-{secrets.token_hex(5)}"
    status, _, body = call("admin", "v2", "POST", "/v1/keys", key=deployment.admin_key, body={"tenant_id": tenant_id})
    assert status == 201, body
    return body["api_key"]


@pytest.fixture
def mem0(deployment, gateway: str) -> Iterator[MemoryClient]:
    client = MemoryClient(api_key=new_key(deployment), host=gateway)
    yield client
    client.client.close()


def test_a_wrong_key_fails_at_construction(gateway: str) -> None:
    scenario.wrong_key_fails_at_construction(gateway)


def test_every_memory_method_of_the_sync_client(mem0: MemoryClient) -> None:
    scenario.every_method_of_the_sync_client(mem0)


def test_hosted_platform_methods_answer_a_clear_error(mem0: MemoryClient) -> None:
    scenario.hosted_platform_methods_answer_a_clear_error(mem0)


def test_bad_input_is_a_clear_4xx(mem0: MemoryClient) -> None:
    scenario.bad_input_is_a_clear_4xx(mem0)


def test_tenants_never_see_or_change_each_others_memories(deployment, gateway: str) -> None:
    scenario.tenants_never_see_or_change_each_others_memories(gateway, new_key(deployment), new_key(deployment))


def test_the_async_client(deployment, gateway: str) -> None:
    scenario.the_async_client(gateway, new_key(deployment))


def test_the_1x_routes_and_the_real_1x_client(deployment, gateway: str) -> None:
    scenario.the_1x_routes_as_mem0ai_1x_sends_them(gateway, new_key(deployment))
    scenario.the_1x_client(gateway, new_key(deployment))


def test_a_timestamp_is_the_memorys_time(mem0: MemoryClient) -> None:
    scenario.a_timestamp_is_the_memorys_time(mem0)
