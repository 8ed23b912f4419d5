"""Parsers for setting values: each returns the typed value or raises ValueError saying why."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class SettingsError(ValueError):
    """A setting is missing, malformed or contradicts another one."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
ENVIRONMENTS = ("development", "test", "staging", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EMBEDDING_PROVIDERS = ("none", "local", "openai", "bedrock", "workers-ai")
STORAGE_BACKENDS = ("auto", "sqlite", "postgres", "d1")
SECRETS_SOURCES = ("env", "ssm", "secretsmanager")


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("must be true or false")


def _parse_int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError("must be an integer") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _parse_float(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError("must be a number") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _parse_choice(choices: tuple[str, ...], *, upper: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


def _parse_list(raw: str) -> tuple[str, ...]:
    text = raw.strip()
    if text.startswith("["):
        items = json.loads(text)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("must be a JSON list of strings or a comma-separated list")
        return tuple(i.strip() for i in items if i.strip())
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parse_text(raw: str) -> str:
    return raw.strip()


def _parse_optional(raw: str) -> str | None:
    return raw.strip() or None


def _parse_url(schemes: tuple[str, ...]) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in schemes:
            raise ValueError(f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
        return value

    return parse


def _meta(env: str, parse: Callable[[str], Any], *, secret: bool = False) -> dict[str, Any]:
    return {"env": env, "parse": parse, "secret": secret}


