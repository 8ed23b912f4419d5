"""Export and import: an export imports back, into another tenant, as the same rows."""

from __future__ import annotations

import pytest

from continuum.clock import ManualClock
from continuum.core.operations.learn import LearnInput
from continuum.core.portability import ImportedMemory
from continuum.export_format import parse_import
from continuum.models import LinkRecord, MessageRecord
from continuum.runtime import build_services
from continuum.settings import load_settings


async def test_an_export_imports_back_as_the_same_rows(tmp_path) -> None:
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "p.db")}, read_files=False)
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    await built.engine.learn("a", LearnInput(user_message="Orion runs on Kafka.", ai_response="Noted."))
    lines = [line async for line in built.portability.export_lines("a")]
    rows = parse_import(lines, "b")
    assert {type(row) for row in rows} >= {ImportedMemory, MessageRecord, LinkRecord}
    imported, skipped = await built.portability.import_records("b", rows)
    assert dict(imported) == {"memory": 2, "message": 1, "entity": 2, "link": 1}
    assert sum(skipped.values()) == 0
    again = [line async for line in built.portability.export_lines("b")]
    assert [line.replace('"tenant_id":"b"', "") for line in again[1:]] == [
        line.replace('"tenant_id":"a"', "") for line in lines[1:]
    ]
    await built.close()


async def test_numbers_json_cannot_hold_export_as_null_so_every_line_is_json(tmp_path) -> None:
    """SQLite once stored {"x": Infinity} (the API now refuses it): the export writes the
    null the API reads it as, never a bare Infinity, and imports back."""
    import json

    from continuum.core.operations.memories import NewMemory

    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "p.db")}, read_files=False)
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    metadata = {"x": float("inf"), "y": [float("-inf"), float("nan"), 1.5], "z": {"w": float("inf")}}
    await built.engine.store_memory("a", NewMemory(content="odd numbers", metadata=metadata))
    lines = [line async for line in built.portability.export_lines("a")]
    memory = json.loads(lines[1], parse_constant=lambda name: pytest.fail(f"bare {name} in the export"))
    assert memory["metadata"] == {"x": None, "y": [None, None, 1.5], "z": {"w": None}}
    assert len(parse_import(lines, "b")) == 1
    await built.close()
