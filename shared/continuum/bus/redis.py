"""The Redis pub/sub bus: every instance publishes a tenant's events to one channel per
tenant (`<CONTINUUM_CACHE_PREFIX>sync:<tenant>`) and subscribes, on one pub/sub connection
per process, to the channels of the tenants it holds subscribers for.

Publishing is best effort (a failure is logged; the write already committed). When the
pub/sub connection drops, every local subscription ends (its client reconnects) rather
than silently missing events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from continuum.bus.subscription import QueueSubscription
from continuum.errors import DependencyUnavailable

log = logging.getLogger("continuum.sync")

TIMEOUT = 2.0
POLL = 1.0  # seconds the reader waits for a message before looking again
_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


class RedisBus:
    name = "redis"

    def __init__(self, url: str, prefix: str, *, timeout: float = TIMEOUT) -> None:
        self._prefix = f"{prefix}sync:"
        self._timeout = timeout
        self._client = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=timeout, socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0), retry_on_timeout=False,
        )  # fmt: skip
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._subscribers: dict[str, set[QueueSubscription]] = {}
        self._confirm: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock: asyncio.Lock | None = None
        self._closed = False

    def channel(self, tenant_id: str) -> str:
        return self._prefix + tenant_id

    def listening(self, tenant_id: str) -> bool:
        return True  # subscribers may be on any instance: Redis counts them, not us

    async def publish(self, tenant_id: str, messages: Sequence[str]) -> None:
        channel = self.channel(tenant_id)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for message in messages:
                    pipe.publish(channel, message)
                await asyncio.wait_for(pipe.execute(), self._timeout)
        except _ERRORS as exc:
            log.warning("live events not published", extra={"error": type(exc).__name__, "events": len(messages)})

    async def subscribe(self, tenant_id: str) -> QueueSubscription:
        subscription = QueueSubscription(lambda s: self._drop(tenant_id, s))
        if self._closed:
            subscription.fail("server shutting down")
            return subscription
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            subscribers = self._subscribers.get(tenant_id)
            if subscribers:
                subscribers.add(subscription)
                return subscription
            channel = self.channel(tenant_id)
            confirmed = asyncio.get_running_loop().create_future()
            self._confirm[channel] = confirmed
            try:
                if self._pubsub is None:
                    self._pubsub = self._client.pubsub()
                pubsub = self._pubsub
                await asyncio.wait_for(pubsub.subscribe(channel), self._timeout)
                if self._reader is None:
                    self._reader = asyncio.create_task(self._read(pubsub))
                await asyncio.wait_for(asyncio.shield(confirmed), self._timeout)
            except _ERRORS as exc:
                raise DependencyUnavailable(f"event bus (Redis) unavailable: {type(exc).__name__}") from None
            finally:
                self._confirm.pop(channel, None)
            self._subscribers[tenant_id] = {subscription}
        return subscription

    def _drop(self, tenant_id: str, subscription: QueueSubscription) -> None:
        subscribers = self._subscribers.get(tenant_id)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers and not self._closed:
            task = asyncio.get_running_loop().create_task(self._unsubscribe(tenant_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _unsubscribe(self, tenant_id: str) -> None:
        assert self._lock is not None
        async with self._lock:
            if self._subscribers.get(tenant_id) or self._pubsub is None:
                return  # someone subscribed again meanwhile, or the connection is gone
            self._subscribers.pop(tenant_id, None)
            with contextlib.suppress(*_ERRORS):
                await asyncio.wait_for(self._pubsub.unsubscribe(self.channel(tenant_id)), self._timeout)

    async def _read(self, pubsub: Any) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=POLL)
                if message is not None:
                    self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection is gone: end every subscription
            if not self._closed:
                log.warning("event bus connection lost", extra={"error": type(exc).__name__})
            self._lose("event bus connection lost; reconnect")
            if self._pubsub is pubsub:
                self._pubsub, self._reader = None, None
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, channel = message.get("type"), message.get("channel")
        if kind == "message" and isinstance(channel, str) and channel.startswith(self._prefix):
            for subscription in tuple(self._subscribers.get(channel[len(self._prefix) :], ())):
                subscription.deliver(message["data"])
        elif kind == "subscribe" and channel in self._confirm:
            future = self._confirm[channel]
            if not future.done():
                future.set_result(None)

    def _lose(self, reason: str) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.fail(reason)
        self._subscribers.clear()

    async def close(self) -> None:
        self._closed = True
        self._lose("server shutting down")
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        for task in tuple(self._tasks):
            task.cancel()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        with contextlib.suppress(*_ERRORS):
            await self._client.aclose()
