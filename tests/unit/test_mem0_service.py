"""api/routers/mem0_service.py: how mem0's entities map onto a tenant's scopes and back,
and the add's event ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from continuum.api.routers import mem0_service as m
from continuum.core.operations.memories import MemoryView

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_all_four_entities_survive_the_round_trip_and_reserved_keys_stay_hidden() -> None:
    entities = m.entities_of({"user_id": "alice", "agent_id": "planner", "app_id": "kitchen", "run_id": "r1", "x": 1})
    metadata = m.stored_metadata({"topic": "food", m.USER_KEY: "forged"}, entities)
    assert metadata == {"topic": "food", m.USER_KEY: "alice", m.APP_KEY: "kitchen"}
    scope = m.scope_filters(entities)
    assert (scope.instance_id, scope.session_id, scope.metadata) == (
        "planner", "r1", {m.USER_KEY: "alice", m.APP_KEY: "kitchen"},
    )  # fmt: skip
    memory = MemoryView(
        id="01ARZ3NDEKTSV4RRFFQ69G5FAV", content="likes soup", role="user", instance_id="planner", session_id="r1",
        metadata=metadata, created_at=NOW, updated_at=NOW, expires_at=None, tenant_id="t",
    )  # fmt: skip
    shown = m.view(memory)
    assert {k: shown[k] for k in ("user_id", "agent_id", "app_id", "run_id")} == {
        "user_id": "alice", "agent_id": "planner", "app_id": "kitchen", "run_id": "r1",
    }  # fmt: skip
    assert shown["metadata"] == {"topic": "food"} and shown["memory"] == "likes soup"
    assert shown["created_at"].startswith("2026-11-27T12:00:00")


@pytest.mark.parametrize("value", ["", "   ", 5, "x" * 129, "a\x00b", ["a"]])
def test_entity_ids_are_non_empty_bounded_strings(value: object) -> None:
    with pytest.raises(m.Mem0Error, match="user_id: must be a non-empty string"):
        m.entities_of({"user_id": value})


def test_an_event_names_the_memories_it_wrote_and_nothing_else_reads_as_one() -> None:
    ids = ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW"]
    assert m.event_memory_ids(m.event_id(ids)) == ids
    for bad in ("nope", "ev_!!!", "ev_e30", "ev_WzFd"):  # not base64 JSON / {} / [1]
        with pytest.raises(m.Mem0Error) as caught:
            m.event_memory_ids(bad)
        assert caught.value.status == 404


def test_times_and_expiry_are_read_or_refused_clearly() -> None:
    assert m.parse_time(0, "timestamp") == datetime(1970, 1, 1, tzinfo=UTC)
    assert m.parse_time("2024-03-01T10:00:00Z", "timestamp") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert m.parse_expiration("2030-01-02") == datetime(2030, 1, 2, 23, 59, 59, tzinfo=UTC)
    for bad in (True, "soon", 1e300, [1]):
        with pytest.raises(m.Mem0Error, match="timestamp"):
            m.parse_time(bad, "timestamp")
    with pytest.raises(m.Mem0Error, match="expiration_date"):
        m.parse_expiration("2030-13-01")


def test_a_filter_is_the_filters_and_top_level_ids_together() -> None:
    assert m.filters_of({"filters": {"run_id": "r"}, "user_id": "a"}) == {"AND": [{"run_id": "r"}, {"user_id": "a"}]}
    assert m.filters_of({"user_id": "a"}) == {"user_id": "a"}
    assert m.filters_of({}) == {}
    with pytest.raises(m.Mem0Error, match="filters: must be an object"):
        m.filters_of({"filters": "user_id=a"})
