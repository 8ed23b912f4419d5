"""The in-process bus: one process serves every subscriber (`continuum serve` with one worker)."""

from __future__ import annotations

from collections.abc import Sequence

from continuum.bus.subscription import QueueSubscription


class InProcessBus:
    name = "memory"

    def __init__(self) -> None:
        self._subscribers: dict[str, set[QueueSubscription]] = {}
        self._closed = False

    def listening(self, tenant_id: str) -> bool:
        return bool(self._subscribers.get(tenant_id))

    async def publish(self, tenant_id: str, messages: Sequence[str]) -> None:
        for subscription in tuple(self._subscribers.get(tenant_id, ())):
            for message in messages:
                subscription.deliver(message)

    async def subscribe(self, tenant_id: str) -> QueueSubscription:
        subscription = QueueSubscription(lambda s: self._drop(tenant_id, s))
        if self._closed:
            subscription.fail("server shutting down")
        else:
            self._subscribers.setdefault(tenant_id, set()).add(subscription)
        return subscription

    def _drop(self, tenant_id: str, subscription: QueueSubscription) -> None:
        subscribers = self._subscribers.get(tenant_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[tenant_id]

    async def close(self) -> None:
        self._closed = True
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.fail("server shutting down")
        self._subscribers.clear()
