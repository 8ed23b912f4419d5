"""Identifiers: time-ordered ids (ULID layout, sortable, so cursors are simple) and the
tenant id rule."""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_TENANT_RE = re.compile(TENANT_PATTERN)


class IdGenerator:
    """Monotonic within a process: ids minted in the same millisecond still sort."""

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_random = 0

    def new_id(self, at_ms: int | None = None) -> str:
        now_ms = int(time.time() * 1000) if at_ms is None else at_ms
        if now_ms <= self._last_ms:
            now_ms = self._last_ms
            random_part = self._last_random + 1
        else:
            random_part = int.from_bytes(os.urandom(10), "big") >> 1
        self._last_ms, self._last_random = now_ms, random_part
        value = (now_ms << 80) | (random_part & ((1 << 80) - 1))
        chars = []
        for _ in range(26):
            chars.append(_ALPHABET[value & 31])
            value >>= 5
        return "".join(reversed(chars))


_default = IdGenerator()


def new_id() -> str:
    return _default.new_id()


def is_valid_id(value: str) -> bool:
    return len(value) == 26 and all(c in _ALPHABET for c in value)


def is_valid_tenant_id(value: str) -> bool:
    return bool(_TENANT_RE.match(value))
