"""Tenants' write positions (storage/postgres/positions.py): WAL position arithmetic, the
in-process store, and the Redis store against the real local Redis (its own prefix)."""

from __future__ import annotations

import asyncio
import secrets

from continuum.storage.postgres.positions import (
    UNKNOWN,
    MemoryPositions,
    PositionsUnavailable,
    RedisPositions,
    format_lsn,
    parse_lsn,
    record_end,
)
from tests.support.pg import REDIS_URL, delete_redis_keys


def test_lsn_text_round_trips_and_orders_like_the_wal() -> None:
    assert parse_lsn("0/3000028") == 0x3000028
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("16/B374D848")) == "16/B374D848"
    assert parse_lsn("1/0") > parse_lsn("0/FFFFFFFF")


def test_a_position_past_a_page_header_is_the_page_boundary() -> None:
    assert record_end(parse_lsn("0/3000028")) == parse_lsn("0/3000000")  # a segment's first page: 40 bytes
    assert record_end(parse_lsn("0/3002018")) == parse_lsn("0/3002000")  # any other page: 24 bytes
    assert record_end(parse_lsn("0/3002019")) == parse_lsn("0/3002019")


def test_memory_positions_keep_the_largest_per_tenant_until_they_expire() -> None:
    async def scenario() -> None:
        positions = MemoryPositions(ttl=0.2)
        assert await positions.get("a") is None
        await positions.advance("a", 100)
        await positions.advance("a", 50)  # an older write finishing later never lowers it
        await positions.advance("b", 7)
        assert await positions.get("a") == 100
        assert await positions.get("b") == 7
        await asyncio.sleep(0.25)
        assert await positions.get("a") is None

    asyncio.run(scenario())


def test_redis_positions_are_shared_and_only_grow() -> None:
    prefix = f"unit-positions:{secrets.token_hex(4)}:"

    async def scenario() -> None:
        one = RedisPositions(REDIS_URL, prefix=prefix, ttl=60)
        two = RedisPositions(REDIS_URL, prefix=prefix, ttl=60)
        try:
            await one.advance("t1", 0x3000028)
            assert await two.get("t1") == 0x3000028  # another instance sees it
            await two.advance("t1", 0x10)
            assert await one.get("t1") == 0x3000028
            await two.advance("t1", UNKNOWN)
            assert await one.get("t1") == UNKNOWN
            assert await one.get("t2") is None
        finally:
            await one.close()
            await two.close()

    try:
        asyncio.run(scenario())
    finally:
        delete_redis_keys(prefix)


def test_unreachable_redis_sends_reads_to_the_primary_but_keeps_own_writes() -> None:
    async def scenario() -> None:
        from tests.support.pg import free_port

        positions = RedisPositions(f"redis://127.0.0.1:{free_port()}/0", prefix="x:", ttl=60)
        try:
            await positions.advance("t", 5)  # logged, not raised: the write is already committed
            assert await positions.local.get("t") == 5
            try:
                await positions.get("t")
            except PositionsUnavailable:
                return
            raise AssertionError("an unreachable store must not answer")
        finally:
            await positions.close()

    asyncio.run(scenario())
