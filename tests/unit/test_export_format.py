"""Import lines are validated at the edge, each error naming its line, before the core
writes anything."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from continuum.errors import InvalidInput
from continuum.export_format import parse_import
from continuum.schemas import LearnRequest, MemoryCreate


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"type":"memory","id":"x"}', "import line 3: content: Field required"),
        ('{"type":"header","format":"continuum-export","version":9,"tenant_id":"t","exported_at":"x"}',
         "import line 3: export version 9 is newer than this server"),
        ('{"type":"nothing"}', "import line 3: line: Input tag 'nothing'"),
    ],
)  # fmt: skip
def test_errors_name_the_line(line: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_import(["", line], "t", first_line=2)
    assert caught.value.message.startswith(message)


# ---- import accepts exactly what the write API accepts ------------------------------------

MEMORY_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
NUMBERS = ("Infinity", "-Infinity", "NaN", "1e400", "1" + "0" * 400, "1.5", "-3", "9223372036854775808")

# Each: the JSON text of a memory's fields as a client sends them to POST /v1/memories.
MEMORY_FIELDS = [
    '"content": "fine"',
    '"content": ""',
    '"content": "   \\n\\t"',
    '"content": "nul \\u0000 inside"',
    '"content": "bad \\ud800 half"',
    '"content": "' + "x" * 100_001 + '"',
    '"content": "ok", "role": "DROP TABLE"',
    '"content": "ok", "role": "assistant"',
    '"content": "ok", "session_id": ""',
    '"content": "ok", "session_id": "bad\\nid"',
    '"content": "ok", "instance_id": "nul\\u0000"',
    '"content": "ok", "metadata": {"k": "nul\\u0000"}',
    '"content": "ok", "metadata": {"": 1}',
    '"content": "ok", "metadata": {"a": [[[[[[[[[1]]]]]]]]]}',
    *(f'"content": "ok", "metadata": {{"x": {number}}}' for number in NUMBERS),
    '"content": "ok", "expires_at": "9999-12-31T23:59:59-14:00"',
    '"content": "ok", "expires_at": "9999-12-31T23:59:59+00:00"',
]


def _memory_line(fields: str) -> str:
    defaults = {"role": '"user"', "instance_id": "null", "session_id": "null", "metadata": "{}", "expires_at": "null"}
    extra = ", ".join(f'"{name}": {value}' for name, value in defaults.items() if f'"{name}":' not in fields)
    moments = '"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"'
    return f'{{"type": "memory", "id": "{MEMORY_ID}", {fields}, {extra}, {moments}}}'


def _accepted(check: Callable[[], object]) -> bool:
    try:
        check()
    except (ValidationError, InvalidInput):
        return False
    return True


@pytest.mark.parametrize("fields", MEMORY_FIELDS, ids=[f[:60] for f in MEMORY_FIELDS])
def test_a_memory_line_is_accepted_exactly_when_the_write_api_accepts_it(fields: str) -> None:
    # The write API parses its body with the standard library (Infinity, NaN and 1e400 included).
    by_api = _accepted(lambda: MemoryCreate.model_validate(json.loads("{" + fields + "}")))
    by_import = _accepted(lambda: parse_import([_memory_line(fields)], "t"))
    assert by_import == by_api


MESSAGE_FIELDS = [
    '"user_message": "hi", "ai_response": "hello", "thinking": null, "metadata": {}',
    '"user_message": "", "ai_response": " ", "thinking": null, "metadata": {}',
    '"user_message": "nul\\u0000", "ai_response": "x", "thinking": null, "metadata": {}',
    '"user_message": "x", "ai_response": "x", "thinking": "nul\\u0000", "metadata": {}',
    '"user_message": "x", "ai_response": "x", "thinking": null, "metadata": {"x": Infinity}',
    '"user_message": "x", "ai_response": "x", "thinking": null, "metadata": {"x": 1e400}',
    '"user_message": "x", "ai_response": "' + "y" * 100_001 + '", "thinking": null, "metadata": {}',
]


@pytest.mark.parametrize("fields", MESSAGE_FIELDS, ids=[f[:60] for f in MESSAGE_FIELDS])
def test_a_message_line_is_accepted_exactly_when_learn_accepts_it(fields: str) -> None:
    by_api = _accepted(lambda: LearnRequest.model_validate(json.loads("{" + fields + "}")))
    scope = '"id": "m1", "instance_id": null, "session_id": null'
    line = f'{{"type": "message", {scope}, {fields}, "created_at": "2024-01-01T00:00:00Z"}}'
    by_import = _accepted(lambda: parse_import([line], "t"))
    assert by_import == by_api


@pytest.mark.parametrize(
    "line",
    [
        '{"type": "entity", "key": "a\\u0000b", "name": "a", "entity_type": "name", "description": "",'
        ' "mention_count": 1, "created_at": "2024-01-01T00:00:00Z", "last_seen_at": "2024-01-01T00:00:00Z"}',
        '{"type": "entity", "key": "a", "name": "a", "entity_type": "\\u0000", "description": "",'
        ' "mention_count": 1, "created_at": "2024-01-01T00:00:00Z", "last_seen_at": "2024-01-01T00:00:00Z"}',
        '{"type": "link", "source": "a", "target": " ", "strength": 0.5, "occurrences": 1,'
        ' "created_at": "2024-01-01T00:00:00Z", "updated_at": "0001-01-01T00:00:00+14:00"}',
        '{"type": "link", "source": "a", "target": "b", "strength": Infinity, "occurrences": 1,'
        ' "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}',
        '{"type": "decision", "id": "d1", "instance_id": null, "session_id": null, "message_id": null,'
        ' "decision": "nul\\u0000", "created_at": "2024-01-01T00:00:00Z"}',
        '{"type": "header", "format": "continuum-export", "version": 1, "tenant_id": "t\\u0000",'
        ' "exported_at": "x"}',
    ],
)
def test_concepts_links_and_decisions_hold_only_storable_text(line: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_import([line], "t")
    assert caught.value.message.startswith("import line 1: ")
    assert "Value error" not in caught.value.message


def test_an_error_names_the_line_and_the_field_like_the_api() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_import(["", _memory_line('"content": "ok", "metadata": {"a": {"b": Infinity}}')], "t")
    assert caught.value.message.startswith("import line 2: metadata: a.b: must be a finite number")


def test_a_valid_export_line_still_imports() -> None:
    rows = parse_import([_memory_line('"content": "ok", "metadata": {"x": 2.5, "big": 9223372036854775808}')], "t")
    assert len(rows) == 1 and rows[0].metadata == {"x": 2.5, "big": 9223372036854775808}
