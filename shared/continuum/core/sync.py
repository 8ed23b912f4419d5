"""Real-time sync (docs/sync.md): a tenant's events, as they commit, to its live subscribers.

`LiveSync` joins the engine to an `EventBus`: its `publisher` is the engine's
`EventPublisher` (events leave the write path at once; one background sender per process
keeps them in order and turns them into JSON only when someone could be listening), and
`subscribe` gives a WebSocket route a tenant's stream, optionally filtered by event type.
`NoLiveSync` stands in on runtimes that cannot serve subscribers, and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Sequence

from continuum.errors import ContinuumError, InvalidInput
from continuum.models import EVENT_TYPES, Event
from continuum.ports import BusSubscription, EventBus

log = logging.getLogger("continuum.sync")

PENDING_LIMIT = 10_000  # writes whose events wait for the sender; beyond, events are dropped (logged)
FLUSH_SECONDS = 2.0  # how long closing waits for the sender to hand over what is pending


class SyncUnavailable(ContinuumError):
    """This runtime does not serve real-time subscribers (the message says where they are served)."""

    status = 501
    code = "not_implemented"


def parse_types(raw: str | None) -> frozenset[str] | None:
    """`types=memory.created,memory.deleted` -> that set; None or empty: every type."""
    if raw is None or not raw.strip():
        return None
    wanted = frozenset(t.strip() for t in raw.split(",") if t.strip())
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(f"types: unknown event type {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    return wanted


class Stream:
    """One subscriber's messages (event JSON), filtered by type when asked."""

    def __init__(self, subscription: BusSubscription, types: frozenset[str] | None) -> None:
        self._subscription = subscription
        self.types = types

    async def next(self) -> str:
        while True:
            message = await self._subscription.next()
            if self.types is None or json.loads(message).get("type") in self.types:
                return message

    async def close(self) -> None:
        await self._subscription.close()


class BusPublisher:
    """The engine's `EventPublisher` over a bus. `publish` only queues (it never waits on
    the bus, never raises); one sender task per process sends in order. Best effort: a
    process that dies loses what it had not sent, as any live channel would."""

    def __init__(self, bus: EventBus, *, limit: int = PENDING_LIMIT) -> None:
        self.bus = bus
        self._limit = limit
        self._pending: asyncio.Queue[tuple[str, Sequence[Event]]] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._dropped = 0

    async def publish(self, events: Sequence[Event]) -> None:
        by_tenant: dict[str, list[Event]] = {}
        for event in events:
            if self.bus.listening(event.tenant_id):
                by_tenant.setdefault(event.tenant_id, []).append(event)
        if not by_tenant:
            return
        if self._pending is None:
            self._pending = asyncio.Queue()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_forever(self._pending))
        for tenant_id, batch in by_tenant.items():
            if self._pending.qsize() >= self._limit:
                self._dropped += len(batch)
                if self._dropped == len(batch) or self._dropped % 1000 < len(batch):
                    log.warning("live events dropped: the bus is not keeping up", extra={"dropped": self._dropped})
                continue
            self._pending.put_nowait((tenant_id, batch))

    async def _send_forever(self, pending: asyncio.Queue[tuple[str, Sequence[Event]]]) -> None:
        while True:
            tenant_id, batch = await pending.get()
            try:
                messages = [json.dumps(e.body(), separators=(",", ":"), ensure_ascii=False) for e in batch]
                await self.bus.publish(tenant_id, messages)
            except Exception:  # a sender that dies would silence every later event
                log.exception("live events not published")
            finally:
                pending.task_done()

    async def close(self) -> None:
        """Hand over what is pending (briefly), then stop the sender."""
        if self._pending is not None and self._sender is not None and not self._sender.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._pending.join(), FLUSH_SECONDS)
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None


class LiveSync:
    """A runtime's real-time sync: the engine publishes through `publisher`, the WebSocket
    route subscribes; `ping_interval` and `idle_timeout` are the heartbeat the server keeps."""

    available = True

    def __init__(self, bus: EventBus, *, ping_interval: float, idle_timeout: float) -> None:
        self.bus = bus
        self.publisher = BusPublisher(bus)
        self.ping_interval = ping_interval
        self.idle_timeout = idle_timeout

    async def subscribe(self, tenant_id: str, types: Iterable[str] | None = None) -> Stream:
        subscription = await self.bus.subscribe(tenant_id)
        return Stream(subscription, frozenset(types) if types is not None else None)

    async def close(self) -> None:
        await self.publisher.close()
        await self.bus.close()


class NoLiveSync:
    """Real-time sync on a runtime that cannot serve it: every subscription is refused with `reason`."""

    available = False
    ping_interval = 0.0
    idle_timeout = 0.0

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def subscribe(self, tenant_id: str, types: Iterable[str] | None = None) -> Stream:
        raise SyncUnavailable(self.reason)

    async def close(self) -> None:
        pass
