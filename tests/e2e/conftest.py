"""End-to-end fixtures: real servers per target, over real HTTP.

Two servers per target for the whole session: `server` requires API keys (the
production shape); `open_server` does not (the local default, tenant `default`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import TARGETS, RunningServer, selected_targets

# Targets that take long to start (the Pyodide harness): outside `pytest -m "not slow"`.
SLOW_TARGETS = ("workers",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "targets(*names): run only on these e2e targets (a property of their shape)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target_name" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("targets")
        names = [n for n in selected_targets() if only is None or n in only.args]
        params = [
            pytest.param(name, marks=pytest.mark.slow) if name.startswith(SLOW_TARGETS) else name
            for name in names
        ]
        metafunc.parametrize("target_name", params, scope="session")


@pytest.fixture(scope="session")
def _servers() -> Iterator[dict[tuple[str, bool], RunningServer]]:
    started: dict[tuple[str, bool], RunningServer] = {}
    yield started
    for running in started.values():
        running.stop()


def _get(servers: dict[tuple[str, bool], RunningServer], target_name: str, secured: bool) -> RunningServer:
    key = (target_name, secured)
    if key not in servers:
        servers[key] = TARGETS[target_name]().start(require_api_key=secured)
    return servers[key]


@pytest.fixture(scope="session")
def server(_servers: dict, target_name: str) -> RunningServer:
    return _get(_servers, target_name, True)


@pytest.fixture(scope="session")
def open_server(_servers: dict, target_name: str) -> RunningServer:
    return _get(_servers, target_name, False)


@pytest.fixture
def tenant(server: RunningServer):
    """A fresh tenant (id, client) on the secured server."""
    tenant_id, client = server.new_tenant()
    with client:
        yield tenant_id, client
