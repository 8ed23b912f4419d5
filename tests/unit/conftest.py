from __future__ import annotations

import pytest

from continuum.clock import ManualClock
from continuum.runtime import Services, build_services
from continuum.settings import load_settings


@pytest.fixture
async def services(tmp_path) -> Services:
    """The engine over a real SQLite file, with a clock that only moves when told."""
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "unit.db")}, read_files=False)
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    yield built
    await built.close()
