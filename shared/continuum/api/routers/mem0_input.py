"""Checks of the mem0 routes' request values: each failure names the field (a 400 with `detail`)."""

from __future__ import annotations

import json
from typing import Any

from continuum.api.routers import mem0_service as m

MAX_MESSAGES = 100
MAX_TEXT = 100_000


def checked_int(value: Any, field: str, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise m.bad(f"{field}: must be an integer from {low} to {high}")
    return value


def checked_metadata(value: Any, field: str = "metadata") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or any(not isinstance(k, str) or not k for k in value):
        raise m.bad(f"{field}: must be an object with non-empty keys")
    try:
        size = len(json.dumps(value, allow_nan=False))
    except ValueError:
        raise m.bad(f"{field}: numbers must be finite") from None
    if size > 64_000:
        raise m.bad(f"{field}: at most 64000 bytes as JSON")
    return value


def checked_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise m.bad(f"{field}: must be a non-empty string")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise m.bad(f"{field}: at most {MAX_TEXT} characters, no NUL")
    return value


def message_list(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    elif isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise m.bad("messages: must be a non-empty list of {role, content} objects or a string")
    if len(value) > MAX_MESSAGES:
        raise m.bad(f"messages: at most {MAX_MESSAGES} messages per add")
    out = []
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise m.bad(f"messages[{i}]: must be an object with role and content")
        role = message.get("role", "user")
        if role not in {"user", "assistant", "system"}:
            raise m.bad(f"messages[{i}].role: must be user, assistant or system")
        content = message.get("content")
        if isinstance(content, str) and not content.strip():
            continue  # an empty turn carries nothing to remember
        out.append((role, checked_text(content, f"messages[{i}].content")))
    return out
