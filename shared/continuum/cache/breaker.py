"""A small circuit breaker for shared caches: a dead cache must not slow requests.

After a failure, calls fail at once (CacheUnavailable, no network) for `cooldown`
seconds; then one call is let through to try again. `ping` always tries, so health
checks see the real state.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from continuum.ports import CacheUnavailable

T = TypeVar("T")


class Breaker:
    def __init__(self, name: str, cooldown: float = 1.0) -> None:
        self.name = name
        self.cooldown = cooldown
        self.last_error: str | None = None
        self._open_until = 0.0

    def _check(self) -> None:
        if self.last_error is not None and time.monotonic() < self._open_until:
            raise CacheUnavailable(f"{self.name} unavailable: {self.last_error}")

    async def call(
        self, action: Callable[[], Awaitable[T]], *, errors: tuple[type[BaseException], ...], probe: bool = False
    ) -> T:
        if not probe:
            self._check()
        try:
            result = await action()
        except errors as exc:
            self.last_error = (str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__)[:200]
            self._open_until = time.monotonic() + self.cooldown
            raise CacheUnavailable(f"{self.name} unavailable: {self.last_error}") from None
        self.last_error = None
        return result
