"""Contract fixtures: every test runs once per registered adapter.

`storage` / `cache` are one adapter instance per session (tests keep apart by using
their own tenants and keys); `fresh_storage` is a new empty one for tests whose
operation spans tenants (purge_expired, list_tenants counts).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
import pytest_asyncio

from continuum.ports import Cache, Storage
from tests.contract.adapters import CACHE_FACTORIES, STORAGE_FACTORIES, selected_caches, selected_storages


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "storage_name" in metafunc.fixturenames:
        metafunc.parametrize("storage_name", selected_storages(), scope="session")
    if "cache_name" in metafunc.fixturenames:
        metafunc.parametrize("cache_name", selected_caches(), scope="session")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _open_adapters() -> AsyncIterator[tuple[AsyncExitStack, dict[str, object]]]:
    async with AsyncExitStack() as stack:
        yield stack, {}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def storage(storage_name: str, _open_adapters: tuple[AsyncExitStack, dict[str, object]]) -> Storage:
    stack, opened = _open_adapters
    key = f"storage:{storage_name}"
    if key not in opened:
        opened[key] = await stack.enter_async_context(STORAGE_FACTORIES[storage_name]())
    return opened[key]  # type: ignore[return-value]


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_storage(storage_name: str) -> AsyncIterator[Storage]:
    async with STORAGE_FACTORIES[storage_name]() as storage:
        yield storage


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cache(cache_name: str, _open_adapters: tuple[AsyncExitStack, dict[str, object]]) -> Cache:
    stack, opened = _open_adapters
    key = f"cache:{cache_name}"
    if key not in opened:
        opened[key] = await stack.enter_async_context(CACHE_FACTORIES[cache_name]())
    return opened[key]  # type: ignore[return-value]


@pytest.fixture
def tenant() -> str:
    return f"t-{secrets.token_hex(6)}"


@pytest.fixture
def other_tenant() -> str:
    return f"u-{secrets.token_hex(6)}"
