"""A subscription both buses hand out: a bounded queue the bus fills and the subscriber drains."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from continuum.errors import SubscriptionLost

QUEUE_LIMIT = 1000  # messages a subscriber may lag behind before it is dropped


class QueueSubscription:
    """Messages in order; `deliver` never blocks the publisher: a subscriber more than
    `limit` messages behind is ended (it must reconnect) rather than slowing every write."""

    def __init__(self, on_close: Callable[[QueueSubscription], None], *, limit: int = QUEUE_LIMIT) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._limit = limit
        self._on_close = on_close
        self._lost: str | None = None
        self.closed = False

    def deliver(self, message: str) -> None:
        if self._lost is not None or self.closed:
            return
        if self._queue.qsize() >= self._limit:
            self.fail(f"subscriber too slow: more than {self._limit} events behind; reconnect")
            return
        self._queue.put_nowait(message)

    def fail(self, reason: str) -> None:
        """End the stream: `next` raises SubscriptionLost(reason) once the queue is read."""
        if self._lost is None:
            self._lost = reason
            self._queue.put_nowait(None)

    async def next(self) -> str:
        if self._lost is not None and self._queue.empty():
            raise SubscriptionLost(self._lost)
        message = await self._queue.get()
        if message is None:
            raise SubscriptionLost(self._lost or "subscription ended")
        return message

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(self)
