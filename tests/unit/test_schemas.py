"""schemas.py value types: the one set of validators behind the write API and import.

Each rule answers a ValueError (a 422 naming the field), never another exception (a 500).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from continuum.schemas import LearnRequest, MemoryCreate, SearchFilters, SearchRequest


def _error(model: type, payload: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(payload) if isinstance(payload, str) else model.model_validate(payload)
    first = caught.value.errors()[0]
    return ".".join(str(p) for p in first["loc"]) + ": " + str(first["msg"]).removeprefix("Value error, ")


OVERFLOWING = ["9999-12-31T23:59:59-14:00", "9999-12-31T23:00:00-01:00", "0001-01-01T00:00:00+14:00",
               "0001-01-01T00:59:00+01:00"]  # fmt: skip
AT_THE_EDGES = ["9999-12-31T23:59:59+00:00", "9999-12-31T09:59:59-14:00", "0001-01-01T14:00:00+14:00"]


@pytest.mark.parametrize("moment", OVERFLOWING)
def test_a_moment_beyond_the_utc_range_is_a_validation_error(moment: str) -> None:
    assert _error(MemoryCreate, {"content": "x", "expires_at": moment}).startswith(
        "expires_at: is out of range once converted to UTC"
    )
    assert _error(SearchFilters, {"since": moment}).startswith("since: is out of range")
    assert _error(SearchFilters, {"until": moment}).startswith("until: is out of range")


@pytest.mark.parametrize("moment", AT_THE_EDGES)
def test_moments_at_the_edges_of_the_utc_range_are_kept(moment: str) -> None:
    since = SearchFilters.model_validate({"since": moment}).since
    assert since is not None and since.tzinfo is UTC and since == datetime.fromisoformat(moment)


def test_a_naive_moment_is_utc() -> None:
    assert SearchFilters.model_validate({"since": "2024-05-01T10:00:00"}).since == datetime(2024, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("metadata", "where"),
    [
        ('{"x": Infinity}', "x"),
        ('{"x": -Infinity}', "x"),
        ('{"x": NaN}', "x"),
        ('{"x": 1e400}', "x"),
        ('{"x": -1e400}', "x"),
        ('{"x": 1' + "0" * 400 + "}", "x"),
        ('{"a": {"b": [1, 2, Infinity]}}', "a.b[2]"),
    ],
)
def test_metadata_numbers_are_finite_doubles_naming_where(metadata: str, where: str) -> None:
    # The API parses bodies with the standard library, which reads Infinity, NaN and 1e400.
    parsed = json.loads(metadata)
    message = _error(MemoryCreate, {"content": "x", "metadata": parsed})
    assert message.startswith(f"metadata: {where}: ")
    assert "finite" in message or "beyond" in message
    assert _error(SearchFilters, {"metadata": parsed}).startswith(f"metadata: {where}: ")
    # pydantic's own JSON parser (import lines) reads them too.
    assert _error(MemoryCreate, '{"content": "x", "metadata": ' + metadata + "}").startswith(f"metadata: {where}: ")


@pytest.mark.parametrize("value", [0, -1, 2**63, 2**1000, -(2**1000), 1.5, 1e308, -1.7976931348623157e308, 5e-324])
def test_finite_numbers_including_big_integers_are_kept_exactly(value: float) -> None:
    assert MemoryCreate.model_validate({"content": "x", "metadata": {"x": value}}).metadata == {"x": value}


def test_booleans_and_null_are_not_numbers() -> None:
    metadata = {"t": True, "f": False, "n": None}
    assert MemoryCreate.model_validate({"content": "x", "metadata": metadata}).metadata == metadata


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "content: must not be empty or only whitespace"),
        ("  \n\t", "content: must not be empty or only whitespace"),
        ("a\x00b", "content: must not contain NUL characters"),
        ("bad \ud800 half", "content: "),
    ],
)
def test_content_is_nonblank_unicode_without_nul(content: str, message: str) -> None:
    error = _error(MemoryCreate, {"content": content})
    assert error.startswith(message)
    assert "\ud800" not in content or "unicode" in error.lower()


def test_metadata_keys_and_strings_are_checked_text() -> None:
    assert _error(MemoryCreate, {"content": "x", "metadata": {"k": "nul\x00"}}).startswith("metadata: k: must not")
    assert "must not contain NUL" in _error(MemoryCreate, {"content": "x", "metadata": {"k\x00": 1}})
    assert "too deeply" in _error(MemoryCreate, {"content": "x", "metadata": {"a": [[[[[[[[[1]]]]]]]]]}})


def test_a_query_of_100k_characters_is_refused_by_length() -> None:
    assert _error(SearchRequest, {"query": "x" * 100_000}).startswith("query: String should have at most")


def test_learning_needs_some_text() -> None:
    assert "nothing to learn" in _error(LearnRequest, {"user_message": " ", "ai_response": ""})
    assert LearnRequest.model_validate({"user_message": "", "ai_response": "ok"}).ai_response == "ok"


def test_the_largest_double_round_trips() -> None:
    created = MemoryCreate.model_validate_json('{"content": "x", "metadata": {"x": 1.7976931348623157e308}}')
    assert math.isfinite(created.metadata["x"])


def test_explain_appears_in_a_result_only_when_asked_for():
    from continuum.schemas import RecalledMemory, ScoreExplanation, SearchResult

    base = {"id": "m", "content": "c", "role": "user", "score": 1.0, "created_at": "2026-01-01T00:00:00Z",
            "instance_id": None, "session_id": None, "metadata": {}}  # fmt: skip
    parts = dict.fromkeys(("lexical", "graph", "dense", "context", "time", "recency"), 0.5)
    explained = {"parts": parts, "signals": parts, "cosine": 0.0}
    for model in (RecalledMemory, SearchResult):
        plain = model.model_validate(base).model_dump(mode="json")
        assert "explain" not in plain and plain["instance_id"] is None  # other nulls stay
        full = model.model_validate({**base, "explain": explained}).model_dump(mode="json")
        assert full["explain"] == ScoreExplanation.model_validate(explained).model_dump(mode="json")
        # the documented response still lists its fields (a serializer must not hide them)
        schema = model.model_json_schema(mode="serialization")
        assert {"id", "score", "explain"} <= set(schema["properties"])


def test_explain_takes_only_a_json_boolean() -> None:
    from continuum.schemas import RecallRequest

    assert RecallRequest(message="m", explain=True).explain is True
    for value in (0, 1, "true"):
        with pytest.raises(ValidationError):
            RecallRequest(message="m", explain=value)
        with pytest.raises(ValidationError):
            SearchRequest(query="q", explain=value)
