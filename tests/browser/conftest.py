"""Browser fixtures: Debian's Chromium driven by Playwright against a real `continuum serve`.

Playwright's own browser download cannot run here: it drives /usr/bin/chromium (installed
by .ci/setup.d/80-browser.sh) with the flags that keep it off the network. axe-core comes
from the console's npm dependencies (console/node_modules).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import REPO, RunningServer, SqliteTarget

CHROMIUM = os.environ.get("CONTINUUM_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip
AXE = REPO / "console" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO / "docs" / "console"


@pytest.fixture(scope="session")
def console_server() -> Iterator[RunningServer]:
    running = SqliteTarget().start(require_api_key=True)
    yield running
    running.stop()


# Module-scoped: Playwright's sync API keeps an event loop running in this thread while
# it is open, and every async test after it would fail ("Runner.run() cannot be called
# from a running event loop"); it must stop before the next module's tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/setup.d/80-browser.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in console/ (.ci/setup.d/80-browser.sh does)")
    return AXE.read_text()
