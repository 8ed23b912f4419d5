"""mem0's filter language, evaluated on memories in mem0's shape.

A filter is an object whose keys all hold (AND): a field (`user_id`, `agent_id`, `app_id`,
`run_id`, `id`, `memory`, `created_at`, `updated_at`, `categories`, `metadata`, or any other
name, read from the memory's metadata) mapped to a value (equality; `"*"`: any non-null
value) or to an object of operators (`eq ne in gt gte lt lte contains icontains`), or a
logical key: `AND` / `OR` (a list of filters) and `NOT` (a filter or a list, none holding).
`metadata` takes an object of metadata keys with the same values or operators.

`entity_scope` reads the entity equalities every match must satisfy, so that storage can
narrow the scan before the filter runs on each memory.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

OPERATORS = frozenset({"eq", "ne", "in", "gt", "gte", "lt", "lte", "contains", "icontains"})
LOGICAL = frozenset({"AND", "OR", "NOT"})
ENTITY_FIELDS = ("user_id", "agent_id", "app_id", "run_id")
TIME_FIELDS = frozenset({"created_at", "updated_at"})
TOP_FIELDS = frozenset({*ENTITY_FIELDS, *TIME_FIELDS, "id", "memory", "categories", "metadata"})
MAX_DEPTH = 16


class FilterError(ValueError):
    """A filter that cannot be read; the message names where."""


def _moment(value: Any, where: str) -> datetime:
    if isinstance(value, bool):
        raise FilterError(f"{where}: expected a date, a date-time or a Unix timestamp")
    if isinstance(value, int | float) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise FilterError(f"{where}: {value!r} is out of range for a Unix timestamp") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FilterError(f"{where}: {value!r} is not an ISO 8601 date or date-time") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise FilterError(f"{where}: expected a date, a date-time or a Unix timestamp")


def _ordered(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides as comparable values of one kind, or None (then no order holds)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    if isinstance(left, datetime) and isinstance(right, datetime):
        return left, right
    return None


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


def _contains(value: Any, needle: Any, *, fold: bool) -> bool:
    if isinstance(value, str) and isinstance(needle, str):
        return needle.casefold() in value.casefold() if fold else needle in value
    if isinstance(value, list):
        if fold and isinstance(needle, str):
            return any(isinstance(v, str) and v.casefold() == needle.casefold() for v in value)
        return any(_equal(v, needle) for v in value)
    return False


def _compare(op: str, value: Any, operand: Any, where: str, is_time: bool) -> bool:
    if is_time and op in {"eq", "ne", "gt", "gte", "lt", "lte"}:
        operand = _moment(operand, where)
    if op == "in":
        if not isinstance(operand, list):
            raise FilterError(f"{where}: 'in' takes a list")
        if is_time:
            operand = [_moment(v, where) for v in operand]
        return value is not None and any(_equal(value, v) for v in operand)
    if op == "eq":
        return value is not None if operand == "*" else _equal(value, operand)
    if op == "ne":
        return not _equal(value, operand)
    if op in {"contains", "icontains"}:
        return _contains(value, operand, fold=op == "icontains")
    pair = _ordered(value, operand)
    if pair is None:
        return False
    left, right = pair
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]


def _condition(value: Any, condition: Any, where: str, is_time: bool) -> bool:
    if isinstance(condition, dict):
        if not condition:
            raise FilterError(f"{where}: an empty operator object")
        for op, operand in condition.items():
            if op not in OPERATORS:
                raise FilterError(f"{where}: unknown operator {op!r} (one of {', '.join(sorted(OPERATORS))})")
            if not _compare(op, value, operand, f"{where}.{op}", is_time):
                return False
        return True
    if condition == "*":
        return value is not None
    if isinstance(condition, list):
        raise FilterError(f"{where}: a list needs an operator, e.g. {{'in': [...]}}")
    return _compare("eq", value, condition, where, is_time)


def matches(memory: dict[str, Any], filters: Any, where: str = "filters", depth: int = 0) -> bool:
    """Whether `memory` (mem0's shape) satisfies `filters`; FilterError when it is malformed."""
    if depth > MAX_DEPTH:
        raise FilterError(f"{where}: nested more than {MAX_DEPTH} levels")
    if not isinstance(filters, dict):
        raise FilterError(f"{where}: must be an object")
    metadata = memory.get("metadata") or {}
    for key, condition in filters.items():
        here = f"{where}.{key}"
        if key in LOGICAL:
            parts = condition if isinstance(condition, list) else [condition] if key == "NOT" else None
            if parts is None or not all(isinstance(p, dict) for p in parts):
                raise FilterError(f"{here}: must be a list of filter objects")
            results = (matches(memory, p, f"{here}[{i}]", depth + 1) for i, p in enumerate(parts))
            ok = all(results) if key == "AND" else any(results) if key == "OR" else not any(results)
        elif key == "metadata":
            if not isinstance(condition, dict):
                raise FilterError(f"{here}: must be an object of metadata keys")
            ok = all(_condition(metadata.get(k), c, f"{here}.{k}", False) for k, c in condition.items())
        elif key in TOP_FIELDS:
            value = memory.get(key)
            is_time = key in TIME_FIELDS
            if is_time and value is not None:
                value = _moment(value, here)
            ok = _condition(value, condition, here, is_time)
        else:
            ok = _condition(metadata.get(key), condition, here, False)
        if not ok:
            return False
    return True


def validate(filters: Any) -> None:
    """Raise FilterError when `filters` is malformed, in any branch (evaluation stops early)."""
    _walk(filters, "filters", 0)


def _walk(filters: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FilterError(f"{where}: nested more than {MAX_DEPTH} levels")
    if not isinstance(filters, dict):
        raise FilterError(f"{where}: must be an object")
    for key, condition in filters.items():
        here = f"{where}.{key}"
        if key in LOGICAL:
            parts = condition if isinstance(condition, list) else [condition] if key == "NOT" else None
            if parts is None:
                raise FilterError(f"{here}: must be a list of filter objects")
            for i, part in enumerate(parts):
                _walk(part, f"{here}[{i}]", depth + 1)
        elif key == "metadata":
            if not isinstance(condition, dict):
                raise FilterError(f"{here}: must be an object of metadata keys")
            for k, c in condition.items():
                _check_condition(c, f"{here}.{k}", False)
        else:
            _check_condition(condition, here, key in TIME_FIELDS)


def _check_condition(condition: Any, where: str, is_time: bool) -> None:
    if isinstance(condition, list):
        raise FilterError(f"{where}: a list needs an operator, e.g. {{'in': [...]}}")
    if not isinstance(condition, dict):
        if is_time and condition != "*":
            _moment(condition, where)
        return
    if not condition:
        raise FilterError(f"{where}: an empty operator object")
    for op, operand in condition.items():
        if op not in OPERATORS:
            raise FilterError(f"{where}: unknown operator {op!r} (one of {', '.join(sorted(OPERATORS))})")
        if op == "in":
            if not isinstance(operand, list):
                raise FilterError(f"{where}.in: 'in' takes a list")
            if is_time:
                for v in operand:
                    _moment(v, f"{where}.in")
        elif is_time and op in {"eq", "ne", "gt", "gte", "lt", "lte"} and operand != "*":
            _moment(operand, f"{where}.{op}")


def entity_scope(filters: dict[str, Any]) -> dict[str, str]:
    """The entity fields every match must equal: the plain string values at the top level
    and inside top-level `AND` lists (an `OR` or `NOT` never narrows)."""
    scope: dict[str, str] = {}
    conflict = False

    def take(part: dict[str, Any]) -> None:
        nonlocal conflict
        for key, condition in part.items():
            if key == "AND" and isinstance(condition, list):
                for sub in condition:
                    if isinstance(sub, dict):
                        take(sub)
            elif key in ENTITY_FIELDS:
                value = condition.get("eq") if isinstance(condition, dict) and len(condition) == 1 else condition
                if isinstance(value, str) and value != "*":
                    if scope.get(key, value) != value:
                        conflict = True
                    scope[key] = value

    take(filters)
    return {} if conflict else scope
