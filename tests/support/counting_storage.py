"""A storage wrapper that counts the calls made through it, and the round trips they
need: the longest chain of calls that wait for one another. A call started before any
call it could depend on has finished (asyncio.gather, a task in flight) shares a round
trip with the calls beside it; one started after a call finished comes one round later.

Each call first yields to the event loop, as a call over a network would, so work that
is scheduled concurrently starts beside it even on an in-process adapter.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any


class CountingStorage:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[str] = []
        self.round_trips = 0
        self._finished_depth = 0  # the deepest round of any call finished so far

    def reset(self) -> None:
        self.calls.clear()
        self.round_trips = 0
        self._finished_depth = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            depth = self._finished_depth + 1
            self.round_trips = max(self.round_trips, depth)
            self.calls.append(name)
            try:
                await asyncio.sleep(0)
                return await attribute(*args, **kwargs)
            finally:
                self._finished_depth = max(self._finished_depth, depth)

        return counted
