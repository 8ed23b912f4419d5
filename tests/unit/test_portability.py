"""Export and import: an export imports back, into another tenant, as the same rows."""

from __future__ import annotations

import pytest

from continuum.clock import ManualClock
from continuum.core.operations.learn import LearnInput
from continuum.core.portability import ImportedMemory
from continuum.export_format import parse_import
from continuum.models import HistoryRecord, LinkRecord, MessageRecord
from continuum.runtime import build_services
from continuum.settings import load_settings


async def test_an_export_imports_back_as_the_same_rows(tmp_path) -> None:
    settings = load_settings({"CONTINUUM_DB_PATH": str(tmp_path / "p.db")}, read_files=False)
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    await built.engine.learn("a", LearnInput(user_message="Orion runs on Kafka.", ai_response="Noted."))
    lines = [line async for line in built.portability.export_lines("a")]
    rows = parse_import(lines, "b")
    assert {type(row) for row in rows} >= {ImportedMemory, MessageRecord, LinkRecord, HistoryRecord}
    imported, skipped = await built.portability.import_records("b", rows)
    assert dict(imported) == {"memory": 2, "message": 1, "entity": 2, "link": 1, "history": 2}
    assert sum(skipped.values()) == 0
    again = [line async for line in built.portability.export_lines("b")]
    assert [line.replace('"tenant_id":"b"', "") for line in again[1:]] == [
        line.replace('"tenant_id":"a"', "") for line in lines[1:]
    ]
    await built.close()


async def test_the_change_history_travels_with_the_memories_encrypted_on_both_sides(tmp_path) -> None:
    import base64

    from continuum.core.operations.memories import MemoryPatch, NewMemory

    key = base64.b64encode(bytes(range(32))).decode()
    settings = load_settings(
        {"CONTINUUM_DB_PATH": str(tmp_path / "p.db"), "CONTINUUM_ENCRYPTION_KEY": key}, read_files=False
    )
    built = build_services(settings, clock=ManualClock())
    await built.storage.migrate()
    engine = built.engine
    stored = await engine.store_memory("a", NewMemory(content="v1", instance_id="agent"))
    await engine.update_memory("a", stored.id, MemoryPatch(content="v2", provided=frozenset({"content"})))
    gone = await engine.store_memory("a", NewMemory(content="short-lived"))
    await engine.delete_memory("a", gone.id)
    lines = [line async for line in built.portability.export_lines("a")]
    assert sum('"type":"history"' in line for line in lines) == 4 and '"v2"' in "".join(lines)
    await built.portability.import_records("b", parse_import(lines, "b"))
    for memory_id in (stored.id, gone.id):
        assert await engine.memory_history("b", memory_id) == await engine.memory_history("a", memory_id)
    raw = await built.storage.memory_history("b", stored.id, limit=9)
    assert raw[1].old_content not in (None, "v1") and raw[1].new_content != "v2"  # ciphertext at rest
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
    assert [type(row) for row in parse_import(lines, "b")] == [ImportedMemory, HistoryRecord]
    await built.close()
