"""mem0's own client (PyPI `mem0ai`, `MemoryClient` and `AsyncMemoryClient`) against every
e2e target (local server on SQLite, PostgreSQL + Redis or Upstash, the Worker harness),
unchanged but for `host`: the scenarios are in tests/e2e/mem0_scenarios.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e import mem0_scenarios as scenario
from tests.e2e.mem0_scenarios import MemoryClient
from tests.support.servers import RunningServer


def key_of(client: httpx.Client) -> str:
    return client.headers["X-API-Key"]


@pytest.fixture
def mem0(tenant: tuple[str, httpx.Client], server: RunningServer) -> Iterator[MemoryClient]:
    client = MemoryClient(api_key=key_of(tenant[1]), host=server.url)
    yield client
    client.client.close()


def test_a_wrong_key_fails_at_construction_with_the_servers_detail(server: RunningServer) -> None:
    scenario.wrong_key_fails_at_construction(server.url)


def test_every_memory_method_of_the_sync_client(mem0: MemoryClient) -> None:
    scenario.every_method_of_the_sync_client(mem0)


def test_hosted_platform_methods_answer_a_clear_error(mem0: MemoryClient) -> None:
    scenario.hosted_platform_methods_answer_a_clear_error(mem0)


def test_bad_input_is_a_clear_4xx(mem0: MemoryClient) -> None:
    scenario.bad_input_is_a_clear_4xx(mem0)


def test_tenants_never_see_or_change_each_others_memories(server: RunningServer) -> None:
    (_, one), (_, two) = server.new_tenant(), server.new_tenant()
    with one, two:
        scenario.tenants_never_see_or_change_each_others_memories(server.url, key_of(one), key_of(two))


def test_the_async_client(tenant: tuple[str, httpx.Client], server: RunningServer) -> None:
    scenario.the_async_client(server.url, key_of(tenant[1]))


def test_the_1x_routes_as_mem0ai_1x_sends_them(tenant: tuple[str, httpx.Client], server: RunningServer) -> None:
    scenario.the_1x_routes_as_mem0ai_1x_sends_them(server.url, key_of(tenant[1]))


def test_a_timestamp_is_the_memorys_time(mem0: MemoryClient) -> None:
    scenario.a_timestamp_is_the_memorys_time(mem0)


def test_the_real_1x_client(tenant: tuple[str, httpx.Client], server: RunningServer) -> None:
    scenario.the_1x_client(server.url, key_of(tenant[1]))
