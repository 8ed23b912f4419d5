"""The event buses (continuum/bus): in-process, and Redis pub/sub on the real local Redis.
Messages arrive in order, only on their tenant's subscriptions, from every instance; a
subscriber too far behind, a closed bus or a lost connection ends its stream."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from continuum.bus.memory import InProcessBus
from continuum.bus.redis import RedisBus
from continuum.bus.subscription import QueueSubscription
from continuum.errors import DependencyUnavailable, SubscriptionLost
from tests.support.pg import REDIS_URL


async def next_of(subscription, wait: float = 5.0) -> str:
    return await asyncio.wait_for(subscription.next(), wait)


async def test_in_process_bus_delivers_in_order_to_the_tenants_subscribers_only():
    bus = InProcessBus()
    assert not bus.listening("a")
    first, second, other = await bus.subscribe("a"), await bus.subscribe("a"), await bus.subscribe("b")
    assert bus.listening("a") and bus.listening("b")
    await bus.publish("a", ["1", "2"])
    await bus.publish("a", ["3"])
    for subscription in (first, second):
        assert [await next_of(subscription) for _ in range(3)] == ["1", "2", "3"]
    with pytest.raises(asyncio.TimeoutError):
        await next_of(other, 0.05)
    await first.close()
    await second.close()
    assert not bus.listening("a")
    await bus.close()
    with pytest.raises(SubscriptionLost, match="shutting down"):
        await next_of(other)
    with pytest.raises(SubscriptionLost):
        await next_of(await bus.subscribe("a"))


async def test_a_subscriber_too_far_behind_is_ended_not_waited_for():
    closed: list[QueueSubscription] = []
    subscription = QueueSubscription(closed.append, limit=3)
    for message in "abcde":
        subscription.deliver(message)  # never blocks the publisher
    assert [await next_of(subscription) for _ in range(3)] == ["a", "b", "c"]
    with pytest.raises(SubscriptionLost, match="too slow"):
        await next_of(subscription)
    await subscription.close()
    await subscription.close()
    assert closed == [subscription]


@pytest.fixture
async def redis_buses():
    prefix = f"bus-test:{secrets.token_hex(6)}:"
    buses = [RedisBus(REDIS_URL, prefix), RedisBus(REDIS_URL, prefix)]
    yield buses
    for bus in buses:
        await bus.close()


async def test_redis_bus_carries_messages_between_instances_in_order(redis_buses):
    one, two = redis_buses
    assert one.listening("a")  # other instances may hold subscribers
    on_two, on_one, other = await two.subscribe("a"), await one.subscribe("a"), await two.subscribe("b")
    await one.publish("a", [f"m{i}" for i in range(50)])
    await two.publish("a", ["last"])
    expected = [f"m{i}" for i in range(50)] + ["last"]
    for subscription in (on_one, on_two):
        assert [await next_of(subscription) for _ in range(51)] == expected
    with pytest.raises(asyncio.TimeoutError):
        await next_of(other, 0.2)
    # the last subscriber of a tenant leaving unsubscribes; a new one hears what follows
    await on_two.close()
    again = await two.subscribe("a")
    await one.publish("a", ["after"])
    assert await next_of(again) == "after"
    assert await next_of(on_one) == "after"


async def test_redis_bus_prefixes_keep_deployments_apart(redis_buses):
    one, _ = redis_buses
    stranger = RedisBus(REDIS_URL, f"bus-test:{secrets.token_hex(6)}:")
    try:
        heard = await stranger.subscribe("a")
        await one.publish("a", ["not yours"])
        with pytest.raises(asyncio.TimeoutError):
            await next_of(heard, 0.2)
    finally:
        await stranger.close()


async def test_redis_bus_down_refuses_subscribers_and_publishing_stays_quiet():
    bus = RedisBus("redis://127.0.0.1:1/0", "bus-test:", timeout=0.3)
    try:
        with pytest.raises(DependencyUnavailable, match="event bus"):
            await bus.subscribe("a")
        await bus.publish("a", ["lost"])  # best effort: logged, never raised
    finally:
        await bus.close()


async def test_a_lost_redis_connection_ends_every_subscription(redis_buses):
    one, _ = redis_buses
    subscription = await one.subscribe("a")
    await one._pubsub.connection.disconnect()  # the pub/sub connection drops under the reader
    with pytest.raises(SubscriptionLost, match="connection lost"):
        await next_of(subscription)
    fresh = await one.subscribe("a")  # a reconnecting client gets a new connection
    await one.publish("a", ["back"])
    assert await next_of(fresh) == "back"
